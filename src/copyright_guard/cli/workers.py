"""``copyright-guard crawl --workers K``: K local worker processes of one shared crawl.

Each worker is this program again (``crawl --workers 1 --json`` with the same options), so every
worker runs the one crawl code path and records its own run (with its own hash chain) under the
crawl's name. The workers share the scrapy-redis queue, the site-file store and politeness through
Redis; the same command on another machine adds workers to the same crawl.

The workers run in their own process group: a Ctrl-C reaches this process only, which passes
exactly one SIGINT to each worker (Scrapy's graceful stop; a second Ctrl-C is passed on too, and
forces the stop, as in a single-process crawl). The summary adds up the workers' summaries.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from collections import Counter

import click

from .errors import CLIError

WORKER = [sys.executable, "-c", "import sys; from copyright_guard.cli import main; sys.argv[0] = 'copyright-guard'; main()"]


def run_workers(count: int, args: list[str], crawl_name: str, as_json: bool) -> None:
    from ..scrapy.recorder import UNDECIDABLE
    from ..scrapy.runner import CrawlSummary

    children = [subprocess.Popen([*WORKER, *args], stdout=subprocess.PIPE, text=True, start_new_session=True)
                for _ in range(count)]
    if not as_json:
        click.echo(f"  … crawl {crawl_name}: {count} workers started (pids "
                   f"{', '.join(str(c.pid) for c in children)})", err=True)

    def forward(signum, _frame) -> None:
        for child in children:
            if child.poll() is None:
                child.send_signal(signum)

    previous = {signum: signal.signal(signum, forward) for signum in (signal.SIGINT, signal.SIGTERM)}
    try:
        outputs = [child.communicate()[0] for child in children]
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    summaries = []
    for child, output in zip(children, outputs):
        try:
            summaries.append(json.loads(output))
        except ValueError:
            summaries.append(None)
    failed = [c.pid for c, s in zip(children, summaries) if s is None]
    found = [s for s in summaries if s is not None]
    if not found:
        raise CLIError(f"crawl {crawl_name}: no worker finished (exit statuses "
                       f"{', '.join(str(c.returncode) for c in children)})", "run with --workers 1 to see why")
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
