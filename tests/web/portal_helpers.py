"""Helpers for the portal tests: a controllable clock, CSRF-aware form posts, login."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

from fastapi.testclient import TestClient

START = datetime(2026, 11, 23, 12, 0, tzinfo=timezone.utc)
PASSWORD = "correct horse battery staple"

FORM = {
    "name": "Ada Author",
    "organisation": "Ada Books Ltd",
    "email": "ada@example.org",
    "role": "rightsholder",
    "type": "opt-out-not-honoured",
    "description": "My site reserves TDM rights in tdmrep.json but the crawler collected it anyway.",
    "urls": "https://books.example.org/novel/chapter-1",
    "domains": "",
    "works": "The Long Novel",
}


class Clock:
    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta) -> None:
        self.now += timedelta(**delta)


def csrf_of(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "page has no CSRF field"
    return match.group(1)


def login(client: TestClient, username: str = "rev1", password: str = PASSWORD) -> str:
    """Log in through the form; returns the session's CSRF token."""
    token = csrf_of(client.get("/login").text)
    response = client.post("/login", data={"csrf_token": token, "username": username, "password": password,
                                           "next": "/review"}, follow_redirects=False)
    assert response.status_code == 303, response.text
    return csrf_of(client.get("/review").text)


def submit_form(client: TestClient, files=None, **changes):
    token = csrf_of(client.get("/complaints/new").text)
    return client.post("/complaints/new", data={**FORM, **changes, "csrf_token": token}, files=files,
                       follow_redirects=False)


def api_body(**changes) -> dict:
    body = {**FORM, **changes}
    for field in ("urls", "domains", "works"):
        if isinstance(body[field], str):
            body[field] = [line for line in body[field].splitlines() if line.strip()]
    return body


def submit_api(client: TestClient, **changes):
    return client.post("/api/complaints", json=api_body(**changes))


def advance_to(client: TestClient, reference: str, *statuses: str, csrf: str) -> None:
    """Walk a complaint through ``statuses`` with the reviewer form."""
    for status in statuses:
        response = client.post(f"/review/complaints/{reference}/transition",
                               data={"csrf_token": csrf, "to": status, "why": f"step to {status}"}, follow_redirects=False)
        assert response.status_code == 303, response.text


def _root_conftest():
    # tests/ is not a package, so tests/conftest.py cannot be imported by name from here.
    import importlib.util
    from pathlib import Path

    spec = importlib.util.spec_from_file_location("copyright_guard_tests_root", Path(__file__).parents[1] / "conftest.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


skip_or_fail = _root_conftest().skip_or_fail
