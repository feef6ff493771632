"""Shared fixtures for integration tests: real loopback HTTP origins and the CLI.

``serve(routes, **options)`` starts a :class:`~copyright_guard.demo.server.MultiOriginServer`
(one 127.0.0.x address per origin, free ports) that stops when the test ends.
``run_cli(*args)`` runs ``copyright-guard`` in-process through click's CliRunner, in an empty
working directory with no database configured, and returns the click Result.
``check_json(url, *args)`` runs ``check URL --json`` and returns ``(exit_code, parsed_json)``.
``policy_file(text)`` writes a policy TOML file and returns its path.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from copyright_guard.cli import main
from copyright_guard.demo.server import MultiOriginServer


@pytest.fixture
def serve():
    started: list[MultiOriginServer] = []

    def start(routes=None, **options) -> MultiOriginServer:
        server = MultiOriginServer(routes, **options).start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture
def isolated_cwd(tmp_path, monkeypatch) -> Path:
    """An empty working directory and no COPYRIGHT_GUARD_DB: no stray database is ever used."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("COPYRIGHT_GUARD_DB", raising=False)
    monkeypatch.delenv("COPYRIGHT_GUARD_DEBUG", raising=False)
    return tmp_path


@pytest.fixture
def run_cli(isolated_cwd):
    def run(*args: str):
        return CliRunner().invoke(main, list(args), catch_exceptions=False)

    return run


@pytest.fixture
def check_json(run_cli):
    def run(url: str, *args: str) -> tuple[int, dict]:
        result = run_cli("check", url, "--json", *args)
        assert "Traceback" not in result.output
        return result.exit_code, json.loads(result.stdout)

    return run


@pytest.fixture
def policy_file(tmp_path):
    def write(text: str, name: str = "policy.toml") -> str:
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        return str(path)

    return write
