"""``copyright-guard crawl`` and ``copyright-guard demo``: a guarded Scrapy crawl from the command line.

Thin: validate the options, call :func:`copyright_guard.scrapy.runner.run_crawl` (or
:func:`copyright_guard.demo.run.run_demo`), print a progress line at intervals and the summary
table. Exit status 0 when the crawl finished, 1 when it stopped early (e.g. the audit log failed),
items were not saved or a request could not be decided, 2 for a usage or configuration error.
"""

from __future__ import annotations

import json
import os
import shutil
import sys

import click

from ..core.model import PURPOSES
from .errors import CLIError

EXIT_STOPPED = 1


class _Seconds(click.FloatRange):
    """A number of seconds from 0 to a day. click's FloatRange lets nan through (every comparison
    with nan is false), and a nan or huge interval hung the crawl's progress timer."""

    name = "seconds"

    def convert(self, value, param, ctx):
        seconds = super().convert(value, param, ctx)
        if seconds != seconds:  # nan
            self.fail(f"{value!r} is not a number of seconds", param, ctx)
        return seconds


PROGRESS_SECONDS = _Seconds(min=0, max=86400)


def _progress(recorder) -> None:
    from ..scrapy.extension import progress_line

    click.echo(f"  … {progress_line(recorder)}", err=True)


def summary_table(summary) -> str:
    """The end-of-crawl table: pages and decisions, denials by reason, site-wide files."""
    from ..scrapy.recorder import UNDECIDABLE

    totals = summary.totals
    rows = [
        ("pages fetched", summary.pages),
        ("collected (allowed post-fetch)", totals["allowed"]),
        ("denied before fetch", totals["denied pre-fetch"]),
        ("denied after fetch", totals["denied post-fetch"]),
        ("items", summary.items),
    ]
    rows += [(f"refused: {key.removeprefix('refused ')}", n) for key, n in sorted(totals.items())
             if key.startswith("refused ") and key != UNDECIDABLE]
    rows.append(("could not decide (errors)", summary.undecidable))
    width = max(len(label) for label, _ in rows) + 2
    lines = [
        f"copyright-guard crawl summary - spider {summary.spider}, {summary.finish_reason} in {summary.elapsed:.1f} s",
        f"  run {summary.run_id or '-'}  policy {summary.policy_name} (sha256 {summary.policy_hash[:12]})  "
        f"purpose {summary.purpose}",
        "",
        *(f"  {label:<{width}}{value:>7}" for label, value in rows),
    ]
    if summary.denied_by_reason:
        width = max(len(code) for code in summary.denied_by_reason) + 2
        lines += ["", "  denied by reason (a decision may have several)"]
        lines += [f"    {code:<{width}}{n:>7}" for code, n in summary.denied_by_reason.most_common()]
    if summary.site_files:
        width = max(len(key) for key in summary.site_files) + 2
        lines += ["", "  site-wide files fetched"]
        lines += [f"    {key:<{width}}{n:>7}" for key, n in summary.site_files.items()]
    lines += ["", f"  audit log: {summary.db}"]
    return "\n".join(lines)


def _program() -> str:
    """How the user can run this command again: ``copyright-guard`` when that is on PATH (and is
    this program), else the path it was started by (``.venv/bin/copyright-guard`` after ``make demo``)."""
    started = os.path.realpath(sys.argv[0]) if sys.argv and sys.argv[0] else ""
    on_path = shutil.which("copyright-guard")
    if on_path and (not started or os.path.realpath(on_path) == started):
        return "copyright-guard"
    if started and os.path.basename(started) == "copyright-guard":
        relative = os.path.relpath(sys.argv[0])
        return relative if not relative.startswith("..") else sys.argv[0]
    return "copyright-guard"


def next_steps(summary, example_url: str | None = None, *, site_stopped: bool = False) -> str:
    """The audit commands to try next, ready to paste. ``site_stopped``: the crawled site is gone
    (the demo's), so the recheck re-applies the lists and complaints only - fetching its robots.txt
    now would find it unreachable and, failing closed, withdraw everything."""
    db = summary.db
    run = summary.run_id or "RUN"
    cg = _program()
    steps = [
        ("every denial of this run, with its reasons", f"{cg} audit search --db {db} --run {run} --verdict deny"),
        ("one URL: its decisions, policy and evidence bytes", f"{cg} audit explain --db {db} {example_url or 'URL'}"),
        ("an HTML report for legal review", f"{cg} audit report --db {db} --run {run} --out report.html"),
        ("check that no record was edited, removed or reordered", f"{cg} audit verify --db {db}"),
        ("every decision as CSV", f"{cg} audit export --db {db} --run {run} --format csv --out decisions.csv"),
        ("the AI Act public summary of what was collected (sections 2.3 and 3.1)",
         f"{cg} audit summary --db {db} --run {run} --format md"),
        ("before training: decide again, list what must be purged" + (" (the demo site has stopped: lists and "
                                                                        "complaints only)" if site_stopped else ""),
         f"{cg} recheck --db {db} --run {run}{' --no-fetch' if site_stopped else ''} --out purge.csv --format csv"),
    ]
    lines = ["Where to look next:"]
    for why, command in steps:
        lines += [f"  # {why}", f"  {command}"]
    return "\n".join(lines)


@click.command("crawl")
@click.argument("spider", default="seeds", type=click.Choice(["seeds", "sitemap"]))
@click.option("--seeds", "seeds_file", type=click.Path(dir_okay=False), metavar="FILE",
              help="Seed URLs, one per line (# comments allowed). For `sitemap`: sitemap or site URLs.")
@click.option("--url", "urls", multiple=True, metavar="URL", help="A seed URL (repeatable), instead of or besides --seeds.")
@click.option("--policy", "policy_file", type=click.Path(dir_okay=False),
              help="Policy file (TOML), or a bundled policy by name. Default: strict-default (bundled).")
@click.option("--db", "db_url", metavar="URL|FILE",
              help="Audit database (SQLAlchemy URL, or a file path meaning SQLite). "
                   "Default: $COPYRIGHT_GUARD_DB, else copyright-guard.db.")
@click.option("--purpose", type=click.Choice(PURPOSES), help="Purpose to decide for. Default: the policy's.")
@click.option("--depth", type=click.IntRange(min=0), default=2, show_default=True,
              help="Links to follow from a seed, within the seeds' sites (`seeds` spider).")
@click.option("--out", "-o", "--output", "output", type=click.Path(dir_okay=False), metavar="FILE",
              help="Write the collected items as JSON lines (each with copyright_guard_decision_id); "
                   "--output is an older spelling.")
@click.option("--progress", "progress_interval", type=PROGRESS_SECONDS, default=5.0, show_default=True,
              help="Seconds between progress lines on stderr (0: none).")
@click.option("--set", "scrapy_settings", multiple=True, metavar="NAME=VALUE",
              help="Any Scrapy setting, e.g. --set CONCURRENT_REQUESTS=32 (repeatable).")
@click.option("--log-level", default="WARNING", show_default=True,
              type=click.Choice(["DEBUG", "INFO", "WARNING", "ERROR"]), help="Scrapy's log level.")
@click.option("--redis", "redis_url", metavar="URL", envvar="COPYRIGHT_GUARD_REDIS_URL",
              help="redis://HOST:6379/N: share the crawl (queue, site files, politeness) with other workers "
                   "and machines. Needs --name. Default: $COPYRIGHT_GUARD_REDIS_URL.")
@click.option("--workers", type=click.IntRange(min=1, max=64), default=1, show_default=True,
              help="Worker processes on this machine (more than 1 needs --redis and PostgreSQL).")
@click.option("--name", "crawl_name", metavar="NAME", envvar="COPYRIGHT_GUARD_CRAWL_NAME",
              help="The crawl's name, recorded on every worker's run (audit ... --crawl NAME). "
                   "Default: $COPYRIGHT_GUARD_CRAWL_NAME.")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as one JSON object.")
def crawl(spider: str, seeds_file: str | None, urls: tuple[str, ...], policy_file: str | None, db_url: str | None,
          purpose: str | None, depth: int, output: str | None, progress_interval: float,
          scrapy_settings: tuple[str, ...], log_level: str, redis_url: str | None, workers: int,
          crawl_name: str | None, as_json: bool) -> None:
    """Crawl with a bundled spider, every request and response decided and recorded.

    `seeds` follows links within the seeds' sites up to --depth; `sitemap` collects the pages the
    seeds' sitemaps list. Prints a progress line at intervals (pages, allowed, denied by reason)
    and a summary table at the end. Exit status: 0 finished, 1 stopped early, 2 usage error.

    With --redis and --name, this process joins a crawl shared through Redis: --workers K starts
    K worker processes here, and the same command on another machine adds more
    (docs/distributed.md). Ctrl-C stops every local worker.

    \b
    Example:
      copyright-guard crawl seeds --seeds seeds.txt --policy policies/default.toml \\
          --db sqlite:///audit.db --depth 1 -o items.jsonl
      copyright-guard crawl --seeds seeds.txt --db postgresql+psycopg://crawl@db/audit \\
          --redis redis://queue:6379/0 --workers 4 --name books-2026-12
    """
    from ..scrapy.runner import crawl_settings, run_crawl
    from ..scrapy.settings import SettingsError
    from ..spiders.common import SeedError, read_seeds

    try:
        read_seeds(seeds_file, ",".join(urls))
    except SeedError as exc:
        raise CLIError(str(exc), "give --seeds FILE or --url URL") from None
    extra = {}
    for assignment in scrapy_settings:
        name, sep, value = assignment.partition("=")
        if not sep or not name.strip():
            raise CLIError(f"--set {assignment!r}: expected NAME=VALUE", "e.g. --set CONCURRENT_REQUESTS=32")
        extra[name.strip()] = value
    _refuse_placeholder_identity(policy_file)
    from ..store.db import StoreError

    _check_shared(redis_url, workers, crawl_name, db_url, output)
    if workers > 1:
        from .workers import run_workers

        run_workers(workers, _worker_args(spider, seeds_file, urls, policy_file, db_url, purpose, depth,
                                          progress_interval, scrapy_settings, log_level, redis_url, crawl_name),
                    crawl_name, as_json)
        return
    try:
        settings = crawl_settings(policy=policy_file, db=db_url, purpose=purpose, output=output,
                                  log_level=log_level, extra=extra, redis=redis_url, crawl_name=crawl_name)
    except SettingsError as exc:
        raise CLIError(str(exc), "see docs/scrapy.md") from None
    except StoreError as exc:  # the audit database, opened before the crawl starts
        raise CLIError(str(exc), "check --db / $COPYRIGHT_GUARD_DB") from None
    spider_args = {"seeds": seeds_file, "urls": ",".join(urls) or None}
    if spider == "seeds":
        spider_args["depth"] = depth
    summary = run_crawl(spider, spider_args, settings,
                        progress=None if as_json else _progress, progress_interval=progress_interval)
    if as_json:
        click.echo(json.dumps(summary.as_dict(), indent=2, sort_keys=True))
    else:
        click.echo(summary_table(summary))
        if summary.run_id:  # no run recorded: there is nothing to look at
            click.echo()
            click.echo(next_steps(summary))
    _report_errors(summary)
    if not summary.ok:
        sys.exit(EXIT_STOPPED)


def _refuse_placeholder_identity(policy_file: str | None) -> None:
    """The shipped placeholder identity is one line before anything starts (core/identity.py). An
    unreadable policy is left to crawl_settings, which names the setting it came from."""
    from ..core.identity import placeholder_problem
    from ..core.policy import PolicyError, load_policy

    try:
        policy = load_policy(policy_file)
    except PolicyError:
        return
    problem = placeholder_problem(policy)
    if problem:
        raise CLIError(problem if policy_file else f"--policy not given: {problem}")
def _check_shared(redis_url, workers, crawl_name, db_url, output) -> None:
    """The one-line refusals of a multi-worker crawl, before anything starts."""
    from ..store.db import resolve_url

    if crawl_name is not None:
        from ..scrapy.settings import SettingsError, _crawl_name
        from scrapy.settings import Settings

        try:
            _crawl_name(Settings({"COPYRIGHT_GUARD_CRAWL_NAME": crawl_name}))
        except SettingsError as exc:
            raise CLIError(str(exc).replace("COPYRIGHT_GUARD_CRAWL_NAME", "--name")) from None
    if workers > 1 and not redis_url:
        raise CLIError(f"--workers {workers} needs --redis URL: the workers share the queue, the site files "
                       "and the politeness there", "e.g. --redis redis://127.0.0.1:6379/0 --name NAME")
    if redis_url and not crawl_name:
        raise CLIError("--redis needs --name NAME: every worker and machine of one crawl gives the same name",
                       "e.g. --name books-2026-12")
    if workers > 1 and resolve_url(db_url).startswith("sqlite"):
        raise CLIError(f"--workers {workers} with a SQLite audit database: several processes cannot write one "
                       "SQLite file; use PostgreSQL", "--db postgresql+psycopg://USER@HOST/DB")
    if workers > 1 and output:
        raise CLIError(f"--output with --workers {workers}: the workers cannot share one file",
                       "collect the items from each worker's run, or use --workers 1 per output file")
    if redis_url:
        from ..scale.store import RedisLost, connect_redis

        try:
            connect_redis(redis_url).close()
        except RedisLost as exc:
            raise CLIError(str(exc), "start redis-server, or check --redis / $COPYRIGHT_GUARD_REDIS_URL") from None


def _worker_args(spider, seeds_file, urls, policy_file, db_url, purpose, depth, progress_interval,
                 scrapy_settings, log_level, redis_url, crawl_name) -> list[str]:
    """The command line of one local worker: this command with --workers 1 and a JSON summary."""
    args = ["crawl", spider, "--workers", "1", "--json", "--log-level", log_level, "--redis", redis_url,
            "--name", crawl_name, "--depth", str(depth), "--progress", str(progress_interval)]
    for option, value in (("--seeds", seeds_file), ("--policy", policy_file), ("--db", db_url),
                          ("--purpose", purpose)):
        if value is not None:
            args += [option, os.path.abspath(value) if option in ("--seeds", "--policy") else value]
    for url in urls:
        args += ["--url", url]
    for assignment in scrapy_settings:
        args += ["--set", assignment]
    return args


def _report_errors(summary) -> None:
    """One line on stderr for each way the crawl did not do its job: collected items that were not
    written, and requests or responses no decision could be made for (dropped like a deny, but an
    allowed page may have been lost)."""
    if summary.feed_errors:
        more = f" (and {len(summary.feed_errors) - 1} more)" if len(summary.feed_errors) > 1 else ""
        click.echo(f"Error: items were not saved: {summary.feed_errors[0]}{more}", err=True)
    if summary.undecidable:
        click.echo(f"Error: {summary.undecidable} request(s) could not be decided and were not collected "
                   "(copyright_guard/refused/undecidable; the crawl log names the first)", err=True)


@click.command("demo")
@click.option("--db", "db_path", default="copyright-guard-demo.db", show_default=True, metavar="URL|FILE",
              help="The demo's audit log: an SQLite file, as a path or an sqlite:/// URL "
                   "(an earlier demo database there is replaced).")
@click.option("--progress", "progress_interval", type=PROGRESS_SECONDS, default=5.0, show_default=True,
              help="Seconds between progress lines on stderr (0: none).")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as one JSON object.")
def demo(db_path: str, progress_interval: float, as_json: bool) -> None:
    """Crawl the bundled local demo site with the default policy and show what was decided.

    Starts a site of several origins on 127.0.0.x that exhibits every signal copyright-guard
    reads (robots.txt rules, a 503 robots.txt, a GPTBot block, Content-Usage, Content-Signal,
    tdmrep.json, ai.txt, reservation headers and meta tags, an image with embedded DataMining
    metadata, a paywall, an excluded domain), crawls it into a fresh SQLite audit log, and prints
    the summary table and the audit commands to run next. Offline; well under a minute.

    \b
    Example:
      copyright-guard demo --db copyright-guard-demo.db
    """
    from ..demo.run import DemoError, run_demo
    from ..store.db import StoreError

    try:
        result = run_demo(db_path, progress=None if as_json else _progress, progress_interval=progress_interval)
    except DemoError as exc:
        raise CLIError(str(exc), "the demo replaces only its own database file") from None
    except StoreError as exc:  # one line by contract (store/db.py): no debug hint, nothing unexpected
        raise CLIError(str(exc), "give --db a file in a writable directory") from None
    if as_json:
        click.echo(json.dumps({**result.summary.as_dict(), "decisions": result.table, "mismatches": result.mismatches,
                               "requests_by_origin": result.requests_by_origin}, indent=2, sort_keys=True))
    else:
        click.echo(result.render())
        click.echo()
        click.echo(summary_table(result.summary))
        if result.summary.run_id:
            click.echo()
            click.echo(next_steps(result.summary, result.example_url, site_stopped=True))
    _report_errors(result.summary)
    if not result.summary.ok:
        sys.exit(EXIT_STOPPED)


COMMANDS: list = [crawl, demo]
