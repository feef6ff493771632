"""Ctrl-C during `copyright-guard crawl`: once (graceful) or twice (forced), nothing recorded is lost,
the chain verifies, and the summary does not claim the crawl never started."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from copyright_guard.demo.server import MultiOriginServer, Route

TEST_POLICY = str(Path(__file__).resolve().parents[1] / "data" / "policies" / "identity.toml")  # a concrete identity

CLI = str(Path(sys.executable).with_name("copyright-guard"))


def _page(record) -> Route:
    if record.path != "/" and not record.path[2:].isdigit():
        return Route.text("not found\n", 404)  # tdmrep.json, ai.txt: no such file
    n = int(record.path[2:] or 0)
    links = "".join(f'<a href="/p{n * 10 + i}">x</a>' for i in range(1, 11))
    return Route.html(f"<html><head><title>p</title></head><body>{links}</body></html>", delay=0.05)


def _rows(db: Path) -> int:
    try:
        with sqlite3.connect(f"{db.as_uri()}?mode=ro", uri=True) as connection:
            return connection.execute("SELECT count(*) FROM decisions").fetchone()[0]
    except sqlite3.Error:
        return 0


@pytest.mark.slow
@pytest.mark.parametrize("interrupts", [1, 2])
def test_ctrl_c_keeps_every_recorded_decision(tmp_path, interrupts):
    routes = {("site", "/robots.txt"): Route.text("User-agent: *\nAllow: /\n")}
    with MultiOriginServer(routes, default=_page) as server:
        db = tmp_path / "audit.db"
        crawl = subprocess.Popen([CLI, "crawl", "--policy", TEST_POLICY, "--url", server.url("site", "/"), "--db", f"sqlite:///{db}",
                                  "--depth", "6", "--progress", "0", "--json"],
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path)
        deadline = time.monotonic() + 60
        while _rows(db) < 20 and time.monotonic() < deadline and crawl.poll() is None:
            time.sleep(0.2)
        for _ in range(interrupts):
            crawl.send_signal(signal.SIGINT)
            time.sleep(0.3)
        out, err = crawl.communicate(timeout=60)
    assert "Traceback" not in err, err[-3000:]
    summary = __import__("json").loads(out)
    assert summary["run_id"]
    assert summary["finish_reason"] in ("shutdown", "interrupted"), summary["finish_reason"]
    verify = subprocess.run([CLI, "audit", "verify", "--db", f"sqlite:///{db}"], capture_output=True, text=True,
                            timeout=60, cwd=tmp_path)
    assert verify.returncode == 0, verify.stdout + verify.stderr
    # every page the crawler fetched has its pre- and post-fetch decision in the log
    assert _rows(db) >= 2 * summary["pages"] > 0
