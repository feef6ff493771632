"""Fixtures for the multi-worker tests: the real Redis server at 127.0.0.1:6379 (a key prefix of
its own per test, removed afterwards) and a policy file with a concrete identity."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from scale_helpers import REDIS_URL, skip_or_fail, write_policy


@pytest.fixture
def redis_client():
    try:
        import redis

        client = redis.Redis.from_url(REDIS_URL, socket_timeout=3, socket_connect_timeout=3)
        client.ping()
    except Exception as exc:  # noqa: BLE001 - any failure means "no server here"
        skip_or_fail(f"Redis at 127.0.0.1:6379 not available: {exc}")
    return client


@pytest.fixture
def crawl_name(redis_client):
    """A crawl name of this test's own; every Redis key under it (queue included) is removed afterwards."""
    name = f"test-{uuid.uuid4().hex[:12]}"
    yield name
    keys = list(redis_client.scan_iter(match=f"copyright-guard:{name}:*", count=1000))
    if keys:
        redis_client.delete(*keys)


@pytest.fixture
def policy_file(tmp_path) -> Path:
    return write_policy(tmp_path, timeout_seconds=3)
