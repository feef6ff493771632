"""Database fixtures for the exclusion-list tests: SQLite always, PostgreSQL where the server is
(required under CI=true, see tests/conftest.py::skip_or_fail)."""

from __future__ import annotations

import pytest


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path):
    """An empty database: a new SQLite file, or a fresh schema on the PostgreSQL test server
    (``pg_url`` in tests/conftest.py)."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'audit.db'}"
    return request.getfixturevalue("pg_url")
