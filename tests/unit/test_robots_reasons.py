"""core.robots.robots_reasons and the robots part of evaluate(): fetch states, exact line cites,
peer AI-training crawler blocks."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from copyright_guard.core.evaluate import SiteView, evaluate
from copyright_guard.core.model import Effect, Evidence, SiteFile, SiteFileStatus, sha256_hex
from copyright_guard.core.policy import load_policy, parse_policy
from copyright_guard.core.robots.rules import parse_robots, robots_reasons
from copyright_guard.core.urls import parse_target

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=timezone.utc)
ORIGIN = "https://news.example"
POLICY = load_policy()

ROBOTS = b"""# news.example robots.txt
User-agent: *
Disallow: /search
Allow: /search/about

User-agent: GPTBot
Disallow: /

User-agent: GPTBot-EU
Disallow: /eu-only/

User-agent: CCBot
Disallow: /archive/

User-agent: CopyrightGuardBot
Disallow: /private/
Crawl-delay: 3

Sitemap: https://news.example/sitemap.xml
"""


def robots_file(body: bytes = ROBOTS, status: SiteFileStatus = SiteFileStatus.PARSED, error: str = "", **extra) -> SiteFile:
    evidence = Evidence(
        "robots.txt",
        url=f"{ORIGIN}/robots.txt",
        final_url=f"{ORIGIN}/robots.txt",
        status=200 if status is SiteFileStatus.PARSED else extra.pop("http_status", 503),
        fetched_at=NOW,
        sha256=sha256_hex(body),
        body=body,
    )
    parsed = parse_robots(body) if status is SiteFileStatus.PARSED else extra.pop("parsed", None)
    return SiteFile(
        "robots.txt", ORIGIN, status, evidence, NOW, NOW + timedelta(hours=24), parsed, body, error=error, **extra
    )


def reasons_for(url: str, site_file=None, purpose: str = "train-ai", policy=POLICY):
    return robots_reasons(parse_target(url), site_file, policy, purpose)


def test_not_consulted():
    assert reasons_for(f"{ORIGIN}/x") == ([], True)


def test_disallowed_for_our_token_cites_the_line_and_the_fetch():
    site_file = robots_file()
    reasons, crawlable = reasons_for(f"{ORIGIN}/private/report.html", site_file, purpose="search")
    assert not crawlable
    [reason] = reasons
    assert (reason.code, reason.source, reason.effect) == ("robots.disallowed", "robots.txt", Effect.DENY)
    assert reason.evidence.location == "robots.txt line 16: Disallow: /private/"
    assert "robots.txt line 16: Disallow: /private/" in reason.detail
    ev = reason.evidence
    assert (ev.url, ev.status, ev.fetched_at, ev.sha256, ev.body) == (
        f"{ORIGIN}/robots.txt", 200, NOW, sha256_hex(ROBOTS), ROBOTS,
    )


def test_our_own_group_replaces_star():
    # /search is disallowed for * but our token has its own group, which allows it.
    reasons, crawlable = reasons_for(f"{ORIGIN}/search?q=x", robots_file(), purpose="search")
    assert crawlable and reasons == []


def test_star_applies_when_no_group_names_us():
    policy = parse_policy('[crawler]\nproduct_token = "OtherBot"\nuser_agent = "OtherBot/1.0"\n')
    reasons, crawlable = reasons_for(f"{ORIGIN}/search?q=x", robots_file(), purpose="search", policy=policy)
    assert not crawlable
    assert reasons[0].evidence.location == "robots.txt line 3: Disallow: /search"


def test_peer_block_is_a_reservation_against_training():
    reasons, crawlable = reasons_for(f"{ORIGIN}/archive/2020/story.html", robots_file())
    assert crawlable, "our own group allows the path"
    codes = sorted((r.code, r.evidence.location) for r in reasons)
    assert codes == [
        ("robots.peer-disallowed", "robots.txt line 13: Disallow: /archive/"),
        ("robots.peer-disallowed", "robots.txt line 7: Disallow: /"),
    ]
    assert all(r.effect is Effect.DENY for r in reasons)
    details = " ".join(r.detail for r in reasons)
    assert "GPTBot" in details and "CCBot" in details


def test_a_peer_prefix_group_is_not_a_peer_block():
    # GPTBot-EU's group must not be read as GPTBot's; only GPTBot's own "Disallow: /" counts.
    body = b"User-agent: GPTBot-EU\nDisallow: /\n"
    assert reasons_for(f"{ORIGIN}/page", robots_file(body)) == ([], True)


def test_a_star_group_is_not_a_peer_block():
    body = b"User-agent: *\nDisallow: /x/\nUser-agent: CopyrightGuardBot\nAllow: /\n"
    assert reasons_for(f"{ORIGIN}/x/1", robots_file(body)) == ([], True)


@pytest.mark.parametrize("purpose", ["search", "ai-input"])
def test_peer_blocks_do_not_apply_to_other_purposes(purpose):
    assert reasons_for(f"{ORIGIN}/story", robots_file(), purpose=purpose) == ([], True)


@pytest.mark.parametrize("purpose", ["train-ai", "train-genai", "tdm"])
def test_peer_blocks_apply_to_training_and_mining(purpose):
    reasons, _ = reasons_for(f"{ORIGIN}/story", robots_file(), purpose=purpose)
    assert [r.code for r in reasons] == ["robots.peer-disallowed"]


def test_peer_tokens_can_be_switched_off_or_chosen():
    off = parse_policy("[sources]\npeer_tokens = false\n")
    assert reasons_for(f"{ORIGIN}/story", robots_file(), policy=off) == ([], True)
    only_ccbot = parse_policy('[peers]\ntokens = ["CCBot"]\n')
    assert reasons_for(f"{ORIGIN}/story", robots_file(), policy=only_ccbot) == ([], True)
    assert len(reasons_for(f"{ORIGIN}/archive/x", robots_file(), policy=only_ccbot)[0]) == 1


def test_unreachable_is_a_complete_disallow():
    site_file = robots_file(b"", SiteFileStatus.UNREACHABLE, error="HTTP 503", http_status=503)
    reasons, crawlable = reasons_for(f"{ORIGIN}/anything", site_file)
    assert not crawlable
    [reason] = reasons
    assert (reason.code, reason.effect) == ("robots.unreachable", Effect.DENY)
    assert "HTTP 503" in reason.detail and "2.3.1.4" in reason.detail
    assert reason.evidence.status == 503


def test_unreachable_after_grace_uses_the_last_good_copy():
    good = robots_file()
    site_file = robots_file(
        b"", SiteFileStatus.UNREACHABLE, error="connection refused",
        parsed=good.parsed, last_good=good, unreachable_since=NOW - timedelta(days=31),
    )
    reasons, crawlable = reasons_for(f"{ORIGIN}/private/x", site_file, purpose="search")
    assert not crawlable
    assert [(r.code, r.effect) for r in reasons] == [
        ("robots.unreachable", Effect.NOTE),
        ("robots.disallowed", Effect.DENY),
    ]
    assert reasons[1].evidence.sha256 == sha256_hex(ROBOTS), "the cite points at the last good copy"
    assert reasons_for(f"{ORIGIN}/public", site_file, purpose="search")[1]


def test_unavailable_means_no_restrictions_and_the_body_is_never_rules():
    body = b"User-agent: *\nDisallow: /\n"  # a 404 page that happens to look like rules
    site_file = robots_file(body, SiteFileStatus.UNAVAILABLE, error="HTTP 404", http_status=404)
    reasons, crawlable = reasons_for(f"{ORIGIN}/page", site_file)
    assert crawlable
    [reason] = reasons
    assert (reason.code, reason.effect) == ("robots.unavailable", Effect.NOTE)
    assert "HTTP 404" in reason.detail


def test_evaluate_lists_every_robots_reason():
    site = SiteView(robots=robots_file())
    decision = evaluate(f"{ORIGIN}/private/x", POLICY, now=NOW, site=site)
    assert decision.verdict.value == "deny"
    codes = [r.code for r in decision.reasons if r.source == "robots.txt"]
    assert codes == ["robots.disallowed", "robots.peer-disallowed"]


def test_evaluate_allows_what_robots_allows_for_search():
    site = SiteView(robots=robots_file())
    decision = evaluate(f"{ORIGIN}/news/today", POLICY, now=NOW, site=site, purpose="search")
    assert not [r for r in decision.reasons if r.source == "robots.txt"]


def test_crawl_delay_of_our_token():
    assert robots_file().parsed.crawl_delay(POLICY.crawler.product_token) == 3.0


@pytest.mark.parametrize(("rule", "url"), [
    ("Disallow: /shop?filter[", f"{ORIGIN}/shop?filter[color]=red"),  # PHP-style array parameters
    ("Disallow: /a[1]/", f"{ORIGIN}/a[1]/x"),
    ("Disallow: /a%5B1%5D/", f"{ORIGIN}/a[1]/x"),
    ("Disallow: /a[1]/", f"{ORIGIN}/a%5b1%5d/x"),
])
def test_square_brackets_match_raw_or_percent_encoded(rule, url):
    # RFC 9309 §2.2.2: reserved characters are percent-encoded on both sides before comparing;
    # a raw "[" in a rule once never matched the URL's "%5B" and the path was allowed.
    body = f"User-agent: *\n{rule}\n".encode()
    reasons, crawlable = reasons_for(url, robots_file(body), purpose="search")
    assert not crawlable and [r.code for r in reasons] == ["robots.disallowed"]


@pytest.mark.parametrize("path", ["/./x/1", "/pub/../x/1", "/%2e/x/1", "/pub/%2E%2E/x/1"])
def test_dot_segments_do_not_slip_past_a_disallow(path):
    reasons, crawlable = reasons_for(f"{ORIGIN}{path}", robots_file(b"User-agent: *\nDisallow: /x/\n"), purpose="search")
    assert not crawlable and [r.code for r in reasons] == ["robots.disallowed"]
