"""``copyright-guard crawl --workers K``: K local worker processes of one shared crawl.

Each worker runs this program's ``crawl --workers 1 --json`` with the same options, so every
worker runs the one crawl code path and records its own run (with its own hash chain) under the
crawl's name. The workers share the scrapy-redis queue, the site-file store and politeness through
Redis; the same command on another machine adds workers to the same crawl.

On Linux the workers are forked from this process after it has imported what every worker needs
(:data:`PRELOAD`: Scrapy, Twisted, the add-on, SQLAlchemy, psycopg, redis-py - about 1 CPU second
of a worker's 1.7 s start-up): the imports are paid once, not K times, and the workers share those
pages of memory. Nothing else is shared: the fork happens before any thread, event loop, database or
Redis connection exists (Scrapy installs its reactor in each worker), and with another thread
running, or elsewhere than Linux, each worker is started as a new interpreter instead.

The workers run in their own sessions: a Ctrl-C reaches this process only, which passes exactly
one SIGINT to each worker (Scrapy's graceful stop; a second Ctrl-C is passed on too, and forces the
stop, as in a single-process crawl). The summary adds up the workers' summaries.
"""

from __future__ import annotations

import atexit
import gc
import importlib
import json
import os
import selectors
import signal
import subprocess
import sys
import threading
from collections import Counter
from typing import Any

import click

from .errors import CLIError

WORKER = [sys.executable, "-c", "import sys; from copyright_guard.cli import main; sys.argv[0] = 'copyright-guard'; main()"]

# What a worker imports at start-up, heaviest first (python -X importtime on a worker), besides
# Scrapy's own extensions and middlewares (see _preload). A module missing here is imported by each
# worker itself: only the start-up's speed depends on this list.
PRELOAD = (
    "copyright_guard.scrapy.runner", "copyright_guard.store.db", "copyright_guard.store.lists",
    "copyright_guard.scrapy.politeness", "copyright_guard.scale.scheduler", "copyright_guard.scale.workers",
    "copyright_guard.spiders.seeds", "copyright_guard.spiders.sitemap", "redis", "psycopg", "scrapy.crawler",
    "scrapy.core.downloader.contextfactory", "scrapy.core.downloader.handlers.http11",
    "twisted.internet.endpoints", "twisted.web.client",
)


class _Worker:
    """One local worker: a forked process or a new interpreter, and the read end of its stdout."""

    def __init__(self, process: Any, output: int) -> None:
        self.process = process  # multiprocessing.Process or subprocess.Popen
        self.output = output
        self.pid = process.pid

    def alive(self) -> bool:
        return self.process.is_alive() if hasattr(self.process, "is_alive") else self.process.poll() is None

    def send_signal(self, signum: int) -> None:
        try:
            os.kill(self.pid, signum)
        except ProcessLookupError:
            pass

    def wait(self) -> int:
        if hasattr(self.process, "join"):
            self.process.join()
            return self.process.exitcode
        return self.process.wait()


_STOP_SIGNALS = {signal.SIGINT, signal.SIGTERM}
EXIT_INTERRUPTED = 130  # 128 + SIGINT, as a shell reports a Ctrl-C
MAX_OUTPUT_BYTES = 16 << 20  # a worker's stdout kept for its summary (see _outputs)


def _forkable() -> bool:
    return sys.platform.startswith("linux") and threading.active_count() == 1


def _forked_worker(args: list[str], output: int) -> None:
    """A forked worker: its own session and default signal handlers, stdout to the parent's pipe,
    then the crawl command (its SystemExit gives multiprocessing the exit status)."""
    os.setsid()
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    try:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, _STOP_SIGNALS)
        os.dup2(output, 1)
        os.close(output)
        from . import main

        main.main(args=args, prog_name="copyright-guard")
    except KeyboardInterrupt:  # a Ctrl-C before Scrapy's own handlers: nothing was crawled yet
        sys.exit(EXIT_INTERRUPTED)
    finally:
        # multiprocessing ends a forked process with os._exit(), which skips the atexit handlers a
        # process runs on its way out - among them the audit writer's flush after a forced stop
        # (a second Ctrl-C stops Scrapy without spider_closed; store/writer.py). Run them here.
        atexit._run_exitfuncs()


def _preload() -> None:
    """Import what every worker would import at start-up (see PRELOAD): Scrapy loads each
    extension and middleware class of its base settings when a crawler starts (RemoteControl's
    aiohttp alone is a tenth of a second)."""
    from scrapy.settings import Settings

    base = Settings()
    names = list(PRELOAD)
    for setting in ("EXTENSIONS_BASE", "DOWNLOADER_MIDDLEWARES_BASE", "SPIDER_MIDDLEWARES_BASE"):
        names += [path.rpartition(".")[0] for path in base.getdict(setting)]
    for name in names:
        try:
            importlib.import_module(name)
        except ImportError:
            pass


def _start(count: int, args: list[str], started: list[_Worker], stopped: list[int]) -> None:
    """Start ``count`` workers, appending each to ``started`` as it starts, with the stop signals
    held, so a Ctrl-C meanwhile reaches every worker already running; none is started after one
    (``stopped``: the signals received). On a failure half-way, the workers started are stopped."""
    fork = _forkable()
    if fork:
        import multiprocessing

        _preload()
        fork = _forkable()  # (no module imported above starts a thread; checked again all the same)
        context = multiprocessing.get_context("fork")
        # Python's advice for a pre-fork parent (gc.freeze): what the workers inherit goes to the
        # permanent generation, so no worker's collections scan it (or copy its pages by touching it).
        gc.collect()
        gc.freeze()
        sys.stdout.flush()
        sys.stderr.flush()
    try:
        for _ in range(count):
            if stopped:
                return
            # Held while a worker starts and is appended: a forked worker starts with this process's
            # handler, which would pass a Ctrl-C on to its siblings (it takes the defaults before it
            # lets signals in), and a signal handled here before the append would miss the worker.
            signal.pthread_sigmask(signal.SIG_BLOCK, _STOP_SIGNALS)
            try:
                read, write = os.pipe()  # the worker's stdout: its JSON summary
                try:
                    if fork:
                        process = context.Process(target=_forked_worker, args=(args, write),
                                                  name="copyright-guard worker")
                        process.start()
                    else:
                        process = subprocess.Popen([*WORKER, *args], stdout=write, start_new_session=True)
                except BaseException:
                    os.close(read)
                    raise
                finally:
                    os.close(write)
                started.append(_Worker(process, read))
            finally:
                signal.pthread_sigmask(signal.SIG_UNBLOCK, _STOP_SIGNALS)
    except BaseException:
        for child in started:
            child.send_signal(signal.SIGTERM)
        for child in started:
            child.wait()
        raise


def _outputs(children: list[_Worker]) -> list[str]:
    """Each worker's whole stdout, read from all pipes at once (none can block on a full pipe). A
    worker's output is its JSON summary, a few KiB: past :data:`MAX_OUTPUT_BYTES` it is read to the
    end (the worker must not block) but not kept, and counts as no summary."""
    chunks: dict[int, list[bytes]] = {child.output: [] for child in children}
    sizes = dict.fromkeys(chunks, 0)
    with selectors.DefaultSelector() as selector:
        for child in children:
            selector.register(child.output, selectors.EVENT_READ)
        open_pipes = len(children)
        while open_pipes:
            for key, _ in selector.select():
                data = os.read(key.fd, 65536)
                if data:
                    sizes[key.fd] += len(data)
                    if sizes[key.fd] <= MAX_OUTPUT_BYTES:
                        chunks[key.fd].append(data)
                    else:
                        chunks[key.fd] = []
                else:
                    selector.unregister(key.fd)
                    open_pipes -= 1
    for child in children:
        os.close(child.output)
    return [b"".join(chunks[child.output]).decode("utf-8", "replace") for child in children]


def run_workers(count: int, args: list[str], crawl_name: str, as_json: bool) -> None:
    from ..scrapy.recorder import UNDECIDABLE
    from ..scrapy.runner import CrawlSummary

    children: list[_Worker] = []
    stopped: list[int] = []  # the stop signals received, also while the workers start

    def forward(signum, _frame) -> None:
        stopped.append(signum)
        for child in children:
            if child.alive():
                child.send_signal(signum)

    previous = {signum: signal.signal(signum, forward) for signum in _STOP_SIGNALS}
    try:
        _start(count, args, children, stopped)
        if not children:
            raise CLIError(f"crawl {crawl_name}: interrupted before any worker started")
        if not as_json:
            click.echo(f"  … crawl {crawl_name}: {len(children)} workers started (pids "
                       f"{', '.join(str(c.pid) for c in children)})", err=True)
        outputs = _outputs(children)
        codes = [child.wait() for child in children]
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    summaries = []
    for output in outputs:
        try:
            summaries.append(json.loads(output))
        except ValueError:
            summaries.append(None)
    failed = [c.pid for c, s in zip(children, summaries) if s is None]
    found = [s for s in summaries if s is not None]
    if not found:
        raise CLIError(f"crawl {crawl_name}: no worker finished (exit statuses "
                       f"{', '.join(str(code) for code in codes)})", "run with --workers 1 to see why")
    totals: Counter = Counter()
    by_reason: Counter = Counter()
    site_files: Counter = Counter()
    for s in found:
        totals.update({"allowed": s["allowed"], "denied": s["denied"], "denied pre-fetch": s["denied_pre_fetch"],
                       "denied post-fetch": s["denied_post_fetch"], UNDECIDABLE: s["undecidable"]})
        totals.update({f"refused {k}": v for k, v in s["refused"].items()})
        by_reason.update(s["denied_by_reason"])
        site_files.update(s["site_files"])
    reasons = sorted({s["finish_reason"] for s in found})
    summary = CrawlSummary(
        spider=f"{found[0]['spider']} (crawl {crawl_name}, {count} workers)",
        run_id=", ".join(s["run_id"] for s in found if s["run_id"]) or None,
        db=found[0]["db"], policy_name=found[0]["policy"], policy_hash=found[0]["policy_hash"],
        purpose=found[0]["purpose"], finish_reason=reasons[0] if len(reasons) == 1 else "/".join(reasons),
        elapsed=max(s["elapsed_seconds"] for s in found), totals=totals, denied_by_reason=by_reason,
        items=sum(s["items"] for s in found), site_files=dict(sorted(site_files.items())),
        feed_errors=[e for s in found for e in s["feed_errors"]],
    )
    from .crawl import EXIT_STOPPED, _report_errors, summary_table

    if as_json:
        click.echo(json.dumps({**summary.as_dict(), "crawl": crawl_name, "workers": summaries}, indent=2, sort_keys=True))
    else:
        click.echo(summary_table(summary))
        click.echo(f"\n  every run of this crawl: copyright-guard audit runs --db {summary.db} --crawl {crawl_name}")
    _report_errors(summary)
    if failed:
        click.echo(f"Error: worker(s) {', '.join(map(str, failed))} stopped without a summary", err=True)
    if failed or not summary.ok:
        sys.exit(EXIT_STOPPED)
