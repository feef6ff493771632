"""AuditExtension: opens the audit run when the spider opens and closes it when the spider closes.

When the spider opens it connects to ``COPYRIGHT_GUARD_DB`` (creating and migrating a SQLite file
on first use), loads the exclusion index, records a run with the policy text and the exclusion-list
versions in force, and starts a :class:`DecisionWriter` (batched, in its own thread, so the reactor
never waits for the database). If the database is unusable the spider is closed at once (reason ``copyright_guard_audit_unavailable``):
a crawl never runs unrecorded. If the database fails later, the policy's
``on_failure.audit_unavailable`` decides: ``"stop"`` (default) closes the spider, ``"continue"``
goes on with a logged warning.

It also logs a progress line every ``COPYRIGHT_GUARD_PROGRESS_INTERVAL`` seconds and a summary
when the spider closes.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

from scrapy import signals
from scrapy.exceptions import CloseSpider

from ..core.policy import Policy
from .gcfreeze import freeze_startup_objects
from .gcfreeze import release as release_frozen
from .recorder import UNDECIDABLE, DecisionRecorder
from .runtime import GuardRuntime, runtime_for, utc_now

logger = logging.getLogger(__name__)

CLOSE_REASON = "copyright_guard_audit_unavailable"
REDIS_CLOSE_REASON = "copyright_guard_redis_unavailable"
STATS_INTERVAL = 1.0  # seconds between copies of the decision counts into Scrapy's stats
# Seconds between checks for changed exclusion lists (an import, a removal, an upheld complaint):
# a change reaches every running worker within this plus one reload - well inside issue 11's 5 s.
LISTS_INTERVAL = 1.0


def progress_line(recorder: DecisionRecorder, limit: int = 4) -> str:
    """``pages 120, allowed 100, denied 37 (robots.disallowed 20, tdmrep.reserved 9, ...)``."""
    totals = recorder.totals
    pages = totals["allowed"] + totals["denied post-fetch"]
    by_reason = ", ".join(f"{code} {n}" for code, n in recorder.denied_by_reason.most_common(limit))
    more = len(recorder.denied_by_reason) - limit
    if more > 0:
        by_reason += f", +{more} more"
    line = f"pages {pages}, allowed {totals['allowed']}, denied {totals['denied']}"
    if totals[UNDECIDABLE]:
        line += f", UNDECIDED {totals[UNDECIDABLE]} (errors)"
    return f"{line} ({by_reason})" if by_reason else line


def _every(seconds: float, func: Callable[[], Any]) -> Any:
    """A looping call on the crawl's event loop (asyncio or Twisted), or None without any loop
    (a unit test calling the handlers directly; spider_closed still publishes the counts)."""
    from scrapy.utils.asyncio import create_looping_call

    try:
        loop = create_looping_call(func)
    except RuntimeError:
        return None
    loop.start(seconds, now=False)
    return loop


def _thread_caller() -> Callable[..., Any]:
    """How another thread schedules a call on the crawl's event loop (asyncio, or Twisted's
    reactor when Scrapy runs without asyncio)."""
    from scrapy.utils.asyncio import is_asyncio_available

    try:
        use_asyncio = is_asyncio_available()
    except RuntimeError:  # no reactor and no loop (a unit test): call directly
        return lambda func, *args: func(*args)
    if use_asyncio:
        import asyncio

        return asyncio.get_event_loop().call_soon_threadsafe
    from twisted.internet import reactor

    return reactor.callFromThread


class AuditExtension:
    """``__init__`` takes plain dependencies; ``from_crawler`` wires them and connects the events."""

    def __init__(
        self,
        runtime: GuardRuntime,
        stats: Any,
        *,
        close_spider: Callable[[str], Any],
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self.runtime = runtime
        self._crawler: Any = None  # set by from_crawler (engine_stopped marks a failed crawl on it)
        self.close_reason: str | None = None
        self._failure_reported = False
        self.policy: Policy = runtime.policy
        self.recorder = runtime.recorder
        self._stats = stats
        self._close_spider = close_spider
        self._clock = clock
        self.engine = None
        self.run_id: str | None = None
        self.writer = None
        self._progress = None
        self._publish = None
        self._lists_watch = None
        self._lists_state = None
        self._lists_checking = False
        self._frozen = False
        self._call_from_thread: Callable[..., Any] = lambda func, *args: func(*args)

    @classmethod
    def from_crawler(cls, crawler: Any) -> AuditExtension:
        runtime = runtime_for(crawler)

        def close_spider(reason: str) -> Any:
            from scrapy.utils.defer import deferred_from_coro

            if crawler.engine is not None and crawler.engine.spider is not None:
                return deferred_from_coro(crawler.engine.close_spider_async(reason=reason))
            return None

        extension = cls(runtime, crawler.stats, close_spider=close_spider)
        extension._crawler = crawler
        crawler.signals.connect(extension.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(extension.spider_closed, signal=signals.spider_closed)
        crawler.signals.connect(extension.engine_stopped, signal=signals.engine_stopped)
        return extension

    def engine_stopped(self) -> None:
        """A crawl that could not record its decisions, or that refused a request it could not
        decide, has failed, and ``scrapy crawl`` must say so with its exit status: a scheduler or a
        shell script would otherwise take it for a finished crawl. Scrapy's crawl command exits 1
        only when the crawl "failed to bootstrap", which it judges by the crawler having no spider
        left once the crawl is over (``bootstrap_failed`` in scrapy/crawler.py, both runners); the
        engine has stopped, so nothing uses the reference any more."""
        undecidable = self.recorder.totals[UNDECIDABLE]
        if self._failure_reported or (self.close_reason != CLOSE_REASON and not undecidable):
            return
        self._failure_reported = True
        what = ("the audit log was unavailable" if self.close_reason == CLOSE_REASON
                else f"{undecidable} request(s) could not be decided and were refused")
        logger.error("copyright-guard: the crawl failed: %s (exit status 1)", what)
        if self._crawler is not None:
            self._crawler.spider = None

    # -- opening ---------------------------------------------------------------------------------

    def spider_opened(self, spider: Any) -> None:
        from ..store.db import StoreError, connect, describe, resolve_url
        from ..store.keys import LogKeyError
        from ..store.lists import ListError
        from ..store.runs import start_run
        from ..store.writer import DecisionWriter

        settings = self.runtime.settings
        url = resolve_url(settings.db_url)
        try:
            self.engine = connect(url)
            # The index first: the run records the list versions it holds, so every decision of
            # the run (matched or not) names the lists it was checked against (store/runs.py).
            exclusions = self._load_exclusions()
            log_signer = self._log_key()  # signs the run's checkpoints (not the Web Bot Auth requests)
            self.run_id = start_run(self.engine, self.policy, now=self._clock(), spider=getattr(spider, "name", None),
                                    exclusion_lists=exclusions.versions,
                                    signing_key_id=settings.signer.key_id if settings.signer else None,
                                    log_key=log_signer.vkey, crawl=self.runtime.recorded_crawl_name)
            self.writer = DecisionWriter(
                self.engine,
                self.run_id,
                on_failure=self.policy.on_failure.audit_unavailable,
                on_error=self._writer_failed,
                signer=log_signer,
                checkpoint_every=settings.checkpoint_every,
                checkpoint_seconds=settings.checkpoint_seconds,
            )
            self.runtime.exclusions = exclusions
        except StoreError as exc:
            logger.error("copyright-guard: the audit database %s is unusable: %s", describe(url), exc)
            raise CloseSpider(CLOSE_REASON) from None
        except (ListError, LogKeyError) as exc:  # a missing list or key: one line, it says what to do
            logger.error("copyright-guard: %s", exc)
            raise CloseSpider(CLOSE_REASON) from None
        except Exception:  # any other failure to open the audit run: never crawl unrecorded
            logger.exception("copyright-guard: cannot open the audit run in %s", describe(url))
            raise CloseSpider(CLOSE_REASON) from None
        self.recorder.submit = self.writer.submit
        self.recorder.committed = self._committed
        self.recorder.on_store_error = self._store_failed
        self.runtime.on_redis_lost = self._redis_lost
        self._stats.set_value("copyright_guard/run_id", self.run_id)
        logger.info(
            "copyright-guard: auditing run %s into %s (policy %s, sha256 %s, purpose %s; exclusion lists %s)",
            self.run_id, describe(url), self.policy.source_name, self.policy.hash[:12], settings.purpose,
            ", ".join(f"{name} v{version}" for name, version in sorted(exclusions.versions.items())) or "none",
        )
        self._call_from_thread = _thread_caller()
        if settings.gc_freeze:
            # Objects alive now are start-up objects (ours add ~60,000): out of the collector's
            # way until the spider closes (gcfreeze.py says why and what it does not touch).
            freeze_startup_objects()
            self._frozen = True
        self._publish = _every(STATS_INTERVAL, self.recorder.publish)
        self._lists_state = self._index_state()
        self._lists_watch = _every(LISTS_INTERVAL, self._check_lists)
        if settings.progress_interval:
            self._progress = _every(settings.progress_interval, self._log_progress)

    def _log_key(self):
        """The checkpoint signer (on by default: created at the default place on first use)."""
        from ..store.keys import load_or_create

        signer, path, created = load_or_create(self.runtime.settings.log_key)
        if created:
            logger.warning("copyright-guard: created the checkpoint signing key %s (mode 0600; verifier key %s). "
                           "Keep a copy of the checkpoints outside the database: docs/audit-integrity.md", path, signer.vkey)
        return signer

    def _load_exclusions(self):
        from ..store.lists import load_exclusion_index

        names = self.policy.exclusions.lists or None
        return load_exclusion_index(self.engine, names)

    # -- live exclusions ---------------------------------------------------------------------------

    def _index_state(self):
        from ..store.lists import index_state

        return index_state(self.engine)

    def _check_lists(self) -> None:
        """Poll for changed exclusion lists (off the reactor thread); a change replaces the index
        every later decision is checked against (the decisions it denies cite the new versions)."""
        if self._lists_checking or self.engine is None:
            return
        from twisted.internet.threads import deferToThread

        self._lists_checking = True
        deferred = deferToThread(self._reload_lists)
        deferred.addCallbacks(self._lists_reloaded, self._lists_failed)

    def _reload_lists(self):
        state = self._index_state()
        if state == self._lists_state:
            return None
        # The run record is append-only and covered by the chain (revision 0006), so the versions
        # that come into force mid-run are not written into it: every decision they deny cites its
        # list, version and sha256 in its reasons, and the log line below names them.
        return state, self._load_exclusions()

    def _lists_reloaded(self, result) -> None:
        self._lists_checking = False
        if result is None:
            return
        self._lists_state, index = result
        self.runtime.exclusions = index
        logger.info("copyright-guard: exclusion lists changed; in force now: %s",
                    ", ".join(f"{name} v{version}" for name, version in sorted(index.versions.items())) or "none")

    def _lists_failed(self, failure) -> None:
        # The index in force stays (a removed list keeps applying: stricter, never looser) and the
        # next poll tries again.
        self._lists_checking = False
        logger.error("copyright-guard: cannot reload the exclusion lists: %s", failure.getErrorMessage()[:300])

    def _log_progress(self) -> None:
        logger.info("copyright-guard: %s", progress_line(self.recorder))

    def _committed(self) -> Any:
        """A Deferred fired on the crawl's thread once every decision submitted so far is durable
        (log first, then collect: scrapy/middleware.py); it fails with AuditUnavailable when the
        writer could not record them, so the held response is dropped, never collected unrecorded."""
        from twisted.internet.defer import Deferred

        from .recorder import AuditUnavailable

        done: Deferred = Deferred()

        def fire(error: Exception | None) -> None:
            if error is None:
                done.callback(None)
            else:
                done.errback(AuditUnavailable(f"copyright-guard: the decision was not recorded ({error}); not collected"))

        # after_commit calls back on the writer's thread: hand over to the reactor's.
        self.writer.after_commit(lambda error: self._call_from_thread(fire, error))
        return done

    # -- failures --------------------------------------------------------------------------------

    def _writer_failed(self, error: Exception) -> None:
        """Called from the writer's thread (stop mode): close the spider from the reactor thread."""
        self._call_from_thread(self._store_failed, error)

    def _store_failed(self, error: Exception) -> None:
        if self.recorder.submit is None:
            return
        self.recorder.submit = None  # every later decision fails closed (IgnoreRequest)
        logger.error("copyright-guard: the audit log failed (%s); closing the spider", error)
        self._close_spider(CLOSE_REASON)

    def _redis_lost(self, error: Exception) -> None:
        """Redis failed mid-crawl: every request now fails closed (no site-file state, no
        politeness slot); stop the crawl cleanly - the audit writer flushes what was decided."""
        logger.error("copyright-guard: %s; closing the spider (requests fail closed)", error)
        self._close_spider(REDIS_CLOSE_REASON)

    # -- closing ---------------------------------------------------------------------------------

    def spider_closed(self, spider: Any, reason: str) -> None:
        from ..store.db import StoreError
        from ..store.runs import finish_run

        self.close_reason = reason
        engine = getattr(self._crawler, "_engine", None)  # the property raises before the crawl starts
        if engine is not None and not engine.running:
            # Closed while opening (the audit database was unusable): Scrapy sends no
            # engine_stopped for an engine that never started.
            self.engine_stopped()

        for loop in (self._progress, self._publish, self._lists_watch):
            if loop is not None and loop.running:
                loop.stop()
        if self._frozen:
            self._frozen = False
            release_frozen()
        self.recorder.publish()
        self.recorder.submit = None
        self.recorder.committed = None
        if self.writer is None:
            return
        try:
            self.writer.close()
        except StoreError as exc:
            logger.error("copyright-guard: the audit log failed: %s", exc)
        for key, value in self.writer.stats.items():
            self._stats.set_value(f"copyright_guard/audit/{key}", value)
        counts = {"close_reason": reason, **dict(self.recorder.totals),
                  "denied_by_reason": dict(self.recorder.denied_by_reason)}
        try:
            finish_run(self.engine, self.run_id, counts, self._clock(), seal=self.writer.seal)
        except StoreError as exc:
            logger.error("copyright-guard: cannot finish run %s: %s", self.run_id, exc)
        logger.info("copyright-guard: run %s finished: %s", self.run_id, progress_line(self.recorder, limit=20))
        undecided = self.recorder.totals[UNDECIDABLE]
        if undecided:
            logger.error("copyright-guard: %d request(s) could not be decided and were not collected "
                         "(copyright_guard/refused/undecidable): this is an error, not a deny", undecided)
