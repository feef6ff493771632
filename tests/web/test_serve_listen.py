"""``copyright-guard serve`` binds before it announces: a taken port or an unknown host is one line
and exit 2 (it used to print "portal on ..." and then uvicorn's error, exit 3)."""

from __future__ import annotations

from pathlib import Path

import socket

import pytest
from click.testing import CliRunner

from copyright_guard.cli import main

TEST_POLICY = str(Path(__file__).resolve().parents[1] / "data" / "policies" / "identity.toml")  # a concrete identity

HOST = "127.0.0.33"


def _serve(tmp_path, *args):
    return CliRunner().invoke(main, ["serve", "--policy", TEST_POLICY, "--db", f"sqlite:///{tmp_path / 'serve.db'}", *args],
                              env={"COPYRIGHT_GUARD_SMTP_HOST": None})


def test_a_taken_port_is_one_line_and_exit_2(tmp_path):
    with socket.socket() as taken:
        taken.bind((HOST, 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        result = _serve(tmp_path, "--host", HOST, "--port", str(port))
    assert result.exit_code == 2, result.output
    assert f"cannot listen on {HOST}:{port}" in result.output
    assert "portal on" not in result.output and "Traceback" not in result.output


@pytest.mark.timeout(30)
def test_an_unknown_host_is_one_line_and_exit_2(tmp_path):
    result = _serve(tmp_path, "--host", "no-such-host.invalid", "--port", "0")
    assert result.exit_code == 2, result.output
    assert "--host 'no-such-host.invalid'" in result.output
