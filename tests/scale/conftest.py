"""Fixtures for the multi-worker tests: the real Redis server at 127.0.0.1:6379 (a key prefix of
its own per test, removed afterwards) and a policy file with a concrete identity."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest


REDIS_URL = "redis://127.0.0.1:6379/0"


def skip_or_fail(reason: str) -> None:
    """As tests/conftest.py: skip locally, fail under CI=true (tests/ is not a package)."""
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{reason} (CI=true: this test must run)")
    pytest.skip(reason)
DEFAULT_POLICY = Path(__file__).resolve().parents[2] / "policies" / "default.toml"


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
    """A crawl name of this test's own; every Redis key under it is removed afterwards."""
    name = f"test-{uuid.uuid4().hex[:12]}"
    yield name
    keys = list(redis_client.scan_iter(match=f"copyright-guard:{name}:*", count=1000))
    keys += list(redis_client.scan_iter(match=f"{name}:*", count=1000))  # the scrapy-redis queue
    if keys:
        redis_client.delete(*keys)


def write_policy(directory: Path, **cache) -> Path:
    """The default policy with a concrete identity (and the [cache] values given)."""
    text = DEFAULT_POLICY.read_text()
    text = text.replace("https://example.invalid/copyright-guard; compliance@example.invalid",
                        "https://crawler.test/bot; bot@crawler.test")
    text = text.replace('contact_email = "copyright@example.invalid"', 'contact_email = "copyright@crawler.test"')
    for key, value in cache.items():
        lines = [line for line in text.splitlines() if not line.startswith(f"{key} ")]
        text = "\n".join(lines).replace("[cache]\n", f"[cache]\n{key} = {value}\n") + "\n"
    path = directory / "policy.toml"
    path.write_text(text)
    return path


@pytest.fixture
def policy_file(tmp_path) -> Path:
    return write_policy(tmp_path, timeout_seconds=3)
