"""Helpers for the multi-worker tests (imported by name: tests/ is not a package)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REDIS_URL = "redis://127.0.0.1:6379/0"
DEFAULT_POLICY = Path(__file__).resolve().parents[2] / "policies" / "default.toml"


def skip_or_fail(reason: str) -> None:
    """As tests/conftest.py: skip locally, fail under CI=true."""
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{reason} (CI=true: this test must run)")
    pytest.skip(reason)


def write_policy(directory: Path, **cache) -> Path:
    """The default policy with a concrete identity (and the [cache] values given)."""
    text = DEFAULT_POLICY.read_text()
    text = text.replace("https://example.invalid/copyright-guard; compliance@example.invalid",
                        "https://crawler.test/bot; bot@crawler.test")
    text = text.replace('contact_email = "copyright@example.invalid"', 'contact_email = "copyright@crawler.test"')
    text = text.replace('operator_name = "Example AI Lab"', 'operator_name = "Scale Test Operator"')
    for key, value in cache.items():
        lines = [line for line in text.splitlines() if not line.startswith(f"{key} ")]
        text = "\n".join(lines).replace("[cache]\n", f"[cache]\n{key} = {value}\n") + "\n"
    path = directory / "policy.toml"
    path.write_text(text)
    return path
