"""The fetch layer over real sockets with a controlled clock: backoff while robots.txt fails, the
new file obeyed once it answers, the 24-hour lifetime, and one cache entry per scheme+host+port
(the situations peers.md shows Scrapy getting wrong)."""

from __future__ import annotations

import ssl
from datetime import datetime, timedelta, timezone

from copyright_guard.core.evaluate import evaluate
from copyright_guard.core.model import SiteFileStatus
from copyright_guard.core.policy import parse_policy
from copyright_guard.demo.server import Route
from copyright_guard.fetch.cache import SiteFileCache
from copyright_guard.fetch.http import HttpxTransport
from copyright_guard.fetch.site import SiteFetcher

T0 = datetime(2026, 11, 23, 12, 0, tzinfo=timezone.utc)
ROBOTS_ONLY = parse_policy("[sources]\ntdmrep = false\nai_txt = false\nrsl = false\n")


def decide(fetcher, url, now):
    origin = url.split("/", 3)
    view = fetcher.site_view(f"{origin[0]}//{origin[2]}", now)
    return evaluate(url, ROBOTS_ONLY, now=now, site=view)


def test_500_three_times_then_200_disallow_is_obeyed(serve):
    server = serve({("site", "/robots.txt"): Route.html("<h1>oops</h1>", 500)})
    page = server.url("site", "/page")
    with HttpxTransport() as transport:
        fetcher = SiteFetcher(ROBOTS_ONLY, transport)
        now = T0
        for wait in (60, 120, 240):
            decision = decide(fetcher, page, now)
            assert not decision.allowed and decision.reasons[0].code == "robots.unreachable"
            assert not decide(fetcher, page, now + timedelta(seconds=wait - 1)).allowed  # from the cache
            now += timedelta(seconds=wait)
        assert len(server.requests_to("site", "/robots.txt")) == 3  # no request during a backoff wait
        server.set("site", "/robots.txt", Route.text("User-agent: *\nDisallow: /\n"))
        decision = decide(fetcher, page, now)
    assert [r.code for r in decision.reasons] == ["robots.disallowed"]
    assert len(server.requests_to("site", "/robots.txt")) == 4


def test_a_parsed_file_is_refetched_after_24_hours(serve):
    server = serve({("site", "/robots.txt"): Route.text("User-agent: *\nAllow: /\n")})
    page = server.url("site", "/page")
    with HttpxTransport() as transport:
        fetcher = SiteFetcher(ROBOTS_ONLY, transport)
        assert decide(fetcher, page, T0).allowed
        server.set("site", "/robots.txt", Route.text("User-agent: *\nDisallow: /\n"))
        assert decide(fetcher, page, T0 + timedelta(hours=23, minutes=59)).allowed  # still the cached copy
        assert not decide(fetcher, page, T0 + timedelta(hours=24)).allowed
    assert len(server.requests_to("site", "/robots.txt")) == 2


def test_after_the_grace_period_the_last_good_copy_applies(serve):
    server = serve({("site", "/robots.txt"): Route.text("User-agent: *\nDisallow: /private/\n")})
    with HttpxTransport() as transport:
        fetcher = SiteFetcher(ROBOTS_ONLY, transport)
        assert decide(fetcher, server.url("site", "/public"), T0).allowed
        server.set("site", "/robots.txt", Route.text("", 503))
        day1 = T0 + timedelta(days=1)
        assert not decide(fetcher, server.url("site", "/public"), day1).allowed
        day31 = day1 + timedelta(days=30)
        public = decide(fetcher, server.url("site", "/public"), day31)
        private = decide(fetcher, server.url("site", "/private/x"), day31)
    assert public.allowed and "last good copy" in public.reasons[0].detail
    assert not private.allowed and "robots.disallowed" in [r.code for r in private.reasons]


def test_one_entry_per_scheme_host_and_port(serve):
    server = serve({("plain", "/robots.txt"): Route.text("User-agent: *\nDisallow: /plain-only/\n"),
                    ("secure", "/robots.txt"): Route.text("User-agent: *\nDisallow: /secure-only/\n")},
                   hosts={"plain": "127.0.0.6", "secure": "127.0.0.6"}, tls={"secure"})
    cache = SiteFileCache()
    context = ssl.create_default_context(cafile=str(server.cert_file))
    with HttpxTransport(verify=context) as transport:
        fetcher = SiteFetcher(ROBOTS_ONLY, transport, cache)
        assert not decide(fetcher, server.url("plain", "/plain-only/x"), T0).allowed
        assert decide(fetcher, server.url("plain", "/secure-only/x"), T0).allowed
        assert not decide(fetcher, server.url("secure", "/secure-only/x"), T0).allowed
        assert decide(fetcher, server.url("secure", "/plain-only/x"), T0).allowed
    assert len(cache) == 2
    plain = cache.get("robots.txt", server.origin("plain"))
    secure = cache.get("robots.txt", server.origin("secure"))
    assert plain.status is secure.status is SiteFileStatus.PARSED and plain.body != secure.body
