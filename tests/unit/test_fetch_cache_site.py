"""SiteFileCache (one entry per kind and origin, freshness, LRU bound) and SiteFetcher (which files
are fetched, through which transport, and when the cache answers instead) - scripted transport."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import pytest

from copyright_guard.core.model import SiteFileStatus
from copyright_guard.core.policy import Policy, parse_policy
from copyright_guard.fetch import site as site_module
from copyright_guard.fetch.cache import SiteFileCache
from copyright_guard.fetch.site import MAX_LICENCES, SiteFetcher, licence_urls
from copyright_guard.fetch.states import FetchOutcome, SiteFileFetch

NOW = datetime(2026, 11, 23, 12, 0, 0, tzinfo=timezone.utc)


@dataclass
class Line:
    number: int
    name: str
    value: str
    raw: str = ""


class FakeRobots:
    """The part of core.robots.RobotsFile the fetch layer reads: global License: records."""

    def __init__(self, data: bytes) -> None:
        self.licences = [Line(i, "license", raw.split(b":", 1)[1].decode().strip())
                         for i, raw in enumerate(data.splitlines(), 1) if raw.lower().startswith(b"license:")]

    def global_records(self, name: str):
        return self.licences if name == "license" else []


@pytest.fixture(autouse=True)
def fake_parsers(monkeypatch):
    # The fetch layer is tested alone here; the real parsers are tested by their owners and
    # end to end in tests/integration.
    import copyright_guard.fetch.states as states

    monkeypatch.setattr(states, "parser_for", lambda kind: FakeRobots if kind == "robots.txt" else bytes)


class ScriptedTransport:
    def __init__(self, answers: dict[str, FetchOutcome | tuple]) -> None:
        self.answers = answers
        self.calls: list[tuple[str, str, float, int]] = []

    def fetch(self, url, *, user_agent, timeout, max_bytes):
        self.calls.append((url, user_agent, timeout, max_bytes))
        answer = self.answers.get(url, (404, b"not found"))
        if isinstance(answer, FetchOutcome):
            return answer
        code, body = answer
        return FetchOutcome(url, code, {}, body)

    @property
    def urls(self):
        return [call[0] for call in self.calls]


def robots_file(origin="https://a.example", status=200, body=b"", now=NOW, policy=None):
    machine = SiteFileFetch("robots.txt", origin, policy or Policy(), now)
    machine.feed(FetchOutcome(origin + "/robots.txt", status, {}, body))
    return machine.result()


# -- cache ------------------------------------------------------------------------------------------


def test_cache_keeps_one_entry_per_scheme_host_and_port():
    cache = SiteFileCache()
    for origin in ("http://a.example", "https://a.example", "https://a.example:8443"):
        cache.put(robots_file(origin))
    assert len(cache) == 3
    assert cache.get("robots.txt", "http://a.example").origin == "http://a.example"
    assert cache.get("robots.txt", "https://a.example").origin == "https://a.example"
    assert cache.get("robots.txt", "https://b.example") is None
    assert cache.get("ai.txt", "https://a.example") is None


def test_cache_freshness_ends_at_expiry():
    cache = SiteFileCache()
    cache.put(robots_file())
    assert cache.get_fresh("robots.txt", "https://a.example", NOW + timedelta(hours=23, minutes=59))
    assert cache.get_fresh("robots.txt", "https://a.example", NOW + timedelta(hours=24)) is None
    assert cache.get("robots.txt", "https://a.example") is not None  # stale, kept as `previous`


def test_cache_is_bounded_least_recently_used_first():
    cache = SiteFileCache(max_entries=2)
    cache.put(robots_file("https://a.example"))
    cache.put(robots_file("https://b.example"))
    cache.get("robots.txt", "https://a.example")  # a is now more recent than b
    cache.put(robots_file("https://c.example"))
    assert cache.get("robots.txt", "https://b.example") is None
    assert cache.get("robots.txt", "https://a.example") and cache.get("robots.txt", "https://c.example")
    with pytest.raises(ValueError):
        SiteFileCache(max_entries=0)


# -- site fetcher -----------------------------------------------------------------------------------


def test_site_view_fetches_every_enabled_site_file_with_our_user_agent():
    origin = "https://a.example"
    transport = ScriptedTransport({origin + "/robots.txt": (200, b"User-agent: *\nAllow: /\n")})
    policy = Policy()
    view = SiteFetcher(policy, transport).site_view(origin, NOW)
    assert transport.urls == [origin + "/robots.txt", origin + "/.well-known/tdmrep.json", origin + "/ai.txt"]
    assert {call[1] for call in transport.calls} == {policy.crawler.user_agent}
    assert {call[2] for call in transport.calls} == {policy.cache.timeout_seconds}
    assert {call[3] for call in transport.calls} == {policy.cache.max_bytes}
    assert view.robots.status is SiteFileStatus.PARSED
    assert view.tdmrep.status is SiteFileStatus.UNAVAILABLE and view.ai_txt.status is SiteFileStatus.UNAVAILABLE
    assert view.rsl == ()


def test_disabled_sources_are_not_fetched():
    origin = "https://a.example"
    transport = ScriptedTransport({origin + "/robots.txt": (200, b"License: https://l.example/x.xml\n")})
    policy = parse_policy("[sources]\ntdmrep = false\nai_txt = false\nrsl = false\n")
    view = SiteFetcher(policy, transport).site_view(origin, NOW)
    assert transport.urls == [origin + "/robots.txt"]
    assert view.tdmrep is None and view.ai_txt is None and view.rsl == ()


def test_second_view_within_24h_comes_from_the_cache_then_refetches():
    origin = "https://a.example"
    transport = ScriptedTransport({origin + "/robots.txt": (200, b"")})
    fetcher = SiteFetcher(Policy(), transport)
    fetcher.site_view(origin, NOW)
    fetcher.site_view(origin, NOW + timedelta(hours=23))
    assert len(transport.calls) == 3
    fetcher.site_view(origin, NOW + timedelta(hours=24))
    assert len(transport.calls) == 6


def test_unreachable_robots_is_retried_only_after_the_backoff():
    origin = "https://a.example"
    transport = ScriptedTransport({origin + "/robots.txt": (503, b"down")})
    fetcher = SiteFetcher(parse_policy("[sources]\ntdmrep = false\nai_txt = false\n"), transport)
    first = fetcher.site_view(origin, NOW).robots
    assert first.status is SiteFileStatus.UNREACHABLE
    assert fetcher.site_view(origin, NOW + timedelta(seconds=59)).robots is first
    assert len(transport.calls) == 1
    transport.answers[origin + "/robots.txt"] = (200, b"User-agent: *\nDisallow: /\n")
    later = fetcher.site_view(origin, NOW + timedelta(seconds=60)).robots
    assert later.status is SiteFileStatus.PARSED and len(transport.calls) == 2


def test_redirects_are_driven_through_the_transport():
    origin = "https://a.example"
    other = "https://cdn.example.net/robots.txt"
    transport = ScriptedTransport({
        origin + "/robots.txt": FetchOutcome(origin + "/robots.txt", 301, {"location": [other]}),
        other: (200, b"User-agent: *\n"),
    })
    robots = SiteFetcher(Policy(), transport).fetch("robots.txt", origin, NOW)
    assert transport.urls == [origin + "/robots.txt", other]
    assert robots.status is SiteFileStatus.PARSED and robots.origin == origin


def test_rsl_licences_named_by_robots_are_fetched_once_each():
    origin = "https://a.example"
    body = (b"License: https://licensing.example.org/l.xml\nLicense: /local.xml\n"
            b"License: https://licensing.example.org/l.xml\nUser-agent: *\nAllow: /\n")
    transport = ScriptedTransport({origin + "/robots.txt": (200, body),
                                   "https://licensing.example.org/l.xml": (200, b"<rsl/>")})
    view = SiteFetcher(parse_policy("[sources]\ntdmrep = false\nai_txt = false\n"), transport).site_view(origin, NOW)
    assert transport.urls == [origin + "/robots.txt", "https://licensing.example.org/l.xml", origin + "/local.xml"]
    assert [f.status for f in view.rsl] == [SiteFileStatus.PARSED, SiteFileStatus.UNAVAILABLE]
    assert all(f.kind == "rsl" and f.origin == origin for f in view.rsl)


def test_non_http_licence_url_is_an_unreachable_licence_without_a_request():
    origin = "https://a.example"
    transport = ScriptedTransport({origin + "/robots.txt": (200, b"License: ftp://x.example/l.xml\n")})
    view = SiteFetcher(parse_policy("[sources]\ntdmrep = false\nai_txt = false\n"), transport).site_view(origin, NOW)
    assert transport.urls == [origin + "/robots.txt"]
    assert view.rsl[0].status is SiteFileStatus.UNREACHABLE and "not an http(s) URL" in view.rsl[0].error


def test_licence_urls_are_bounded_and_need_a_usable_robots_txt():
    body = b"".join(b"License: https://l.example/%d.xml\n" % i for i in range(50))
    assert len(licence_urls(robots_file(body=body))) == MAX_LICENCES
    assert licence_urls(robots_file(status=404, body=body)) == []
    assert licence_urls(robots_file(status=503, body=body)) == []
    assert licence_urls(None) == []


def test_fetch_site_function_matches_the_architecture_name():
    origin = "https://a.example"
    transport = ScriptedTransport({})
    view = site_module.fetch_site(origin, Policy(), transport, SiteFileCache(), NOW)
    assert view.robots.status is SiteFileStatus.UNAVAILABLE and len(transport.calls) == 3


def test_nothing_else_is_requested_while_robots_txt_is_unreachable():
    origin = "https://a.example"
    transport = ScriptedTransport({origin + "/robots.txt": (503, b"")})
    view = SiteFetcher(Policy(), transport).site_view(origin, NOW)
    assert transport.urls == [origin + "/robots.txt"]  # complete disallow: not even tdmrep.json
    assert view.robots.status is SiteFileStatus.UNREACHABLE
    assert view.tdmrep is None and view.ai_txt is None and view.rsl == ()


def test_other_files_are_fetched_again_once_the_last_good_robots_copy_applies():
    origin = "https://a.example"
    transport = ScriptedTransport({origin + "/robots.txt": (200, b"User-agent: *\nAllow: /\n")})
    fetcher = SiteFetcher(parse_policy("[cache]\nunreachable_grace_days = 1\n"), transport)
    fetcher.site_view(origin, NOW)
    transport.answers[origin + "/robots.txt"] = (503, b"")
    fetcher.site_view(origin, NOW + timedelta(days=1))
    transport.calls.clear()
    view = fetcher.site_view(origin, NOW + timedelta(days=2, hours=1))
    assert view.robots.status is SiteFileStatus.UNREACHABLE and view.robots.parsed is not None
    assert transport.urls == [origin + "/robots.txt", origin + "/.well-known/tdmrep.json", origin + "/ai.txt"]


def test_malformed_licence_url_is_an_unreachable_licence_not_a_crash():
    origin = "https://a.example"
    transport = ScriptedTransport({origin + "/robots.txt": (200, b"License: http://[bad\n")})
    view = SiteFetcher(parse_policy("[sources]\ntdmrep = false\nai_txt = false\n"), transport).site_view(origin, NOW)
    assert transport.urls == [origin + "/robots.txt"]
    assert view.rsl[0].status is SiteFileStatus.UNREACHABLE and "not an http(s) URL" in view.rsl[0].error
