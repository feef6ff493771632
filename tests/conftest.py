"""Shared fixtures. Service-backed tests skip with a reason when the service is absent, except
under CI=true, where they must run (a missing service is then a failure, not a skip)."""

from __future__ import annotations

import os
import uuid
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

import pytest

DATA = Path(__file__).parent / "data"
IN_CI = os.environ.get("CI", "").lower() == "true"

NOW = datetime(2026, 11, 23, 12, 0, 0, tzinfo=timezone.utc)


def skip_or_fail(reason: str) -> None:
    """Skip locally; fail under CI=true, where every service-backed test must run."""
    if IN_CI:
        pytest.fail(f"{reason} (CI=true: this test must run)")
    pytest.skip(reason)


@pytest.fixture
def now() -> datetime:
    return NOW


@pytest.fixture(scope="session")
def data_dir() -> Path:
    return DATA


PG_SERVER = "postgresql://postgres@127.0.0.1:5432/test"


@contextmanager
def _pg_schema():
    """A PostgreSQL URL (psycopg 3) whose search_path is a fresh, empty schema on the test server at
    127.0.0.1:5432, dropped afterwards; skipped without the server (a failure under CI=true)."""
    try:
        import psycopg

        with psycopg.connect(PG_SERVER, connect_timeout=3, autocommit=True) as connection:
            schema = f"cg_test_{uuid.uuid4().hex[:12]}"
            connection.execute(f"CREATE SCHEMA {schema}")
    except Exception as exc:  # noqa: BLE001 - any failure means "no server here"
        skip_or_fail(f"PostgreSQL at 127.0.0.1:5432/test not available: {str(exc).splitlines()[0] if str(exc) else exc!r}")
    yield f"postgresql+psycopg://postgres@127.0.0.1:5432/test?options=-csearch_path%3D{schema}"
    with psycopg.connect(PG_SERVER, autocommit=True) as connection:
        connection.execute(f"DROP SCHEMA {schema} CASCADE")


@pytest.fixture
def pg_url():
    """A fresh PostgreSQL schema for one test (see :func:`_pg_schema`)."""
    with _pg_schema() as url:
        yield url


@pytest.fixture(scope="module")
def pg_module_url():
    """A fresh PostgreSQL schema shared by one module's tests (a crawl made once, checked many ways)."""
    with _pg_schema() as url:
        yield url


# A policy with a concrete identity (the strict default otherwise): `crawl`, the Scrapy add-on and
# `serve` refuse the shipped default's placeholder identity (core/identity.py).
TEST_POLICY = str(DATA / "policies" / "identity.toml")


@pytest.fixture(scope="session")
def test_policy() -> str:
    return TEST_POLICY


@pytest.fixture(autouse=True, scope="session")
def _checkpoint_keys_in_a_temporary_place(tmp_path_factory):
    """Crawls create their checkpoint signing key at the default place on first use
    ($XDG_CONFIG_HOME/copyright-guard/log-key): never the tester's own configuration directory.
    Set in os.environ, so crawler subprocesses inherit it."""
    previous = os.environ.get("XDG_CONFIG_HOME")
    os.environ["XDG_CONFIG_HOME"] = str(tmp_path_factory.mktemp("xdg-config"))
    yield
    if previous is None:
        os.environ.pop("XDG_CONFIG_HOME", None)
    else:
        os.environ["XDG_CONFIG_HOME"] = previous
