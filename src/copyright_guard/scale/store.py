"""The crawl-wide state of a multi-worker crawl, in Redis: site-file states, fetch leases, politeness.

Every key starts with ``copyright-guard:<crawl name>:``, so crawls (and test runs) sharing one
Redis server never see each other's state.

* ``sitefile:<kind> <url>`` - the last known state of one site-wide file of one origin (the key
  holds kind and URL, and the URL holds scheme, host and port: RFC 9309 §2.3 one file per origin),
  encoded by fetch/codec.py: status, error, fetch time, expiry, sha256 and the body (bounded by
  ``policy.cache.max_bytes``; it is needed to rebuild the parse). It is kept past its expiry for
  the grace period (``unreachable_grace_days``, §2.3.1.4), because the next fetch needs it as
  ``previous`` (backoff step, ``unreachable_since``, last good copy).
* ``lease:<kind> <url>`` - who is fetching that file now: ``SET NX PX``. The holder renews it
  before each request of the fetch (a redirect chain is several), so the lease never outlives one
  request timeout by more than :data:`LEASE_MARGIN`: a worker killed while holding it loses it then,
  and another one fetches.
* ``sent:<origin>`` - when the origin's last request was sent or ended (Redis server clock, so
  every machine agrees): the next one waits until ``delay`` has passed; ``active:<origin>`` - a
  sorted set of requests in flight to the origin, scored by when their claim expires (a dead
  worker's claims lapse).
* ``workers`` - each worker's heartbeat: worker id -> ``busy|idle`` and the Redis server time
  (scale/workers.py).

All calls are short loopback round trips; any Redis error is raised as :class:`RedisLost` (fail
closed: no decision without a site-file state, no request without a politeness slot).
"""

from __future__ import annotations

import os
import secrets
import socket
from collections.abc import Sequence
from datetime import datetime, timedelta

from ..core.model import SiteFile
from ..core.policy import Policy
from ..fetch.codec import CodecError, decode_site_file, encode_site_file

__all__ = ["LEASE_MARGIN", "RedisLost", "SharedState", "connect_redis", "redacted"]



def worker_id() -> str:
    """This worker process: host and process id (a lease names its holder)."""
    return f"{socket.gethostname()}:{os.getpid()}"


LEASE_MARGIN = 2.0  # seconds a lease outlives one request timeout (scheduling, slow Redis)
ACTIVE_MARGIN = 30.0  # seconds a concurrency claim outlives the download timeout


class RedisLost(RuntimeError):
    """Redis could not be reached or answered an error. ``str()`` is one line."""


def redacted(url: str) -> str:
    """The Redis URL without a password, for messages."""
    from urllib.parse import urlsplit, urlunsplit

    try:
        parts = urlsplit(url)
        if parts.password:
            netloc = f"{parts.username or ''}:***@{parts.hostname}" + (f":{parts.port}" if parts.port else "")
            return urlunsplit(parts._replace(netloc=netloc))
    except ValueError:
        pass
    return url


def connect_redis(url: str, timeout: float = 5.0):
    """A redis-py client for ``url``, checked with PING. Raises RedisLost naming the URL."""
    import redis

    try:
        client = redis.Redis.from_url(url, socket_timeout=timeout, socket_connect_timeout=timeout)
        client.ping()
    except (redis.RedisError, ValueError, OSError) as exc:
        raise RedisLost(f"Redis at {redacted(url)} is unreachable: {str(exc).splitlines()[0][:200]}") from None
    return client


# Take the origin's turn to send, on the Redis clock: the key holds the time of the origin's last
# send (by any worker). If `delay` ms have passed since, this request's send time is recorded and
# 0 is returned; otherwise the milliseconds still to wait (the caller sleeps and asks again). The
# check and the record are one atomic step, so two sends are never less than `delay` apart here.
# Every request records its send, even with no delay, so a delay learnt later (from robots.txt)
# counts from the last send.
_TURN = """
local t = redis.call('TIME')
local now = t[1] * 1000 + math.floor(t[2] / 1000)
local last = tonumber(redis.call('GET', KEYS[1]) or '-1e15')
local due = last + tonumber(ARGV[1])
if now < due then return due - now end
redis.call('SET', KEYS[1], now, 'PX', 86400000)
return 0
"""

# The claims of finished requests released, then (if KEYS has a claim pair after them) a claim and
# the turn, in one round trip: a worker sends the releases of its no-delay requests along with its
# next claim (scrapy/politeness.py), so a request costs one round trip, not two. ARGV[1] is the
# number n of releases: KEYS[2i-1], KEYS[2i] are the i-th released claim's `active:` and `sent:`
# keys and ARGV[i+1] its token. Each release moves the origin's last send to now (never back): the
# next request's delay counts from the end of the previous one, and a delay learnt later counts from
# the end of the last request without one. The claim: -1 when the origin's `limit` in-flight
# requests are taken, else what _TURN returns; a claim that must still wait for its turn is kept
# (the caller asks _TURN alone again).
_CLAIM_TURN = """
local t = redis.call('TIME')
local now = t[1] * 1000 + math.floor(t[2] / 1000)
local n = tonumber(ARGV[1])
for i = 1, n do
  redis.call('ZREM', KEYS[2 * i - 1], ARGV[i + 1])
  local ended = tonumber(redis.call('GET', KEYS[2 * i]) or '-1e15')
  if now > ended then redis.call('SET', KEYS[2 * i], now, 'PX', 86400000) end
end
if #KEYS == 2 * n then return 0 end
local active, sent, a = KEYS[2 * n + 1], KEYS[2 * n + 2], n + 1
redis.call('ZREMRANGEBYSCORE', active, '-inf', now)
if redis.call('ZCARD', active) >= tonumber(ARGV[a + 1]) then return -1 end
redis.call('ZADD', active, now + tonumber(ARGV[a + 2]), ARGV[a + 3])
redis.call('PEXPIRE', active, tonumber(ARGV[a + 2]))
local last = tonumber(redis.call('GET', sent) or '-1e15')
local due = last + tonumber(ARGV[a + 4])
if now < due then return due - now end
redis.call('SET', sent, now, 'PX', 86400000)
return 0
"""

# A worker's heartbeat, stamped with the Redis server's time (every machine agrees on it).
_BEAT = """
local t = redis.call('TIME')
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2] .. ' ' .. (t[1] * 1000 + math.floor(t[2] / 1000)))
redis.call('EXPIRE', KEYS[1], 86400)
return 1
"""

# Release a lease only if we still hold it (it may have expired and gone to another worker).
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""

# Renew a lease only if we still hold it: the check and the renewal are one atomic step, so an
# expired lease another worker took meanwhile is never taken back.
_RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[2])) end
return 0
"""

# Store a fetched state and release our lease, in one step.
_PUT = """
redis.call('SET', KEYS[1], ARGV[1], 'PX', tonumber(ARGV[2]))
if redis.call('GET', KEYS[2]) == ARGV[3] then redis.call('DEL', KEYS[2]) end
return 1
"""


class SharedState:
    """The Redis side of one crawl. ``client`` is a redis-py client (see :func:`connect_redis`)."""

    def __init__(self, client, crawl: str, policy: Policy) -> None:
        self.client = client
        self.prefix = f"copyright-guard:{crawl}:"
        cache = policy.cache
        # A lease covers one request of the fetch (renewed before each redirect hop).
        self.lease_seconds = cache.timeout_seconds + LEASE_MARGIN
        # How long a worker waits for another one's fetch before failing closed: a whole redirect
        # chain of the holder, plus the expiry of a dead holder's lease and a retry.
        self.wait_seconds = self.lease_seconds * (cache.max_redirects + 3)
        self.keep_seconds = timedelta(days=cache.unreachable_grace_days + 1).total_seconds()
        self._turn = client.register_script(_TURN)
        self._claim_turn = client.register_script(_CLAIM_TURN)
        self._release = client.register_script(_RELEASE)
        self._renew = client.register_script(_RENEW)
        self._put = client.register_script(_PUT)
        self._beat = client.register_script(_BEAT)

    def _call(self, func, *args, **kwargs):
        import redis

        try:
            return func(*args, **kwargs)
        except (redis.RedisError, OSError) as exc:
            raise RedisLost(f"Redis lost: {type(exc).__name__}: {str(exc).splitlines()[0][:200] if str(exc) else ''}") from None

    # -- site files ------------------------------------------------------------------------------

    def _file_key(self, kind: str, url: str) -> str:
        return f"{self.prefix}sitefile:{kind} {url}"

    def _lease_key(self, kind: str, url: str) -> str:
        return f"{self.prefix}lease:{kind} {url}"

    def get(self, kind: str, url: str) -> SiteFile | None:
        raw = self._call(self.client.get, self._file_key(kind, url))
        if raw is None:
            return None
        try:
            return decode_site_file(raw)
        except CodecError:
            return None  # a damaged entry is refetched, never used

    def lease(self, kind: str, url: str, token: str | None = None) -> str | None:
        """Take (or, with our ``token``, renew) the lease on fetching a file; ``None`` if another
        worker holds it."""
        key = self._lease_key(kind, url)
        ms = int(self.lease_seconds * 1000)
        if token is not None:
            # Renew only our own lease (atomically: _RENEW).
            return token if self._call(self._renew, keys=[key], args=[token, ms]) else None
        token = f"{worker_id()} {secrets.token_hex(6)}"  # names the holder (docs/distributed.md: diagnosing)
        return token if self._call(self.client.set, key, token, nx=True, px=ms) else None

    def put(self, site_file: SiteFile, token: str, now: datetime) -> None:
        """Store the state the lease holder fetched, and release the lease."""
        url = site_file.evidence.url
        ttl = (site_file.expires_at - now).total_seconds() + self.keep_seconds
        self._call(self._put, keys=[self._file_key(site_file.kind, url), self._lease_key(site_file.kind, url)],
                   args=[encode_site_file(site_file), int(max(ttl, 1) * 1000), token])

    def release(self, kind: str, url: str, token: str) -> None:
        self._call(self._release, keys=[self._lease_key(kind, url)], args=[token])

    # -- politeness ------------------------------------------------------------------------------

    def turn(self, origin: str, delay: float) -> float:
        """0 when this request may be sent now (its send is recorded), else the seconds to wait
        before asking again: sends to one origin are at least ``delay`` apart, crawl-wide."""
        waited = self._call(self._turn, keys=[f"{self.prefix}sent:{origin}"], args=[int(delay * 1000)])
        return int(waited) / 1000.0

    def _claim_keys(self, origin: str) -> list[str]:
        return [f"{self.prefix}active:{origin}", f"{self.prefix}sent:{origin}"]

    def claim_turn(self, origin: str, limit: int, seconds: float, delay: float,
                   ended: Sequence[tuple[str, str]] = ()) -> tuple[str | None, float]:
        """One of ``limit`` crawl-wide in-flight requests to ``origin`` (for at most ``seconds``)
        and its turn, in one round trip, after releasing the claims ``ended`` (``(origin, token)``
        of finished requests, see :meth:`finish`): ``(None, 0)`` if no claim was free, else
        ``(token, seconds still to wait for the turn)`` (0: send now, the send is recorded)."""
        token = secrets.token_hex(8)
        keys = [key for claim_origin, _ in ended for key in self._claim_keys(claim_origin)] + self._claim_keys(origin)
        args = [len(ended), *(claim_token for _, claim_token in ended), limit, int(seconds * 1000), token,
                int(delay * 1000)]
        result = int(self._call(self._claim_turn, keys=keys, args=args))
        return (None, 0.0) if result < 0 else (token, result / 1000.0)

    def finish(self, ended: Sequence[tuple[str, str]]) -> None:
        """Release the claims of finished requests (``(origin, token)`` each, from
        :meth:`claim_turn`); each origin's last send moves to now, so its delay counts from there."""
        if ended:
            self._call(self._claim_turn, keys=[key for origin, _ in ended for key in self._claim_keys(origin)],
                       args=[len(ended), *(token for _, token in ended)])

    # -- workers ---------------------------------------------------------------------------------

    def beat(self, worker: str, state: str) -> None:
        """Record ``worker``'s state (``busy`` or ``idle``) with the Redis server's time."""
        self._call(self._beat, keys=[f"{self.prefix}workers"], args=[worker, state])

    def beats(self) -> tuple[int, dict[str, tuple[str, int]]]:
        """The Redis server's time and every worker's last beat (worker id -> (state, time)), in
        milliseconds, in one round trip."""
        pipe = self.client.pipeline(transaction=False)
        pipe.time()
        pipe.hgetall(f"{self.prefix}workers")
        (seconds, micro), found = self._call(pipe.execute)
        beats = {}
        for worker, value in found.items():
            state, _, at = value.decode().partition(" ")
            beats[worker.decode()] = (state, int(at or 0))
        return int(seconds) * 1000 + int(micro) // 1000, beats

    def forget(self, worker: str) -> None:
        """``worker`` has stopped: it no longer counts as busy or idle."""
        self._call(self.client.hdel, f"{self.prefix}workers", worker)

    def clear(self) -> None:
        """Remove every key of this crawl (tests; `docs/distributed.md` on starting afresh)."""
        keys = list(self.client.scan_iter(match=self.prefix + "*", count=1000))
        if keys:
            self.client.delete(*keys)
