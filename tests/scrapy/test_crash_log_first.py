"""Log first, then collect: a crawler killed with SIGKILL at any moment leaves no collected item
whose decision is missing from the audit database (SQLite and PostgreSQL).

Before the group commit (store/writer.py ``after_commit``) responses reached the spider up to a
commit interval (0.5 s) before their decision was durable, and each kill left 20-70 items citing
decisions the database never received.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from copyright_guard.demo.server import MultiOriginServer, Route
from copyright_guard.store.db import connect
from copyright_guard.store.schema import decisions

pytestmark = pytest.mark.slow

CLI = str(Path(sys.executable).with_name("copyright-guard"))
HERE = Path(__file__).parent
POLICY = """\
[policy]
name = "crash-test"

[crawler]
product_token = "CrashTestBot"
user_agent = "CrashTestBot/1.0 (+https://crawler.test/about; crawler@crawler.test)"

[complaints]
contact_email = "crawler@crawler.test"
operator_name = "Crash Test Operator"
"""
KILL_AFTER = (5, 60, 250)  # items on disk when the crawler is killed: early, mid-stream, later


def _page(record) -> Route:
    """An endless tree of small pages: /p1 ... /p10 link to /p11 ... /p110, and so on."""
    if record.path != "/" and not record.path[2:].isdigit():
        return Route.text("not found\n", 404)
    n = int(record.path[2:] or 0)
    links = "".join(f'<a href="/p{n * 10 + i}">x</a>' for i in range(1, 11))
    return Route.html(f"<html><head><title>p{n}</title></head><body>{links}</body></html>")


def _lines(path: Path) -> list[str]:
    if not path.exists():
        return []
    return [line for line in path.read_text(encoding="utf-8").split("\n")[:-1]]  # the last may be cut off


def _crawl_and_kill(db_url: str, tmp_path: Path, server, kill_after: int) -> list[str]:
    items = tmp_path / f"items-{kill_after}.jsonl"
    policy = tmp_path / "policy.toml"
    policy.write_text(POLICY)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(HERE), os.environ.get("PYTHONPATH", "")]),
           "FLUSH_ITEMS_FILE": str(items)}
    crawl = subprocess.Popen(
        [CLI, "crawl", "--url", server.url("site", "/"), "--db", db_url, "--policy", str(policy), "--depth", "9",
         "--progress", "0", "--log-level", "ERROR", "--set", 'ITEM_PIPELINES={"flush_items.FlushEveryItem": 300}',
         "--set", "COPYRIGHT_GUARD_CHECKPOINT_EVERY=25"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, cwd=tmp_path, env=env)
    try:
        deadline = time.monotonic() + 90
        while len(_lines(items)) < kill_after:
            assert crawl.poll() is None, crawl.stderr.read()[-3000:]
            assert time.monotonic() < deadline, "the crawl collected too few items"
            time.sleep(0.01)
        crawl.send_signal(signal.SIGKILL)
    finally:
        crawl.kill()
        crawl.wait(timeout=30)
        crawl.stderr.close()
    return [json.loads(line)["copyright_guard_decision_id"] for line in _lines(items)]


def _check(db_url: str, tmp_path: Path) -> None:
    routes = {("site", "/robots.txt"): Route.text("User-agent: *\nAllow: /\n")}
    with MultiOriginServer(routes, default=_page) as server:
        for kill_after in KILL_AFTER:
            cited = _crawl_and_kill(db_url, tmp_path, server, kill_after)
            assert len(cited) >= kill_after
            engine = connect(db_url)
            with engine.connect() as connection:
                stored = set(connection.execute(select(decisions.c.id).where(decisions.c.id.in_(cited))).scalars())
            engine.dispose()
            missing = [decision_id for decision_id in cited if decision_id not in stored]
            assert not missing, f"killed after {kill_after} items: {len(missing)} of {len(cited)} items cite no stored decision"
    verify = subprocess.run([CLI, "audit", "verify", "--db", db_url], capture_output=True, text=True, timeout=120)
    assert verify.returncode == 0, verify.stdout + verify.stderr
    # Intact up to the last signed checkpoint; the tail after it is named as not anchored.
    lines = [line for line in verify.stdout.splitlines() if "run not finished" in line]
    assert len(lines) == len(KILL_AFTER), verify.stdout
    assert all(re.search(r"anchored up to \d+ decisions by signed checkpoints; the last \d+ are not|"
                         r"no signed checkpoint: \d+ decisions are not anchored|intact, \d+ rows \(run not finished\)$", line)
               for line in lines), verify.stdout
    assert sum("anchored up to" in line for line in lines) >= 1, verify.stdout


def test_sigkill_leaves_no_item_without_its_decision_sqlite(tmp_path):
    _check(f"sqlite:///{tmp_path / 'audit.db'}", tmp_path)


@pytest.mark.postgres
def test_sigkill_leaves_no_item_without_its_decision_postgresql(pg_url, tmp_path):
    connect(pg_url).dispose()  # migrate once, as `copyright-guard db upgrade` would
    _check(pg_url, tmp_path)
