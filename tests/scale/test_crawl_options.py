"""The one-line refusals of `crawl --redis/--workers/--name`, before anything starts (exit 2)."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from copyright_guard.cli import main


def run(*args):
    policy = Path(__file__).resolve().parents[1] / "data" / "policies" / "identity.toml"  # a concrete identity
    result = CliRunner().invoke(main, ["crawl", "--url", "http://127.0.0.1:9/", "--policy", str(policy), *args])
    return result.exit_code, result.output.strip()


@pytest.mark.parametrize(("args", "message"), [
    (("--workers", "3"), "--workers 3 needs --redis URL"),
    (("--redis", "redis://127.0.0.1:6379/0"), "--redis needs --name NAME"),
    (("--redis", "redis://127.0.0.1:6379/0", "--name", "x", "--workers", "2", "--db", "sqlite:///a.db"),
     "SQLite audit database: several processes cannot write one SQLite file; use PostgreSQL"),
    (("--redis", "redis://127.0.0.1:1/3", "--name", "x"), "Redis at redis://127.0.0.1:1/3 is unreachable"),
    (("--name", "no spaces"), "--name: 'no spaces' is not a crawl name"),
])
def test_refused_in_one_line(args, message, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, output = run(*args)
    assert code == 2 and message in output, output
    assert "Traceback" not in output and len(output.splitlines()) <= 2
