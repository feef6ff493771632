"""Complaint store fixtures: each test runs on SQLite and on PostgreSQL (127.0.0.1:5432, database
``test``, a fresh schema per test; skipped locally without the server, required under CI=true)."""

from __future__ import annotations

import shutil

import pytest

# pg_url: tests/conftest.py


@pytest.fixture(scope="session")
def migrated_sqlite(tmp_path_factory):
    """One SQLite database migrated to head per session; tests get copies (migrating costs ~0.4 s)."""
    from copyright_guard.store.db import connect

    path = tmp_path_factory.mktemp("template") / "complaints.db"
    connect(f"sqlite:///{path}").dispose()
    return path


@pytest.fixture
def sqlite_url(tmp_path, migrated_sqlite) -> str:
    path = tmp_path / "complaints.db"
    shutil.copyfile(migrated_sqlite, path)
    return f"sqlite:///{path}"


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def engine(request):
    from copyright_guard.store.db import connect

    engine = connect(request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "pg_url"))
    yield engine
    engine.dispose()
