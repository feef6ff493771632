"""When a worker of a shared crawl may stop: only when the crawl has no work left anywhere.

With the scrapy-redis queue, a worker whose queue is momentarily empty would close while another
worker is still on a page whose links are about to be queued - the crawl would end with one worker
doing the rest. :class:`CrawlWorkers` (a Scrapy extension the add-on installs with
``COPYRIGHT_GUARD_REDIS_URL``) keeps a heartbeat per worker in Redis
(``copyright-guard:<crawl>:workers``: worker id -> ``busy|idle`` and the Redis server time) and
answers Scrapy's ``spider_idle`` with ``DontCloseSpider`` while any other worker reported itself
busy within :data:`STALE_SECONDS`. A worker that died (kill -9) stops beating and no longer holds
the others: nothing waits for ever. A Redis error while deciding lets the worker close (the
crawl stops cleanly; requests already fail closed).
"""

from __future__ import annotations

import logging
from typing import Any

from scrapy import signals
from scrapy.exceptions import DontCloseSpider, NotConfigured

from .store import RedisLost, worker_id

logger = logging.getLogger(__name__)

BEAT_SECONDS = 0.5
STALE_SECONDS = 5.0


class CrawlWorkers:
    def __init__(self, crawler: Any, shared: Any) -> None:
        self._crawler = crawler
        self._shared = shared
        self.worker_id = worker_id()
        self._loop = None

    @classmethod
    def from_crawler(cls, crawler: Any) -> CrawlWorkers:
        from ..scrapy.runtime import runtime_for

        runtime = runtime_for(crawler)
        if runtime.shared is None:
            raise NotConfigured("no COPYRIGHT_GUARD_REDIS_URL: a single worker")
        extension = cls(crawler, runtime.shared)
        crawler.signals.connect(extension.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(extension.spider_idle, signal=signals.spider_idle)
        crawler.signals.connect(extension.spider_closed, signal=signals.spider_closed)
        return extension

    def _beat(self, state: str | None = None) -> None:
        engine = self._crawler.engine
        if state is None:
            state = "idle" if engine is None or engine.spider_is_idle() else "busy"
            # Scrapy asks the scheduler for a request when one ends and on its engine heartbeat,
            # every 5 s. A worker with nothing in flight - idle, or just started while another
            # worker queued the seeds - saw the shared queue's work up to 5 s late (two of four
            # workers sat out the first 5 s of a crawl): ask at every beat. (A private attribute;
            # without it Scrapy's 5 s apply.)
            nextcall = getattr(getattr(engine, "_slot", None), "nextcall", None)
            if nextcall is not None:
                nextcall.schedule()
        try:
            self._shared.beat(self.worker_id, state)
        except RedisLost as exc:
            logger.warning("copyright-guard: worker heartbeat failed: %s", exc)

    def spider_opened(self, spider: Any) -> None:
        from scrapy.utils.asyncio import create_looping_call

        self._beat("busy")
        self._loop = create_looping_call(self._beat)
        self._loop.start(BEAT_SECONDS, now=False)

    def others_busy(self) -> list[str]:
        """Workers other than this one that reported work within STALE_SECONDS."""
        now, beats = self._shared.beats()
        return [worker for worker, (state, at) in beats.items()
                if worker != self.worker_id and state == "busy" and now - at < STALE_SECONDS * 1000]

    def spider_idle(self, spider: Any) -> None:
        self._beat("idle")
        try:
            busy = self.others_busy()
        except RedisLost:
            return  # close: without Redis there is no shared crawl to wait for
        if busy:
            raise DontCloseSpider(f"other workers of the crawl are busy: {', '.join(busy[:3])}")

    def spider_closed(self, spider: Any) -> None:
        if self._loop is not None and self._loop.running:
            self._loop.stop()
        try:
            self._shared.forget(self.worker_id)
        except RedisLost:
            pass
