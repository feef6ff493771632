"""Every location- and asset-based signal served by a local multi-origin site and read end to end
through ``copyright-guard check`` (issue 3): pre-fetch sources deny before the page is requested,
asset sources deny post-fetch, and each reason carries its evidence."""

from __future__ import annotations

import pytest

from copyright_guard.demo.server import Route

HTML = "<html><head><title>t</title></head><body>text</body></html>"

ROUTES = {
    # origin "open": robots.txt allows everything and carries an AIPREF Content-Usage rule
    ("open", "/robots.txt"): Route.text("User-agent: *\nAllow: /\nContent-Usage: /cu/ train-ai=n\n"),
    ("open", "/plain"): Route.html(HTML),
    ("open", "/cu/a"): Route.html(HTML),
    ("open", "/header/tdm"): Route.html(HTML, headers=[("tdm-reservation", "1"), ("tdm-policy", "https://p.example/policy.json")]),
    ("open", "/header/usage"): Route.html(HTML, headers=[("Content-Usage", "train-ai=n")]),
    ("open", "/header/noai"): Route.html(HTML, headers=[("X-Robots-Tag", "NOAI")]),
    ("open", "/header/otherbot"): Route.html(HTML, headers=[("X-Robots-Tag", "otherbot: noai")]),
    ("open", "/meta/noai"): Route.html('<html><head><meta name="robots" content="noindex, noai"></head></html>'),
    ("open", "/meta/tdm"): Route.html('<html><head><meta name="tdm-reservation" content="1"></head></html>'),
    ("open", "/members"): Route.html("<p>sign in</p>", 401, headers=[("WWW-Authenticate", "Basic")]),
    ("open", "/blocked"): Route.html("<p>unavailable</p>", 451),
    ("open", "/premium"): Route.redirect("/login?next=/premium", 302),
    ("open", "/login"): Route.html('<form><input type="password"></form>'),
    # origin "signal": a Cloudflare Content-Signal line in the * group
    ("signal", "/robots.txt"): Route.text("User-agent: *\nContent-Signal: search=yes, ai-train=no\nAllow: /\n"),
    ("signal", "/a"): Route.html(HTML),
    # origin "files": tdmrep.json and ai.txt reservations
    ("files", "/robots.txt"): Route.text("User-agent: *\nAllow: /\n"),
    ("files", "/.well-known/tdmrep.json"): Route.json(
        '[{"location": "/reserved/*", "tdm-reservation": 1}, {"location": "/", "tdm-reservation": 0}]'),
    ("files", "/ai.txt"): Route.text("User-agent: *\nDisallow: *.jpg\n"),
    ("files", "/reserved/a"): Route.html(HTML),
    ("files", "/free/a"): Route.html(HTML),
    ("files", "/photo.jpg"): Route(200, (("Content-Type", "image/jpeg"),), b"\xff\xd8\xff\xd9"),
}


@pytest.fixture(scope="module")
def site():
    from copyright_guard.demo.server import MultiOriginServer

    with MultiOriginServer(ROUTES) as server:
        yield server


@pytest.mark.parametrize("origin, path, stage, code", [
    ("open", "/cu/a", "pre-fetch", "aipref.reserved"),
    ("open", "/header/tdm", "post-fetch", "tdmrep.reserved"),
    ("open", "/header/usage", "post-fetch", "aipref.reserved"),
    ("open", "/header/noai", "post-fetch", "robots-meta.reserved"),
    ("open", "/meta/noai", "post-fetch", "robots-meta.reserved"),
    ("open", "/meta/tdm", "post-fetch", "tdmrep.reserved"),
    ("open", "/members", "post-fetch", "access.restricted"),
    ("open", "/blocked", "post-fetch", "access.restricted"),
    ("open", "/premium", "post-fetch", "access.restricted"),
    ("signal", "/a", "pre-fetch", "content-signal.reserved"),
    ("files", "/reserved/a", "pre-fetch", "tdmrep.reserved"),
    ("files", "/photo.jpg", "pre-fetch", "ai-txt.reserved"),
])
def test_each_signal_denies_at_its_stage(site, check_json, origin, path, stage, code):
    site.clear_log()
    exit_code, data = check_json(site.url(origin, path))
    assert exit_code == 1 and data["verdict"] == "deny" and data["stage"] == stage
    reasons = [r for r in data["reasons"] if r["code"] == code]
    assert reasons, data["reasons"]
    assert reasons[0]["evidence"]["location"]
    requested = path in site.paths(origin)
    assert requested is (stage == "post-fetch")  # a pre-fetch deny sends no request for the page


@pytest.mark.parametrize("origin, path", [("open", "/plain"), ("open", "/header/otherbot"), ("files", "/free/a")])
def test_no_reservation_means_allow(site, check_json, origin, path):
    exit_code, data = check_json(site.url(origin, path))
    assert exit_code == 0, data["reasons"]
    assert [d["stage"] for d in data["decisions"]] == ["pre-fetch", "post-fetch"]


def test_search_purpose_is_not_blocked_by_a_training_reservation(site, check_json):
    exit_code, data = check_json(site.url("open", "/cu/a"), "--purpose", "search")
    assert exit_code == 0, data["reasons"]


def test_tdm_policy_url_is_kept_in_the_evidence(site, check_json):
    _, data = check_json(site.url("open", "/header/tdm"))
    (reason,) = [r for r in data["reasons"] if r["code"] == "tdmrep.reserved"]
    assert "https://p.example/policy.json" in reason["detail"] + reason["evidence"]["location"]
