"""End to end: `copyright-guard crawl` (a real Scrapy crawl, in a subprocess) against local origins
that log every request they receive, with the audit log in SQLite."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

import pytest

from copyright_guard.demo.server import MultiOriginServer, Route
from copyright_guard.store.audit import Filters, search
from copyright_guard.store.db import connect
from copyright_guard.store.lists import add_entries

TEST_POLICY = str(Path(__file__).resolve().parents[1] / "data" / "policies" / "identity.toml")  # a concrete identity

pytestmark = pytest.mark.slow  # one real crawl in a subprocess (~5 s), shared by the tests below

CLI = [str(Path(sys.executable).with_name("copyright-guard"))]
SITE_FILES = {"/robots.txt", "/.well-known/tdmrep.json", "/ai.txt"}
TOKEN = "CopyrightGuardBot"


def _page(*links: str) -> Route:
    return Route.html("<html><head><title>t</title></head><body>"
                      + "".join(f'<a href="{href}">{href}</a>' for href in links) + "</body></html>")


ROUTES = {
    ("open", "/robots.txt"): Route.text("User-agent: *\nDisallow: /private/\n"),
    ("open", "/"): _page("/a", "/b", "/private/p", "/reserved", "/meta", "/login", "/elsewhere"),
    ("open", "/a"): _page("/a/deeper"),
    ("open", "/a/deeper"): _page("/a/deeper/still"),  # depth 2 stops here
    ("open", "/b"): _page(),
    ("open", "/private/p"): _page(),
    ("open", "/reserved"): Route.html("<p>x</p>", headers=[("X-Robots-Tag", "noai")]),
    ("open", "/meta"): Route.html('<html><head><meta name="tdm-reservation" content="1"></head><body>x</body></html>'),
    ("open", "/login"): Route.html('<a href="/after-login">next</a>', headers=[("Set-Cookie", "sid=site-issued; Path=/")]),
    ("open", "/after-login"): _page(),
    ("open", "/elsewhere"): Route.redirect("/b?moved=1"),
    ("open", "/b?moved=1"): _page(),
    ("down", "/robots.txt"): Route.text("Internal error", 500),
    ("down", "/"): _page("/x"),
    ("peer", "/robots.txt"): Route.text("User-agent: CCBot\nDisallow: /\n"),
    ("peer", "/"): _page(),
    ("listed", "/robots.txt"): Route.text("User-agent: *\nAllow: /\n"),
    ("listed", "/"): _page(),
}


@pytest.fixture(scope="module")
def crawl(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("crawl")
    db = f"sqlite:///{tmp / 'audit.db'}"
    with MultiOriginServer(ROUTES) as server:
        engine = connect(db)
        host = server.origin("listed").split("//")[1].split(":")[0]
        add_entries(engine, "court-orders", [{"entry": host, "authority": "A court", "reference": "case 1"}],
                    now=datetime.now(timezone.utc), source="test")
        seeds = tmp / "seeds.txt"
        seeds.write_text("# seeds\n" + "".join(server.url(name, "/") + "\n" for name in ("open", "down", "peer", "listed")))
        items = tmp / "items.jsonl"
        done = subprocess.run([*CLI, "crawl", "seeds", "--policy", TEST_POLICY, "--seeds", str(seeds), "--db", db, "--depth", "2",
                               "-o", str(items), "--json", "--log-level", "ERROR"],
                              capture_output=True, text=True, timeout=120, cwd=tmp)
        assert done.returncode == 0, done.stderr[-3000:]
        decisions = list(search(engine, Filters(), newest_first=False))
        engine.dispose()
        yield {
            "server": server,
            "requests": server.requests,
            "summary": json.loads(done.stdout),
            "items": [json.loads(line) for line in items.read_text().splitlines()],
            "decisions": decisions,
        }


def _paths(crawl, origin):
    return [r.path for r in crawl["requests"] if r.origin == origin]


def test_a_listed_origin_receives_no_request_at_all(crawl):
    assert _paths(crawl, "listed") == []
    [decision] = [d for d in crawl["decisions"] if d["url"] == crawl["server"].url("listed", "/")]
    assert [r["code"] for r in decision["reasons"]] == ["exclusion.listed"]


def test_a_pre_fetch_denial_means_only_site_wide_files_are_requested(crawl):
    assert set(_paths(crawl, "down")) <= SITE_FILES  # robots.txt 500: complete disallow
    assert "/robots.txt" in _paths(crawl, "down")
    assert set(_paths(crawl, "peer")) <= SITE_FILES  # CCBot block: reservation against AI training
    assert "/private/p" not in _paths(crawl, "open")
    assert "/a/deeper/still" not in _paths(crawl, "open")  # depth 2


def test_each_site_wide_file_is_fetched_once_per_origin(crawl):
    for origin in ("open", "peer"):
        paths = [p for p in _paths(crawl, origin) if p in SITE_FILES]
        assert sorted(paths) == sorted(SITE_FILES), origin
    # robots.txt answered 500: nothing else is requested from the origin (fetch.site.files_after_robots)
    assert _paths(crawl, "down") == ["/robots.txt"]


def test_items_are_exactly_the_allowed_pages_each_with_its_decision_id(crawl):
    server = crawl["server"]
    allowed = {d["url"]: d["id"] for d in crawl["decisions"] if d["stage"] == "post-fetch" and d["verdict"] == "allow"}
    denied = {d["url"] for d in crawl["decisions"] if d["verdict"] == "deny"}
    items = {item["url"]: item["copyright_guard_decision_id"] for item in crawl["items"]}
    assert items == allowed
    assert server.url("open", "/reserved") in denied and server.url("open", "/reserved") not in items
    assert server.url("open", "/meta") in denied and server.url("open", "/meta") not in items
    expected = {server.url("open", p) for p in ("/", "/a", "/a/deeper", "/b", "/login", "/after-login", "/b?moved=1")}
    assert set(items) == expected


def test_one_user_agent_with_our_token_and_no_credentials_or_invented_cookies(crawl):
    agents = {tuple(r.header("User-Agent")) for r in crawl["requests"]}
    assert len(agents) == 1
    [(agent,)] = agents
    assert TOKEN in agent
    assert not [r for r in crawl["requests"] if r.header("Authorization") or r.header("Proxy-Authorization")]
    with_cookies = [r for r in crawl["requests"] if r.header("Cookie")]
    assert with_cookies, "the site-issued cookie should be sent back"
    assert all(r.origin == "open" and r.header("Cookie") == ["sid=site-issued"] for r in with_cookies)
    assert "/after-login" in [r.path for r in with_cookies]


def test_every_decision_is_in_the_audit_log_with_its_reasons(crawl):
    server = crawl["server"]
    by_url: dict[str, list[dict]] = {}
    for decision in crawl["decisions"]:
        by_url.setdefault(decision["url"], []).append(decision)
    for request in crawl["requests"]:
        if request.path in SITE_FILES:
            continue
        stages = [d["stage"] for d in by_url[server.url(request.origin, request.path)]]
        # A redirect answer is not content: Scrapy turns it into a new request (decided again).
        expected = ["pre-fetch"] if request.path == "/elsewhere" else ["pre-fetch", "post-fetch"]
        assert stages == expected, request.path
    for decision in crawl["decisions"]:
        if decision["verdict"] == "deny":
            assert any(r["effect"] == "deny" and r["detail"] for r in decision["reasons"]), decision
    codes = {d["url"]: {r["code"] for r in d["reasons"]} for d in crawl["decisions"] if d["verdict"] == "deny"}
    assert "robots.disallowed" in codes[server.url("open", "/private/p")]
    assert "robots.unreachable" in codes[server.url("down", "/")]
    assert "robots.peer-disallowed" in codes[server.url("peer", "/")]
    assert "robots-meta.reserved" in codes[server.url("open", "/reserved")]
    assert "tdmrep.reserved" in codes[server.url("open", "/meta")]


def test_the_summary_counts_what_the_audit_log_holds(crawl):
    summary = crawl["summary"]
    decisions = crawl["decisions"]
    assert summary["finish_reason"] == "finished"
    assert summary["denied"] == sum(d["verdict"] == "deny" for d in decisions)
    assert summary["allowed"] == sum(d["verdict"] == "allow" and d["stage"] == "post-fetch" for d in decisions)
    assert summary["items"] == len(crawl["items"])
    assert summary["denied_by_reason"]["exclusion.listed"] == 1
    assert summary["run_id"] == decisions[0]["run_id"]


def test_the_sitemap_spider_collects_the_listed_pages_through_the_same_checks(tmp_path):
    sitemap = ('<?xml version="1.0" encoding="UTF-8"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
               "<url><loc>{0}/one</loc></url><url><loc>{0}/private/two</loc></url><url><loc>{0}/three</loc></url>"
               "</urlset>")
    routes = {("maps", "/robots.txt"): Route.text("User-agent: *\nDisallow: /private/\nSitemap: /sitemap.xml\n"),
              ("maps", "/one"): _page(), ("maps", "/private/two"): _page(),
              ("maps", "/three"): Route.html("<p>x</p>", headers=[("Content-Usage", "train-ai=n")])}
    with MultiOriginServer(routes) as server:
        origin = server.origin("maps")
        server.set("maps", "/sitemap.xml", Route.text(sitemap.format(origin), content_type="application/xml"))
        items = tmp_path / "items.jsonl"
        done = subprocess.run([*CLI, "crawl", "sitemap", "--policy", TEST_POLICY, "--url", origin + "/", "--db", f"sqlite:///{tmp_path / 'a.db'}",
                               "-o", str(items), "--json"], capture_output=True, text=True, timeout=120, cwd=tmp_path)
        assert done.returncode == 0, done.stderr[-3000:]
        paths = server.paths("maps")
    assert [json.loads(line)["url"] for line in items.read_text().splitlines()] == [origin + "/one"]
    assert "/private/two" not in paths  # disallowed: never requested
    assert "/three" in paths  # requested, then denied on its Content-Usage header
    summary = json.loads(done.stdout)
    assert summary["denied_by_reason"] == {"robots.disallowed": 1, "aipref.reserved": 1}
