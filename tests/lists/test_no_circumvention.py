"""No circumvention (Code of Practice 1.2(1)(a)), end to end: a real `copyright-guard crawl` against
a local origin that logs every request. Access-restricted pages are requested once, with no
credentials or cookies, never retried under another identity, and never become items."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from copyright_guard.demo.server import MultiOriginServer, Route
from copyright_guard.store.audit import Filters, search
from copyright_guard.store.db import connect

TEST_POLICY = str(Path(__file__).resolve().parents[1] / "data" / "policies" / "identity.toml")  # a concrete identity

pytestmark = pytest.mark.slow  # one real crawl in a subprocess (~10 s)

CLI = [str(Path(sys.executable).with_name("copyright-guard"))]
PAYWALL = ('<html><head><script type="application/ld+json">{"@context": "https://schema.org", "@type": "NewsArticle", '
           '"isAccessibleForFree": "False", "hasPart": {"@type": "WebPageElement", "isAccessibleForFree": false, '
           '"cssSelector": ".paywall"}}</script></head><body><p>Teaser</p><div class="paywall">...</div></body></html>')
RESTRICTED = {
    "/basic": Route.html("<h1>Sign in</h1>", 401, headers=[("WWW-Authenticate", 'Basic realm="members"')]),
    "/pay": Route.html("<h1>Payment required</h1>", 402),
    "/forbidden": Route.html("<h1>Subscribers only</h1>", 403, headers=[("Set-Cookie", "trial=1; Path=/")]),
    "/proxy": Route.html("<h1>Proxy</h1>", 407, headers=[("Proxy-Authenticate", 'Basic realm="proxy"')]),
    "/legal": Route.html("<h1>Unavailable</h1>", 451),
    "/premium": Route.html(PAYWALL),
}


def _links(*paths: str) -> Route:
    return Route.html("<html><head><title>t</title></head><body>"
                      + "".join(f'<a href="{p}">{p}</a>' for p in paths) + "</body></html>")


ROUTES = {
    ("news", "/robots.txt"): Route.text("User-agent: *\nAllow: /\n"),
    ("news", "/"): _links(*RESTRICTED, "/members", "/free"),
    ("news", "/free"): _links(),
    ("news", "/members"): Route.redirect("/login?next=/members", 302),
    ("news", "/login?next=/members"): Route.html('<form method="post"><input name="u"><input type="password" name="p"></form>'),
    **{("news", path): route for path, route in RESTRICTED.items()},
}


@pytest.fixture(scope="module")
def crawl(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("paywall")
    db = f"sqlite:///{tmp / 'audit.db'}"
    with MultiOriginServer(ROUTES) as server:
        items = tmp / "items.jsonl"
        done = subprocess.run([*CLI, "crawl", "seeds", "--policy", TEST_POLICY, "--url", server.url("news", "/"), "--db", db, "--depth", "2",
                               "-o", str(items), "--json", "--log-level", "ERROR"],
                              capture_output=True, text=True, timeout=120, cwd=tmp)
        assert done.returncode == 0, done.stderr[-3000:]
        engine = connect(db)
        decisions = list(search(engine, Filters(), newest_first=False))
        engine.dispose()
        yield {
            "server": server,
            "requests": server.requests_to("news"),
            "items": {json.loads(line)["url"] for line in items.read_text().splitlines()},
            "decisions": decisions,
        }


def test_each_restricted_page_is_requested_once_and_never_collected(crawl):
    paths = [r.path for r in crawl["requests"]]
    for path in RESTRICTED:
        assert paths.count(path) == 1, f"{path} requested {paths.count(path)} times"
        assert crawl["server"].url("news", path) not in crawl["items"]
    assert crawl["server"].url("news", "/free") in crawl["items"]


def test_no_credentials_or_invented_cookies_are_ever_sent(crawl):
    for request in crawl["requests"]:
        assert not request.header("Authorization"), request.path
        assert not request.header("Proxy-Authorization"), request.path
        # Only a cookie the site itself set goes back, as a browser would send it (never one we
        # made up); the restricted URL that set it is not asked again with it.
        assert set(request.header("Cookie")) <= {"trial=1"}, request.path
    assert [r.path for r in crawl["requests"]].count("/forbidden") == 1
    agents = {tuple(r.header("User-Agent")) for r in crawl["requests"]}
    assert len(agents) == 1  # one identity: never retried as someone else


def test_each_restriction_is_recorded_with_its_reason(crawl):
    server = crawl["server"]
    restricted = {d["url"]: d for d in crawl["decisions"]
                  if any(r["code"] == "access.restricted" for r in d["reasons"])}
    for path in RESTRICTED:
        decision = restricted[server.url("news", path)]
        assert decision["verdict"] == "deny" and decision["stage"] == "post-fetch"
    detail = next(r["detail"] for r in restricted[server.url("news", "/premium")]["reasons"] if r["code"] == "access.restricted")
    assert "isAccessibleForFree" in detail


def test_a_redirect_to_a_login_page_is_recorded_as_a_login_wall(crawl):
    login = crawl["server"].url("news", "/login?next=/members")
    assert login not in crawl["items"]
    decision = next(d for d in crawl["decisions"] if d["url"] == login and d["stage"] == "post-fetch")
    assert any(r["code"] == "access.restricted" and "login wall" in r["detail"] for r in decision["reasons"])
