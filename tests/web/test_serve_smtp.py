"""``copyright-guard serve`` checks every SMTP setting before it starts, with or without an SMTP
host: a missing CA file or an unknown security mode used to start the portal, unnoticed until the
first email failed (or until a host was added)."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from copyright_guard.cli import main

TEST_POLICY = str(Path(__file__).resolve().parents[1] / "data" / "policies" / "identity.toml")  # a concrete identity

HOST = "127.0.0.34"
NO_SMTP = {"COPYRIGHT_GUARD_SMTP_HOST": None, "COPYRIGHT_GUARD_SMTP_CA_FILE": None, "COPYRIGHT_GUARD_SMTP_SECURITY": None}


def _serve(tmp_path, *args, **env):
    return CliRunner().invoke(main, ["serve", "--policy", TEST_POLICY, "--db", f"sqlite:///{tmp_path / 'serve.db'}", "--host", HOST,
                                     "--port", "0", *args], env={**NO_SMTP, **env})


@pytest.mark.timeout(30)  # a serve that starts would never return
@pytest.mark.parametrize("args, env, expected", [
    (("--smtp-ca-file", "nonexist"), {}, "--smtp-ca-file: nonexist: cannot read CA file: No such file or directory"),
    (("--smtp-host", "127.0.0.6", "--smtp-ca-file", "nonexist"), {}, "--smtp-ca-file: nonexist: cannot read CA file"),
    (("--smtp-security", "bogus"), {}, "--smtp-security 'bogus': not one of starttls, tls, none"),
    ((), {"COPYRIGHT_GUARD_SMTP_CA_FILE": "nonexist"}, "$COPYRIGHT_GUARD_SMTP_CA_FILE: nonexist: cannot read CA file"),
    ((), {"COPYRIGHT_GUARD_SMTP_SECURITY": "ssl"}, "$COPYRIGHT_GUARD_SMTP_SECURITY 'ssl': not one of"),
])
def test_bad_smtp_settings_stop_serve_at_start_up(tmp_path, args, env, expected):
    result = _serve(tmp_path, *args, **env)
    assert result.exit_code == 2, result.output
    assert expected in result.output and "portal on" not in result.output
    assert result.output.strip().count("\n") == 0
    assert not (tmp_path / "serve.db").exists()  # refused before the database is touched
