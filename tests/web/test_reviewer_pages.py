"""Reviewer pages: login, triage, every transition, notes, exclusions, affected items, export."""

from __future__ import annotations

from datetime import timedelta

from portal_helpers import START, advance_to, csrf_of, login, submit_form

from copyright_guard.core.evaluate import evaluate
from copyright_guard.store import complaints as store
from copyright_guard.store import outbox
from copyright_guard.store.lists import load_exclusion_index, snapshots


def test_login_page_rejects_a_wrong_password(client, reviewer):
    token = csrf_of(client.get("/login").text)
    response = client.post("/login", data={"csrf_token": token, "username": "rev1", "password": "wrong password!"})
    assert response.status_code == 401 and "not right" in response.text
    assert client.get("/review", follow_redirects=False).status_code == 303


def test_login_sets_an_httponly_samesite_session_cookie(client, reviewer):
    token = csrf_of(client.get("/login").text)
    response = client.post("/login", data={"csrf_token": token, "username": "rev1",
                                           "password": "correct horse battery staple"}, follow_redirects=False)
    cookie = response.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie


def test_login_never_redirects_off_site(client, reviewer):
    token = csrf_of(client.get("/login").text)
    response = client.post("/login", data={"csrf_token": token, "username": "rev1",
                                           "password": "correct horse battery staple", "next": "//evil.example/"},
                           follow_redirects=False)
    assert response.headers["location"] == "/review"


def test_logout_ends_the_session(reviewer_client):
    response = reviewer_client.post("/logout", data={"csrf_token": reviewer_client.csrf}, follow_redirects=False)
    assert response.status_code == 303
    assert reviewer_client.get("/review", follow_redirects=False).headers["location"].startswith("/login")


def test_logout_ends_the_session_for_a_copy_of_its_cookie_too(reviewer_client, app):
    from fastapi.testclient import TestClient

    copied = reviewer_client.cookies.get("cg_session")
    response = reviewer_client.post("/logout", data={"csrf_token": reviewer_client.csrf}, follow_redirects=False)
    assert response.status_code == 303
    with TestClient(app, cookies={"cg_session": copied}) as thief:
        assert thief.get("/review", follow_redirects=False).status_code == 303
        assert thief.get("/api/complaints").status_code == 401
    login(reviewer_client)  # logging in again starts a new session, which works
    assert reviewer_client.get("/review", follow_redirects=False).status_code == 200


def test_a_login_lasts_eight_hours_however_active(reviewer_client, clock):
    for _ in range(15):  # busy all day: every response re-signs the cookie
        clock.advance(minutes=30)
        assert reviewer_client.get("/review", follow_redirects=False).status_code == 200
    assert reviewer_client.get("/api/complaints").status_code == 200
    clock.advance(minutes=31)  # 8 h 01 min after login
    assert reviewer_client.get("/review", follow_redirects=False).headers["location"].startswith("/login")
    assert reviewer_client.get("/api/complaints").status_code == 401


def test_a_session_without_a_login_time_is_refused(app, reviewer):
    import base64
    import json

    from fastapi.testclient import TestClient
    from itsdangerous import TimestampSigner

    # What a cookie signed before login times were recorded holds: only the name.
    forged = TimestampSigner("test-secret-key-for-signing-cookies").sign(
        base64.b64encode(json.dumps({"reviewer": "rev1"}).encode())).decode()
    with TestClient(app, cookies={"cg_session": forged}) as client:
        assert client.get("/review", follow_redirects=False).status_code == 303


def test_disabled_reviewer_loses_access_at_once(reviewer_client, engine):
    from copyright_guard.store import reviewers

    assert reviewer_client.get("/review").status_code == 200
    reviewers.disable(engine, "rev1", now=START)
    assert reviewer_client.get("/review", follow_redirects=False).status_code == 303


def test_list_filters_and_overdue_marking(reviewer_client, clock):
    submit_form(reviewer_client)
    submit_form(reviewer_client, email="bob@example.org")
    advance_to(reviewer_client, "CG-2026-0002", "acknowledged", csrf=reviewer_client.csrf)
    page = reviewer_client.get("/review", params={"status": "received"}).text
    assert "CG-2026-0001" in page and "CG-2026-0002" not in page
    clock.advance(days=3)
    login(reviewer_client)  # a login lasts 8 hours
    overdue = reviewer_client.get("/review", params={"overdue": "1"}).text
    assert "CG-2026-0001" in overdue and "overdue: acknowledgement due" in overdue and "CG-2026-0002" not in overdue


def test_full_workflow_through_the_pages_logs_who_and_why_and_queues_emails(reviewer_client, engine, clock):
    submit_form(reviewer_client)
    csrf = reviewer_client.csrf
    for status in ("acknowledged", "under_review", "upheld", "closed"):
        clock.advance(hours=1)
        advance_to(reviewer_client, "CG-2026-0001", status, csrf=csrf)
    record = store.load(engine, "CG-2026-0001")
    assert record.complaint.status.value == "closed" and record.complaint.outcome.value == "upheld"
    steps = [(e.actor, e.what, e.why) for e in record.events if e.kind == "status"][1:]
    assert steps == [("rev1", "received -> acknowledged", "step to acknowledged"),
                     ("rev1", "acknowledged -> under_review", "step to under_review"),
                     ("rev1", "under_review -> upheld", "step to upheld"),
                     ("rev1", "upheld -> closed", "step to closed")]
    assert [m.kind for m in outbox.messages(engine)] == ["receipt", "acknowledgement", "decision"]
    page = reviewer_client.get("/review/complaints/CG-2026-0001").text
    assert "Closed" in page and "step to upheld" in page


def test_illegal_transition_and_missing_reason_are_explained(reviewer_client):
    submit_form(reviewer_client)
    response = reviewer_client.post("/review/complaints/CG-2026-0001/transition",
                                    data={"csrf_token": reviewer_client.csrf, "to": "upheld", "why": "x"})
    assert response.status_code == 409 and "it can move to acknowledged, not upheld" in response.text
    response = reviewer_client.post("/review/complaints/CG-2026-0001/transition",
                                    data={"csrf_token": reviewer_client.csrf, "to": "acknowledged", "why": " "})
    assert response.status_code == 422 and "must say why" in response.text


def test_duplicate_decision_names_the_original(reviewer_client, engine):
    submit_form(reviewer_client)
    submit_form(reviewer_client)
    assert any("possible duplicate of CG-2026-0001" in e.why for e in store.load(engine, "CG-2026-0002").events)
    advance_to(reviewer_client, "CG-2026-0002", "acknowledged", "under_review", csrf=reviewer_client.csrf)
    response = reviewer_client.post("/review/complaints/CG-2026-0002/transition", data={
        "csrf_token": reviewer_client.csrf, "to": "duplicate", "why": "answered already", "duplicate_of": "CG-2026-0001"},
        follow_redirects=False)
    assert response.status_code == 303
    assert store.load(engine, "CG-2026-0002").complaint.duplicate_of == "CG-2026-0001"


def test_notes_are_recorded(reviewer_client, engine):
    submit_form(reviewer_client)
    response = reviewer_client.post("/review/complaints/CG-2026-0001/note",
                                    data={"csrf_token": reviewer_client.csrf, "text": "called the complainant", "public": "yes"},
                                    follow_redirects=False)
    assert response.status_code == 303
    event = store.load(engine, "CG-2026-0001").events[-1]
    assert (event.actor, event.kind, event.why, event.public) == ("rev1", "note", "called the complainant", True)


def test_upheld_complaint_adds_a_versioned_exclusion_that_later_decisions_cite(reviewer_client, engine, clock, policy):
    submit_form(reviewer_client, domains="www.pirate-books.example")
    csrf = reviewer_client.csrf
    response = reviewer_client.post("/review/complaints/CG-2026-0001/exclusions",
                                    data={"csrf_token": csrf, "kind": "domain", "values": "pirate-books.example", "why": "x"})
    assert response.status_code == 409 and "not upheld" in response.text
    advance_to(reviewer_client, "CG-2026-0001", "acknowledged", "under_review", "upheld", csrf=csrf)
    page = reviewer_client.get("/review/complaints/CG-2026-0001").text
    assert "pirate-books.example\n" in page  # the proposed domain is pre-filled
    response = reviewer_client.post("/review/complaints/CG-2026-0001/exclusions", data={
        "csrf_token": csrf, "kind": "domain", "values": "pirate-books.example", "why": "site copies whole novels"},
        follow_redirects=False)
    assert response.status_code == 303
    (snapshot,) = snapshots(engine, "complaint-CG-2026-0001")
    assert snapshot.version == 1 and snapshot.entry_count == 1
    action = store.load(engine, "CG-2026-0001").events[-1]
    assert action.kind == "action" and "complaint-CG-2026-0001 version 1" in action.what

    decision = evaluate("https://cdn.pirate-books.example/novel.html", policy, now=clock() + timedelta(minutes=1),
                        exclusions=load_exclusion_index(engine))
    assert decision.verdict.value == "deny"
    (reason,) = [r for r in decision.reasons if r.code == "exclusion.listed"]
    assert "complaint CG-2026-0001" in reason.detail


def test_exclusion_form_takes_at_most_100_entries_and_refuses_a_wildcard_host(reviewer_client, engine):
    submit_form(reviewer_client)
    csrf = reviewer_client.csrf
    advance_to(reviewer_client, "CG-2026-0001", "acknowledged", "under_review", "upheld", csrf=csrf)
    many = "\n".join(f"d{i}.example" for i in range(101))
    response = reviewer_client.post("/review/complaints/CG-2026-0001/exclusions",
                                    data={"csrf_token": csrf, "kind": "domain", "values": many, "why": "x"})
    assert response.status_code == 422 and "at most 100" in response.text  # as the API
    response = reviewer_client.post("/review/complaints/CG-2026-0001/exclusions",
                                    data={"csrf_token": csrf, "kind": "host", "values": "*.pirate.example", "why": "x"})
    assert response.status_code == 422 and "add it as a domain" in response.text
    assert store.load(engine, "CG-2026-0001").events[-1].kind == "message"  # nothing was added


def test_complaint_form_checks_domains_as_exclusions_are_checked(client):
    response = submit_form(client, domains="127.0.0.1")
    assert response.status_code == 422 and "IP address" in response.text


def test_affected_items_are_listed_and_the_listing_logged(reviewer_client, engine):
    submit_form(reviewer_client)
    advance_to(reviewer_client, "CG-2026-0001", "acknowledged", "under_review", "upheld", csrf=reviewer_client.csrf)
    response = reviewer_client.post("/review/complaints/CG-2026-0001/affected", data={"csrf_token": reviewer_client.csrf})
    assert response.status_code == 200 and "Already-collected items to purge (0)" in response.text
    assert store.load(engine, "CG-2026-0001").events[-1].what == "listed 0 already-collected item(s) for purging"


def test_attachment_download_is_never_inline(reviewer_client):
    submit_form(reviewer_client, files=[("attachments", ("../../x.txt", b"<script>alert(1)</script>", "text/plain"))])
    response = reviewer_client.get("/review/complaints/CG-2026-0001/attachments/1")
    assert response.status_code == 200 and response.content == b"<script>alert(1)</script>"
    assert response.headers["content-disposition"] == 'attachment; filename="x.txt"'
    assert response.headers["x-content-type-options"] == "nosniff"
    assert reviewer_client.get("/review/complaints/CG-2026-0001/attachments/99").status_code == 404


def test_an_attachment_id_too_big_for_the_database_is_not_found(reviewer_client):
    submit_form(reviewer_client, files=[("attachments", ("x.txt", b"proof", "text/plain"))])
    for prefix in ("/review", "/api"):
        for attachment_id in ("99999999999999999999", str(2**63), "0", "-1"):
            response = reviewer_client.get(f"{prefix}/complaints/CG-2026-0001/attachments/{attachment_id}")
            assert response.status_code == 404, (prefix, attachment_id, response.status_code)


def test_attachment_named_in_any_script_downloads(reviewer_client):
    submit_form(reviewer_client, files=[("attachments", ("证据.txt", "证据".encode(), "text/plain"))])
    for url in ("/review/complaints/CG-2026-0001/attachments/1", "/api/complaints/CG-2026-0001/attachments/1"):
        response = reviewer_client.get(url)
        assert response.status_code == 200 and response.content == "证据".encode()
        # RFC 6266 §4.3: an ASCII filename, then the real one as RFC 8187 UTF-8.
        assert response.headers["content-disposition"] == (
            "attachment; filename=\"__.txt\"; filename*=UTF-8''%E8%AF%81%E6%8D%AE.txt")


def test_attachment_download_extension_matches_its_checked_type(reviewer_client, engine):
    submit_form(reviewer_client, files=[("attachments", ("page.html", b"<script>alert(1)</script>", "text/plain"))])
    response = reviewer_client.get("/review/complaints/CG-2026-0001/attachments/1")
    assert response.headers["content-disposition"] == 'attachment; filename="page.html.txt"'
    assert response.headers["content-type"].startswith("text/plain")
    assert store.load(engine, "CG-2026-0001").attachments[0].filename == "page.html.txt"


def test_an_attachment_stored_with_a_misleading_name_still_downloads_with_the_right_one(reviewer_client, engine):
    from sqlalchemy import update

    from copyright_guard.store.schema_complaints import complaint_attachments

    submit_form(reviewer_client, files=[("attachments", ("x.txt", b"<script>", "text/plain"))])
    with engine.begin() as connection:  # as stored before extensions were enforced
        connection.execute(update(complaint_attachments).values(filename="x.html"))
    response = reviewer_client.get("/review/complaints/CG-2026-0001/attachments/1")
    assert response.headers["content-disposition"] == 'attachment; filename="x.html.txt"'


def test_unknown_complaint_is_a_404_page(reviewer_client):
    response = reviewer_client.get("/review/complaints/CG-2026-9999")
    assert response.status_code == 404 and "no complaint" in response.text


def test_export_csv_download(reviewer_client):
    submit_form(reviewer_client)
    response = reviewer_client.get("/review/export.csv")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    assert response.text.splitlines()[0].startswith("reference,received_at")
    assert "CG-2026-0001" in response.text


def test_pages_show_who_is_logged_in(reviewer_client):
    assert "Log out rev1" in reviewer_client.get("/").text
