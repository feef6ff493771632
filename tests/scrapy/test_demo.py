"""`copyright-guard demo` as a user runs it: offline, fast, every signal decided as the site means."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from copyright_guard.demo import site

CLI = str(Path(sys.executable).with_name("copyright-guard"))


@pytest.mark.slow
def test_the_demo_decides_every_signal_as_the_site_means_it(tmp_path):
    started = time.monotonic()
    done = subprocess.run([CLI, "demo", "--db", "demo.db", "--json"], capture_output=True, text=True,
                          timeout=120, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    assert time.monotonic() - started < 60
    result = json.loads(done.stdout)
    final = {(row["origin"], row["path"]): row for row in result["decisions"]}
    for (origin, path), expected in site.EXPECTED.items():
        row = final.get((origin, path))
        assert row is not None, f"no decision for {origin}{path}"
        assert row["verdict"] == expected.verdict, (origin, path, row)
        if expected.reason:
            assert expected.reason in row["deny_codes"], (origin, path, row)
    assert result["finish_reason"] == "finished"
    assert (tmp_path / "demo.db").exists()
    # The printed commands work on the database the demo wrote.
    verify = subprocess.run([CLI, "audit", "verify", "--db", "sqlite:///demo.db"], capture_output=True, text=True,
                            timeout=60, cwd=tmp_path)
    assert verify.returncode == 0, verify.stdout + verify.stderr
    assert "intact" in verify.stdout


@pytest.mark.slow
def test_the_demo_text_output_shows_the_table_and_where_to_look_next(tmp_path):
    done = subprocess.run([CLI, "demo", "--db", "demo.db", "--progress", "0"], capture_output=True, text=True,
                          timeout=120, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    out = done.stdout
    assert "Unexpected" not in out
    for text in ("robots.unreachable", "exclusion.listed", "iptc.reserved", "copyright-guard crawl summary",
                 "Where to look next", "copyright-guard audit explain --db sqlite:///demo.db http://"):
        assert text in out
    assert "pirated    0" in out  # the excluded origin received no request at all
