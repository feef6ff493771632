"""End to end, through the CLI, on SQLite and real PostgreSQL: what was collected is proven.

A local multi-origin site is crawled; then every collected item's sha256 equals the sha256 of the
bytes the server sent for it (and its decision's content sha256), every decision cites the
robots.txt bytes the server served for that origin and the 404 of its missing tdmrep.json, and the
summary's top domains and bytes equal what the server's request log says was collected.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import pytest

from copyright_guard.demo.server import NOT_FOUND, MultiOriginServer, Route
from copyright_guard.store.audit import Filters, search
from copyright_guard.store.db import connect

pytestmark = [pytest.mark.slow]

CLI = str(Path(sys.executable).with_name("copyright-guard"))
# A concrete identity (not the shipped placeholder), as an operator's policy has.
POLICY = (Path(__file__).resolve().parents[2] / "policies" / "default.toml").read_text(encoding="utf-8").replace(
    "example.invalid", "crawler.test.org").replace("Example AI Lab", "Test Operator AI")
ROBOTS = {"big": b"User-agent: *\nDisallow: /private/\n", "small": b"User-agent: *\nAllow: /\n"}
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8


def _site() -> dict:
    routes = {}
    for name, count, size in (("big", 6, 3000), ("small", 3, 500)):
        links = "".join(f'<a href="/p/{i}">{i}</a>' for i in range(count)) + '<a href="/private/x">x</a>'
        routes[(name, "/robots.txt")] = Route.text(ROBOTS[name])
        routes[(name, "/")] = Route.html(f"<html><head><title>{name}</title></head><body>{links}</body></html>")
        for i in range(count):
            routes[(name, f"/p/{i}")] = Route.html(f"<html><body><p>{name} {i} {'x' * size}</p></body></html>")
        routes[(name, "/private/x")] = Route.html("<html><body>private</body></html>")
    routes[("big", "/")] = Route.html(routes[("big", "/")].body.decode().replace("</body>", '<img src="/i.png"><a href="/i.png">i</a></body>'))
    routes[("big", "/i.png")] = Route(200, (("Content-Type", "image/png"),), PNG)
    return routes


@pytest.fixture(params=["sqlite", "postgresql"])
def audit_url(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'audit.db'}"
    return request.getfixturevalue("pg_url")


def test_a_crawl_proves_what_it_collected(audit_url, tmp_path):
    routes = _site()
    policy = tmp_path / "policy.toml"
    policy.write_text(POLICY, encoding="utf-8")
    items_path = tmp_path / "items.jsonl"
    with MultiOriginServer(routes) as server:
        seeds = tmp_path / "seeds.txt"
        seeds.write_text("".join(server.url(name, "/") + "\n" for name in ("big", "small")))
        done = subprocess.run([CLI, "crawl", "seeds", "--seeds", str(seeds), "--db", audit_url, "--policy", str(policy),
                               "--depth", "2", "-o", str(items_path), "--log-level", "ERROR", "--progress", "0"],
                              capture_output=True, text=True, timeout=180, cwd=tmp_path)
        assert done.returncode == 0, done.stderr[-3000:]
        requests = server.requests
        origin_of = {server.origin(name): name for name in ("big", "small")}
    served = {}  # URL -> bytes served with 200, from the server's request log
    for record in requests:
        route = routes.get((record.origin, record.path), NOT_FOUND)
        if record.method == "GET" and route.status == 200 and record.path != "/robots.txt":
            served[f"{[o for o, n in origin_of.items() if n == record.origin][0]}{record.path}"] = route.body

    engine = connect(audit_url)
    items = [json.loads(line) for line in items_path.read_text(encoding="utf-8").splitlines()]
    decisions = {d["id"]: d for d in search(engine, Filters(), newest_first=False)}
    # 2 home pages, 9 pages, 1 image, small's /private/x (its robots.txt allows it); big's /private/x refused
    assert len(items) == len(served) == 13
    for item in items:
        body = served[item["url"]]
        decision = decisions[item["copyright_guard_decision_id"]]
        # The item, its decision and the server agree on the bytes collected.
        assert item["sha256"] == decision["content"]["sha256"] == hashlib.sha256(body).hexdigest()
        assert decision["content"]["bytes"] == len(body) and decision["http_status"] == 200
    assert {decisions[i["copyright_guard_decision_id"]]["content"]["modality"] for i in items} == {"text", "image"}

    for decision in decisions.values():
        name = origin_of[decision["origin"]]
        consulted = {c["kind"]: c for c in decision["consulted"]}
        robots = consulted["robots.txt"]
        assert (robots["outcome"], robots["status"], robots["sha256"]) == ("parsed", 200, hashlib.sha256(ROBOTS[name]).hexdigest())
        tdmrep = consulted["tdmrep.json"]
        assert (tdmrep["outcome"], tdmrep["status"]) == ("unavailable", 404)
        assert tdmrep["sha256"] == hashlib.sha256(NOT_FOUND.body).hexdigest()
    assert any(d["verdict"] == "deny" and d["url"].endswith("/private/x") for d in decisions.values())

    summary = json.loads(subprocess.run([CLI, "audit", "summary", "--db", audit_url, "--format", "json"],
                                        capture_output=True, text=True, timeout=60, check=True).stdout)
    expected: dict[str, dict] = {}
    for url, body in served.items():
        domain = url.split("//")[1].split(":")[0]  # an IP address is its own registered domain
        modality = "image" if url.endswith(".png") else "text"
        entry = expected.setdefault(modality, {}).setdefault(domain, {"items": 0, "bytes": 0})
        entry["items"] += 1
        entry["bytes"] += len(body)
    for modality, by_domain in expected.items():
        largest = sorted(by_domain.items(), key=lambda pair: -pair[1]["bytes"])[:1]  # 10 % of 1 or 2 domains: 1
        assert [(d["domain"], d["items"], d["bytes"]) for d in summary["top_domains"][modality]] == [
            (domain, figures["items"], figures["bytes"]) for domain, figures in largest]
        assert summary["modalities"][modality] == {"items": sum(f["items"] for f in by_domain.values()),
                                                   "bytes": sum(f["bytes"] for f in by_domain.values()),
                                                   "domains": len(by_domain)}
    verify = subprocess.run([CLI, "audit", "verify", "--db", audit_url], capture_output=True, text=True, timeout=60)
    assert verify.returncode == 0 and "intact" in verify.stdout
    engine.dispose()
