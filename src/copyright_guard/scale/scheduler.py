"""The scrapy-redis scheduler, failing closed when Redis is lost.

scrapy-redis's ``Scheduler`` lets a Redis error escape into Scrapy's engine loop, which logs a
traceback and calls it again - for ever: the crawl never ends (a lost Redis hung it). Here a Redis
error in the queue or the duplicate filter stops the crawl through the add-on
(``copyright_guard_redis_unavailable``, the same path as a lost site-file store): no request is
taken from or given to a queue that is not there, the spider closes cleanly, and the audit writer
flushes every decision already made. A link found while stopping is not queued (logged).

Fewer round trips (with scrapy-redis's own priority queue and duplicate filter, the defaults): the
requests a page yields are checked against the seen set and queued together, in one step at the
end of the reactor turn (:data:`_PUSH`: one round trip for all of them, where scrapy-redis makes two
per request; a request found already seen is logged as scrapy-redis does, but Scrapy has already
counted it as queued), and requests are taken from the shared queue :data:`TAKE` at a time
(:data:`_TAKE`), best priority first and round robin over the origins within a priority, into a
local buffer this worker works through before it asks
Redis again. The buffer is given back to the shared queue when the worker closes, with the scores
they had; a worker killed outright loses it with its requests in flight (at most ``TAKE - 1``
more requests not crawled in this crawl: never a page fetched twice).
"""

from __future__ import annotations

import logging
from collections import deque
from typing import Any

from scrapy.utils.httpobj import urlparse_cached
from scrapy_redis.dupefilter import RFPDupeFilter
from scrapy_redis.queue import PriorityQueue
from scrapy_redis.scheduler import Scheduler

from .store import RedisLost

logger = logging.getLogger(__name__)

TAKE = 8  # requests taken from the shared queue at once (see the module docstring)

# For each request (ARGV in fours: fingerprint, -priority, origin, encoded request), add the
# fingerprint to the seen set (none: a dont_filter request) and, if it was not there yet, the request
# to the queue. Returns 1 (queued) or 0 (seen) each. The score orders by priority as scrapy-redis's
# PriorityQueue does (-priority), then by the request's ordinal within its origin (a counter per
# origin, the hash KEYS[3]): the first request of every origin, then the second of every origin,
# and so on - round robin over the origins, first in, first out within one. A page's links are
# mostly of its own origin; queued in the order they came (or, as scrapy-redis does, by the
# members' bytes, which start with the URL), a worker took 8 requests of one origin at once, filled
# its downloader with them, and half of them waited for that origin's politeness claims while the
# other origins had nothing in flight. (-priority times 2^32 plus an ordinal below 2^32 stays exact
# in a double for priorities up to 2^20; requests of equal score go by their bytes.)
_PUSH = """
local queued = {}
for i = 1, #ARGV, 4 do
  if ARGV[i] ~= '' and redis.call('SADD', KEYS[1], ARGV[i]) == 0 then
    queued[#queued + 1] = 0
  else
    local ordinal = redis.call('HINCRBY', KEYS[3], ARGV[i + 2], 1)
    redis.call('ZADD', KEYS[2], tonumber(ARGV[i + 1]) * 4294967296 + ordinal, ARGV[i + 3])
    queued[#queued + 1] = 1
  end
end
return queued
"""

# Take the ARGV[1] best requests off the queue, with their scores, in one atomic step.
_TAKE = """
local taken = redis.call('ZRANGE', KEYS[1], 0, tonumber(ARGV[1]) - 1, 'WITHSCORES')
if #taken > 0 then redis.call('ZREMRANGEBYRANK', KEYS[1], 0, #taken / 2 - 1) end
return taken
"""


class FailClosedScheduler(Scheduler):
    @classmethod
    def from_crawler(cls, crawler: Any) -> FailClosedScheduler:
        scheduler = super().from_crawler(crawler)
        scheduler._crawler = crawler
        scheduler._lost = False
        scheduler._taken = deque()  # (encoded request, score) taken from the shared queue
        scheduler._pushing = []  # requests to check and queue at the end of this reactor turn
        scheduler._push_call = None
        scheduler._scripts = None
        return scheduler

    def open(self, spider: Any) -> Any:
        opened = super().open(spider)
        # The short path needs scrapy-redis's own queue and duplicate filter (their keys and
        # encodings); any other class keeps scrapy-redis's calls.
        if type(self.queue) is PriorityQueue and type(self.df) is RFPDupeFilter:
            self._scripts = (self.server.register_script(_PUSH), self.server.register_script(_TAKE))
        return opened

    def _failed(self, exc: Exception) -> None:
        import redis

        if not isinstance(exc, (redis.RedisError, OSError)):
            raise exc
        if not self._lost:
            self._lost = True
            from ..scrapy.runtime import runtime_for

            runtime_for(self._crawler).redis_lost(RedisLost(f"Redis lost (the shared queue): {type(exc).__name__}: "
                                                            f"{str(exc).splitlines()[0][:200] if str(exc) else ''}"))

    def enqueue_request(self, request: Any) -> bool:
        if self._lost:
            logger.warning("copyright-guard: not queued (Redis lost, the crawl is stopping): %s", request.url)
            return False
        try:
            if self._scripts is None:
                return super().enqueue_request(request)
            return self._push(request)
        except Exception as exc:  # noqa: BLE001 - _failed re-raises anything but a Redis error
            self._failed(exc)
            logger.warning("copyright-guard: not queued (Redis lost, the crawl is stopping): %s", request.url)
            return False

    def next_request(self) -> Any:
        if self._lost:
            return None
        try:
            if self._scripts is None:
                return super().next_request()
            return self._next()
        except Exception as exc:  # noqa: BLE001
            self._failed(exc)
            return None

    def _push(self, request: Any) -> bool:
        self._pushing.append(request)
        if self._push_call is None:
            from twisted.internet import reactor

            self._push_call = reactor.callLater(0, self._flush_pushes)
        return True

    def _flush_pushes(self) -> None:
        self._push_call = None
        try:
            self._pushed()
        except Exception as exc:  # noqa: BLE001 - _failed re-raises anything but a Redis error
            self._failed(exc)

    def _pushed(self) -> None:
        """Check and queue the requests pushed since the last time, in one round trip."""
        if self._push_call is not None and self._push_call.active():
            self._push_call.cancel()
        self._push_call = None
        requests, self._pushing = self._pushing, []
        if not requests or self._lost:
            for request in requests:
                logger.warning("copyright-guard: not queued (Redis lost, the crawl is stopping): %s", request.url)
            return
        args = []
        for request in requests:
            url = urlparse_cached(request)
            args += ["" if request.dont_filter else self.df.request_fingerprint(request), -request.priority,
                     f"{url.scheme}://{url.netloc}".lower(), self.queue._encode_request(request)]
        try:
            queued = self._scripts[0](keys=[self.df.key, self.queue.key, f"{self.queue.key}:ordinals"], args=args)
        except Exception:
            for request in requests:
                logger.warning("copyright-guard: not queued (Redis lost, the crawl is stopping): %s", request.url)
            raise
        for request, added in zip(requests, queued):
            if added:
                if self.stats:
                    self.stats.inc_value("scheduler/enqueued/redis")
            else:
                self.df.log(request, self.spider)

    def _next(self) -> Any:
        if self._pushing:
            self._pushed()  # this worker's own new requests are in the queue before it takes
        if not self._taken:
            taken = self._scripts[1](keys=[self.queue.key], args=[TAKE])
            self._taken.extend(zip(taken[::2], taken[1::2]))
            if not self._taken:
                return None
        encoded, _ = self._taken.popleft()
        if self.stats:
            self.stats.inc_value("scheduler/dequeued/redis")
        return self.queue._decode_request(encoded)

    def _give_back(self) -> None:
        """Requests taken but not started go back to the shared queue, with their scores."""
        if self._taken:
            self.server.zadd(self.queue.key, {encoded: float(score) for encoded, score in self._taken})
            self._taken.clear()

    def __len__(self) -> int:
        return len(self._taken) + len(self._pushing) + super().__len__()

    def has_pending_requests(self) -> bool:
        if self._lost:
            return False
        if self._taken or self._pushing:
            return True
        try:
            return super().has_pending_requests()
        except Exception as exc:  # noqa: BLE001
            self._failed(exc)
            return False

    def close(self, reason: str) -> Any:
        try:
            if not self._lost and self._scripts is not None:
                self._pushed()
                self._give_back()
            return super().close(reason)
        except Exception as exc:  # noqa: BLE001
            self._failed(exc)
            return None
