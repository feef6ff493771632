"""Fixtures for the portal: a fresh migrated SQLite database, a controllable clock, a TestClient."""

from __future__ import annotations

import shutil

import pytest
from fastapi.testclient import TestClient
from portal_helpers import PASSWORD, START, Clock, login

from copyright_guard.core.policy import load_policy
from copyright_guard.store import reviewers
from copyright_guard.store.db import connect
from copyright_guard.web.app import create_app


@pytest.fixture(autouse=True)
def fast_password_hashing(monkeypatch):
    """Cheap argon2 parameters for test speed only; production uses argon2-cffi's defaults (RFC 9106)."""
    from argon2 import PasswordHasher

    monkeypatch.setattr(reviewers, "_HASHER", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))


@pytest.fixture(scope="session")
def migrated_db(tmp_path_factory):
    """One database migrated to head per session; each test gets a copy (migrating costs ~0.4 s)."""
    path = tmp_path_factory.mktemp("template") / "portal.db"
    connect(f"sqlite:///{path}").dispose()
    return path


@pytest.fixture
def engine(tmp_path, migrated_db):
    path = tmp_path / "portal.db"
    shutil.copyfile(migrated_db, path)
    engine = connect(f"sqlite:///{path}")
    yield engine
    engine.dispose()


@pytest.fixture
def clock() -> Clock:
    return Clock(START)


@pytest.fixture
def policy():
    return load_policy()


@pytest.fixture
def app(engine, policy, clock):
    return create_app(engine, policy, secret_key="test-secret-key-for-signing-cookies", clock=clock,
                      submissions_per_hour=5)


@pytest.fixture
def client(app):
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


@pytest.fixture
def reviewer(engine) -> str:
    reviewers.add(engine, "rev1", PASSWORD, now=START)
    return "rev1"


@pytest.fixture
def reviewer_client(client, reviewer):
    """A client logged in as rev1, sending the session's CSRF token on API writes."""
    client.csrf = login(client)  # type: ignore[attr-defined]
    client.headers["x-csrf-token"] = client.csrf
    return client
