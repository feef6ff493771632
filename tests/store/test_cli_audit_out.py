"""`audit evidence|export|report --out` to a path that cannot be written, and `audit verify` of an
empty database: one line naming what is wrong, never a generic error or silence."""

from __future__ import annotations

import os

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


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
@pytest.mark.parametrize("command", [
    ["audit", "evidence", robots_evidence().sha256],
    ["audit", "export", "--format", "csv"],
    ["audit", "report"],
])
def test_a_full_disk_is_one_line_naming_the_out_path(engine, policy, db_url, command):
    # /dev/full: every write fails with ENOSPC, as on a full disk. It used to be the generic
    # "OSError: [Errno 28] No space left on device" without the path.
    record_run(engine, policy, 3)
    result = CliRunner().invoke(main, [*command, "--out", "/dev/full", "--db", db_url])
    assert result.exit_code == 2, result.output
    assert result.output.strip().splitlines() == [
        "Error: --out /dev/full: cannot write: No space left on device (hint: the file is incomplete)"]


def test_a_fifo_as_out_is_refused_not_hung_on(engine, policy, db_url, tmp_path):
    record_run(engine, policy, 3)
    fifo = tmp_path / "out.fifo"
    os.mkfifo(fifo)
    result = CliRunner().invoke(main, ["audit", "export", "--out", str(fifo), "--db", db_url])
    assert result.exit_code == 2
    assert f"--out {fifo}: not a regular file (a FIFO)" in result.output


def test_a_limit_beyond_any_database_is_a_usage_error(engine, policy, db_url):
    # It was OverflowError ("Python int too large to convert to SQLite INTEGER"), the generic line.
    record_run(engine, policy, 3)
    result = CliRunner().invoke(main, ["audit", "search", "--limit", "99999999999999999999999", "--db", db_url])
    assert result.exit_code == 2
    assert "Invalid value for '--limit'" in result.output and "OverflowError" not in result.output
    result = CliRunner().invoke(main, ["audit", "report", "--out", "r.html", "--max-rows", "9" * 30, "--db", db_url])
    assert result.exit_code == 2 and "Invalid value for '--max-rows'" in result.output


def test_verify_of_a_database_without_runs_says_so(engine, db_url):
    result = CliRunner().invoke(main, ["audit", "verify", "--db", db_url])
    assert result.exit_code == 0
    assert "no runs recorded" in result.output
