"""Crawl-wide politeness: one origin's delay and concurrency shared by every worker of a crawl.

Without it, N workers each apply the origin's delay in their own download slot and hit the site N
times as often as it asked - a compliance failure, not a performance detail (issue 11). With
``COPYRIGHT_GUARD_REDIS_URL`` set, the add-on installs this downloader middleware right before
:class:`~copyright_guard.scrapy.middleware.IdentityGuardMiddleware` (so it sees every request that
goes on the wire: pages, redirects, retries and site-wide files) and turns the per-process slot
delay off (``DOWNLOAD_DELAY`` becomes this middleware's minimum instead, so nothing is waited for
twice and a request is never held in a local queue after its crawl-wide slot).

Per request to an origin:

1. claim one of ``CONCURRENT_REQUESTS_PER_DOMAIN`` crawl-wide in-flight requests (a claim lapses
   after the download timeout, so a killed worker's claims come back);
2. wait for the origin's turn: ``delay`` after its last send by any worker, on the Redis
   server's clock (every machine agrees); the check and the record of this send are one atomic
   step, so the sends of all workers are at least ``delay`` apart. ``delay`` is the larger of the origin's
   robots.txt ``Crawl-delay`` for our token (capped by ``policy.crawl.max_crawl_delay_seconds``)
   and ``DOWNLOAD_DELAY``, plus :data:`SLACK` (the time between the turn and the bytes on the wire
   differs per worker; the slack keeps two workers' sends ``delay`` apart at the site);
3. release the claim when the response (or an error) comes back; the origin's "last send"
   moves to the response's arrival. With a delay, the origin gets one request at a time
   crawl-wide, so the next request waits the delay after the previous one ended (as the site sees
   it: at least the delay between two requests, whatever the jitter between a turn and the
   wire); that release is sent at once. Without a delay, a finished request's claim goes on to
   this worker's next request for the origin, waiting or new, with no round trip (while the
   claim is younger than :data:`HAND_ON_SECONDS`, as Scrapy's own download slot serves a busy
   domain's queue); else it is released with this worker's next claim, in the same Redis round
   trip (at most :data:`LINGER` seconds later; then alone). A request costs at most one round
   trip, often none.

A Redis error fails closed: the request is refused (``copyright_guard/refused/redis``) and the
crawl stops cleanly.
"""

from __future__ import annotations

import logging
import random
import time
from collections import Counter, deque
from typing import Any

from scrapy import Request, signals
from scrapy.exceptions import IgnoreRequest, NotConfigured
from scrapy.utils.defer import maybe_deferred_to_future
from twisted.internet.defer import Deferred

from ..core.urls import URLError, parse_target
from ..scale.store import ACTIVE_MARGIN, RedisLost
from .runtime import runtime_for
from .transport import _sleep

logger = logging.getLogger(__name__)

CLAIM_META = "copyright_guard_origin_claim"
MIN_DELAY_SETTING = "COPYRIGHT_GUARD_ORIGIN_MIN_DELAY"  # set by the add-on from DOWNLOAD_DELAY
SLACK = 0.05  # seconds added to a non-zero delay (see the module docstring)
LINGER = 0.05  # seconds a finished request's claim may wait to go with the next claim
# Seconds after its claim in Redis during which a finished request may hand its claim on to the
# next request of this worker waiting for the same origin; an older claim goes back through Redis
# (released and claimed anew in one round trip), where its expiry is renewed. Far below
# ACTIVE_MARGIN (how long a claim outlives the download timeout), so a handed-on claim never lapses
# under a running request.
HAND_ON_SECONDS = 5.0


class CrawlWidePolitenessMiddleware:
    def __init__(self, runtime: Any, min_delay: float, limit: int, claim_seconds: float) -> None:
        self._runtime = runtime
        self._shared = runtime.shared
        self._delays = runtime.delays
        self._min_delay = min_delay
        self._limit = limit
        self._claim_seconds = claim_seconds
        # Finished no-delay claims not yet released in Redis: (origin, token, when claimed).
        self._ended: list[tuple[str, str, float]] = []
        self._flush_call: Any = None
        self._waiting: dict[str, deque[Deferred]] = {}  # origin -> this worker's requests waiting for a claim
        # origin -> this worker's requests holding a claim on it: when they hold all ``limit``
        # claims, asking Redis for one is sure to fail - wait for one of them to hand its claim on.
        self._holding: Counter[str] = Counter()

    @classmethod
    def from_crawler(cls, crawler: Any) -> CrawlWidePolitenessMiddleware:
        runtime = runtime_for(crawler)
        if runtime.shared is None:
            raise NotConfigured("no COPYRIGHT_GUARD_REDIS_URL: politeness is per process")
        settings = crawler.settings
        middleware = cls(runtime, settings.getfloat(MIN_DELAY_SETTING, 0.0),
                         max(1, settings.getint("CONCURRENT_REQUESTS_PER_DOMAIN", 8)),
                         settings.getfloat("DOWNLOAD_TIMEOUT", 180.0) + ACTIVE_MARGIN)
        crawler.signals.connect(middleware.spider_closed, signal=signals.spider_closed)
        return middleware

    def delay_for(self, origin: str) -> float:
        learnt = self._delays.by_origin.get(origin, 0.0) if self._delays.enabled else 0.0
        delay = max(learnt, self._min_delay)
        return delay + SLACK if delay else 0.0

    async def process_request(self, request: Request) -> None:
        try:
            origin = parse_target(request.url).origin
        except URLError:
            return None  # CopyrightGuardMiddleware has already denied it
        shared = self._shared
        try:
            delay = self.delay_for(origin)
            # With a delay, one request at a time to the origin, crawl-wide, and the delay counts
            # from the end of the previous one (see _release): the gap the site sees is at least
            # the delay whatever the network and scheduling jitter.
            limit = 1 if delay else self._limit
            token, wait, claimed_at = await self._claim(origin, limit, delay)
            request.meta[CLAIM_META] = (origin, token, bool(delay), claimed_at)
            self._holding[origin] += 1
            while wait > 0:
                # Several waiters wake at once; the jitter spreads their next asks.
                await _sleep(wait + random.uniform(0.0, 0.02))
                wait = shared.turn(origin, delay)
        except RedisLost as exc:
            self._release(request)
            self._runtime.recorder.refused("redis", f"copyright-guard refused {request.url}: {exc}")
            self._runtime.redis_lost(exc)
            raise IgnoreRequest(str(exc)) from None
        return None

    def process_response(self, request: Request, response: Any) -> Any:
        self._release(request)
        return response

    def process_exception(self, request: Request, exception: BaseException) -> None:
        self._release(request)
        return None

    async def _claim(self, origin: str, limit: int, delay: float) -> tuple[str, float, float]:
        """A crawl-wide claim on ``origin``: ``(token, seconds to wait for the turn, when claimed)``.
        Without a delay, a request of this worker already waiting for the origin goes first, and
        a finished request of this worker may hand its claim on (see :meth:`_release`)."""
        poll = 0.05
        queue_behind = not delay and bool(self._waiting.get(origin))
        since = time.monotonic()
        while True:
            # Every claim on the origin is this worker's, in flight: Redis has none to give. (Asked
            # all the same after a claim's lifetime, so a count that went wrong cannot stall the origin.)
            full = not delay and self._holding[origin] >= limit and time.monotonic() - since < self._claim_seconds
            if not queue_behind and not full:
                if not delay:
                    reused = self._reuse(origin)
                    if reused is not None:
                        return reused[0], 0.0, reused[1]
                # one round trip: claim and turn together (and the releases)
                ended, self._ended = self._ended, []
                token, wait = self._shared.claim_turn(origin, limit, self._claim_seconds, delay,
                                                      [(claim[0], claim[1]) for claim in ended])
                if token is not None:
                    return token, wait, time.monotonic()
            queue_behind = False
            handed = await self._handed_claim(origin, poll)
            if handed is not None:
                if not self.delay_for(origin):
                    return handed[0], 0.0, handed[1]
                self._ended.append((origin, *handed))  # a delay was learnt meanwhile: claim anew
            poll = min(poll * 2, 0.25)

    def _reuse(self, origin: str) -> tuple[str, float] | None:
        """A claim on ``origin`` a finished request of this worker left for release, if it may be
        handed on (see :meth:`_release`): ``(token, when claimed)``, no round trip."""
        now = time.monotonic()
        for at, (ended_origin, token, claimed_at) in enumerate(self._ended):
            if ended_origin == origin and now - claimed_at < HAND_ON_SECONDS:
                del self._ended[at]
                return token, claimed_at
        return None

    async def _handed_claim(self, origin: str, seconds: float) -> tuple[str, float] | None:
        """Wait for a claim on ``origin`` handed on by a finished request of this worker (its token
        and when it was claimed), or ``seconds`` (``None``: ask Redis again)."""
        from twisted.internet import reactor

        waiter: Deferred = Deferred()
        queue = self._waiting.setdefault(origin, deque())
        queue.append(waiter)
        timer = reactor.callLater(seconds, lambda: waiter.called or waiter.callback(None))
        try:
            return await maybe_deferred_to_future(waiter)
        finally:
            if timer.active():
                timer.cancel()
            if waiter in queue:
                queue.remove(waiter)
            if not queue and self._waiting.get(origin) is queue:
                del self._waiting[origin]

    def _release(self, request: Request) -> None:
        claim = request.meta.pop(CLAIM_META, None)
        if claim is None:
            return
        origin, token, delayed, claimed_at = claim
        self._holding[origin] -= 1
        if not self._holding[origin]:
            del self._holding[origin]
        if delayed:  # at once: the origin's next request, by any worker, waits for it
            self._finish([(origin, token, claimed_at)])
            return
        queue = self._waiting.get(origin, ())
        while queue:
            waiter = queue.popleft()
            if waiter.called:
                continue
            if time.monotonic() - claimed_at < HAND_ON_SECONDS:
                # The next request of this worker waiting for the origin takes the claim over: no
                # round trip (as Scrapy's own download slot queues a request for a busy domain).
                waiter.callback((token, claimed_at))
                return
            waiter.callback(None)  # it claims anew, releasing this claim in the same round trip
            break
        # Released with this worker's next claim, or alone after LINGER; until then, a new request
        # of this worker for the origin may take it over (see _reuse).
        self._ended.append((origin, token, claimed_at))
        if self._flush_call is None:
            from twisted.internet import reactor

            self._flush_call = reactor.callLater(LINGER, self._flush)

    def _flush(self) -> None:
        self._flush_call = None
        ended, self._ended = self._ended, []
        self._finish(ended)

    def _finish(self, ended: list[tuple[str, str, float]]) -> None:
        try:
            self._shared.finish([(origin, token) for origin, token, _ in ended])
        except RedisLost as exc:  # the claims lapse by themselves; the crawl stops on the next request
            logger.warning("copyright-guard: could not release a politeness claim: %s", exc)

    def spider_closed(self, spider: Any) -> None:
        if self._flush_call is not None and self._flush_call.active():
            self._flush_call.cancel()
        self._flush()
