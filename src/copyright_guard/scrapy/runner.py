"""Run one guarded Scrapy crawl in this process (what ``copyright-guard crawl`` and ``demo`` call).

Scrapy's Twisted reactor can run once per process, so :func:`run_crawl` is meant for a command
line program; tests run it in a subprocess.
"""

from __future__ import annotations

import logging
import os
import signal
import stat
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from scrapy.settings import Settings

from ..core.files import file_kind
from .addon import Addon
from .recorder import UNDECIDABLE, DecisionRecorder
from .settings import SettingsError, command_line_settings, guard_component_dicts, read_settings

ADDON = "copyright_guard.scrapy.Addon"


@dataclass
class CrawlSummary:
    """What a finished crawl did, for the summary table."""

    spider: str
    run_id: str | None
    db: str
    policy_name: str
    policy_hash: str
    purpose: str
    finish_reason: str
    elapsed: float
    totals: Counter = field(default_factory=Counter)
    denied_by_reason: Counter = field(default_factory=Counter)
    items: int = 0
    site_files: dict[str, int] = field(default_factory=dict)  # "robots.txt parsed" -> count
    stats: dict[str, Any] = field(default_factory=dict)
    feed_errors: list[str] = field(default_factory=list)  # items that could not be written (-o), one line each

    @property
    def pages(self) -> int:
        return self.totals["allowed"] + self.totals["denied post-fetch"]

    @property
    def undecidable(self) -> int:
        """Requests and responses no decision could be made for (a bug or a lost site-file fetch):
        dropped like a deny, but an error - an allowed page may have been lost."""
        return self.totals[UNDECIDABLE]

    @property
    def ok(self) -> bool:
        # Collected items that never reached the output file are a failed crawl, not a finished one;
        # so is a crawl that could not decide on every page it met.
        return self.finish_reason == "finished" and not self.feed_errors and not self.undecidable

    def as_dict(self) -> dict[str, Any]:
        return {
            "spider": self.spider, "run_id": self.run_id, "db": self.db, "policy": self.policy_name,
            "policy_hash": self.policy_hash, "purpose": self.purpose, "finish_reason": self.finish_reason,
            "elapsed_seconds": round(self.elapsed, 3), "pages": self.pages, "items": self.items,
            "allowed": self.totals["allowed"], "denied": self.totals["denied"],
            "denied_pre_fetch": self.totals["denied pre-fetch"], "denied_post_fetch": self.totals["denied post-fetch"],
            "refused": {k.removeprefix("refused "): v for k, v in self.totals.items()
                        if k.startswith("refused ") and k != UNDECIDABLE},
            "denied_by_reason": dict(self.denied_by_reason.most_common()), "site_files": self.site_files,
            "feed_errors": self.feed_errors, "undecidable": self.undecidable,
        }


def crawl_settings(
    *,
    policy: str | None = None,
    db: str | None = None,
    purpose: str | None = None,
    output: str | None = None,
    log_level: str = "WARNING",
    extra: dict[str, Any] | None = None,
    redis: str | None = None,
    crawl_name: str | None = None,
) -> Settings:
    """Scrapy settings for a guarded crawl with the bundled spiders, checked before anything starts.

    Raises SettingsError (a setting, the policy, the User-Agent, ``output``) or StoreError (the
    audit database cannot be opened or migrated), each one line: a problem found inside the crawl
    is a traceback and a run that records nothing.
    """
    values: dict[str, Any] = {
        "ADDONS": {ADDON: 100},
        "SPIDER_MODULES": ["copyright_guard.spiders"],
        "LOG_LEVEL": log_level,
        "TELNETCONSOLE_ENABLED": False,
        "COPYRIGHT_GUARD_PROGRESS_INTERVAL": 0,  # the command prints its own progress line
    }
    if policy:
        values["COPYRIGHT_GUARD_POLICY"] = policy
    if db:
        values["COPYRIGHT_GUARD_DB"] = db
    if purpose:
        values["COPYRIGHT_GUARD_PURPOSE"] = purpose
    if output:
        values["FEEDS"] = {_feed_uri(output): {"format": "jsonlines", "overwrite": True}}
    if crawl_name:
        values["COPYRIGHT_GUARD_CRAWL_NAME"] = crawl_name
    if redis:
        values.update(shared_queue_settings(redis, crawl_name or "crawl"))
    checked = command_line_settings(extra or {})
    if output and isinstance(checked.get("FEEDS"), dict):
        checked["FEEDS"] = {**values["FEEDS"], **checked["FEEDS"]}  # -o and --set FEEDS both apply
    values.update(checked)
    guard_component_dicts(values)  # --set ADDONS adds to the add-on, never replaces it
    settings = Settings(values, priority="cmdline")
    # A bad policy, setting or User-Agent is one line now, not a traceback inside the crawl later:
    # run the add-on's own start-up checks on a copy.
    guard = read_settings(settings)
    Addon().update_settings(settings.copy())
    # The audit database is opened (created, migrated) now too: an unusable one used to surface as
    # a crawl that "did not start", with a summary and next steps for a run that never existed.
    # So are the exclusion lists the policy names: a missing one would stop the crawl as it opens.
    from ..store.db import connect
    from ..store.lists import ListError, load_exclusion_index

    engine = connect(guard.db_url)
    try:
        load_exclusion_index(engine, guard.policy.exclusions.lists or None)
    except ListError as exc:
        raise SettingsError(str(exc)) from None
    finally:
        engine.dispose()
    return settings


def shared_queue_settings(redis: str, crawl_name: str) -> dict[str, Any]:
    """One crawl on many workers (docs/distributed.md): the scrapy-redis scheduler and duplicate
    filter share the crawl's queue and seen-requests set in Redis (seeds every worker yields are
    queued once: the shared duplicate filter drops the repeats), and the add-on keeps site files
    and politeness there too. Keys are under ``copyright-guard:<crawl name>:`` like the add-on's."""
    prefix = f"copyright-guard:{crawl_name}:"
    return {
        "COPYRIGHT_GUARD_REDIS_URL": redis,
        "SCHEDULER": "copyright_guard.scale.scheduler.FailClosedScheduler",  # scrapy-redis, failing closed
        "DUPEFILTER_CLASS": "scrapy_redis.dupefilter.RFPDupeFilter",
        "REDIS_URL": redis,
        "SCHEDULER_PERSIST": True,  # another machine may join; the queue outlives one worker
        "SCHEDULER_QUEUE_KEY": prefix + "queue",
        "SCHEDULER_DUPEFILTER_KEY": prefix + "seen",
    }


def _feed_uri(output: str) -> str:
    """``-o FILE`` as a Scrapy feed URI naming exactly that file.

    Scrapy reads a feed key as a URI template: ``name:rest`` would be a storage scheme and
    ``%(name)s`` a parameter. A ``file://`` URI names the file exactly (``%`` is percent-encoded,
    and Scrapy decodes the path again when it opens the file).
    A FIFO with no reader would block the crawl's start-up for ever; a directory cannot be written.
    """
    path = os.path.abspath(output)
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        mode = None
    except OSError as exc:
        raise SettingsError(f"--out {output}: cannot write: {exc.strerror or exc}") from None
    except ValueError as exc:  # a NUL byte
        raise SettingsError(f"--out {output!r}: {exc}") from None
    if mode is not None and stat.S_ISDIR(mode):
        raise SettingsError(f"--out {output}: is a directory; give a file name")
    if mode is not None and not (stat.S_ISREG(mode) or stat.S_ISCHR(mode)):
        raise SettingsError(f"--out {output}: not a regular file ({file_kind(mode)}); give a file name")
    parent = os.path.dirname(path)
    if mode is None and not os.path.isdir(parent):
        # Refused like --db in a missing directory: a typo in the path must not create a tree.
        raise SettingsError(f"--out {output}: directory {parent} does not exist")
    existing = path if mode is not None else parent
    if not os.access(existing, os.W_OK):
        raise SettingsError(f"--out {output}: cannot write: permission denied on {existing}")
    return Path(path).as_uri()



class _FeedErrors(logging.Filter):
    """Notes the feed exporter's failures (``-o`` to a full disk: ``OSError: [Errno 28]``) and
    keeps them to one log line: Scrapy logs them with a traceback, then counts the feed as failed
    and finishes the crawl as if nothing happened. The summary reports them and the command exits 1.
    """

    def __init__(self) -> None:
        super().__init__()
        self.errors: list[str] = []

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < logging.ERROR or not record.exc_info:
            return True
        message = record.getMessage()
        if record.name == "scrapy.utils.signal" and "FeedExporter" not in message:
            return True  # another signal handler's error: not ours to summarise
        exc = record.exc_info[1]
        cause = f"{type(exc).__name__}: {exc}".splitlines()[0][:300] if exc is not None else "unknown error"
        self.errors.append(f"{message.splitlines()[0][:300]}: {cause}")
        if not os.environ.get("COPYRIGHT_GUARD_DEBUG"):  # the developer asked for the traceback
            record.msg, record.args = f"{message.splitlines()[0]}: {cause}", ()
            record.exc_info = record.exc_text = None
        return True


@contextmanager
def _feed_errors_noted() -> Iterator[_FeedErrors]:
    noted = _FeedErrors()
    loggers = [logging.getLogger(name) for name in ("scrapy.extensions.feedexport", "scrapy.utils.signal")]
    for logger in loggers:
        logger.addFilter(noted)
    try:
        yield noted
    finally:
        for logger in loggers:
            logger.removeFilter(noted)


@contextmanager
def _interrupts_held_until_scrapy_handles_them() -> Iterator[list[int]]:
    """Hold SIGINT/SIGTERM from here until Scrapy's own handlers are in place, then replay them.

    Scrapy installs its graceful-stop handlers only "after startup" of the reactor, but
    ``process.crawl`` already runs much of the start-up (loading components, importing aiohttp,
    opening the spider) inside Twisted Deferreds. Python's default SIGINT handler raised
    KeyboardInterrupt there, which Twisted logged as "Unhandled error in Deferred" with a traceback.
    Here an early signal is only noted; the first reactor iteration (after startup, so after
    Scrapy's handlers replaced ours) sends it again, and Scrapy stops the crawl as for any Ctrl-C.
    The yielded list holds the signals received early (empty if none); the caller queues the replay
    with ``reactor.callFromThread`` once the reactor is installed.
    """
    received: list[int] = []

    def hold(signum: int, _frame: Any) -> None:
        received.append(signum)

    previous = {signum: signal.signal(signum, hold) for signum in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield received
    finally:
        # Scrapy's handlers outlive the reactor: put back the ones from before for the summary.
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def run_crawl(
    spider: str | type,
    spider_args: dict[str, Any],
    settings: Settings,
    *,
    progress: Callable[[DecisionRecorder], None] | None = None,
    progress_interval: float = 5.0,
) -> CrawlSummary:
    """Crawl with ``spider`` (a bundled spider name or a Spider class) and return the summary."""
    from scrapy.crawler import CrawlerProcess

    from ..store.db import describe, resolve_url
    from .runtime import runtime_for

    import warnings

    from scrapy.exceptions import ScrapyDeprecationWarning

    # scrapy-redis 0.9 still passes spider= to the stats collector: not the user's concern.
    warnings.filterwarnings("ignore", category=ScrapyDeprecationWarning, module="scrapy_redis")
    process = CrawlerProcess(settings)
    crawler = process.create_crawler(spider)
    loop: list[Any] = []

    def start_progress() -> None:
        if progress is None or progress_interval <= 0:
            return
        from scrapy.utils.asyncio import create_looping_call

        recorder = runtime_for(crawler).recorder
        call = create_looping_call(progress, recorder)
        call.start(progress_interval, now=False)
        loop.append(call)

    def stop_progress(**_: Any) -> None:
        for call in loop:
            if call.running:
                call.stop()

    from scrapy import signals

    crawler.signals.connect(start_progress, signal=signals.spider_opened)
    crawler.signals.connect(stop_progress, signal=signals.spider_closed)
    started = time.monotonic()
    with _interrupts_held_until_scrapy_handles_them() as interrupted, _feed_errors_noted() as feeds:
        process.crawl(crawler, **spider_args)
        from twisted.internet import reactor  # installed by create_crawler above

        # Thread calls run on the first reactor iteration, after the "after startup" trigger
        # that installs Scrapy's handlers.
        reactor.callFromThread(lambda: interrupted and signal.raise_signal(interrupted[0]))
        process.start()
    elapsed = time.monotonic() - started
    feed_errors = list(dict.fromkeys(feeds.errors))
    failed = sum(v for k, v in (crawler.stats.get_stats() if crawler.stats else {}).items()
                 if k.startswith("feedexport/failed_count/"))
    if failed and not feed_errors:
        feed_errors.append(f"{failed} feed(s) could not be stored")

    stats = crawler.stats.get_stats() if crawler.stats else {}
    runtime = runtime_for(crawler)
    guard = runtime.settings
    site_files = {
        key.removeprefix("copyright_guard/site_files/").replace("/", " "): value
        for key, value in stats.items()
        if key.startswith("copyright_guard/site_files/")
    }
    return CrawlSummary(
        spider=getattr(crawler.spidercls, "name", str(spider)),
        run_id=stats.get("copyright_guard/run_id"),
        db=describe(resolve_url(guard.db_url)),
        policy_name=guard.policy.policy.name,
        policy_hash=guard.policy.hash,
        purpose=guard.purpose,
        # A second Ctrl-C stops Scrapy before spider_closed sets finish_reason: the run did start.
        finish_reason=str(stats.get("finish_reason")
                          or ("interrupted" if stats.get("copyright_guard/run_id")
                              else "interrupted before the crawl started" if interrupted else "not started")),
        elapsed=elapsed,
        totals=Counter(runtime.recorder.totals),
        denied_by_reason=Counter(runtime.recorder.denied_by_reason),
        items=int(stats.get("item_scraped_count", 0)),
        site_files=dict(sorted(site_files.items())),
        stats=stats,
        feed_errors=feed_errors,
    )
