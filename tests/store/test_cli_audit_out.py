"""`audit evidence|export|report --out` to a path that cannot be written, and `audit verify` of an
empty database: one line naming what is wrong, never a generic error or silence."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from copyright_guard.cli import main
from store_helpers import record_run, robots_evidence


@pytest.mark.parametrize("command", [
    ["audit", "evidence", robots_evidence().sha256],
    ["audit", "export", "--format", "csv"],
    ["audit", "report"],
])
def test_an_unwritable_out_is_one_line_naming_it(engine, policy, db_url, tmp_path, command):
    record_run(engine, policy, 3)
    out = tmp_path / "no-such-dir" / "file"
    result = CliRunner().invoke(main, [*command, "--out", str(out), "--db", db_url])
    assert result.exit_code == 2, result.output
    assert f"--out {out}: cannot write: No such file or directory" in result.output
    assert result.output.strip().count("\n") == 0


def test_verify_of_a_database_without_runs_says_so(engine, db_url):
    result = CliRunner().invoke(main, ["audit", "verify", "--db", db_url])
    assert result.exit_code == 0
    assert "no runs recorded" in result.output
