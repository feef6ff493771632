"""The portal's defences, one test (or more) each."""

from __future__ import annotations

import base64
import re

import pytest
from portal_helpers import FORM, advance_to, api_body, csrf_of, submit_api, submit_form
from starlette.routing import Mount

from copyright_guard.core.complaints import workflow as wf
from copyright_guard.store import complaints as store
from copyright_guard.store.complaints_export import csv_cell, to_csv
from copyright_guard.web import security

XSS = '<script>alert("x")</script><img src=x onerror=alert(1)>'
FORMULA = '=HYPERLINK("http://evil.example","click")'

# Routes anyone may use; every other route must refuse an anonymous client.
PUBLIC = {
    ("GET", "/"), ("GET", "/complaints/new"), ("POST", "/complaints/new"), ("GET", "/complaints/submitted"),
    ("GET", "/status"), ("GET", "/figures"), ("GET", "/crawler"), ("GET", "/crawler/feed.atom"),
    ("GET", "/crawler.json"), ("GET", "/.well-known/http-message-signatures-directory"),
    ("GET", "/login"), ("POST", "/login"), ("POST", "/logout"),
    ("POST", "/api/complaints"), ("GET", "/api/status/{reference}"), ("GET", "/api/figures"),
    ("GET", "/openapi.json"),
}


def _routes(app):
    """(method, path) of every route, including those of included routers (FastAPI >= 0.16x keeps
    them behind an include wrapper with ``effective_route_contexts()``)."""
    for route in app.routes:
        if isinstance(route, Mount):
            continue
        inner = route.effective_route_contexts() if hasattr(route, "effective_route_contexts") else [route]
        for each in inner:
            for method in sorted(each.methods or ()):
                if method != "HEAD":
                    yield method, each.path


def test_every_non_public_route_requires_a_reviewer(client, app, reviewer):
    submit_api(client)
    protected = [(m, p) for m, p in _routes(app) if (m, p) not in PUBLIC]
    assert len(protected) >= 15  # reviewer pages and API routes
    for method, path in protected:
        url = path.replace("{reference}", "CG-2026-0001").replace("{attachment_id}", "1")
        response = client.request(method, url, follow_redirects=False, json={} if path.startswith("/api/") else None)
        if path.startswith("/api/"):
            assert response.status_code == 401, (method, path, response.status_code)
        else:
            assert response.status_code == 303 and response.headers["location"].startswith("/login"), (method, path)
    assert ("GET", "/review") in protected and ("GET", "/api/export") in protected


def test_routes_listed_as_public_exist(app):
    assert {r for r in PUBLIC if r[1] != "/openapi.json"} <= set(_routes(app)) | {("GET", "/openapi.json")}


@pytest.mark.parametrize("path", ["/complaints/new", "/login", "/logout"])
def test_forms_without_the_csrf_token_are_refused(client, reviewer, path):
    client.get("/complaints/new")  # a session exists, with its token
    response = client.post(path, data={**FORM, "username": "rev1", "password": "x"}, follow_redirects=False)
    assert response.status_code == 403 and "Reload the page" in response.text
    response = client.post(path, data={**FORM, "csrf_token": "forged"}, follow_redirects=False)
    assert response.status_code == 403


def test_csrf_token_from_another_session_is_refused(app):
    from fastapi.testclient import TestClient

    with TestClient(app) as attacker, TestClient(app) as victim:
        stolen = csrf_of(attacker.get("/complaints/new").text)
        victim.get("/complaints/new")
        response = victim.post("/complaints/new", data={**FORM, "csrf_token": stolen})
        assert response.status_code == 403


def test_reviewer_forms_need_the_csrf_token(reviewer_client):
    submit_form(reviewer_client)
    response = reviewer_client.post("/review/complaints/CG-2026-0001/transition", data={"to": "acknowledged", "why": "w"})
    assert response.status_code == 403


def test_complaint_text_with_markup_renders_inert_everywhere(reviewer_client, engine):
    response = submit_form(reviewer_client, name=XSS, organisation=XSS, works=XSS, description=XSS + " " + "x" * 30)
    assert response.status_code == 303
    receipt = reviewer_client.get("/complaints/submitted").text
    token = re.search(r'id="token">([^<]+)<', receipt).group(1)
    advance_to(reviewer_client, "CG-2026-0001", "acknowledged", csrf=reviewer_client.csrf)
    reviewer_client.post("/review/complaints/CG-2026-0001/note",
                         data={"csrf_token": reviewer_client.csrf, "text": XSS, "public": "yes"})
    pages = [
        reviewer_client.get("/review").text,
        reviewer_client.get("/review/complaints/CG-2026-0001").text,
        reviewer_client.get("/status", params={"reference": "CG-2026-0001", "token": token}).text,
    ]
    for html in pages:
        assert "<script>alert" not in html and "<img src=x" not in html
        assert "&lt;script&gt;" in html
    invalid = submit_form(reviewer_client, email=XSS).text  # the form echoes what was typed
    assert "<script>alert" not in invalid and "&lt;script&gt;" in invalid
    exported = reviewer_client.get("/api/export").text
    assert "<script" not in exported and "\\u003cscript\\u003e" in exported
    assert reviewer_client.get("/").headers["content-security-policy"].startswith("default-src 'none'")


def test_csv_export_neutralises_formulas(reviewer_client):
    submit_form(reviewer_client, name=FORMULA, organisation="+1+2", email="=1+1@example.org",
                description="-2+3 " + "y" * 30)
    import csv
    import io

    (row,) = list(csv.DictReader(io.StringIO(reviewer_client.get("/review/export.csv").text)))
    assert row["name"] == "'" + FORMULA
    assert (row["organisation"], row["email"]) == ("'+1+2", "'=1+1@example.org")
    assert row["description"].startswith("'-2+3")


@pytest.mark.parametrize(("value", "expected"), [
    ("=1+1", "'=1+1"), ("+1", "'+1"), ("-1", "'-1"), ("@x", "'@x"), ("\tx", "'\tx"), ("\rx", "'\rx"),
    ("plain", "plain"), ("", ""), (None, ""), (3, "3"),
])
def test_csv_cell_guard(value, expected):
    assert csv_cell(value) == expected


def test_csv_round_trip_keeps_text(reviewer_client):
    assert to_csv([{"a": "x,y", "b": 'say "hi"'}]) == 'a,b\r\nx,y,"say ""hi"""\r\n'.replace("x,y,", '"x,y",')


def test_submissions_are_rate_limited_per_client(client):
    for _ in range(5):
        assert submit_api(client).status_code == 201
    limited = submit_api(client)
    assert limited.status_code == 429 and int(limited.headers["retry-after"]) > 0
    assert submit_form(client).status_code == 429  # the form shares the limit
    assert submit_api(client, email="bad").status_code == 422  # invalid input is still explained


@pytest.mark.parametrize(("trusted", "limited"), [([], True), (["*"], False)])
def test_forwarded_for_is_believed_only_from_a_named_proxy(app, trusted, limited):
    from fastapi.testclient import TestClient

    from copyright_guard.cli.web import server_config

    config = server_config(app, "127.0.0.1", 0, trusted)  # what `serve` runs
    config.load()
    assert config.proxy_headers is bool(trusted)
    with TestClient(config.loaded_app) as client:
        codes = [client.post("/api/complaints", json=api_body(), headers={"x-forwarded-for": f"192.0.2.{i}"}).status_code
                 for i in range(6)]  # the app's limit is 5 per hour
    assert codes == [201] * 5 + [429 if limited else 201]


def test_forwarded_allow_ips_takes_addresses_and_networks_only(tmp_path):
    from click.testing import CliRunner

    from copyright_guard.cli import main
    from copyright_guard.cli.web import forwarded_allow_ips

    assert forwarded_allow_ips(None) == []
    assert forwarded_allow_ips("127.0.0.1, 10.0.0.0/8,::1") == ["127.0.0.1", "10.0.0.0/8", "::1"]
    result = CliRunner().invoke(main, ["serve", "--db", f"sqlite:///{tmp_path / 's.db'}", "--port", "0",
                                       "--forwarded-allow-ips", "proxy.internal"])
    assert result.exit_code == 2 and "'proxy.internal' is not an IP address or network" in result.output


def test_rate_limiter_window_slides():
    now = [0.0]
    limiter = security.RateLimiter(2, 60, clock=lambda: now[0])
    assert limiter.hit("a") and limiter.hit("a") and not limiter.hit("a")
    assert limiter.hit("b")
    now[0] = 61
    assert limiter.hit("a")


def test_failed_logins_are_rate_limited(app, reviewer):
    from fastapi.testclient import TestClient

    app.state.login_limiter = security.LoginThrottle(3, 900, free=10)  # the per-address cap alone
    with TestClient(app) as client:
        token = csrf_of(client.get("/login").text)
        codes = [client.post("/login", data={"csrf_token": token, "username": "rev1", "password": "guess"}).status_code
                 for _ in range(4)]
        basic = {"authorization": "Basic " + base64.b64encode(b"rev1:correct horse battery staple").decode()}
        assert client.get("/api/complaints", headers=basic).status_code == 429  # locked out, even when right
    assert codes == [401, 401, 401, 429]


def test_successful_api_logins_are_not_limited(app, reviewer):
    from fastapi.testclient import TestClient

    app.state.login_limiter = security.LoginThrottle(3, 900)
    basic = {"authorization": "Basic " + base64.b64encode(b"rev1:correct horse battery staple").decode()}
    with TestClient(app) as client:
        assert [client.get("/api/complaints", headers=basic).status_code for _ in range(5)] == [200] * 5


def test_status_reveals_nothing_without_the_right_token(client):
    receipt = submit_api(client).json()
    token = receipt["tracking_token"]
    # Change the last character to one it is not: a fixed "A" was the real last character
    # 1 time in 16 (the 43rd base64url character of 32 random bytes carries only 4 bits).
    wrong_token = token[:-1] + ("B" if token.endswith("A") else "A")
    wrong = client.get("/status", params={"reference": "CG-2026-0001", "token": wrong_token})
    unknown = client.get("/status", params={"reference": "CG-2026-0999", "token": token})
    empty = client.get("/status", params={"reference": "CG-2026-0001"})
    for response in (wrong, unknown, empty):
        assert response.status_code == 404
        assert "Ada" not in response.text and "Received" not in response.text and "opt-out" not in response.text
    # An unknown reference and a wrong token answer identically (no enumeration of references).
    assert wrong.text == unknown.text.replace("CG-2026-0999", "CG-2026-0001")
    assert client.get(receipt["status_url"]).headers["referrer-policy"] == "no-referrer"


def test_tracking_token_is_stored_only_as_a_hash(client, engine):
    from sqlalchemy import text

    token = submit_api(client).json()["tracking_token"]
    with engine.connect() as connection:
        dump = "\n".join(str(row) for row in connection.execute(text("SELECT * FROM complaints")))
    assert token not in dump and store.token_hash(token) in dump


def test_upload_limits_size_count_and_type(client):
    too_big = b"a" * (wf.MAX_ATTACHMENT_BYTES + 1)
    response = submit_form(client, files=[("attachments", ("big.txt", too_big, "text/plain"))])
    assert response.status_code == 422 and "larger than 5 MiB" in response.text
    six = [("attachments", (f"f{i}.txt", b"x", "text/plain")) for i in range(6)]
    response = submit_form(client, files=six)
    assert response.status_code == 422 and "At most 5 attachments" in response.text
    response = submit_form(client, files=[("attachments", ("page.html", b"<html>", "text/html"))])
    assert response.status_code == 422 and "accepted types" in response.text
    response = submit_form(client, files=[("attachments", ("fake.pdf", b"MZ\x90\x00", "application/pdf"))])
    assert response.status_code == 422 and "its content is not" in response.text
    huge = base64.b64encode(too_big).decode()
    api = submit_api(client, attachments=[{"filename": "b.txt", "content_type": "text/plain", "data_base64": huge}])
    assert api.status_code == 422 and "larger than" in api.text


def test_request_body_cap(client):
    from copyright_guard.web.app import MAX_BODY

    response = client.post("/api/complaints", content=b"x" * (MAX_BODY + 1), headers={"content-type": "application/json"})
    assert response.status_code == 413


def test_no_stack_traces_in_responses(app, client, monkeypatch):
    def boom(*args, **kwargs):
        raise RuntimeError("secret internal detail /etc/passwd")

    monkeypatch.setattr(store, "figures", boom)
    for path in ("/figures", "/api/figures"):
        response = client.get(path)
        assert response.status_code == 500
        assert "Traceback" not in response.text and "secret internal detail" not in response.text
        assert "incident" in response.text
        # Answered outside the middleware that adds them: the crash handler sets them itself.
        assert response.headers["content-security-policy"].startswith("default-src 'none'")
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["cache-control"] == "no-store"
    assert client.post("/api/complaints", content=b"{not json", headers={"content-type": "application/json"}).status_code == 422
    assert "Traceback" not in client.get("/no/such/page").text


def test_security_headers_on_every_page(client):
    response = client.get("/complaints/new")
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]



def test_request_body_cap_counts_chunked_uploads(engine, policy):
    from fastapi.testclient import TestClient

    from copyright_guard.web.app import create_app

    def chunks():  # no Content-Length: the cap must count the bytes as they arrive
        for _ in range(20):
            yield b"x" * 1024

    with TestClient(create_app(engine, policy, max_body_bytes=4096)) as client:
        response = client.post("/api/complaints", content=chunks(), headers={"content-type": "application/json"})
        assert response.status_code == 413
        assert submit_api(client).status_code == 201  # a normal complaint still fits


def test_failed_logins_slow_down_one_account_from_one_address_with_growing_delays():
    now = [0.0]
    throttle = security.LoginThrottle(100, 900, free=2, base_delay=1, max_delay=60, clock=lambda: now[0])
    waits = []
    for _ in range(9):
        assert throttle.wait("10.0.0.1", "rev1") == 0
        throttle.failed("10.0.0.1", "rev1")
        waits.append(throttle.wait("10.0.0.1", "rev1"))
        now[0] += waits[-1]
    assert waits == [0, 0, 1, 2, 4, 8, 16, 32, 60]  # doubling, capped
    assert throttle.wait("10.0.0.1", "rev2") == 0  # another account from the same address
    assert throttle.wait("10.0.0.2", "rev1") == 0  # the same account from another address
    throttle.succeeded("10.0.0.1", "rev1")
    assert throttle.wait("10.0.0.1", "rev1") == 0


def test_one_address_trying_many_accounts_meets_the_per_address_cap():
    throttle = security.LoginThrottle(5, 900, clock=lambda: 0.0)
    for number in range(5):
        throttle.failed("10.0.0.1", f"user{number}")
    assert throttle.wait("10.0.0.1", "someone-else") > 0
    assert throttle.wait("10.0.0.2", "someone-else") == 0


def test_someone_elses_failures_never_lock_the_right_password_out(app, reviewer):
    # OWASP ASVS V2.2.1: 20 failures on rev1 from one address (the issue's lockout) leave rev1's
    # own login from another address untouched.
    from fastapi.testclient import TestClient

    basic_wrong = {"authorization": "Basic " + base64.b64encode(b"rev1:guess").decode()}
    basic_right = {"authorization": "Basic " + base64.b64encode(b"rev1:correct horse battery staple").decode()}
    with TestClient(app, client=("203.0.113.9", 4000)) as attacker:
        codes = [attacker.get("/api/complaints", headers=basic_wrong).status_code for _ in range(25)]
        assert 429 in codes and set(codes) <= {401, 429}
    with TestClient(app, client=("198.51.100.7", 5000)) as reviewer_client:
        assert reviewer_client.get("/api/complaints", headers=basic_right).status_code == 200
        token = csrf_of(reviewer_client.get("/login").text)
        form = {"csrf_token": token, "username": "rev1", "password": "correct horse battery staple"}
        assert reviewer_client.post("/login", data=form, follow_redirects=False).status_code == 303
