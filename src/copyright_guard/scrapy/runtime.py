"""What the add-on's components share within one crawler: settings, site files, the recorder.

Scrapy builds the downloader middleware, the spider middleware and the extension separately, each
through ``from_crawler``. They must share one site-file cache, one exclusion index and one audit
writer, so ``runtime_for(crawler)`` makes that state once per crawler and every ``from_crawler``
only looks it up and wires it in (no I/O happens here: the database is opened by the extension
when the spider opens).
"""

from __future__ import annotations

import logging
import weakref
from datetime import datetime, timezone
from typing import Any

from ..core.lists.exclusions import ExclusionIndex
from ..core.model import SiteFile
from .recorder import DecisionRecorder
from .settings import GuardSettings, read_settings
from .transport import EngineSiteFiles

logger = logging.getLogger(__name__)


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


class CrawlDelays:
    """RFC 9309 leaves Crawl-delay out, but sites use it and Scrapy never applied it (scrapy#892).

    We apply it as the download delay of the origin's Scrapy download slot (one request per
    ``delay`` seconds, no jitter below it), capped by ``policy.crawl.max_crawl_delay_seconds``.
    The value also goes into ``DOWNLOAD_SLOTS``-style per-slot settings, so a slot Scrapy
    garbage-collects after a quiet minute comes back with the same delay.
    """

    def __init__(self, crawler: Any, token: str, cap: float, enabled: bool, slots: bool = True) -> None:
        self._crawler = crawler
        self._token = token
        self._cap = cap
        self.enabled = enabled
        # False when the delay is enforced crawl-wide through Redis (scrapy/politeness.py) instead
        # of by this process's download slots: the delay is still learnt here.
        self.slots = slots
        self.by_origin: dict[str, float] = {}
        self._applied: set[str] = set()
        self._slots_of: dict[str, set[str]] = {}  # origin -> slot keys given its delay
        self._configured: dict[str, float] = {}  # slot key -> the delay it had before ours (DOWNLOAD_DELAY)

    def learn(self, site_file: SiteFile) -> None:
        if not self.enabled or site_file.kind != "robots.txt":
            return
        # A parsed file, or the last good copy an unreachable one falls back on (§2.3.1.4).
        robots = site_file.parsed
        delay = robots.crawl_delay(self._token) if robots is not None else None
        delay = min(float(delay), self._cap) if delay else None
        if self.by_origin.get(site_file.origin) == delay:
            return
        if delay:
            self.by_origin[site_file.origin] = delay
        else:
            self.by_origin.pop(site_file.origin, None)
        # A changed robots.txt (refetched after 24 h) re-applies to the origin's slots.
        self._applied -= self._slots_of.pop(site_file.origin, set())

    def apply(self, origin: str, request: Any) -> None:
        """Give the request's download slot the origin's delay (once per slot)."""
        delay = self.by_origin.get(origin)
        if not delay or not self.slots:
            return
        downloader = self._crawler.engine.downloader
        key = downloader.get_slot_key(request)
        if key in self._applied:
            return
        self._applied.add(key)
        self._slots_of.setdefault(origin, set()).add(key)
        settings = dict(downloader.per_slot_settings.get(key, {}))
        slot = downloader.slots.get(key)
        if key not in self._configured:  # the slot's own delay (DOWNLOAD_DELAY, DOWNLOAD_SLOTS) stays a floor
            self._configured[key] = float(slot.delay if slot is not None else settings.get("delay", 0.0))
        settings["delay"] = max(self._configured[key], delay)
        settings["jitter"] = 0.0  # a random delay below the site's Crawl-delay would break it
        downloader.per_slot_settings[key] = settings
        if slot is not None:
            slot.delay = settings["delay"]
            slot.jitter = 0.0
        logger.info("Crawl-delay %.1f s from %s/robots.txt applied to download slot %r", delay, origin, key)


class GuardRuntime:
    """Per-crawler state shared by the add-on's components."""

    def __init__(self, crawler: Any, settings: GuardSettings) -> None:
        self.settings = settings
        self.policy = settings.policy
        self.recorder = DecisionRecorder(crawler.stats, crawler.signals.send_catch_log, crawler.signals.sender,
                                         log_denials=settings.log_denials)
        self.exclusions: ExclusionIndex | None = None  # loaded from the database when the spider opens
        # Several workers share one crawl: site files and politeness live in Redis (scale/store.py).
        self.crawl_name = settings.crawl_name or getattr(crawler.spidercls, "name", None) or "crawl"
        # What the run records: the name given, or the shared crawl's (several workers); else none.
        self.recorded_crawl_name = settings.crawl_name or (self.crawl_name if settings.redis_url else None)
        self.shared = None
        if settings.redis_url:
            from ..scale.store import SharedState, connect_redis

            self.shared = SharedState(connect_redis(settings.redis_url), self.crawl_name, self.policy)
        self.on_redis_lost: Any = None  # set by the extension: stop the crawl, fail closed
        self.delays = CrawlDelays(
            crawler,
            self.policy.crawler.product_token,
            self.policy.crawl.max_crawl_delay_seconds,
            self.policy.crawl.obey_crawl_delay,
            slots=self.shared is None,
        )
        stats = crawler.stats

        def on_site_file(site_file: SiteFile) -> None:
            stats.inc_value(f"copyright_guard/site_files/{site_file.kind}/{site_file.status.value}")
            self.delays.learn(site_file)

        self.site_files = EngineSiteFiles(
            self.policy,
            lambda request: crawler.engine.download_async(request),
            priority=settings.site_file_priority,
            on_site_file=on_site_file,
            exclusions=lambda: self.exclusions,
            clock=utc_now,
            events=crawler.signals,
            shared=self.shared,
        )

    def redis_lost(self, error: Exception) -> None:
        """Redis failed mid-crawl: requests already fail closed; stop the crawl (once)."""
        handler, self.on_redis_lost = self.on_redis_lost, None
        if handler is not None:
            handler(error)


_RUNTIMES: weakref.WeakKeyDictionary[Any, GuardRuntime] = weakref.WeakKeyDictionary()


def runtime_for(crawler: Any) -> GuardRuntime:
    """The crawler's runtime, made on first use. Raises NotConfigured when the guard is disabled
    and SettingsError for a bad setting."""
    runtime = _RUNTIMES.get(crawler)
    if runtime is None:
        runtime = _RUNTIMES[crawler] = GuardRuntime(crawler, read_settings(crawler.settings))
    return runtime
