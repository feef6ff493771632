"""The scrapy-redis scheduler, failing closed when Redis is lost.

scrapy-redis's ``Scheduler`` lets a Redis error escape into Scrapy's engine loop, which logs a
traceback and calls it again - for ever: the crawl never ends (a lost Redis hung it). Here a Redis
error in the queue or the duplicate filter stops the crawl through the add-on
(``copyright_guard_redis_unavailable``, the same path as a lost site-file store): no request is
taken from or given to a queue that is not there, the spider closes cleanly, and the audit writer
flushes every decision already made. A link found while stopping is not queued (logged).
"""

from __future__ import annotations

import logging
from typing import Any

from scrapy_redis.scheduler import Scheduler

from .store import RedisLost

logger = logging.getLogger(__name__)


class FailClosedScheduler(Scheduler):
    @classmethod
    def from_crawler(cls, crawler: Any) -> FailClosedScheduler:
        scheduler = super().from_crawler(crawler)
        scheduler._crawler = crawler
        scheduler._lost = False
        return scheduler

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
            return super().enqueue_request(request)
        except Exception as exc:  # noqa: BLE001 - _failed re-raises anything but a Redis error
            self._failed(exc)
            logger.warning("copyright-guard: not queued (Redis lost, the crawl is stopping): %s", request.url)
            return False

    def next_request(self) -> Any:
        if self._lost:
            return None
        try:
            return super().next_request()
        except Exception as exc:  # noqa: BLE001
            self._failed(exc)
            return None

    def has_pending_requests(self) -> bool:
        if self._lost:
            return False
        try:
            return super().has_pending_requests()
        except Exception as exc:  # noqa: BLE001
            self._failed(exc)
            return False

    def close(self, reason: str) -> Any:
        try:
            return super().close(reason)
        except Exception as exc:  # noqa: BLE001
            self._failed(exc)
            return None
