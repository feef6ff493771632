"""Licences lift the licensor's reservations for the licensed source, cite the contract, and never
touch exclusions, access restrictions, invalid URLs or robots.txt rules for our own crawler."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from copyright_guard.core.signals.licences import LICENSABLE_CODES, apply_licences, source_matcher
from copyright_guard.core.model import Effect, Reason
from copyright_guard.core.policy import PolicyError, parse_policy
from copyright_guard.core.urls import parse_target

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=timezone.utc)

POLICY = parse_policy(
    """
[[licences]]
source = "https://news.example"
contract = "CTR-2026-017"
valid_from = 2026-01-01
valid_to = 2026-12-31
purposes = ["train-ai"]

[[licences]]
source = "https://archive.example/papers/*.pdf$"
contract = "CTR-2025-003"

[[licences]]
source = "https://old.example"
contract = "CTR-2020-001"
valid_to = 2025-12-31
""",
    "licences.toml",
)


def deny(code: str) -> Reason:
    return Reason(code, code.split(".")[0], f"{code} found", Effect.DENY)


def lifted(url: str, codes: list[str], purpose: str = "train-ai", now: datetime = NOW) -> list[Reason]:
    return apply_licences([deny(c) for c in codes], parse_target(url), POLICY, purpose, now)


def effects(reasons: list[Reason]) -> dict[str, Effect]:
    return {r.code: r.effect for r in reasons}


def test_a_valid_licence_lifts_reservations_and_cites_the_contract():
    codes = ["robots.peer-disallowed", "tdmrep.reserved", "aipref.reserved", "content-signal.reserved",
             "ai-txt.reserved", "rsl.reserved", "robots-meta.reserved", "iptc.reserved", "c2pa.reserved",
             "tdmrep.unreachable", "rsl.unreachable", "ai-txt.unreachable", "tdmrep.unreadable"]
    reasons = lifted("https://news.example/2026/story.html", codes)
    assert all(effect is Effect.ALLOW for effect in effects(reasons).values())
    applied = reasons[-1]
    assert applied.code == "licence.applied" and applied.effect is Effect.ALLOW
    assert "CTR-2026-017" in applied.detail and "2026-01-01..2026-12-31" in applied.detail
    assert "tdmrep.reserved" in applied.detail
    assert all("CTR-2026-017" in r.detail for r in reasons[:-1])


@pytest.mark.parametrize(
    "code", ["exclusion.listed", "access.restricted", "url.invalid", "robots.disallowed", "robots.unreachable"]
)
def test_a_licence_never_overrides_exclusions_access_or_our_own_robots_rules(code):
    reasons = lifted("https://news.example/page", [code, "tdmrep.reserved"])
    assert effects(reasons)[code] is Effect.DENY
    assert effects(reasons)["tdmrep.reserved"] is Effect.ALLOW  # the reservation is still lifted
    assert code not in LICENSABLE_CODES


def test_expired_and_not_yet_valid_licences_do_nothing():
    assert effects(lifted("https://old.example/a", ["tdmrep.reserved"])) == {"tdmrep.reserved": Effect.DENY}
    early = datetime(2025, 12, 31, 23, 59, tzinfo=timezone.utc)
    assert effects(lifted("https://news.example/a", ["tdmrep.reserved"], now=early)) == {"tdmrep.reserved": Effect.DENY}
    last_day = datetime(2026, 12, 31, 23, 59, tzinfo=timezone.utc)  # valid_to is inclusive
    assert effects(lifted("https://news.example/a", ["tdmrep.reserved"], now=last_day))["tdmrep.reserved"] is Effect.ALLOW


def test_a_licence_covers_only_its_purposes():
    reasons = lifted("https://news.example/a", ["tdmrep.reserved"], purpose="search")
    assert effects(reasons) == {"tdmrep.reserved": Effect.DENY}


def test_a_licence_covers_only_its_source():
    for url in ("http://news.example/a", "https://news.example.evil/a", "https://www.news.example/a",
                "https://news.example:8443/a"):
        assert effects(lifted(url, ["tdmrep.reserved"])) == {"tdmrep.reserved": Effect.DENY}, url


def test_url_patterns_use_star_and_dollar():
    assert effects(lifted("https://archive.example/papers/2024/x.pdf", ["tdmrep.reserved"]))["licence.applied"] is Effect.ALLOW
    for url in ("https://archive.example/papers/x.pdf?download=1", "https://archive.example/other/x.pdf"):
        assert "licence.applied" not in effects(lifted(url, ["tdmrep.reserved"])), url


def test_nothing_to_lift_adds_no_licence_reason():
    reasons = lifted("https://news.example/a", ["exclusion.listed"])
    assert [r.code for r in reasons] == ["exclusion.listed"]


def test_notes_and_allows_are_left_alone():
    reasons = [Reason("tdmrep.unreachable", "tdmrep.json", "unreachable", Effect.NOTE), deny("aipref.reserved")]
    result = apply_licences(reasons, parse_target("https://news.example/"), POLICY, "train-ai", NOW)
    assert result[0] == reasons[0]


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("news.example", "must start with http:// or https://"),
        ("ftp://news.example/", "must start with http:// or https://"),
        ("https://user@news.example/", "expected scheme://host"),
        ("https://news example/", "invalid host or port"),
        ("https://news.example:99999/", "invalid host or port"),
    ],
)
def test_bad_licence_sources_are_policy_errors(source, message):
    with pytest.raises(PolicyError, match=message):
        parse_policy(f'[[licences]]\nsource = "{source}"\ncontract = "C-1"\n', "p.toml")


def test_licence_validity_range_and_contract_are_checked():
    with pytest.raises(PolicyError, match="before valid_from"):
        parse_policy('[[licences]]\nsource = "https://a.example"\ncontract = "C"\nvalid_from = 2026-02-01\nvalid_to = 2026-01-01\n')
    with pytest.raises(PolicyError, match="contract reference"):
        parse_policy('[[licences]]\nsource = "https://a.example"\ncontract = " "\n')


def test_a_wildcard_host_stays_inside_the_host():
    matches = source_matcher("https://*.news.example")
    assert matches("https://eu.news.example/x")
    assert not matches("https://evil.example/x.news.example/")
    assert not matches("https://news.example.evil/")


def test_evaluate_lifts_a_peer_block_for_a_licensed_origin_but_not_our_own_block():
    from datetime import timedelta

    from copyright_guard.core.evaluate import SiteView, evaluate
    from copyright_guard.core.model import Evidence, SiteFile, SiteFileStatus, Verdict
    from copyright_guard.core.robots.rules import parse_robots

    def site(body: bytes) -> SiteView:
        robots = SiteFile("robots.txt", "https://news.example", SiteFileStatus.PARSED,
                          Evidence("robots.txt", url="https://news.example/robots.txt", status=200),
                          NOW, NOW + timedelta(hours=24), parse_robots(body), body)
        return SiteView(robots=robots)

    peer_block = site(b"User-agent: GPTBot\nDisallow: /\n\nUser-agent: *\nAllow: /\n")
    unlicensed = evaluate("https://news.example/story", parse_policy(""), now=NOW, site=peer_block)
    assert unlicensed.verdict is Verdict.DENY and "robots.peer-disallowed" in {r.code for r in unlicensed.deny_reasons}
    licensed = evaluate("https://news.example/story", POLICY, now=NOW, site=peer_block)
    assert licensed.verdict is Verdict.ALLOW
    assert any(r.code == "licence.applied" and "CTR-2026-017" in r.detail for r in licensed.reasons)

    own_block = site(b"User-agent: *\nDisallow: /\n")
    assert evaluate("https://news.example/story", POLICY, now=NOW, site=own_block).verdict is Verdict.DENY
