"""The shared site-file store: a state read back from Redis decides like the one fetched (codec),
one lease per (kind, origin) (SET NX PX), crawl-wide send times and concurrency - on the real
Redis server."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest

from copyright_guard.core.evaluate import SiteView, evaluate
from copyright_guard.core.policy import load_policy
from copyright_guard.fetch.codec import CodecError, decode_site_file, encode_site_file
from copyright_guard.fetch.states import FetchOutcome, SiteFileFetch, site_file_url
from copyright_guard.scale.store import RedisLost, SharedState, connect_redis

from scale_helpers import REDIS_URL

NOW = __import__("datetime").datetime(2026, 11, 23, 12, 0, tzinfo=__import__("datetime").timezone.utc)
ORIGIN = "https://news.example:8443"


def fetched(kind, status, body=b"", *, previous=None, now=NOW, policy=None, truncated=False):
    machine = SiteFileFetch(kind, ORIGIN, policy or load_policy(), now, previous)
    machine.feed(FetchOutcome(site_file_url(kind, ORIGIN), status=status, body=body, fetched_at=now,
                              truncated=truncated, error="" if status else "connection refused"))
    return machine.result()


def decide(robots, url, now=NOW):
    decision = evaluate(url, load_policy(), now=now, site=SiteView(robots=robots))
    return decision.verdict, [(r.code, r.detail) for r in decision.reasons]


ROBOTS = b"User-agent: *\nDisallow: /private/\nCrawl-delay: 2\nUser-agent: GPTBot\nDisallow: /\n"


@pytest.mark.parametrize("url", [f"{ORIGIN}/", f"{ORIGIN}/private/a", f"{ORIGIN}/press/kit.html"])
def test_a_parsed_file_read_back_decides_as_the_fetched_one(url):
    original = fetched("robots.txt", 200, ROBOTS)
    copy = decode_site_file(encode_site_file(original))
    assert decide(copy, url) == decide(original, url)
    assert copy.evidence == original.evidence and copy.evidence.body == original.evidence.body
    assert (copy.status, copy.fetched_at, copy.expires_at, copy.body) == (original.status, original.fetched_at,
                                                                          original.expires_at, original.body)


def test_a_cut_body_keeps_ignoring_its_incomplete_last_line():
    policy = load_policy()
    body = b"User-agent: *\nDisallow: /\n" + b"# filler\n" * (policy.cache.max_bytes // 9) + b"Allow: /press/kit.html"
    original = fetched("robots.txt", 200, body)
    assert original.cut
    copy = decode_site_file(encode_site_file(original))
    assert copy.cut and decide(copy, f"{ORIGIN}/press/x") == decide(original, f"{ORIGIN}/press/x")
    assert decide(copy, f"{ORIGIN}/press/x")[0].value == "deny"


def test_an_unreachable_file_past_its_grace_keeps_the_last_good_copy():
    good = fetched("robots.txt", 200, ROBOTS)
    later = NOW + timedelta(days=40)
    failing = fetched("robots.txt", 503, previous=fetched("robots.txt", 503, previous=good, now=NOW + timedelta(days=1)),
                      now=later)
    assert failing.parsed is not None
    copy = decode_site_file(encode_site_file(failing))
    assert copy.last_good is not None and copy.unreachable_since == failing.unreachable_since
    for url in (f"{ORIGIN}/", f"{ORIGIN}/private/a"):
        assert decide(copy, url, later) == decide(failing, url, later)
    # and the next failure's backoff continues from the stored state, as from the local one
    assert fetched("robots.txt", 503, previous=copy, now=later).expires_at == \
        fetched("robots.txt", 503, previous=failing, now=later).expires_at


def test_a_damaged_entry_is_refused():
    raw = encode_site_file(fetched("robots.txt", 200, ROBOTS)).replace(b"Disallow", b"Dxsallow", 1)
    with pytest.raises(CodecError):
        decode_site_file(raw.replace(b'"format":1', b'"format":9'))
    good = encode_site_file(fetched("robots.txt", 200, ROBOTS))
    tampered = good.replace(good.split(b'"body":"')[1].split(b'"')[0], b"VXNlci1hZ2VudDogKgpBbGxvdzogLwo=")
    with pytest.raises(CodecError, match="sha256"):
        decode_site_file(tampered)


def test_one_lease_per_file_and_an_expired_lease_goes_to_another_worker(redis_client, crawl_name):
    policy = load_policy()
    one = SharedState(connect_redis(REDIS_URL), crawl_name, policy)
    two = SharedState(connect_redis(REDIS_URL), crawl_name, policy)
    one.lease_seconds = two.lease_seconds = 0.3
    url = site_file_url("robots.txt", ORIGIN)
    token = one.lease("robots.txt", url)
    assert token and two.lease("robots.txt", url) is None
    assert one.lease("robots.txt", url, token) == token  # renewal by the holder
    time.sleep(0.45)  # the holder died: its lease lapses
    taken = two.lease("robots.txt", url)
    assert taken and one.lease("robots.txt", url, token) is None  # the old holder cannot renew
    site_file = fetched("robots.txt", 200, ROBOTS)
    two.put(site_file, taken, NOW)
    assert one.lease("robots.txt", url) is not None  # put released the lease
    stored = one.get("robots.txt", url)
    assert stored is not None and decide(stored, f"{ORIGIN}/private/a") == decide(site_file, f"{ORIGIN}/private/a")
    assert redis_client.pttl(f"copyright-guard:{crawl_name}:sitefile:robots.txt {url}") > 30 * 86400 * 1000


def test_send_times_and_concurrency_are_crawl_wide(redis_client, crawl_name):
    one = SharedState(connect_redis(REDIS_URL), crawl_name, load_policy())
    two = SharedState(connect_redis(REDIS_URL), crawl_name, load_policy())
    assert one.turn(ORIGIN, 0.5) == 0  # sent now
    assert 0.4 <= two.turn(ORIGIN, 0.5) <= 0.5  # another worker waits for the rest of the delay
    assert two.turn("https://other.example", 0.5) == 0  # per origin
    time.sleep(0.5)
    assert two.turn(ORIGIN, 0.5) == 0 and one.turn(ORIGIN, 0.5) > 0.4
    assert one.turn(ORIGIN, 0) == 0  # no delay: sent at once (and recorded)
    token, wait = two.claim_turn("https://third.example", 1, 0.3, 0.5)  # one round trip for both
    assert token and wait == 0 and two.claim_turn("https://third.example", 1, 0.3, 0.5) == (None, 0.0)
    two.finish([("https://third.example", token)])
    token, wait = two.claim_turn("https://third.example", 1, 0.3, 0.5)
    assert token and 0.4 <= wait <= 0.5  # the delay counts from the end of the previous request
    claims = [one.claim_turn(ORIGIN, 2, 0.3, 0)[0], two.claim_turn(ORIGIN, 2, 0.3, 0)[0]]
    assert all(claims) and one.claim_turn(ORIGIN, 2, 0.3, 0) == (None, 0.0)
    # a finished request's release goes with the next claim, in the same round trip
    third, wait = two.claim_turn(ORIGIN, 2, 0.3, 0, ended=[(ORIGIN, claims[1])])
    assert third is not None and wait == 0
    assert redis_client.zcard(f"copyright-guard:{crawl_name}:active:{ORIGIN}") == 2
    time.sleep(0.35)  # claims of a dead worker lapse
    assert one.claim_turn(ORIGIN, 2, 0.3, 0)[0] and one.claim_turn(ORIGIN, 2, 0.3, 0)[0]


def test_releases_of_several_origins_go_in_one_round_trip_and_move_their_last_send(redis_client, crawl_name):
    shared = SharedState(connect_redis(REDIS_URL), crawl_name, load_policy())
    origins = ["https://a.example", "https://b.example"]
    ended = [(origin, shared.claim_turn(origin, 1, 5, 0)[0]) for origin in origins]
    time.sleep(0.3)
    shared.finish(ended)
    for origin in origins:
        assert redis_client.zcard(f"copyright-guard:{crawl_name}:active:{origin}") == 0
        # a delay learnt now counts from the end of the request without one
        assert 0.3 <= shared.turn(origin, 0.5) <= 0.5


def test_an_unreachable_redis_is_one_line_naming_the_url():
    with pytest.raises(RedisLost, match=r"redis://127\.0\.0\.1:1/0 is unreachable"):
        connect_redis("redis://127.0.0.1:1/0", timeout=1)
