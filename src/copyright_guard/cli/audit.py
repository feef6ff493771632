"""``copyright-guard audit ...``: the legal reviewer's commands over the audit log."""

from __future__ import annotations

import base64
import hashlib
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
from ..store.chain import CHAIN_FIELDS
from ..store.runs import describe_exclusion_lists
from ..store.verify import read_checkpoint_file, verify, verify_export
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
        click.echo(f"{run['id']}  {run['started_at']} .. {run['finished_at'] or '(running or interrupted)'}")
        click.echo(f"    policy {run['policy_name']!r} {run['policy_hash']}; {run['crawler']}; {run['software_version']}"
                   + (f"; spider {run['spider']}" if run["spider"] else "")
                   + (f"; crawl {_safe(run['crawl'])}" if run.get("crawl") else ""))
        click.echo(f"    exclusion lists: {_safe(describe_exclusion_lists(run['exclusion_lists']))}")
        for line in _count_lines(run["counts"]):
            click.echo(f"    {_safe(line)}")
        if run["head_hash"]:
            click.echo(f"    {_plural(run['decision_count'] or 0, 'decision')} recorded; head hash {run['head_hash']}")
        if run.get("finish_hash"):  # revision 0010: the finish time and counts above, sealed (`audit verify`)
            sealed = "signed with the checkpoint key" if run.get("finish_note") else "hashed, not signed"
            click.echo(f"    finish record {sealed}: sha256 {run['finish_hash']}")
        if run.get("log_key"):
            click.echo(f"    checkpoint key {run['log_key']}")


def _plural(number: int, word: str) -> str:
    return f"{number} {word}{'' if number == 1 else 's'}"


def _count_lines(counts: dict | None) -> list[str]:
    """A finished run's counts (written by finish_run) as sentences, not a Python dict."""
    if not counts:
        return ["counts: none yet (the run is running, or was interrupted before it finished)"]
    counts = dict(counts)
    lines = []
    if "allowed" in counts:
        lines.append(f"pages collected: {counts.pop('allowed')}")
    allow, deny = counts.pop("allow", None), counts.pop("deny", None)
    if allow is not None or deny is not None:
        stages = [f"{counts.pop(key)} {key.split(' ', 1)[1]}" for key in ("denied pre-fetch", "denied post-fetch") if key in counts]
        counts.pop("denied", None)
        lines.append(f"decisions: {allow or 0} allow, {deny or 0} deny" + (f" ({', '.join(stages)})" if stages else ""))
    by_reason = counts.pop("denied_by_reason", None)
    if by_reason:
        lines.append("denied by reason: " + ", ".join(f"{code} {n}" for code, n in sorted(by_reason.items())))
    reason = counts.pop("close_reason", None)
    if reason:
        lines.append(f"closed: {reason}")
    rest = [f"{key} {value if not isinstance(value, dict) else ', '.join(f'{k} {v}' for k, v in value.items())}"
            for key, value in counts.items()]
    if rest:
        lines.append("; ".join(rest))
    return lines


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
        for line in _proof_lines(decision):
            click.echo(f"    {_safe(line)}")
        if not decision["reasons"]:
            click.echo("    reasons: none (no reservation, restriction or exclusion was found in what was consulted)"
                       if decision.get("row_format") else "    reasons: none recorded")
        for reason in decision["reasons"]:
            click.echo(f"    - {reason['code']} ({reason['effect']}): {_safe(reason['detail'])}")
            found_evidence = reason.get("evidence")
            if found_evidence:
                where = found_evidence.get("final_url") or found_evidence.get("url") or ""
                status = f"HTTP {found_evidence['status']}" if found_evidence.get("status") else ""
                fetched = f"fetched {found_evidence['fetched_at']}" if found_evidence.get("fetched_at") else ""
                context = ", ".join(part for part in (" ".join(p for p in (where, status) if p), fetched) if part)
                click.echo(f"        evidence: {_safe(found_evidence.get('location') or found_evidence['source'])}"
                           + (f" [{_safe(context)}]" if context else "")
                           + (f" sha256 {found_evidence['sha256']}" if found_evidence.get("sha256") else ""))
    for sha, row in found.evidence.items():
        click.echo(f"\n=== evidence {sha} ({row['source']}, {_safe(row['url'] or '')}, {row['size']} bytes) ===")
        click.echo(_safe(bytes(row["body"]).decode("utf-8", errors="backslashreplace")).rstrip("\n"))
    for sha, policy in found.policies.items():
        click.echo(f"\n=== policy {policy['name']!r} sha256 {sha} (first seen {policy['first_seen']}) ===")
        click.echo(_safe(policy["text"]).rstrip("\n"))


def _proof_lines(decision: dict) -> list[str]:
    """What a decision was made on (site-wide files) and, after the fetch, what it judged."""
    if not decision.get("row_format"):
        return ["made on: not recorded (decision recorded before audit database revision 0005)"]
    lines = []
    for item in decision["consulted"]:
        body = f"sha256 {item['sha256']}" if item["sha256"] else "no body"
        lines.append(f"made on: {item['kind']} {item['outcome']} ({item['status']}) {item['url']}, "
                     f"fetched {item['fetched_at']}, {body}")
    if not decision["consulted"]:
        lines.append("made on: no site-wide file (none was fetched for this decision)")
    if decision.get("examined"):
        lines.append(f"examined: {', '.join(decision['examined'])}")
    content = decision.get("content")
    if content:
        lines.append(f"content: {content['modality']} {content['media_type'] or '(no media type)'}, "
                     f"{content['bytes']} bytes, HTTP {decision.get('http_status')}, sha256 {content['sha256']}")
    validators = [f"{name} {decision[key]}" for name, key in (("ETag", "etag"), ("Last-Modified", "last_modified"))
                  if decision.get(key)]
    if validators:  # row format 3: what `recheck --pages` sends back
        lines.append(f"validators: {', '.join(validators)}")
    return lines


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
@click.option("--stage", type=click.Choice(["pre-fetch", "post-fetch", "recheck"]), help="Only this stage.")
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
@click.option("--out", "-o", type=click.Path(dir_okay=False, writable=True), help="Write the bytes to this file instead of stdout.")
@db_option
@click.option("--json", "as_json", is_flag=True, help="Print the result as one JSON object.")
def evidence_command(sha256, out, db_url, as_json) -> None:
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
        if not as_json:
            click.echo(f"wrote {len(body)} bytes ({row['source']}, {row['url']}) to {out}", err=True)
    if as_json:
        # The bytes as text when they are UTF-8, else base64 (as `audit explain --json` does).
        document = {"sha256": hashlib.sha256(body).hexdigest(), "size": len(body), "source": row["source"],
                    "url": row["url"], "out": out}
        if not out:
            try:
                document["text"] = body.decode("utf-8")
            except UnicodeDecodeError:
                document["base64"] = base64.b64encode(body).decode("ascii")
        click.echo(json.dumps(document, ensure_ascii=False))
    elif not out:
        sys.stdout.flush()
        sys.stdout.buffer.write(body)
        sys.stdout.buffer.flush()


@audit_group.command("export")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="jsonl", show_default=True)
@click.option("--out", "-o", type=click.Path(dir_okay=False, writable=True), help="Write to this file (default: stdout).")
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
@click.option("--checkpoints", "checkpoints_file", type=click.Path(dir_okay=False), metavar="FILE",
              help="Also check against signed checkpoints held outside the database (from `audit checkpoints`).")
@click.option("--file", "export_file", type=click.Path(exists=True, dir_okay=False),
              help="Check an export (.csv or .jsonl of whole runs) instead of the database.")
@db_option
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object per run.")
def verify_command(run, checkpoints_file, export_file, db_url, as_json) -> None:
    """Check everything the audit commands show; name what was edited, deleted, inserted or reordered, and where.

    Recomputes each run's hash chain and Merkle tree, checks its run record, its signed
    checkpoints, the reason and URL indexes, and re-hashes every policy text and evidence body.
    With --checkpoints, the database must also match checkpoints kept outside it (a deleted tail,
    a deleted run or a recomputed log fail only there). Exit status 0 when all is intact, 1 if not.

    \b
    Example:
      copyright-guard audit verify --db sqlite:///audit.db
    """
    checks = (_verify_file(export_file, run, checkpoints_file) if export_file
              else _verify_db(db_url, run, checkpoints_file))
    broken = seen = 0
    for check in checks:
        seen += check.subject is None
        broken += not check.ok
        if as_json:
            click.echo(json.dumps({"run": check.run_id, "subject": check.subject or "run", "ok": check.ok,
                                   "rows": check.rows, "finished": check.finished,
                                   "broken": check.broken.__dict__ if check.broken else None,
                                   "problems": [p.__dict__ for p in check.problems], "notes": list(check.notes)}))
            continue
        if check.ok:
            unit = "rows" if check.subject is None else "checked"
            # An export holds the rows, not the run's finish record: whether the run finished is
            # a question for the database, so a file check does not claim either way.
            finished = " (from the export file)" if export_file else ("" if check.finished else " (run not finished)")
            click.echo(f"{check.label}: intact, {check.rows} {unit}" + finished
                       + "".join(f"; {note}" for note in check.notes))
        for problem in check.problems:
            click.echo(f"{check.label}: BROKEN - {_safe(problem.message)}")
    if not seen and not as_json:
        click.echo("no runs recorded: nothing to verify")
    if broken:
        sys.exit(1)


def _verify_db(db_url, run, checkpoints_file):
    try:
        yield from verify(open_engine(db_url), run, checkpoints_file)
    except LookupError as exc:
        raise CLIError(str(exc.args[0])) from None
    except (ValueError, InputFileError) as exc:
        raise CLIError(f"--checkpoints: {exc}") from None


def _verify_file(path: str, run: str | None, checkpoints_file: str | None = None):
    import csv

    fmt = "csv" if path.endswith(".csv") else "jsonl"
    try:
        outside = read_checkpoint_file(checkpoints_file) if checkpoints_file else None
    except (ValueError, InputFileError) as exc:
        raise CLIError(f"--checkpoints: {exc}") from None
    try:
        # A regular file only: a FIFO with no writer would hang the open, a device never ends.
        binary = open_input_file(path, "export file")
    except InputFileError as exc:
        raise CLIError(str(exc)) from None
    try:
        with io.TextIOWrapper(binary, encoding="utf-8", newline="") as lines:
            meta: dict = {}
            rows = chain_rows(read_export(bounded_lines(lines), fmt, meta))
            yield from verify_export(rows, meta, jsonl=fmt == "jsonl", run_id=run, outside=outside)
    except (ValueError, KeyError, csv.Error) as exc:  # csv.Error: e.g. a field over csv.field_size_limit()
        raise CLIError(f"{path}: not a copyright-guard export: {exc}",
                       "give a file written by copyright-guard audit export") from None


@audit_group.command("report")
@click.option("--out", "-o", type=click.Path(dir_okay=False, writable=True), required=True, help="The HTML file to write.")
@filter_options
@click.option("--max-rows", type=click.IntRange(min=1, max=MAX_ROWS), default=5000, show_default=True,
              help="Decisions listed in the table (newest first); the figures always count all.")
@db_option
@click.option("--json", "as_json", is_flag=True, help="Print the result as one JSON object.")
def report_command(out, domain, verdict, reason, since, until, run, crawl, max_rows, db_url, as_json) -> None:
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
    if as_json:
        click.echo(json.dumps({"out": out, **summary}, default=str))
    else:
        click.echo(f"wrote {out}: {summary['decisions']} decisions, {summary['listed']} listed", err=True)


@audit_group.command("summary")
@db_option
@click.option("--run", "run_ids", multiple=True, metavar="RUN_ID", help="Only this run (repeatable; default: every run).")
@click.option("--since", metavar="TIME", help="From this ISO 8601 date/time (inclusive, UTC if no zone).")
@click.option("--until", metavar="TIME", help="Before this ISO 8601 date/time (exclusive).")
@click.option("--sme", is_flag=True, help="List the top 5 % of domains per modality, at most 1,000 (the Template's SME rule).")
@click.option("--format", "fmt", type=click.Choice(["md", "html", "json"]), default="md", show_default=True)
@click.option("--out", "-o", type=click.Path(dir_okay=False, writable=True), help="Write to this file (default: stdout).")
def summary_command(db_url, run_ids, since, until, sme, fmt, out) -> None:
    """The AI Act public summary's crawler sections (Template 2.3 and 3.1), from the audit log.

    Crawlers and purposes, collection period, items/bytes/domains per modality, the top domains
    by bytes collected per modality (10 %, rounded up; --sme: 5 % or 1,000, whichever is lower),
    opt-outs and access restrictions respected, exclusion lists and complaints. See
    docs/proof-of-collection.md.

    \b
    Example:
      copyright-guard audit summary --since 2026-01-01 --format md --out summary.md
    """
    from ..store.summary import Scope, build_summary
    from ..store.summary_text import to_html, to_markdown

    for run in run_ids:
        if not run.strip():
            raise CLIError("--run: the value is empty", "leave --run out to summarise every run")
    filters = _filters(None, None, None, since, until, None)
    engine = open_engine(db_url)
    try:
        summary = build_summary(engine, Scope(tuple(run_ids), filters.since, filters.until), sme=sme)
    except LookupError as exc:
        raise CLIError(str(exc.args[0])) from None
    if fmt == "json":
        text = json.dumps(summary, ensure_ascii=False, indent=2) + "\n"
    else:
        text = to_markdown(summary) if fmt == "md" else to_html(summary)
    if out:
        with output_file(out, "w") as stream:
            stream.write(text)
        click.echo(f"wrote {out}", err=True)
    else:
        click.echo(text, nl=False)


@audit_group.command("keygen")
@click.option("--out", "-o", "out", type=click.Path(dir_okay=False), required=True, help="The signer key file to create (mode 0600).")
@click.option("--name", metavar="NAME", help="The key name in signatures (default: copyright-guard-<host>).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def keygen_command(out, name, as_json) -> None:
    """Create an Ed25519 key for signing checkpoints; print its verifier key.

    Name the file with the policy's [audit] log_key or COPYRIGHT_GUARD_LOG_KEY. A key kept off the
    database machine is stronger: whoever can rewrite the database still cannot sign for it.

    \b
    Example:
      copyright-guard audit keygen --out /secure/copyright-guard.key
    """
    from ..store.keys import LogKeyError, write_new_key

    try:
        signer = write_new_key(Path(out), name)
    except LogKeyError as exc:
        raise CLIError(str(exc)) from None
    if as_json:
        click.echo(json.dumps({"key_file": out, "vkey": signer.vkey}))
    else:
        click.echo(f"wrote {out} (keep it secret); verifier key: {signer.vkey}")


@audit_group.command("checkpoints")
@click.option("--run", metavar="RUN_ID", help="Only this run.")
@click.option("--out", "-o", "out", type=click.Path(dir_okay=False, writable=True), required=True,
              help="The checkpoint file to write (for a witness).")
@db_option
@click.option("--json", "as_json", is_flag=True, help="Print a JSON summary.")
def checkpoints_command(run, out, db_url, as_json) -> None:
    """Export the runs' signed checkpoints (C2SP signed notes) and keys, to keep outside the database.

    Hand the file to a witness (another system, a ticket, an e-mail); later,
    `audit verify --checkpoints FILE` proves the database still holds exactly what was signed.

    \b
    Example:
      copyright-guard audit checkpoints --out checkpoints-2026-12-03.txt
    """
    from ..store.proofs import checkpoint_file

    engine = open_engine(db_url)
    if run is not None and not any(r["id"] == run for r in queries.list_runs(engine)):
        raise CLIError(f"no run {run!r} in the audit database")
    notes = keys = 0
    with output_file(out, "w") as stream:
        for chunk in checkpoint_file(engine, run):
            keys += chunk.startswith("# key ")
            notes += not chunk.startswith("# key ")
            stream.write(chunk)
    if as_json:
        click.echo(json.dumps({"out": out, "runs": keys, "checkpoints": notes}))
    else:
        click.echo(f"wrote {notes} checkpoint(s) of {keys} run(s) to {out}", err=True)


@audit_group.command("prove")
@click.argument("target", metavar="URL|DECISION_ID")
@click.option("--out", "-o", "out", type=click.Path(dir_okay=False, writable=True), required=True, help="The proof file (JSON).")
@db_option
@click.option("--json", "as_json", is_flag=True, help="Print a JSON summary.")
def prove_command(target, out, db_url, as_json) -> None:
    """Write an inclusion proof: the decision is in the run's signed Merkle tree (RFC 9162).

    A third party checks it without the database: `audit verify-proof proof.json --checkpoint FILE`.
    For a URL, the newest decision about it is proved.

    \b
    Example:
      copyright-guard audit prove https://example.com/private/page --out proof.json
    """
    from ..store.proofs import ProofError, prove

    if not target.strip():
        raise CLIError("audit prove: the URL or decision id is empty")
    try:
        proof = prove(open_engine(db_url), target.strip())
    except ProofError as exc:
        raise CLIError(str(exc)) from None
    with output_file(out, "w") as stream:
        json.dump(proof, stream, indent=1, ensure_ascii=False)
    summary = {"out": out, "decision_id": proof["decision_id"], "run_id": proof["run_id"],
               "leaf_index": proof["leaf_index"], "tree_size": proof["tree_size"]}
    click.echo(json.dumps(summary) if as_json else
               f"wrote {out}: decision {proof['decision_id']} is leaf {proof['leaf_index']} of the "
               f"{proof['tree_size']}-decision tree of run {proof['run_id']}", err=not as_json)


@audit_group.command("verify-proof")
@click.argument("proof_file", metavar="PROOF", type=click.Path(dir_okay=False))
@click.option("--checkpoint", "checkpoint_file", type=click.Path(dir_okay=False), required=True, metavar="FILE",
              help="Checkpoints held outside the database (from `audit checkpoints`), with the run's key.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def verify_proof_command(proof_file, checkpoint_file, as_json) -> None:
    """Check an inclusion proof against a signed checkpoint, without the database.

    Exit status 0 when the decision is in the signed tree, 1 when it is not.

    \b
    Example:
      copyright-guard audit verify-proof proof.json --checkpoint checkpoints.txt
    """
    from ..core.files import read_input_file
    from ..store.proofs import MAX_PROOF_BYTES, ProofError, check_proof, read_proof
    from ..store.verify import read_checkpoint_file

    try:
        data = read_input_file(proof_file, MAX_PROOF_BYTES, "proof file")
        if len(data) > MAX_PROOF_BYTES:
            raise CLIError(f"{proof_file}: larger than {MAX_PROOF_BYTES} bytes, so no proof")
        proof = read_proof(data)
        held = read_checkpoint_file(checkpoint_file)
    except (InputFileError, ProofError, ValueError) as exc:
        raise CLIError(str(exc)) from None
    try:
        checkpoint = check_proof(proof, held)
    except ProofError as exc:
        if as_json:
            click.echo(json.dumps({"ok": False, "problem": str(exc)}))
        else:
            click.echo(f"NOT PROVED - {_safe(str(exc))}")
        sys.exit(1)
    decision = json.loads(proof["entry"])
    if as_json:
        click.echo(json.dumps({"ok": True, "run_id": proof["run_id"], "tree_size": checkpoint.size,
                               "decision": dict(zip(CHAIN_FIELDS, decision))}, ensure_ascii=False))
    else:
        fields = dict(zip(CHAIN_FIELDS, decision))
        click.echo(f"proved: decision {fields['id']} ({fields['verdict']} {_safe(fields['url'])} at {fields['decided_at']}) "
                   f"is leaf {proof['leaf_index']} of the {checkpoint.size}-decision tree of run {proof['run_id']} "
                   f"signed {checkpoint.extension('time') or ''}".rstrip())


COMMANDS = [audit_group]
