"""A crawl with the Redis store decides exactly as one without it, for the same site state (that
other workers take every site-wide file from the store: test_workers.py)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import select

from copyright_guard.demo.server import MultiOriginServer, Route
from copyright_guard.store.db import connect
from copyright_guard.store.schema import decisions

from scale_helpers import REDIS_URL

pytestmark = [pytest.mark.slow]

CLI = str(Path(sys.executable).with_name("copyright-guard"))
SITE_FILES = ("/robots.txt", "/.well-known/tdmrep.json", "/ai.txt")


def site() -> dict:
    routes = {}
    for name, robots in (("open", "User-agent: *\nAllow: /\n"),
                         ("mixed", "User-agent: *\nDisallow: /p/3\nContent-Usage: train-ai=n /p/5\n"),
                         ("blocked", "User-agent: CopyrightGuardBot\nDisallow: /\n")):
        routes[(name, "/robots.txt")] = Route.text(robots)
        for i in range(8):
            routes[(name, f"/p/{i}")] = Route.html(f'<a href="/p/{i + 1}">next</a>')
    routes[("mixed", "/.well-known/tdmrep.json")] = Route.json('[{"location": "/p/6", "tdm-reservation": 1}]')
    routes[("open", "/p/2")] = Route.html("<p>x</p>", headers=[("Content-Usage", "train-ai=n")])
    return routes


def crawl(server, db, policy, cwd, *extra):
    args = [CLI, "crawl", "--db", db, "--policy", str(policy), "--depth", "10", "--json", "--log-level", "ERROR"]
    args += [arg for name in ("open", "mixed", "blocked") for arg in ("--url", server.url(name, "/p/0"))]
    result = subprocess.run([*args, *extra], capture_output=True, text=True, timeout=120, cwd=cwd)
    assert result.returncode == 0, result.stderr[-3000:]


def decided(db: str, server) -> list:
    engine = connect(db)
    with engine.connect() as connection:
        rows = connection.execute(select(decisions.c.url, decisions.c.stage, decisions.c.verdict,
                                         decisions.c.reasons)).all()
    engine.dispose()
    # The origins' ports are the same in both crawls (one server); reasons name no run or time.
    return sorted((url, stage, verdict, json.dumps(_timeless(json.loads(reasons)), sort_keys=True))
                  for url, stage, verdict, reasons in rows)


def _timeless(value):
    """Reasons without fetch times (the two crawls fetched at different moments)."""
    if isinstance(value, dict):
        return {k: _timeless(v) for k, v in value.items() if k not in ("fetched_at", "decided_at")}
    if isinstance(value, list):
        return [_timeless(v) for v in value]
    return value


def test_redis_and_no_redis_crawls_decide_identically(tmp_path, policy_file, crawl_name, redis_client):
    with MultiOriginServer(site()) as server:
        crawl(server, f"sqlite:///{tmp_path / 'plain.db'}", policy_file, tmp_path)
        server.clear_log()
        shared = ("--set", f"COPYRIGHT_GUARD_REDIS_URL={REDIS_URL}", "--set", f"COPYRIGHT_GUARD_CRAWL_NAME={crawl_name}")
        crawl(server, f"sqlite:///{tmp_path / 'redis.db'}", policy_file, tmp_path, *shared)
        first = {(name, path): len(server.requests_to(name, path)) for name in ("open", "mixed", "blocked")
                 for path in SITE_FILES}
    plain = decided(f"sqlite:///{tmp_path / 'plain.db'}", server)
    assert plain and decided(f"sqlite:///{tmp_path / 'redis.db'}", server) == plain
    assert {verdict for *_, verdict, _ in plain} == {"allow", "deny"}
    assert first[("open", "/robots.txt")] == 1 and first[("mixed", "/.well-known/tdmrep.json")] == 1
    assert first[("blocked", "/ai.txt")] == 1
