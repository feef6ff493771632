"""Store fixtures: a fresh database per test on SQLite and, where the machine has one, PostgreSQL.

PostgreSQL tests use the server at 127.0.0.1:5432, database ``test``; each test gets its own
schema (via ``search_path`` in the URL) that is dropped afterwards, so runs never see each other.
"""

from __future__ import annotations

import pytest

from copyright_guard.core.policy import load_policy

# pg_url (a fresh schema on the PostgreSQL test server, or a skip): tests/conftest.py


@pytest.fixture
def sqlite_url(tmp_path):
    return f"sqlite:///{tmp_path / 'audit.db'}"


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'audit.db'}"
    return request.getfixturevalue("pg_url")


@pytest.fixture
def policy():
    return load_policy()


@pytest.fixture
def engine(db_url):
    from copyright_guard.store import connect

    engine = connect(db_url)
    yield engine
    engine.dispose()
