"""Issue 17: many requests for a new origin in flight before its site-wide files arrive.

Every one of them must be decided on the one site view the first fetch produced; before the fix
only the first two waiters got it and the rest were dropped as "could not decide" - looking
exactly like a correct deny. So this test counts what was *collected*, and the crawl's own exit
status and summary treat an undecidable page as the error it is.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from copyright_guard.demo.server import MultiOriginServer, Route

pytestmark = pytest.mark.slow  # one real crawl of 200 pages in a subprocess (~5 s)

CLI = [str(Path(sys.executable).with_name("copyright-guard"))]
TEST_POLICY = str(Path(__file__).resolve().parents[1] / "data" / "policies" / "identity.toml")  # a concrete identity
ORIGINS = ("a", "b", "c", "d")
PAGES = 50
SLOW = 0.3  # seconds before each site-wide file answers: every start URL is in flight by then


def _routes() -> dict:
    routes = {}
    for name in ORIGINS:
        robots = "User-agent: *\nAllow: /\n" if name != "d" else "User-agent: *\nDisallow: /p4\n"
        routes[(name, "/robots.txt")] = Route.text(robots, delay=SLOW)
        routes[(name, "/.well-known/tdmrep.json")] = Route.text("not found", 404, delay=SLOW)
        routes[(name, "/ai.txt")] = Route.text("not found", 404, delay=SLOW)
        for n in range(PAGES):
            routes[(name, f"/p{n}")] = Route.html(f"<html><head><title>{name} {n}</title></head><body>x</body></html>")
    return routes


def test_fifty_start_urls_on_each_of_four_slow_origins_collect_every_allowed_page(tmp_path):
    with MultiOriginServer(_routes()) as server:
        seeds = tmp_path / "seeds.txt"
        seeds.write_text("".join(server.url(name, f"/p{n}") + "\n" for name in ORIGINS for n in range(PAGES)))
        items = tmp_path / "items.jsonl"
        done = subprocess.run([*CLI, "crawl", "seeds", "--policy", TEST_POLICY, "--seeds", str(seeds), "--db", f"sqlite:///{tmp_path / 'a.db'}",
                               "--depth", "0", "-o", str(items), "--json", "--log-level", "ERROR"],
                              capture_output=True, text=True, timeout=180, cwd=tmp_path)
        requests = server.requests
        hosts = {name: server.origin(name).split("//")[1] for name in ORIGINS}
    assert done.returncode == 0, done.stderr[-3000:]
    summary = json.loads(done.stdout)
    assert summary["undecidable"] == 0
    # /p4 and /p40../p49 of origin d are disallowed: 11 pages; every other page is collected.
    denied = {f"/p{n}" for n in range(PAGES) if str(n).startswith("4")}
    collected = Counter(json.loads(line)["url"].split("/")[2] for line in items.read_text().splitlines())
    expected = {hosts[name]: PAGES - (len(denied) if name == "d" else 0) for name in ORIGINS}
    assert dict(collected) == expected
    assert summary["allowed"] == sum(expected.values())
    assert summary["denied_pre_fetch"] == len(denied)
    # one fetch of each site-wide file per origin, however many requests waited for it
    site_files = Counter((r.origin, r.path) for r in requests if r.path in ("/robots.txt", "/.well-known/tdmrep.json", "/ai.txt"))
    assert set(site_files.values()) == {1} and len(site_files) == 3 * len(ORIGINS)
