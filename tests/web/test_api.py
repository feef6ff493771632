"""The JSON API: every route, public and reviewer, and every transition; OpenAPI."""

from __future__ import annotations

import base64

import pytest
from fastapi.testclient import TestClient
from portal_helpers import PASSWORD, START, api_body, csrf_of, login, submit_api, submit_form

from copyright_guard.store import complaints as store
from copyright_guard.store import reviewers
from copyright_guard.store.db import connect
from copyright_guard.web.app import create_app

BASIC = {"authorization": "Basic " + base64.b64encode(f"rev1:{PASSWORD}".encode()).decode()}


def test_openapi_describes_the_api(client):
    spec = client.get("/openapi.json").json()
    paths = spec["paths"]
    assert {"/api/complaints", "/api/status/{reference}", "/api/figures",
            "/api/complaints/{reference}/transitions", "/api/export"} <= set(paths)
    assert "HTTPBasic" in spec["components"]["securitySchemes"]
    assert not any(path.startswith(("/review", "/login")) for path in paths)  # HTML pages stay out


def test_submit_returns_reference_token_and_deadlines(client):
    response = submit_api(client)
    assert response.status_code == 201
    body = response.json()
    assert body["reference"] == "CG-2026-0001" and body["status"] == "received"
    assert body["acknowledge_due"] == "2026-11-25T12:00:00+00:00" and body["decide_due"] == "2026-12-23T12:00:00+00:00"
    assert body["status_url"] == f"/status?reference=CG-2026-0001&token={body['tracking_token']}"


def test_submit_with_invalid_fields_lists_each_problem(client):
    response = submit_api(client, email="x", description="short")
    assert response.status_code == 422
    fields = {e["field"]: e["message"] for e in response.json()["errors"]}
    assert set(fields) == {"email", "description"}


def test_submit_with_wrong_enum_or_unknown_field_is_422_without_echo(client):
    response = client.post("/api/complaints", json={**api_body(), "role": "<b>boss</b>", "extra": 1})
    assert response.status_code == 422
    assert "<b>boss</b>" not in response.text
    assert {e["field"] for e in response.json()["errors"]} == {"role", "extra"}


def test_submit_with_base64_attachment(client, engine):
    data = base64.b64encode(b"\x89PNG\r\n\x1a\nrest").decode()
    response = submit_api(client, attachments=[{"filename": "shot.png", "content_type": "image/png", "data_base64": data}])
    assert response.status_code == 201
    assert store.load(engine, "CG-2026-0001").attachments[0].content_type == "image/png"
    bad = submit_api(client, attachments=[{"filename": "a.png", "content_type": "image/png", "data_base64": "***"}])
    assert bad.status_code == 422 and "not valid base64" in bad.text


def test_status_needs_the_token_and_shows_public_history(client):
    receipt = submit_api(client).json()
    ok = client.get("/api/status/CG-2026-0001", headers={"x-tracking-token": receipt["tracking_token"]})
    assert ok.status_code == 200
    assert ok.json()["status"] == "received" and ok.json()["history"][0]["what"] == "received"
    assert ok.json()["history"][0]["said"] == "We received your complaint"
    assert "email" not in ok.text and "Ada" not in ok.text  # no personal data on the status view
    for headers in ({}, {"x-tracking-token": "wrong"}):
        assert client.get("/api/status/CG-2026-0001", headers=headers).status_code == 404


def test_figures_are_public(client):
    submit_api(client)
    assert client.get("/api/figures", params={"period": "year"}).json() == [
        {"period": "2026", "received": 1, "decided": 0, "median_days_to_decision": None,
         "by_outcome": {"upheld": 0, "rejected": 0, "manifestly_unfounded": 0, "duplicate": 0}}]
    assert client.get("/api/figures", params={"period": "week"}).status_code == 422


@pytest.mark.parametrize("auth", ["basic", "session"])
def test_reviewer_walks_every_transition_over_the_api(client, reviewer, auth, engine, clock):
    from portal_helpers import login

    headers = BASIC if auth == "basic" else {"x-csrf-token": login(client)}
    submit_api(client)
    submit_api(client, email="other@example.org")
    for status in ("acknowledged", "under_review", "upheld", "closed"):
        clock.advance(hours=1)  # a session's login lasts 8 hours
        response = client.post("/api/complaints/CG-2026-0001/transitions", headers=headers,
                               json={"to": status, "why": f"because {status}"})
        assert response.status_code == 200, response.text
        assert response.json()["status"] == status
    shown = client.get("/api/complaints/CG-2026-0001", headers=headers).json()
    assert shown["outcome"] == "upheld" and shown["closed_at"] and shown["overdue"] == []
    assert [e["actor"] for e in shown["events"] if e["kind"] == "status"][1:] == ["rev1"] * 4
    listed = client.get("/api/complaints", headers=headers, params={"status": "received"}).json()
    assert [c["reference"] for c in listed] == ["CG-2026-0002"]


@pytest.mark.parametrize("outcome", ["rejected", "manifestly_unfounded", "duplicate"])
def test_each_outcome_over_the_api(client, reviewer, outcome):
    submit_api(client)
    submit_api(client)
    for status in ("acknowledged", "under_review"):
        client.post("/api/complaints/CG-2026-0002/transitions", headers=BASIC, json={"to": status, "why": "w"})
    body = {"to": outcome, "why": "decided", "duplicate_of": "CG-2026-0001" if outcome == "duplicate" else ""}
    response = client.post("/api/complaints/CG-2026-0002/transitions", headers=BASIC, json=body)
    assert response.status_code == 200 and response.json()["outcome"] == outcome


def test_refused_transition_is_409_with_the_reason(client, reviewer):
    submit_api(client)
    response = client.post("/api/complaints/CG-2026-0001/transitions", headers=BASIC, json={"to": "closed", "why": "w"})
    assert response.status_code == 409 and "not closed" in response.json()["detail"]
    missing = client.post("/api/complaints/CG-2026-0404/transitions", headers=BASIC, json={"to": "closed", "why": "w"})
    assert missing.status_code == 404


def test_notes_exclusions_affected_items_attachments_export_and_overdue(client, reviewer, clock):
    data = base64.b64encode(b"%PDF-1.7 proof").decode()
    submit_api(client, domains="pirate.example", attachments=[{"filename": "p.pdf", "content_type": "application/pdf", "data_base64": data}])
    note = client.post("/api/complaints/CG-2026-0001/notes", headers=BASIC, json={"text": "checking", "public": False})
    assert note.status_code == 200 and note.json()["events"][-1]["why"] == "checking"
    clock.advance(days=40)
    overdue = client.get("/api/complaints", headers=BASIC, params={"overdue": True}).json()
    assert overdue[0]["reference"] == "CG-2026-0001" and len(overdue[0]["overdue"]) == 2
    for status in ("acknowledged", "under_review", "upheld"):
        client.post("/api/complaints/CG-2026-0001/transitions", headers=BASIC, json={"to": status, "why": "w"})
    excluded = client.post("/api/complaints/CG-2026-0001/exclusions", headers=BASIC,
                           json={"entries": [{"kind": "domain", "value": "pirate.example"}], "why": "upheld"})
    assert excluded.status_code == 200 and "complaint-CG-2026-0001 version 1" in excluded.json()["events"][-1]["what"]
    bad = client.post("/api/complaints/CG-2026-0001/exclusions", headers=BASIC,
                      json={"entries": [{"kind": "domain", "value": "co.uk"}], "why": "upheld"})
    assert bad.status_code == 422 and "public suffix" in bad.json()["detail"]
    assert client.post("/api/complaints/CG-2026-0001/affected-items", headers=BASIC).json() == []
    pdf = client.get("/api/complaints/CG-2026-0001/attachments/1", headers=BASIC)
    assert pdf.content == b"%PDF-1.7 proof" and pdf.headers["content-disposition"].startswith("attachment")
    exported = client.get("/api/export", headers=BASIC).json()
    assert exported[0]["reference"] == "CG-2026-0001" and exported[0]["attachments"] == 1
    csv_export = client.get("/api/export", headers=BASIC, params={"format": "csv"})
    assert csv_export.text.startswith("reference,")


def test_session_writes_need_the_csrf_header(client, reviewer):
    from portal_helpers import login

    login(client)
    submit_api(client)
    assert client.get("/api/complaints").status_code == 200  # reads: the session is enough
    response = client.post("/api/complaints/CG-2026-0001/transitions", json={"to": "acknowledged", "why": "w"})
    assert response.status_code == 403 and "X-CSRF-Token" in response.json()["detail"]


def test_wrong_basic_credentials_are_401(client, reviewer):
    bad = {"authorization": "Basic " + base64.b64encode(b"rev1:nope").decode()}
    response = client.get("/api/complaints", headers=bad)
    assert response.status_code == 401 and response.headers["www-authenticate"].startswith("Basic")
    assert client.get("/api/complaints", headers={"authorization": "Basic !!!"}).status_code == 401


@pytest.mark.parametrize("db", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def test_control_characters_are_refused_or_not_found_never_a_server_error(request, db, policy, clock):
    # PostgreSQL refuses NUL in text values: nothing typed may carry one to the database.
    engine = request.getfixturevalue("engine") if db == "sqlite" else connect(request.getfixturevalue("pg_url"))
    try:
        reviewers.add(engine, "rev1", PASSWORD, now=START)
        app = create_app(engine, policy, secret_key="test-secret-key-for-signing-cookies", clock=clock)
        with TestClient(app, raise_server_exceptions=False) as client:
            token = submit_api(client).json()["tracking_token"]
            bad = submit_api(client, description="x" * 25 + "\x00", email="a\x00b@example.com", works=["a\x00b"])
            assert bad.status_code == 422
            assert {e["field"] for e in bad.json()["errors"]} == {"description", "email", "works"}
            form = submit_form(client, description="x" * 25 + "\x00")
            assert form.status_code == 422 and "must not contain control characters" in form.text
            assert client.get("/status", params={"reference": "CG-2026-0001\x00", "token": token}).status_code == 404
            assert client.get("/api/status/CG-2026-0001%00", headers={"x-tracking-token": token}).status_code == 404
            assert client.get("/api/complaints/CG-2026-0001%00", headers=BASIC).status_code == 404
            note = client.post("/api/complaints/CG-2026-0001/notes", headers=BASIC, json={"text": "a\u0000b"})
            assert note.status_code == 422 and note.json()["errors"] == [
                {"field": "text", "message": "the note must not contain control characters"}]
            why = client.post("/api/complaints/CG-2026-0001/transitions", headers=BASIC,
                              json={"to": "acknowledged", "why": "a\u0000b"})
            assert why.status_code == 422 and why.json()["errors"][0]["field"] == "why"
            nul_basic = {"authorization": "Basic " + base64.b64encode(f"al\x00ice:{PASSWORD}".encode()).decode()}
            assert client.get("/api/complaints", headers=nul_basic).status_code == 401
            login_token = csrf_of(client.get("/login").text)
            refused = client.post("/login", data={"csrf_token": login_token, "username": "al\x00ice", "password": "x"})
            assert refused.status_code == 401 and "not right" in refused.text
            csrf = login(client)
            page = client.post("/review/complaints/CG-2026-0001/note", data={"csrf_token": csrf, "text": "a\x00b"})
            assert page.status_code == 422 and "must not contain control characters" in page.text
            assert [e.why for e in store.load(engine, "CG-2026-0001").events if e.kind == "note"] == []
    finally:
        if db == "postgresql":
            engine.dispose()


def test_input_errors_are_422_with_their_field(client, reviewer):
    submit_api(client)
    submit_api(client)
    listed = client.get("/api/complaints", headers=BASIC, params={"status": "bogus"})
    assert listed.status_code == 422 and listed.json()["errors"][0]["field"] == "query.status"
    for duplicate_of in ("nope", "CG-2026-0002"):  # only a duplicate decision names an original
        response = client.post("/api/complaints/CG-2026-0001/transitions", headers=BASIC,
                               json={"to": "acknowledged", "why": "x", "duplicate_of": duplicate_of})
        assert response.status_code == 422, response.text
        assert response.json()["errors"] == [{"field": "duplicate_of", "message": response.json()["detail"]}]
    for status in ("acknowledged", "under_review"):
        client.post("/api/complaints/CG-2026-0001/transitions", headers=BASIC, json={"to": status, "why": "w"})
    for duplicate_of, words in (("nope", "not a complaint reference"), ("CG-2026-0404", "no complaint CG-2026-0404")):
        response = client.post("/api/complaints/CG-2026-0001/transitions", headers=BASIC,
                               json={"to": "duplicate", "why": "x", "duplicate_of": duplicate_of})
        assert response.status_code == 422 and words in response.json()["detail"]
    assert store.load(client.app.state.engine, "CG-2026-0001").complaint.status.value == "under_review"
