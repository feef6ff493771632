"""``copyright-guard recheck``: decide again on what was collected, and write the purge list.

Thin: options in, :func:`copyright_guard.rechecker.recheck` does the work. The purge list goes to
``--out`` (stdout without it, the summary then to stderr). Exit status 0 when nothing must be
purged, 1 when something must (so a CI job before training can stop on it), 2 for a usage or
configuration error.
"""

from __future__ import annotations

import json
import sys

import click

from .db import db_option, open_engine
from .errors import CLIError, output_file

EXIT_PURGE = 1


@click.command("recheck")
@db_option
@click.option("--run", "run_ids", multiple=True, metavar="ID", help="Only items collected by this run (repeatable).")
@click.option("--crawl", metavar="NAME", help="Only items collected by the runs of this crawl (its workers' runs).")
@click.option("--since", metavar="TIME", help="Only items collected from this ISO 8601 date/time on (UTC if no zone).")
@click.option("--until", metavar="TIME", help="Only items collected before this date/time.")
@click.option("--policy", "policy_file", metavar="FILE",
              help="Decide under this policy instead of the one recorded for each collecting run.")
@click.option("--purpose", metavar="PURPOSE", help="Decide for this purpose instead of the one each item was collected for.")
@click.option("--fetch/--no-fetch", default=True, show_default=True,
              help="Fetch each origin's site-wide files again (once per origin); --no-fetch re-applies only the "
                   "exclusion lists, upheld complaints and the policy, with no request at all.")
@click.option("--pages", is_flag=True,
              help="Also fetch each page again and re-read its headers and embedded metadata (conditionally, "
                   "with the ETag / Last-Modified recorded at collection: a 304 keeps the recorded page evidence).")
@click.option("--concurrency", type=click.IntRange(1, 64), default=8, show_default=True,
              help="Origins worked on at once.")
@click.option("--out", "-o", metavar="FILE", help="Write the purge list here (default: stdout).")
@click.option("--format", "fmt", type=click.Choice(["csv", "jsonl", "json"]), default="jsonl", show_default=True,
              help="Purge list format.")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as one JSON object.")
def recheck_command(db_url, run_ids, crawl, since, until, policy_file, purpose, fetch, pages, concurrency, out, fmt,
                    as_json) -> None:
    """Decide again on every collected URL; list the items that must now be purged.

    Each URL collected in the selection (every run by default) is decided again with the policy
    its run recorded - against the exclusion lists in force now, upheld complaints and, unless
    --no-fetch, freshly fetched robots.txt, tdmrep.json, ai.txt and RSL licences. Every
    re-decision is recorded in the audit log (stage recheck, a run of its own). Exit status 1 when
    items must be purged.

    \b
    Example:
      copyright-guard recheck --db sqlite:///audit.db --since 2026-11-01 --format csv --out purge.csv
    """
    from ..core.model import PURPOSES
    from ..rechecker import PurgeSummary, recheck, write_purge_list
    from ..store.audit import parse_moment
    from ..store.db import StoreError
    from .policy_cmd import policy_or_fail

    if purpose is not None and purpose not in PURPOSES:
        raise CLIError(f"--purpose {purpose!r}: not one of {', '.join(PURPOSES)}", "see `policy show`")
    if pages and not fetch:
        raise CLIError("--pages needs --fetch: a page cannot be re-read without a request", "leave out --no-fetch")
    try:
        moments = {name: parse_moment(value, name) if value else None for name, value in (("--since", since), ("--until", until))}
    except ValueError as exc:
        raise CLIError(str(exc), "e.g. --since 2026-11-01") from None
    policy = policy_or_fail(policy_file) if policy_file else None
    engine = open_engine(db_url)
    summary = PurgeSummary()
    try:
        results = recheck(engine, run_ids=run_ids, crawl=crawl, since=moments["--since"], until=moments["--until"], policy=policy,
                          purpose=purpose, fetch=fetch, pages=pages, concurrency=concurrency, summary=summary)
        if out:
            with output_file(out) as stream:
                rows = write_purge_list(results, stream, fmt)
        else:
            rows = write_purge_list(results, sys.stdout, fmt)
    except StoreError as exc:
        raise CLIError(str(exc), "check --db and --run") from None
    finally:
        engine.dispose()
    report = summary.as_dict()
    if as_json:
        click.echo(json.dumps(report, indent=2), err=not out)
    else:
        click.echo(_render(report, rows, out), err=not out)
    if summary.withdrawn_items:
        sys.exit(EXIT_PURGE)


def _render(report: dict, rows: int, out: str | None) -> str:
    lines = [
        f"rechecked {report['items_checked']} collected item(s) ({report['urls_checked']} URL(s)); "
        f"{report['items_to_purge']} to purge, {report['bytes_to_purge']} bytes"
        + (f"; purge list: {out} ({rows} rows)" if out else ""),
    ]
    if report["items_without_content_hash"]:
        lines.append(f"  {report['items_without_content_hash']} of them were collected before content hashes were "
                     "recorded: match them by URL and decision id")
    if report["by_reason"]:
        lines.append("  by reason (an item may have several):")
        lines += [f"    {r['reason']:<28} {r['items']:>7} items {r['bytes']:>12} bytes" for r in report["by_reason"]]
    if report["by_domain"]:
        lines.append("  by domain:")
        lines += [f"    {d['domain']:<28} {d['items']:>7} items {d['bytes']:>12} bytes" for d in report["by_domain"][:20]]
        if len(report["by_domain"]) > 20:
            lines.append(f"    ... and {len(report['by_domain']) - 20} more domains (--json lists all)")
    if report["recheck_runs"]:
        lines.append(f"  recorded as run(s) {', '.join(report['recheck_runs'])} (audit search --run ID --stage recheck)")
    return "\n".join(lines)


COMMANDS = [recheck_command]
