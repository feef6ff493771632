"""Two crawler processes writing one PostgreSQL audit log at the same time (the team set-up):
each gets its own run and hash chain, and `audit verify` finds both intact."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from copyright_guard.demo.server import MultiOriginServer, Route
from copyright_guard.store.audit import list_runs
from copyright_guard.store.db import connect

TEST_POLICY = str(Path(__file__).resolve().parents[1] / "data" / "policies" / "identity.toml")  # a concrete identity

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

CLI = str(Path(sys.executable).with_name("copyright-guard"))
# pg_url (a fresh schema on the test server, or a skip): tests/conftest.py


def test_two_crawlers_share_one_postgresql_audit_log(pg_url, tmp_path):
    pages = {("one", f"/p/{i}"): Route.html(f'<a href="/p/{i + 1}">next</a>') for i in range(20)}
    pages |= {("two", f"/p/{i}"): Route.html(f'<a href="/p/{i + 1}">next</a>') for i in range(20)}
    pages |= {("one", "/robots.txt"): Route.text("User-agent: *\nDisallow: /p/15\n"),
              ("two", "/robots.txt"): Route.text("User-agent: *\nAllow: /\n")}
    connect(pg_url).dispose()  # migrate once, as an operator's `copyright-guard db upgrade` would
    with MultiOriginServer(pages) as server:
        crawls = [subprocess.Popen([CLI, "crawl", "--policy", TEST_POLICY, "--url", server.url(name, "/p/0"), "--depth", "30", "--db", pg_url,
                                    "--json", "--log-level", "ERROR"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                   text=True, cwd=tmp_path)
                  for name in ("one", "two")]
        outputs = [crawl.communicate(timeout=120) for crawl in crawls]
    for crawl, (out, err) in zip(crawls, outputs):
        assert crawl.returncode == 0, err[-3000:]
    runs = list_runs(connect(pg_url))
    assert len(runs) == 2 and all(run["finished_at"] for run in runs)
    verify = subprocess.run([CLI, "audit", "verify", "--db", pg_url], capture_output=True, text=True, timeout=60)
    assert verify.returncode == 0, verify.stdout + verify.stderr
    assert verify.stdout.count("intact") == 2
