"""The pure fetch state machine (fetch/states.py): RFC 9309 §2.3.1 status classes, redirects,
size limit, backoff, grace period and freshness - no network, ``now`` passed in."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from copyright_guard.core.model import SiteFileStatus, sha256_hex
from copyright_guard.core.policy import Policy, parse_policy
from copyright_guard.fetch.states import FetchOutcome, SiteFileFetch, one_line, site_file_url

NOW = datetime(2026, 11, 23, 12, 0, 0, tzinfo=timezone.utc)
ORIGIN = "https://example.com"
ROBOTS = "https://example.com/robots.txt"
POLICY = Policy()


class Parsed:
    """Stands in for the kind's parser result, so these tests pin the state machine alone."""

    def __init__(self, data: bytes) -> None:
        self.data = data


def run(outcomes, *, kind="robots.txt", policy=POLICY, now=NOW, previous=None, url=None):
    """Drive a fetch with scripted outcomes (keyed by URL); return (site_file, requested URLs)."""
    machine = SiteFileFetch(kind, ORIGIN, policy, now, previous, url=url, parse=Parsed)
    requested = []
    while machine.next_url is not None:
        url_now = machine.next_url
        requested.append(url_now)
        outcome = outcomes[url_now] if isinstance(outcomes, dict) else outcomes(url_now, len(requested))
        machine.feed(outcome)
    return machine.result(), requested


def ok(url=ROBOTS, body=b"User-agent: *\nDisallow: /\n", **kw):
    return FetchOutcome(url, 200, {"content-type": ["text/plain"]}, body, **kw)


def status(code, url=ROBOTS, body=b"", headers=None):
    return FetchOutcome(url, code, headers or {}, body)


def redirect(url, to, code=301):
    return FetchOutcome(url, code, {"location": [to]}, b"")


def error(message, url=ROBOTS):
    return FetchOutcome(url, error=message)


# -- status classes -------------------------------------------------------------------------------


@pytest.mark.parametrize("code", [200, 203, 204, 206, 299])
def test_2xx_is_parsed_with_evidence(code):
    body = b"User-agent: *\nDisallow: /private/\n"
    site_file, requested = run({ROBOTS: status(code, body=body)})
    assert requested == [ROBOTS]
    assert site_file.status is SiteFileStatus.PARSED
    assert site_file.parsed.data == body
    assert site_file.body == body and site_file.error == ""
    ev = site_file.evidence
    assert (ev.source, ev.url, ev.final_url, ev.status) == ("robots.txt", ROBOTS, ROBOTS, code)
    assert ev.sha256 == sha256_hex(body) and ev.body == body
    assert site_file.origin == ORIGIN and site_file.kind == "robots.txt"


@pytest.mark.parametrize("code", [400, 401, 403, 404, 410, 418, 451, 499])
def test_4xx_except_429_is_unavailable_and_body_never_parsed(code):
    body = b"User-agent: *\nDisallow: /\n"  # a 404 page that *looks* like rules (peers.md)

    def never(_):
        raise AssertionError("a 4xx body must never be parsed")

    machine = SiteFileFetch("robots.txt", ORIGIN, POLICY, NOW, parse=never)
    assert machine.feed(status(code, body=body)) is None
    site_file = machine.result()
    assert site_file.status is SiteFileStatus.UNAVAILABLE
    assert site_file.parsed is None
    assert site_file.error == f"HTTP {code}"
    assert site_file.evidence.status == code and site_file.evidence.sha256 == sha256_hex(body)
    assert site_file.expires_at == NOW + timedelta(hours=24)


@pytest.mark.parametrize("code", [429, 500, 502, 503, 504, 599])
def test_5xx_and_429_are_unreachable(code):
    site_file, _ = run({ROBOTS: status(code, body=b"<html>Service Unavailable</html>")})
    assert site_file.status is SiteFileStatus.UNREACHABLE
    assert site_file.parsed is None
    assert site_file.error == f"HTTP {code}"
    assert site_file.unreachable_since == NOW
    assert site_file.expires_at == NOW + timedelta(seconds=POLICY.cache.retry_initial_seconds)


def test_503_whose_body_says_disallow_is_unreachable_for_the_right_reason():
    site_file, _ = run({ROBOTS: status(503, body=b"User-agent: *\nDisallow: /\n")})
    assert site_file.status is SiteFileStatus.UNREACHABLE and site_file.parsed is None


@pytest.mark.parametrize("code", [100, 101, 600, 999])
def test_nonsense_status_is_unreachable(code):
    site_file, _ = run({ROBOTS: status(code)})
    assert site_file.status is SiteFileStatus.UNREACHABLE


@pytest.mark.parametrize("message", ["connection refused", "timeout after 10s", "DNS lookup failed: x",
                                     "TLS error: certificate verify failed", "connection reset"])
def test_network_errors_are_unreachable_with_a_one_line_error(message):
    site_file, _ = run({ROBOTS: error(message)})
    assert site_file.status is SiteFileStatus.UNREACHABLE
    assert site_file.error == message
    assert site_file.evidence.status is None and site_file.evidence.sha256 is None
    assert site_file.body == b""


def test_multi_line_error_is_cut_to_one_line():
    site_file, _ = run({ROBOTS: error("boom\nTraceback (most recent call last):\n  ...")})
    assert site_file.error == "boom"
    assert one_line("x" * 1000, 50).endswith("…") and len(one_line("x" * 1000, 50)) == 50


# -- redirects ------------------------------------------------------------------------------------


def test_redirect_across_hosts_applies_to_the_initial_origin():
    other = "https://cdn.example.net/robots/site.txt"
    site_file, requested = run({ROBOTS: redirect(ROBOTS, other, 302), other: ok(other)})
    assert requested == [ROBOTS, other]
    assert site_file.status is SiteFileStatus.PARSED
    assert site_file.origin == ORIGIN
    assert site_file.evidence.url == ROBOTS and site_file.evidence.final_url == other
    assert "after 1 redirect" in site_file.evidence.location


def test_relative_redirect_is_resolved_against_the_current_url():
    outcomes = {ROBOTS: redirect(ROBOTS, "/new/robots.txt", 308),
                "https://example.com/new/robots.txt": ok("https://example.com/new/robots.txt")}
    site_file, requested = run(outcomes)
    assert requested[-1] == "https://example.com/new/robots.txt"
    assert site_file.status is SiteFileStatus.PARSED


def test_https_to_http_redirect_is_followed():
    target = "http://example.com/robots.txt"
    site_file, _ = run({ROBOTS: redirect(ROBOTS, target), target: ok(target)})
    assert site_file.status is SiteFileStatus.PARSED


def _chain(hops: int, final):
    urls = [ROBOTS] + [f"https://hop{i}.example/robots.txt" for i in range(1, hops + 1)]
    outcomes = {urls[i]: redirect(urls[i], urls[i + 1], 307) for i in range(hops)}
    outcomes[urls[-1]] = final(urls[-1])
    return outcomes


def test_five_redirects_are_followed():
    site_file, requested = run(_chain(5, ok))
    assert len(requested) == 6
    assert site_file.status is SiteFileStatus.PARSED
    assert site_file.evidence.final_url == "https://hop5.example/robots.txt"


def test_six_redirects_are_unavailable():
    site_file, requested = run(_chain(6, ok))
    assert len(requested) == 6  # the sixth redirect is not followed
    assert site_file.status is SiteFileStatus.UNAVAILABLE
    assert site_file.error.startswith("more than 5 redirects")
    assert site_file.parsed is None


def test_redirect_limit_follows_the_policy():
    policy = parse_policy("[cache]\nmax_redirects = 7\n")
    site_file, requested = run(_chain(7, ok), policy=policy)
    assert site_file.status is SiteFileStatus.PARSED and len(requested) == 8


def test_redirect_loop_is_unavailable():
    a, b = ROBOTS, "https://www.example.com/robots.txt"
    site_file, requested = run({a: redirect(a, b), b: redirect(b, a)})
    assert requested == [a, b]
    assert site_file.status is SiteFileStatus.UNAVAILABLE
    assert "loop" in site_file.error


def test_self_redirect_is_a_loop():
    site_file, requested = run({ROBOTS: redirect(ROBOTS, ROBOTS)})
    assert requested == [ROBOTS] and site_file.status is SiteFileStatus.UNAVAILABLE


@pytest.mark.parametrize("headers", [{}, {"location": [""]}, {"location": ["   "]}])
def test_3xx_without_location_is_unavailable(headers):
    site_file, _ = run({ROBOTS: status(302, headers=headers)})
    assert site_file.status is SiteFileStatus.UNAVAILABLE
    assert "without a Location" in site_file.error


@pytest.mark.parametrize("location", ["ftp://example.com/robots.txt", "javascript:alert(1)", "http://[::1"])
def test_redirect_to_unusable_url_is_unavailable(location):
    site_file, _ = run({ROBOTS: redirect(ROBOTS, location)})
    assert site_file.status is SiteFileStatus.UNAVAILABLE
    assert "unusable URL" in site_file.error


def test_redirect_then_server_error_is_unreachable():
    other = "https://other.example/robots.txt"
    site_file, _ = run({ROBOTS: redirect(ROBOTS, other), other: status(500, other)})
    assert site_file.status is SiteFileStatus.UNREACHABLE
    assert site_file.evidence.final_url == other and site_file.evidence.url == ROBOTS


def test_redirect_then_404_is_unavailable():
    other = "https://other.example/robots.txt"
    site_file, _ = run({ROBOTS: redirect(ROBOTS, other), other: status(404, other)})
    assert site_file.status is SiteFileStatus.UNAVAILABLE


# -- size limit -----------------------------------------------------------------------------------


def test_body_is_cut_at_max_bytes_and_the_cut_recorded():
    body = b"User-agent: *\n" + b"Disallow: /x\n" * 100_000  # 1.3 MB
    site_file, _ = run({ROBOTS: ok(body=body)})
    limit = POLICY.cache.max_bytes
    assert limit >= 500 * 1024  # RFC 9309 §2.5
    complete = body[: body.rfind(b"\n", 0, limit) + 1]
    assert site_file.parsed.data == complete  # only complete lines are rules
    assert site_file.body == body[:limit] and site_file.evidence.sha256 == sha256_hex(body[:limit])
    assert f"body cut at {limit} bytes" in site_file.evidence.location


def test_the_incomplete_last_line_of_a_cut_file_is_not_a_rule():
    # "Allow: /press/kit.html" cut to "Allow: /" would have allowed the whole site.
    head = b"User-agent: *\nDisallow: /\n"
    body = head + b"#" + b"x" * (POLICY.cache.max_bytes - len(head) - 10) + b"\nAllow: /press/kit.html\n"
    site_file, _ = run({ROBOTS: ok(body=body)})
    assert site_file.parsed.data == body[: body.index(b"Allow")]  # the parser never sees "Allow: /"
    assert "incomplete last line is ignored" in site_file.evidence.location
    assert site_file.body == body[: POLICY.cache.max_bytes]  # the evidence is every byte read


def test_transport_truncation_flag_is_recorded():
    site_file, _ = run({ROBOTS: ok(body=b"User-agent: *\n", truncated=True)})
    assert "body cut at" in site_file.evidence.location


def test_body_at_exactly_the_limit_is_not_a_cut():
    body = b"#" * POLICY.cache.max_bytes
    site_file, _ = run({ROBOTS: ok(body=body)})
    assert site_file.parsed.data == body and "cut" not in site_file.evidence.location


def test_binary_body_is_handed_to_the_parser_as_bytes():
    body = bytes(range(256)) * 10
    site_file, _ = run({ROBOTS: ok(body=body)})
    assert site_file.status is SiteFileStatus.PARSED and site_file.parsed.data == body


# -- freshness, backoff, grace --------------------------------------------------------------------


def test_parsed_file_is_fresh_for_max_age_hours():
    site_file, _ = run({ROBOTS: ok()})
    assert site_file.fetched_at == NOW and site_file.expires_at == NOW + timedelta(hours=24)
    policy = parse_policy("[cache]\nmax_age_hours = 2\n")
    assert run({ROBOTS: ok()}, policy=policy)[0].expires_at == NOW + timedelta(hours=2)


def test_evidence_fetch_time_comes_from_the_transport():
    at = NOW + timedelta(seconds=3)
    site_file, _ = run({ROBOTS: ok(fetched_at=at)})
    assert site_file.evidence.fetched_at == at


def _fail_repeatedly(times, *, previous=None, policy=POLICY, step=None):
    """Fail ``times`` times, each at the moment the previous state expires; return every state."""
    states = []
    now = NOW
    for _ in range(times):
        site_file, _ = run({ROBOTS: status(503)}, previous=previous, policy=policy, now=now)
        states.append(site_file)
        previous = site_file
        now = site_file.expires_at if step is None else now + step
    return states


def test_backoff_doubles_from_initial_to_max():
    states = _fail_repeatedly(9)
    waits = [(s.expires_at - s.fetched_at).total_seconds() for s in states]
    assert waits == [60, 120, 240, 480, 960, 1920, 3600, 3600, 3600]
    assert all(s.unreachable_since == NOW for s in states)


def test_backoff_follows_the_policy():
    policy = parse_policy("[cache]\nretry_initial_seconds = 5\nretry_max_seconds = 30\n")
    states = _fail_repeatedly(5, policy=policy)
    assert [(s.expires_at - s.fetched_at).total_seconds() for s in states] == [5, 10, 20, 30, 30]


def test_success_after_failures_resets_everything():
    failed = _fail_repeatedly(3)[-1]
    site_file, _ = run({ROBOTS: ok()}, previous=failed, now=failed.expires_at)
    assert site_file.status is SiteFileStatus.PARSED
    assert site_file.unreachable_since is None and site_file.last_good is None
    again, _ = run({ROBOTS: status(500)}, previous=site_file, now=site_file.expires_at)
    assert again.unreachable_since == site_file.expires_at
    assert (again.expires_at - again.fetched_at).total_seconds() == 60


def test_unreachable_keeps_last_good_but_denies_within_grace():
    good, _ = run({ROBOTS: ok(body=b"User-agent: *\nAllow: /\n")})
    first = run({ROBOTS: status(500)}, previous=good, now=NOW + timedelta(days=1))[0]
    assert first.last_good is good
    assert first.parsed is None  # within the grace period: complete disallow (RFC 9309 §2.3.1.4)
    late = run({ROBOTS: error("timeout after 10s")}, previous=first, now=NOW + timedelta(days=30, hours=23))[0]
    assert late.unreachable_since == NOW + timedelta(days=1)
    assert late.parsed is None and late.last_good is good


def test_after_30_days_unreachable_the_last_good_copy_applies():
    good, _ = run({ROBOTS: ok(body=b"User-agent: *\nAllow: /\n")})
    first = run({ROBOTS: status(503)}, previous=good, now=NOW + timedelta(days=1))[0]
    later = run({ROBOTS: status(503)}, previous=first, now=NOW + timedelta(days=31))[0]
    assert later.status is SiteFileStatus.UNREACHABLE
    assert later.parsed is good.parsed
    assert "last good copy" in later.evidence.location
    assert later.error == "HTTP 503"


def test_grace_follows_the_policy():
    policy = parse_policy("[cache]\nunreachable_grace_days = 1\n")
    good, _ = run({ROBOTS: ok()}, policy=policy)
    first = run({ROBOTS: status(503)}, previous=good, policy=policy, now=NOW)[0]
    assert first.parsed is None
    later = run({ROBOTS: status(503)}, previous=first, policy=policy, now=NOW + timedelta(days=1))[0]
    assert later.parsed is good.parsed


def test_without_a_last_good_copy_unreachable_stays_disallow_forever():
    states = _fail_repeatedly(3, step=timedelta(days=40))
    assert all(s.parsed is None for s in states)
    assert states[-1].unreachable_since == NOW


def test_unavailable_in_between_forgets_the_last_good_copy():
    good, _ = run({ROBOTS: ok()})
    gone, _ = run({ROBOTS: status(404)}, previous=good, now=NOW + timedelta(days=1))
    failed, _ = run({ROBOTS: status(503)}, previous=gone, now=NOW + timedelta(days=2))
    assert failed.last_good is None and failed.unreachable_since == NOW + timedelta(days=2)


def test_unavailable_expires_after_max_age():
    site_file, _ = run({ROBOTS: status(404)})
    assert site_file.expires_at == NOW + timedelta(hours=24) and site_file.unreachable_since is None


# -- other kinds and misuse -----------------------------------------------------------------------


@pytest.mark.parametrize("kind, path", [("tdmrep.json", "/.well-known/tdmrep.json"), ("ai.txt", "/ai.txt")])
def test_other_site_files_live_at_their_paths(kind, path):
    assert site_file_url(kind, ORIGIN) == ORIGIN + path
    site_file, requested = run({ORIGIN + path: status(404, ORIGIN + path)}, kind=kind)
    assert requested == [ORIGIN + path] and site_file.kind == kind
    assert site_file.evidence.source == kind


def test_rsl_licence_is_fetched_from_its_own_url_for_the_site_origin():
    licence = "https://licensing.example.org/licence.xml"
    site_file, requested = run({licence: ok(licence, b"<rsl/>")}, kind="rsl", url=licence)
    assert requested == [licence]
    assert site_file.origin == ORIGIN and site_file.evidence.url == licence


def test_feeding_a_finished_fetch_is_an_error_and_result_before_the_end_too():
    machine = SiteFileFetch("robots.txt", ORIGIN, POLICY, NOW, parse=Parsed)
    with pytest.raises(RuntimeError):
        machine.result()
    machine.feed(ok())
    assert machine.done
    with pytest.raises(RuntimeError):
        machine.feed(ok())


def test_the_real_parser_is_used_by_default():
    from copyright_guard.core.robots import rules as robots

    if not hasattr(robots, "parse_robots"):
        pytest.skip("core.robots.parse_robots has not landed yet")
    machine = SiteFileFetch("robots.txt", ORIGIN, POLICY, NOW)
    machine.feed(ok(body=b"User-agent: *\nDisallow: /private/\n"))
    robots = machine.result().parsed
    allowed, line = robots.group_for("CopyrightGuardBot").allowed("/private/x")
    assert allowed is False and line.number == 2
