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
3. release the claim when the response (or an error) comes back. With a delay, the origin gets
   one request at a time crawl-wide and its "last send" moves to the response's arrival, so the
   next request waits the delay after the previous one ended (as the site sees it: at least
   the delay between two requests, whatever the jitter between a turn and the wire).

A Redis error fails closed: the request is refused (``copyright_guard/refused/redis``) and the
crawl stops cleanly.
"""

from __future__ import annotations

import logging
import random
from typing import Any

from scrapy import Request
from scrapy.exceptions import IgnoreRequest, NotConfigured

from ..core.urls import URLError, parse_target
from ..scale.store import RedisLost
from .runtime import runtime_for
from .transport import _sleep

logger = logging.getLogger(__name__)

CLAIM_META = "copyright_guard_origin_claim"
MIN_DELAY_SETTING = "COPYRIGHT_GUARD_ORIGIN_MIN_DELAY"  # set by the add-on from DOWNLOAD_DELAY
SLACK = 0.05  # seconds added to a non-zero delay (see the module docstring)


class CrawlWidePolitenessMiddleware:
    def __init__(self, runtime: Any, min_delay: float, limit: int, claim_seconds: float) -> None:
        self._runtime = runtime
        self._shared = runtime.shared
        self._delays = runtime.delays
        self._min_delay = min_delay
        self._limit = limit
        self._claim_seconds = claim_seconds

    @classmethod
    def from_crawler(cls, crawler: Any) -> CrawlWidePolitenessMiddleware:
        runtime = runtime_for(crawler)
        if runtime.shared is None:
            raise NotConfigured("no COPYRIGHT_GUARD_REDIS_URL: politeness is per process")
        settings = crawler.settings
        return cls(runtime, settings.getfloat(MIN_DELAY_SETTING, 0.0),
                   max(1, settings.getint("CONCURRENT_REQUESTS_PER_DOMAIN", 8)),
                   settings.getfloat("DOWNLOAD_TIMEOUT", 180.0) + 30.0)

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
            poll = 0.02
            while True:  # one round trip on the hot path: claim and turn together
                token, wait = shared.claim_turn(origin, limit, self._claim_seconds, delay)
                if token is not None:
                    break
                await _sleep(poll)
                poll = min(poll * 2, 0.25)
            request.meta[CLAIM_META] = (origin, token, bool(delay))
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

    def _release(self, request: Request) -> None:
        claim = request.meta.pop(CLAIM_META, None)
        if claim is None:
            return
        origin, token, delayed = claim
        try:
            if delayed:
                self._shared.done(origin)
            self._shared.unclaim(origin, token)
        except RedisLost as exc:  # the claim lapses by itself; the crawl stops on the next request
            logger.warning("copyright-guard: could not release a politeness claim: %s", exc)
