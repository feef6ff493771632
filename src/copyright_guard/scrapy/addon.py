"""``ADDONS = {"copyright_guard.scrapy.Addon": 100}``: copyright-guard in any Scrapy project.

The add-on validates every ``COPYRIGHT_GUARD_*`` setting at start-up (a bad value stops the crawl
with one line naming the setting; it never silently disables the checks) and then:

* disables Scrapy's ``RobotsTxtMiddleware`` (it fails open on 5xx and network errors, ignores
  Crawl-delay and can match a token other than the one sent - peers.md) and puts
  ``CopyrightGuardMiddleware`` in its place (downloader middleware priority 100);
* adds ``IdentityGuardMiddleware`` last before the download (990): the User-Agent on the wire must
  carry the policy's product token, and no credentials are sent;
* adds ``ProvenanceMiddleware`` (spider middleware) and ``AuditExtension``;
* sets ``USER_AGENT`` to the policy's ``[crawler] user_agent``. A ``USER_AGENT`` set by the project,
  the spider or the command line is kept only if it contains the product token; otherwise the crawl
  does not start (robots.txt groups are matched against that token, so it must be the one sent);
* with ``COPYRIGHT_GUARD_REDIS_URL``: adds ``CrawlWidePolitenessMiddleware`` (985) and moves
  ``DOWNLOAD_DELAY`` into it, so the delay and concurrency per origin hold across every worker
  of the crawl (docs/distributed.md);
* takes 401, 402, 403, 407 and 451 out of ``RETRY_HTTP_CODES``: an access restriction is recorded,
  not retried.
"""

from __future__ import annotations

import logging
from typing import Any

from scrapy.exceptions import NotConfigured
from scrapy.settings import SETTINGS_PRIORITIES, BaseSettings

from ..fetch.page import PAGE_MAX_BYTES
from .settings import SCRAPY_ROBOTSTXT, SettingsError, check_user_agent, read_settings

logger = logging.getLogger(__name__)

DOWNLOADER_PRIORITY = 100  # where Scrapy's robots.txt middleware sits
IDENTITY_PRIORITY = 990  # after every stock middleware that adds headers (the highest is 900)
POLITENESS_PRIORITY = 985  # crawl-wide politeness (with Redis): right before the identity check
SPIDER_PRIORITY = 50
ACCESS_STATUSES = {401, 402, 403, 407, 451}


class Addon:
    @classmethod
    def from_crawler(cls, crawler: Any) -> Addon:
        return cls()

    def update_settings(self, settings: BaseSettings) -> None:
        try:
            self._update_settings(settings)
        except SettingsError as exc:
            _report_settings_error(exc)
            raise  # Scrapy then ends the crawl before any request (and `scrapy crawl` exits 1)

    def _update_settings(self, settings: BaseSettings) -> None:
        from .extension import AuditExtension
        from .middleware import CopyrightGuardMiddleware, IdentityGuardMiddleware
        from .provenance import ProvenanceMiddleware

        try:
            guard = read_settings(settings)
        except NotConfigured as exc:
            logger.warning("copyright-guard add-on: %s", exc)
            return
        policy = guard.policy
        priority = settings.getpriority("USER_AGENT") or 0
        if priority > SETTINGS_PRIORITIES["addon"]:
            check_user_agent(settings.get("USER_AGENT"), policy, "USER_AGENT")
        else:
            settings.set("USER_AGENT", policy.crawler.user_agent, "addon")

        # Even a project template's ROBOTSTXT_OBEY = True must not bring Scrapy's middleware back.
        settings.set("ROBOTSTXT_OBEY", False, max(settings.getpriority("ROBOTSTXT_OBEY") or 0, SETTINGS_PRIORITIES["addon"]))
        middlewares = "DOWNLOADER_MIDDLEWARES"
        settings.set_in_component_priority_dict(middlewares, _load(SCRAPY_ROBOTSTXT), None)
        settings.set_in_component_priority_dict(middlewares, CopyrightGuardMiddleware, DOWNLOADER_PRIORITY)
        settings.set_in_component_priority_dict(middlewares, IdentityGuardMiddleware, IDENTITY_PRIORITY)
        settings.set_in_component_priority_dict("SPIDER_MIDDLEWARES", ProvenanceMiddleware, SPIDER_PRIORITY)
        settings.set_in_component_priority_dict("EXTENSIONS", AuditExtension, 0)

        # Pages: Scrapy's default DOWNLOAD_MAXSIZE (1 GiB) is also its decompression bound, per
        # content coding; the add-on lowers it to the page bound `check` uses unless set explicitly.
        if (settings.getpriority("DOWNLOAD_MAXSIZE") or 0) < SETTINGS_PRIORITIES["addon"]:
            settings.set("DOWNLOAD_MAXSIZE", PAGE_MAX_BYTES, "addon")
        if guard.redis_url:
            # One crawl on many workers: politeness is crawl-wide, through Redis (politeness.py).
            # DOWNLOAD_DELAY becomes its minimum, and the local slots stop delaying on their own.
            from .politeness import MIN_DELAY_SETTING, CrawlWidePolitenessMiddleware

            settings.set(MIN_DELAY_SETTING, settings.getfloat("DOWNLOAD_DELAY", 0.0), "addon")
            top = max(settings.getpriority("DOWNLOAD_DELAY") or 0, SETTINGS_PRIORITIES["addon"])
            settings.set("DOWNLOAD_DELAY", 0.0, top)
            settings.set("DOWNLOAD_DELAY_JITTER", 0.0, top)
            settings.set_in_component_priority_dict(middlewares, CrawlWidePolitenessMiddleware, POLITENESS_PRIORITY)
            from ..scale.workers import CrawlWorkers

            settings.set_in_component_priority_dict("EXTENSIONS", CrawlWorkers, 0)

        retry_codes = [int(code) for code in settings.getlist("RETRY_HTTP_CODES")]
        kept = [code for code in retry_codes if code not in ACCESS_STATUSES]
        if kept != retry_codes:
            settings.set("RETRY_HTTP_CODES", kept, max(settings.getpriority("RETRY_HTTP_CODES") or 0,
                                                       SETTINGS_PRIORITIES["addon"]))


class _DropReportedSettingsError(logging.Filter):
    """Scrapy runs the add-on inside an asyncio task; an exception there is printed by asyncio
    as "Task exception was never retrieved" with a ~15-line traceback. A settings error has
    already been logged as one line naming the setting, so that record is dropped; any other
    error keeps its traceback."""

    def __init__(self) -> None:
        super().__init__()
        self.reported: set[SettingsError] = set()  # the exceptions themselves (compared by identity)

    def filter(self, record: logging.LogRecord) -> bool:
        candidates = [record.exc_info[1] if record.exc_info else None]
        context = getattr(record, "args", None)
        candidates += [value.get("exception") for value in (context if isinstance(context, tuple) else ())
                       if isinstance(value, dict)]
        return not any(isinstance(e, SettingsError) and e in self.reported for e in candidates)


_FILTER = _DropReportedSettingsError()


def _report_settings_error(exc: SettingsError) -> None:
    logger.error("copyright-guard: %s; the crawl does not start", exc)
    _FILTER.reported.add(exc)
    asyncio_logger = logging.getLogger("asyncio")
    if _FILTER not in asyncio_logger.filters:
        asyncio_logger.addFilter(_FILTER)


def _load(path: str) -> type:
    from scrapy.utils.misc import load_object

    return load_object(path)
