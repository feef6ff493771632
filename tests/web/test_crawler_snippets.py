"""Every opt-out snippet the crawler page shows really stops collection for its purpose.

The snippets are taken from the page's JSON (/crawler.json, generated from the running policy),
put on a local site (one origin per snippet), and then:

- for every purpose, `copyright-guard check` (real HTTP, the one decision path) denies a page
  under the snippet and allows the same page without it;
- a real crawl (Scrapy add-on, `copyright-guard crawl`) for train-ai and for search collects
  nothing from the origins carrying a snippet for that purpose, and does collect the control.
"""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from copyright_guard.core.policy import load_policy
from copyright_guard.demo.server import MultiOriginServer, Route
from copyright_guard.fetch.http import HttpxTransport
from copyright_guard.fetch.page import check_url
from copyright_guard.store.db import connect
from copyright_guard.web.app import create_app

TEST_POLICY = Path(__file__).resolve().parents[1] / "data" / "policies" / "identity.toml"
CLI = str(Path(sys.executable).with_name("copyright-guard"))
PAGE = "<html><head><title>{title}</title>{head}</head><body><p>{title}</p>{links}</body></html>"


def page_snippets(tmp_path) -> dict:
    """The opt-out section of /crawler.json, as a site owner would copy it."""
    engine = connect(f"sqlite:///{tmp_path / 'portal.db'}")
    with TestClient(create_app(engine, load_policy(TEST_POLICY))) as client:
        info = client.get("/crawler.json").json()
        html = client.get("/crawler").text
    engine.dispose()
    for group in info["opt_out"].values():  # the HTML shows the very same snippets
        for snippet in group["snippets"]:
            escaped = snippet["text"].replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&#34;")
            assert escaped in html, snippet
    return info["opt_out"]


def site_with(name: str, snippet: dict | None, links: str = "") -> dict:
    """Routes of one origin: robots.txt allowing all, a home page and /page; the snippet placed
    where it says (a file, a response header, or the page's <head>)."""
    head, headers = "", []
    routes = {(name, "/robots.txt"): Route.text("User-agent: *\nAllow: /\n")}
    if snippet is not None:
        where, text = snippet["where"], snippet["text"]
        if where.startswith("/"):
            kind = "application/json" if where.endswith(".json") else "text/plain; charset=utf-8"
            routes[(name, where)] = Route.text(text, content_type=kind)
        elif snippet["protocol"].endswith("-header"):
            headers.append(tuple(text.split(": ", 1)))
        else:
            head = text
    for path in ("/", "/page"):
        routes[(name, path)] = Route.html(PAGE.format(title=f"{name}{path}", head=head,
                                                     links=links if path == "/" else ""), headers=headers)
    return routes


@pytest.fixture(scope="module")
def snippets(tmp_path_factory):
    return page_snippets(tmp_path_factory.mktemp("page"))


def test_every_purpose_has_a_snippet_for_every_protocol_that_can_say_it(snippets):
    protocols = {p: {s["protocol"] for s in group["snippets"]} for p, group in snippets.items()}
    assert protocols["train-ai"] == {"robots-txt", "content-usage", "content-usage-header", "content-signal",
                                     "tdmrep", "tdmrep-meta", "robots-meta", "ai-txt"}
    assert protocols["search"] == {"robots-txt", "content-usage", "content-usage-header", "content-signal"}
    assert "Content-Usage: search=n" in [s["text"] for s in snippets["search"]["snippets"]]


def test_each_snippet_makes_check_deny_its_purpose_and_only_the_snippet_does(snippets):
    policy = load_policy(TEST_POLICY)
    cases = [(purpose, s) for purpose, group in snippets.items() for s in group["snippets"]]
    routes = {}
    for index, (_, snippet) in enumerate(cases):
        routes.update(site_with(f"s{index}", snippet))
    routes.update(site_with("control", None))
    now = datetime.now(timezone.utc)
    with MultiOriginServer(routes) as server, HttpxTransport() as transport:
        for index, (purpose, snippet) in enumerate(cases):
            result = check_url(server.url(f"s{index}", "/page"), policy, transport, now=now, purpose=purpose)
            assert result.verdict.value == "deny", (purpose, snippet["protocol"], result.as_dict())
        for purpose in snippets:
            assert check_url(server.url("control", "/page"), policy, transport, now=now,
                             purpose=purpose).verdict.value == "allow", purpose
    # Narrow snippets stay narrow: a search opt-out does not stop AI training, nor the reverse.
    narrow = {s["protocol"]: s for s in snippets["search"]["snippets"] if s["protocol"] != "robots-txt"}
    with MultiOriginServer({k: v for p, s in narrow.items() for k, v in site_with(p, s).items()}) as server, \
            HttpxTransport() as transport:
        for protocol in narrow:
            assert check_url(server.url(protocol, "/page"), policy, transport, now=now,
                             purpose="train-ai").verdict.value == "allow", protocol


@pytest.mark.parametrize("purpose", ["train-ai", "search"])
def test_a_crawl_collects_nothing_from_a_site_with_a_snippet_for_its_purpose(snippets, purpose, tmp_path):
    chosen = snippets[purpose]["snippets"]
    routes = {}
    for snippet in chosen:
        routes.update(site_with(snippet["protocol"], snippet, links='<a href="/page">page</a>'))
    routes.update(site_with("control", None, links='<a href="/page">page</a>'))
    items = tmp_path / "items.jsonl"
    with MultiOriginServer(routes) as server:
        seeds = tmp_path / "seeds.txt"
        seeds.write_text("".join(server.url(s["protocol"], "/") + "\n" for s in chosen) + server.url("control", "/") + "\n")
        done = subprocess.run([CLI, "crawl", "--policy", str(TEST_POLICY), "--seeds", str(seeds), "--purpose", purpose,
                               "--db", f"sqlite:///{tmp_path / 'audit.db'}", "--depth", "1", "-o", str(items),
                               "--json", "--log-level", "ERROR"], capture_output=True, text=True, timeout=120,
                              cwd=tmp_path)
        assert done.returncode == 0, done.stderr[-3000:]
        collected = {server.name_of(json.loads(line)["url"]) for line in items.read_text().splitlines()}
        blocked_paths = {r.path for r in server.requests_to("robots-txt")}
    assert collected == {"control"}, collected
    assert not blocked_paths & {"/", "/page"}  # our robots.txt group: no page is even requested
