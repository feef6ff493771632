"""``copyright-guard audit ...``: the legal reviewer's commands over the audit log."""

from __future__ import annotations

import io
import json
import re
import sys
from contextlib import nullcontext
from pathlib import Path

import click

from ..core.files import InputFileError, open_input_file
from ..store import audit as queries
from ..store.export import FORMATS, bounded_lines, chain_rows, count, export, read_export
from ..store.runs import describe_exclusion_lists
from ..store.verify import verify, verify_chain
from .db import db_option, open_engine
from .errors import CLIError, output_file



# A larger --limit is no limit anyone means, and overflows the database's LIMIT (OverflowError in
# SQLite's driver, "bigint out of range" in PostgreSQL): a usage error instead.
MAX_ROWS = 2**31 - 1

# A recorded body is attacker-controlled text: never let it drive the reviewer's terminal.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def _safe(text: str) -> str:
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


def _filters(domain, verdict, reason, since, until, run, stage=None, crawl=None) -> queries.Filters:
    # An empty value would mean "no filter" to the query: `--run ""` must not select every run.
    for option, value in (("--domain", domain), ("--reason", reason), ("--run", run), ("--since", since),
                          ("--until", until), ("--crawl", crawl)):
        if value is not None and not value.strip():
            raise CLIError(f"{option}: the value is empty", f"leave {option} out to match every decision")
    try:
        return queries.Filters(
            domain=domain, verdict=verdict, reason=reason, run=run, stage=stage, crawl=crawl,
            since=queries.parse_moment(since, "--since") if since else None,
            until=queries.parse_moment(until, "--until") if until else None,
        )
    except ValueError as exc:
        raise CLIError(str(exc)) from None


def filter_options(function):
    for option in reversed((
        click.option("--domain", metavar="DOMAIN", help="Registered domain, e.g. example.com."),
        click.option("--verdict", type=click.Choice(["allow", "deny"]), help="Only this verdict."),
        click.option("--reason", metavar="CODE", help="Reason code (robots.disallowed) or a family (robots.*)."),
        click.option("--since", metavar="TIME", help="From this ISO 8601 date/time (inclusive, UTC if no zone)."),
        click.option("--until", metavar="TIME", help="Before this ISO 8601 date/time (exclusive)."),
        click.option("--run", metavar="RUN_ID", help="Only this run."),
        click.option("--crawl", metavar="NAME", help="Only the runs of this crawl (every worker's; docs/distributed.md)."),
    )):
        function = option(function)
    return function


@click.group("audit")
def audit_group() -> None:
    """Query, export and verify the audit log of decisions and their evidence.

    \b
    Example:
      copyright-guard audit explain https://example.com/page
    """


@audit_group.command("runs")
@db_option
@click.option("--crawl", metavar="NAME", help="Only the runs of this crawl (every worker's; docs/distributed.md).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def runs_command(db_url, crawl, as_json) -> None:
    """List crawl runs: policy, crawler, exclusion lists in force, times, counts and the chain's head hash.

    Keep the head hash of a finished run somewhere else (a ticket, an e-mail): it lets anyone
    later prove the run's decisions were not rewritten wholesale.

    \b
    Example:
      copyright-guard audit runs --db sqlite:///audit.db
    """
    if crawl is not None and not crawl.strip():
        raise CLIError("--crawl: the value is empty", "leave --crawl out to list every run")
    found = queries.list_runs(open_engine(db_url), crawl)
    if as_json:
        click.echo(json.dumps(found, indent=2))
        return
    if not found:
        click.echo("no runs recorded")
    for run in found:
        counts = ", ".join(f"{k} {v}" for k, v in (run["counts"] or {}).items()) or "unfinished"
        click.echo(f"{run['id']}  {run['started_at']} .. {run['finished_at'] or '(running or interrupted)'}")
        click.echo(f"    policy {run['policy_name']!r} {run['policy_hash']}; {run['crawler']}; {run['software_version']}"
                   + (f"; spider {run['spider']}" if run["spider"] else "")
                   + (f"; crawl {_safe(run['crawl'])}" if run.get("crawl") else ""))
        click.echo(f"    exclusion lists: {_safe(describe_exclusion_lists(run['exclusion_lists']))}")
        click.echo(f"    {counts}" + (f"; head {run['head_hash']}" if run["head_hash"] else ""))


@audit_group.command("explain")
@click.argument("url")
@db_option
@click.option("--json", "as_json", is_flag=True, help="Print JSON (evidence bodies as text, or base64 if binary).")
def explain_command(url, db_url, as_json) -> None:
    """Every decision ever made for URL: reasons, policy and the evidence bytes as they were.

    Exit status 1 when nothing was recorded for URL.

    \b
    Example:
      copyright-guard audit explain https://example.com/private/page
    """
    if not url.strip():  # before the database is opened: an empty URL is a usage error
        raise CLIError("audit explain: the URL is empty", "give the URL of a decision, e.g. from audit search")
    found = queries.explain(open_engine(db_url), url)
    if not found.decisions:
        click.echo(f"no decision recorded for {_safe(url)} (try: copyright-guard audit search --domain ...)", err=True)
        sys.exit(1)
    if as_json:
        click.echo(json.dumps(_explanation_json(found), indent=2, ensure_ascii=False))
        return
    click.echo(f"{_safe(url)}: {len(found.decisions)} decision(s)")
    for number, decision in enumerate(found.decisions, 1):
        policy = found.policies.get(decision["policy_hash"], {})
        click.echo(f"\n[{number}] {decision['decided_at']}  {decision['verdict'].upper()}  {decision['stage']}  "
                   f"purpose {decision['purpose']}")
        click.echo(f"    decision {decision['id']} (run {decision['run_id']}, seq {decision['seq']})")
        click.echo(f"    policy {policy.get('name', '?')!r} sha256 {decision['policy_hash']}")
        if decision["run_id"] in found.exclusion_lists:
            lists = describe_exclusion_lists(found.exclusion_lists[decision["run_id"]])
        else:
            lists = "unknown (the run is not in the database)"
        click.echo(f"    exclusion lists checked: {_safe(lists)}")
        for reason in decision["reasons"] or [{"code": "(none)", "effect": "", "detail": "no reason recorded"}]:
            click.echo(f"    - {reason['code']} ({reason['effect']}): {_safe(reason['detail'])}")
            found_evidence = reason.get("evidence")
            if found_evidence:
                where = found_evidence.get("final_url") or found_evidence.get("url") or ""
                status = f" HTTP {found_evidence['status']}" if found_evidence.get("status") else ""
                click.echo(f"        evidence: {_safe(found_evidence.get('location') or found_evidence['source'])}"
                           f" [{_safe(where)}{status}, fetched {found_evidence.get('fetched_at') or '?'}]"
                           + (f" sha256 {found_evidence['sha256']}" if found_evidence.get("sha256") else ""))
    for sha, row in found.evidence.items():
        click.echo(f"\n=== evidence {sha} ({row['source']}, {_safe(row['url'] or '')}, {row['size']} bytes) ===")
        click.echo(_safe(bytes(row["body"]).decode("utf-8", errors="backslashreplace")).rstrip("\n"))
    for sha, policy in found.policies.items():
        click.echo(f"\n=== policy {policy['name']!r} sha256 {sha} (first seen {policy['first_seen']}) ===")
        click.echo(_safe(policy["text"]).rstrip("\n"))


def _explanation_json(found: queries.Explanation) -> dict:
    import base64

    evidence = {}
    for sha, row in found.evidence.items():
        body = bytes(row["body"])
        try:
            shown = {"text": body.decode("utf-8")}
        except UnicodeDecodeError:
            shown = {"base64": base64.b64encode(body).decode("ascii")}
        evidence[sha] = {**{k: v for k, v in row.items() if k != "body"}, **shown}
    decisions = [{**d, "exclusion_lists": found.exclusion_lists.get(d["run_id"])} for d in found.decisions]
    return {"url": found.url, "decisions": decisions, "policies": found.policies, "evidence": evidence}


@audit_group.command("search")
@filter_options
@click.option("--stage", type=click.Choice(["pre-fetch", "post-fetch"]), help="Only this stage.")
@click.option("--limit", type=click.IntRange(min=0, max=MAX_ROWS), default=100, show_default=True, help="At most this many (0: all).")
@db_option
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object per line.")
def search_command(domain, verdict, reason, since, until, run, crawl, stage, limit, db_url, as_json) -> None:
    """Find decisions by domain, verdict, reason, time range or run (newest first).

    \b
    Example:
      copyright-guard audit search --domain example.com --verdict deny --reason 'robots.*' --since 2026-11-01
    """
    filters = _filters(domain, verdict, reason, since, until, run, stage, crawl)
    shown = 0
    for decision in queries.search(open_engine(db_url), filters, limit or None):
        shown += 1
        if as_json:
            click.echo(json.dumps(decision, ensure_ascii=False))
        else:
            codes = ",".join(dict.fromkeys(r["code"] for r in decision["reasons"])) or "-"
            click.echo(f"{decision['decided_at']}  {decision['verdict']:5}  {decision['stage']:10}  {_safe(decision['url'])}  {codes}")
    if not shown and not as_json:
        click.echo("no matching decisions", err=True)


@audit_group.command("evidence")
@click.argument("sha256")
@click.option("--out", type=click.Path(dir_okay=False, writable=True), help="Write the bytes to this file instead of stdout.")
@db_option
def evidence_command(sha256, out, db_url) -> None:
    """Print the exact stored bytes of one piece of evidence (a full sha256 or a unique prefix).

    \b
    Example:
      copyright-guard audit evidence 3a7bd3e2360a3d29eea436fcfb7e44c735d117c42d1c1835420b6b9942dd4f1b --out robots.txt
    """
    if not re.fullmatch(r"[0-9a-fA-F]{8,64}", sha256):
        raise CLIError(f"{sha256!r} is not a sha256 (8 to 64 hex digits)")
    try:
        row = queries.evidence_row(open_engine(db_url), sha256)
    except ValueError as exc:
        raise CLIError(str(exc)) from None
    if row is None:
        click.echo(f"no evidence {sha256} in the audit database", err=True)
        sys.exit(1)
    body = bytes(row["body"])
    if out:
        with output_file(out, "wb") as stream:
            stream.write(body)
        click.echo(f"wrote {len(body)} bytes ({row['source']}, {row['url']}) to {out}", err=True)
    else:
        sys.stdout.flush()
        sys.stdout.buffer.write(body)
        sys.stdout.buffer.flush()


@audit_group.command("export")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="jsonl", show_default=True)
@click.option("--out", type=click.Path(dir_okay=False, writable=True), help="Write to this file (default: stdout).")
@filter_options
@db_option
def export_command(fmt, out, domain, verdict, reason, since, until, run, crawl, db_url) -> None:
    """Stream decisions (every chain field) as CSV or JSON Lines, in constant memory.

    A progress bar is shown when stderr is a terminal. A whole-run export can be checked
    without the database: `audit verify --file export.jsonl`.

    \b
    Example:
      copyright-guard audit export --format csv --out decisions.csv --since 2026-11-01
    """
    engine = open_engine(db_url)
    filters = _filters(domain, verdict, reason, since, until, run, crawl=crawl)
    show_progress = sys.stderr.isatty()
    bar = click.progressbar(length=count(engine, filters), label="exporting", file=sys.stderr) if show_progress else nullcontext()
    target = output_file(out, "w", newline="") if out else nullcontext(sys.stdout)
    with target as stream, bar as progress:
        written = export(engine, stream, fmt, filters, progress.update if show_progress else None)
    if out:
        click.echo(f"exported {written} decisions to {out}", err=True)


@audit_group.command("verify")
@click.option("--run", metavar="RUN_ID", help="Check only this run.")
@click.option("--file", "export_file", type=click.Path(exists=True, dir_okay=False),
              help="Check an export (.csv or .jsonl of whole runs) instead of the database.")
@db_option
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object per run.")
def verify_command(run, export_file, db_url, as_json) -> None:
    """Recompute each run's hash chain; name the first edited, deleted, inserted or reordered row.

    Exit status 0 when every chain is intact, 1 when one is broken.

    \b
    Example:
      copyright-guard audit verify --db sqlite:///audit.db
    """
    checks = _verify_file(export_file, run) if export_file else _verify_db(db_url, run)
    broken = seen = 0
    for check in checks:
        seen += 1
        broken += not check.ok
        if as_json:
            click.echo(json.dumps({"run": check.run_id, "ok": check.ok, "rows": check.rows, "finished": check.finished,
                                   "broken": check.broken.__dict__ if check.broken else None}))
        elif check.ok:
            click.echo(f"run {check.run_id}: intact, {check.rows} rows" + ("" if check.finished else " (run not finished)"))
        else:
            click.echo(f"run {check.run_id}: BROKEN - {check.broken.message}")
    if not seen and not as_json:
        click.echo("no runs recorded: nothing to verify")
    if broken:
        sys.exit(1)


def _verify_db(db_url, run):
    try:
        yield from verify(open_engine(db_url), run)
    except LookupError as exc:
        raise CLIError(str(exc.args[0])) from None


def _verify_file(path: str, run: str | None):
    import csv
    import itertools

    fmt = "csv" if path.endswith(".csv") else "jsonl"
    try:
        # A regular file only: a FIFO with no writer would hang the open, a device never ends.
        binary = open_input_file(path, "export file")
    except InputFileError as exc:
        raise CLIError(str(exc)) from None
    try:
        with io.TextIOWrapper(binary, encoding="utf-8", newline="") as lines:
            rows = chain_rows(read_export(bounded_lines(lines), fmt))
            for run_id, group in itertools.groupby(rows, key=lambda pair: pair[0]):
                if run is None or run_id == run:
                    yield verify_chain(run_id, (row for _, row in group))
    except (ValueError, KeyError, csv.Error) as exc:  # csv.Error: e.g. a field over csv.field_size_limit()
        raise CLIError(f"{path}: not a copyright-guard export ({exc})") from None


@audit_group.command("report")
@click.option("--out", type=click.Path(dir_okay=False, writable=True), required=True, help="The HTML file to write.")
@filter_options
@click.option("--max-rows", type=click.IntRange(min=1, max=MAX_ROWS), default=5000, show_default=True,
              help="Decisions listed in the table (newest first); the figures always count all.")
@db_option
def report_command(out, domain, verdict, reason, since, until, run, crawl, max_rows, db_url) -> None:
    """Write a self-contained HTML report for legal review (opens offline in any browser).

    Summary figures, exclusions by reason and by domain, decisions over time, and a sortable,
    filterable table of decisions, each linked to its evidence.

    \b
    Example:
      copyright-guard audit report --out report.html --since 2026-11-01
    """
    from ..store.report import write_report

    engine = open_engine(db_url)
    filters = _filters(domain, verdict, reason, since, until, run, crawl=crawl)
    with output_file(out, "w") as stream:
        summary = write_report(engine, stream, filters, max_rows=max_rows)
    click.echo(f"wrote {out}: {summary['decisions']} decisions, {summary['listed']} listed", err=True)


COMMANDS = [audit_group]
