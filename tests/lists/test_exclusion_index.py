"""Exclusion-list matching: registered domains and their subdomains, exact hosts, IPs, and every
spelling of a host a URL (or a list file) can use to hide it."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from copyright_guard.core.lists.exclusions import EntryError, ExclusionEntry, ExclusionIndex, normalise_entry
from copyright_guard.core.model import Effect
from copyright_guard.core.urls import parse_target

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=timezone.utc)


def entry(text: str, *, name: str = "court-orders", version: int = 1, **fields) -> ExclusionEntry:
    value, kind = normalise_entry(text, fields.pop("kind", None))
    defaults = {"authority": "Tribunal judiciaire de Paris", "jurisdiction": "FR", "reference": "RG 25/01234"}
    return ExclusionEntry(name, version, value, kind, **{**defaults, **fields})


def listed(index: ExclusionIndex, url: str, now: datetime = NOW) -> bool:
    return bool(index.match(parse_target(url), now))


@pytest.mark.parametrize(
    ("text", "normalised", "kind"),
    [
        ("bad.example", "bad.example", "domain"),
        ("  BAD.Example.  ", "bad.example", "domain"),
        ("https://user:pw@Bad.Example:8443/some/path?q=1", "bad.example", "domain"),
        ("http://good.example@bad.example/", "bad.example", "domain"),
        ("bad.example:8080", "bad.example", "domain"),
        ("bad.co.uk", "bad.co.uk", "domain"),
        ("www.bad.co.uk", "www.bad.co.uk", "host"),
        ("bad.blogspot.com", "bad.blogspot.com", "domain"),  # private suffix: one blog is one site
        ("*.mirror.bad.example", "mirror.bad.example", "domain"),
        ("Bücher-Piraten.example", "xn--bcher-piraten-wob.example", "domain"),
        ("xn--bcher-piraten-wob.example", "xn--bcher-piraten-wob.example", "domain"),
        ("bad\u3002example", "bad.example", "domain"),  # ideographic full stop separates labels (IDNA)
        ("192.0.2.7", "192.0.2.7", "ip"),
        ("[2001:DB8::7]:443", "2001:db8::7", "ip"),
        ("2001:db8::7", "2001:db8::7", "ip"),
        ("::ffff:192.0.2.7", "192.0.2.7", "ip"),
        ("0xc0.0.2.7", "192.0.2.7", "ip"),  # WHATWG IPv4 forms resolve to the same address
    ],
)
def test_entries_are_normalised_like_url_hosts(text, normalised, kind):
    assert normalise_entry(text) == (normalised, kind)


def test_kind_column_can_widen_a_host_to_its_subdomains():
    assert normalise_entry("www.bad.example", "domain") == ("www.bad.example", "domain")
    assert normalise_entry("bad.example", "host") == ("bad.example", "host")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty entry"),
        ("co.uk", "public suffix"),
        ("blogspot.com", "public suffix"),
        ("com", "single label"),
        ("localhost", "single label"),
        ("bad..example", "invalid host name"),
        ("bad.example:http", "malformed entry"),
        ("ftp://bad.example/", "unsupported scheme 'ftp'"),
        ("*.192.0.2.7", "IP address"),
        ("bad.example", "not an IP address"),
        ("1.2.3.999", "invalid IPv4 address"),
    ],
)
def test_unusable_entries_are_one_line_errors(text, message):
    kind = "ip" if message == "not an IP address" else None
    with pytest.raises(EntryError, match=message) as error:
        normalise_entry(text, kind)
    assert "\n" not in str(error.value)


def test_a_registered_domain_covers_every_subdomain_and_nothing_else():
    index = ExclusionIndex([entry("bad.co.uk"), entry("bad.example")])
    for url in (
        "https://bad.co.uk/",
        "http://www.bad.co.uk/film.mkv",
        "https://a.b.c.bad.co.uk:8443/x",
        "HTTPS://WWW.BAD.CO.UK./",
        "http://sub.bad.example/",
    ):
        assert listed(index, url), url
    for url in ("https://notbad.co.uk/", "https://bad.co.uk.evil.example/", "https://co.uk.example/", "https://uk/"):
        assert not listed(index, url), url


def test_a_blog_under_a_private_suffix_is_one_site():
    index = ExclusionIndex([entry("bad.blogspot.com")])
    assert listed(index, "https://bad.blogspot.com/2026/01/post.html")
    assert listed(index, "https://m.bad.blogspot.com/")
    assert not listed(index, "https://good.blogspot.com/")
    assert not listed(index, "https://blogspot.com/")


def test_an_exact_host_entry_covers_that_host_only():
    index = ExclusionIndex([entry("www.bad.co.uk")])
    assert listed(index, "https://www.bad.co.uk/")
    assert not listed(index, "https://bad.co.uk/")
    assert not listed(index, "https://cdn.www.bad.co.uk/")


def test_a_star_entry_covers_a_subtree_below_the_registered_domain():
    index = ExclusionIndex([entry("*.mirror.bad.example")])
    assert listed(index, "https://mirror.bad.example/")
    assert listed(index, "https://eu.mirror.bad.example/")
    assert not listed(index, "https://bad.example/")


@pytest.mark.parametrize(
    "url",
    [
        "http://good.example@bad.example/",
        "http://good.example:80@bad.example/",
        "http://a@b@bad.example/",
        "http://user:password@BAD.EXAMPLE.:8080/",
        "http://bad%2Eexample/",
        "http://xn--bcher-piraten-wob.example/",
        "http://BÜCHER-piraten.example/",
        # IDNA label dots (RFC 3490 §3.1), trailing or inside: issue 13 recorded robots.unreachable
        "http://bad.example\u3002/",
        "http://bad\uff0eexample/",
        "http://bad\uff61example\u3002/x",
    ],
)
def test_hiding_the_host_does_not_get_past_the_list(url):
    index = ExclusionIndex([entry("bad.example"), entry("bücher-piraten.example")])
    assert listed(index, url)


def test_userinfo_naming_a_listed_host_does_not_exclude_the_real_host():
    index = ExclusionIndex([entry("bad.example")])
    assert not listed(index, "http://bad.example@good.example/")


@pytest.mark.parametrize(
    "url",
    [
        "http://192.0.2.7/",
        "http://192.0.2.7:8080/x",
        "http://3221225991/",  # one 32-bit decimal number
        "http://0xc0.0.2.7/",
        "http://0300.0.2.7/",  # octal
        "http://[::ffff:192.0.2.7]/",  # IPv4-mapped IPv6
    ],
)
def test_ipv4_entries_match_every_spelling_of_the_address(url):
    assert listed(ExclusionIndex([entry("192.0.2.7")]), url)


def test_ipv6_entries():
    index = ExclusionIndex([entry("2001:db8::7")])
    assert listed(index, "http://[2001:0DB8:0:0::7]:8080/")
    assert not listed(index, "http://[2001:db8::8]/")
    assert not listed(index, "http://192.0.2.7/")


def test_delisted_and_not_yet_listed_entries_do_not_match():
    index = ExclusionIndex(
        [
            entry("old.example", delisted_at=NOW - timedelta(days=1), listed_at=NOW - timedelta(days=400)),
            entry("future.example", listed_at=NOW + timedelta(days=1)),
            entry("edge.example", delisted_at=NOW),
            entry("naive.example", listed_at=datetime(2026, 1, 1)),  # naive datetimes are UTC
        ]
    )
    assert not listed(index, "https://old.example/")
    assert listed(index, "https://old.example/", NOW - timedelta(days=2))
    assert not listed(index, "https://future.example/")
    assert listed(index, "https://future.example/", NOW + timedelta(days=1))
    assert not listed(index, "https://edge.example/")  # delisted_at is the first day it no longer applies
    assert listed(index, "https://naive.example/")


def test_the_reason_cites_list_version_entry_authority_and_reference():
    index = ExclusionIndex(
        [
            ExclusionEntry(
                "arcom", 3, "bad.example", "domain", "Arcom", "FR", "https://www.arcom.fr/decision/2025-17",
                listed_at=datetime(2025, 3, 1, tzinfo=timezone.utc), list_sha256="ab" * 32,
            )
        ]
    )
    (reason,) = index.match(parse_target("https://www.bad.example/page"), NOW)
    assert reason.code == "exclusion.listed"
    assert reason.effect is Effect.DENY
    for cited in ("'arcom'", "version 3", "bad.example", "Arcom (FR)", "https://www.arcom.fr/decision/2025-17", "2025-03-01"):
        assert cited in reason.detail
    assert reason.evidence.location == "arcom v3: bad.example"
    assert reason.evidence.url == "https://www.arcom.fr/decision/2025-17"
    assert reason.evidence.sha256 == "ab" * 32


def test_every_list_naming_the_site_is_cited():
    index = ExclusionIndex([entry("bad.example", name="arcom"), entry("www.bad.example", name="court-orders", version=2)])
    reasons = index.match(parse_target("https://www.bad.example/"), NOW)
    assert sorted(r.evidence.location for r in reasons) == ["arcom v1: bad.example", "court-orders v2: www.bad.example"]
    assert index.versions == {"arcom": 1, "court-orders": 2}
    assert len(index) == 2


def test_an_empty_index_matches_nothing():
    assert ExclusionIndex().match(parse_target("https://bad.example/"), NOW) == []


@pytest.mark.parametrize(
    ("host", "domain"),
    [
        ("sub.bad.example", "bad.example"),  # unknown TLD: the public-suffix list's default rule "*"
        ("a.b.c.test", "c.test"),
        ("bad.example", "bad.example"),
        ("a.b.someone.blogspot.com", "someone.blogspot.com"),
        ("www.bbc.co.uk", "bbc.co.uk"),
        ("localhost", "localhost"),
        ("192.0.2.7", "192.0.2.7"),
    ],
)
def test_registered_domains_the_index_and_the_audit_log_agree_on(host, domain):
    from copyright_guard.core.urls import registered_domain

    assert registered_domain(host) == domain


@pytest.mark.parametrize("url", ["http://bad%2Fexample/", "http://bad%ff.example/", "http://1.2.3.256/", "http://1.2.3.4.5/"])
def test_hosts_no_http_stack_could_reach_are_invalid(url):
    from copyright_guard.core.urls import URLError

    with pytest.raises(URLError):
        parse_target(url)
