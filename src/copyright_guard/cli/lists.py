"""``copyright-guard lists import | show | diff | remove | impact``: exclusion lists of infringing sites."""

from __future__ import annotations

import csv
import json
import os
import sys
from contextlib import nullcontext
from datetime import datetime, timezone
from pathlib import Path

import click

from ..core.files import InputFileError, open_input_file
from ..core.lists.files import FORMATS, MAX_BYTES, ListDefaults, ListFileError, parse_list_file
from ..core.text import has_hidden_characters
from ..store import lists as store
from .db import db_option, open_engine
from .errors import CLIError, output_file

# Versions are PostgreSQL integers: a larger --version is no version (SQLite raised OverflowError,
# PostgreSQL "integer out of range") - refused as a usage error instead.
MAX_VERSION = 2**31 - 1
VERSION = click.IntRange(min=1, max=MAX_VERSION)

_IMPACT_FIELDS = ("url", "decision_id", "decided_at", "run_id", "list_name", "version", "entry", "kind", "authority", "reference")


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _listed_at(_ctx, _param, value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise click.BadParameter(f"{value!r} is not an ISO 8601 date (e.g. 2025-03-01)") from None
    try:
        # In UTC now, as list files' dates are: 9999-12-31T23:59:59-23:00 is in the year 10000
        # there, and failed later with a bare OverflowError.
        return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment.astimezone(timezone.utc)
    except OverflowError:
        raise click.BadParameter(f"{value!r} is out of range (in UTC it is after the year 9999)") from None


def _store_call(function, *args, **kwargs):
    try:
        return function(*args, **kwargs)
    except (store.ListError, ListFileError) as exc:
        raise CLIError(str(exc), "see copyright-guard lists show") from None


@click.group("lists")
def lists_group() -> None:
    """Exclusion lists of infringing websites (Code of Practice Measure 1.2): import, show, diff, remove, impact.

    Every active list in the database applies to `check` and to crawls using that database, unless
    the policy names the lists to use ([exclusions] lists). A listed site gets no request at all.

    \b
    Example:
      copyright-guard lists import policies/exclusion-lists/example.csv --name example
    """


@lists_group.command("import")
@click.argument("file", type=click.Path(dir_okay=False, allow_dash=True))
@click.option("--name", required=True, metavar="NAME", help="The list's name, e.g. arcom or court-orders-de.")
@click.option("--format", "file_format", type=click.Choice(["auto", *FORMATS]), default="auto", show_default=True,
              help="File format; auto: by extension, else by content.")
@click.option("--authority", default="", metavar="TEXT", help="Authority for entries whose file does not name one.")
@click.option("--jurisdiction", default="", metavar="TEXT", help="Jurisdiction (e.g. FR) for entries without one.")
@click.option("--reference", default="", metavar="TEXT", help="Case/decision number or URL for entries without one.")
@click.option("--listed-at", callback=_listed_at, metavar="DATE", help="listed_at for entries without one (ISO 8601).")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@db_option
def import_command(file, name, file_format, authority, jurisdiction, reference, listed_at, as_json, db_url) -> None:
    """Import FILE (CSV with a header, JSON, or plain text: one entry per line) as the next version of list NAME.

    Fields: domain, authority, jurisdiction, reference, listed_at, optional delisted_at and kind.
    Nothing is stored unless the whole file is valid; an error names the line. Re-importing the
    same entries makes no new version.

    \b
    Example:
      copyright-guard lists import arcom-2026-11.csv --name arcom --db sqlite:///audit.db
      copyright-guard lists import order.txt --name court-orders --authority "Tribunal judiciaire de Paris" \\
          --jurisdiction FR --reference "RG 25/01234" --listed-at 2025-05-01
    """
    data, shown = _read(file)
    defaults = ListDefaults(authority.strip(), jurisdiction.strip(), reference.strip(), listed_at)
    try:
        store.check_name(name)
        parsed = parse_list_file(data, shown, format=file_format, defaults=defaults)
    except (store.ListError, ListFileError) as exc:
        hint = "give it with --authority / --jurisdiction / --reference / --listed-at" if "give a default" in str(exc) else ""
        raise CLIError(str(exc), hint) from None
    engine = open_engine(db_url, must_exist=False)
    try:
        result = _store_call(store.import_list, engine, name, parsed, data, source=Path(shown).name, now=_now())
    finally:
        engine.dispose()
    snapshot = result.snapshot
    if as_json:
        click.echo(json.dumps({**snapshot.as_dict(), "unchanged": result.unchanged, "restored": result.restored,
                               "added": len(result.diff.added), "removed": len(result.diff.removed),
                               "changed": len(result.diff.changed), "ignored_fields": list(parsed.ignored_fields),
                               "warnings": list(parsed.warnings)}, indent=2))
        return
    if parsed.ignored_fields:
        click.echo(f"note: ignored field(s) {', '.join(parsed.ignored_fields)}", err=True)
    for warning in parsed.warnings:
        click.echo(f"warning: {warning}", err=True)
    if result.unchanged:
        click.echo(f"{shown}: same entries as exclusion list {name!r} version {snapshot.version}; no new version"
                   + (" (the list is active again)" if result.restored else ""))
        return
    against = "the first version" if result.diff.old is None else f"{result.diff.summary()} against version {result.diff.old}"
    click.echo(f"imported {shown} as exclusion list {name!r} version {snapshot.version}: "
               f"{_count(snapshot.entry_count, 'entry', 'entries')} ({against}), sha256 {snapshot.sha256}")
    if result.restored:
        click.echo(f"the list {name!r} had been removed and is active again")
    click.echo(f"content already collected that it excludes: copyright-guard lists impact {name}")


def _read(file: str) -> tuple[bytes, str]:
    """The file's bytes, refusing an oversized file before reading it into memory."""
    if file == "-":
        data = sys.stdin.buffer.read(MAX_BYTES + 1)
        return data, "<stdin>"
    try:
        # A regular file only: a FIFO with no writer would hang us, a device never ends.
        with open_input_file(file, "list file") as handle:
            size = os.fstat(handle.fileno()).st_size
            if size > MAX_BYTES:
                raise CLIError(f"{file}: {size:,} bytes, more than the {MAX_BYTES:,}-byte limit for one list file",
                               "split it into several lists")
            data = handle.read(MAX_BYTES + 1)  # bounded all the same: the file may grow while we read
    except InputFileError as exc:
        raise CLIError(str(exc), "to read a pipe, give - and redirect it to standard input") from None
    except OSError as exc:
        raise CLIError(f"{file}: cannot read list file: {exc.strerror or exc}") from None
    if len(data) > MAX_BYTES:
        raise CLIError(f"{file}: more than the {MAX_BYTES:,}-byte limit for one list file", "split it into several lists")
    return data, file


@lists_group.command("show")
@click.argument("name", required=False)
@click.option("--version", "version", type=VERSION, metavar="N", help="This version instead of the latest.")
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
@db_option
def show_command(name, version, as_json, db_url) -> None:
    """Without NAME, every list (active or removed) with its latest version; with NAME, its entries and history.

    \b
    Example:
      copyright-guard lists show
      copyright-guard lists show arcom --version 2
    """
    engine = open_engine(db_url)
    try:
        if name is None:
            if version is not None:
                raise CLIError("--version needs a list NAME")
            _show_all(store.lists(engine), as_json)
            return
        summary = _store_call(store.summary, engine, name)
        snapshot, entries = _store_call(store.entries, engine, name, version)
    finally:
        engine.dispose()
    if as_json:
        click.echo(json.dumps({**summary.as_dict(), "version": snapshot.as_dict(),
                               "entries": [_entry_dict(e) for e in entries], "events": list(summary.events)}, indent=2))
        return
    state = "active" if summary.active else "REMOVED (does not apply)"
    click.echo(f"exclusion list {name!r}: {state}; showing version {snapshot.version} of {summary.latest.version}")
    click.echo(f"  imported {snapshot.imported_at.isoformat()} from {snapshot.source} ({snapshot.format}), "
               f"{snapshot.entry_count} entries, sha256 {snapshot.sha256}")
    rows = [("ENTRY", "KIND", "AUTHORITY", "JURISDICTION", "REFERENCE", "LISTED", "DELISTED")]
    rows += [(e.entry, e.kind, e.authority, e.jurisdiction, e.reference, _day(e.listed_at) or "(on import)", _day(e.delisted_at))
             for e in entries]
    click.echo(_table(rows))
    click.echo("history:")
    for event in summary.events:
        shown = f" version {event['version']}" if event["version"] is not None else ""
        click.echo(f"  {event['at']}  {event['action']}{shown}: {event['detail']}")


def _show_all(summaries, as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps([s.as_dict() for s in summaries], indent=2))
        return
    if not summaries:
        click.echo("no exclusion lists (import one with: copyright-guard lists import FILE --name NAME)")
        return
    rows = [("NAME", "STATE", "VERSION", "ENTRIES", "IMPORTED", "SOURCE")]
    for s in summaries:
        latest = s.latest
        rows.append((s.name, "active" if s.active else "removed", str(latest.version) if latest else "-",
                     str(latest.entry_count) if latest else "0", latest.imported_at.isoformat() if latest else "-",
                     latest.source if latest else "-"))
    click.echo(_table(rows))


@lists_group.command("diff")
@click.argument("name")
@click.argument("old", required=False, type=VERSION)
@click.argument("new", required=False, type=VERSION)
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
@db_option
def diff_command(name, old, new, as_json, db_url) -> None:
    """Entries added (+), removed (-) and changed (~) between two versions (default: the last two).

    \b
    Example:
      copyright-guard lists diff arcom 1 2
    """
    if (old is None) != (new is None):
        raise CLIError("give both versions (OLD NEW) or neither")
    engine = open_engine(db_url)
    try:
        change = _store_call(store.diff, engine, name, old, new)
    finally:
        engine.dispose()
    if as_json:
        click.echo(json.dumps({
            "list": name, "old": change.old, "new": change.new,
            "added": [_entry_dict(e) for e in change.added], "removed": [_entry_dict(e) for e in change.removed],
            "changed": [{"old": _entry_dict(a), "new": _entry_dict(b)} for a, b in change.changed],
        }, indent=2))
        return
    click.echo(f"exclusion list {name!r}: version {change.old or '(none)'} -> {change.new}: {change.summary()}")
    for e in change.added:
        click.echo(f"+ {_line(e)}")
    for e in change.removed:
        click.echo(f"- {_line(e)}")
    for a, b in change.changed:
        parts = [f"{field} {_show(getattr(a, field))} -> {_show(getattr(b, field))}"
                 for field in ("kind", "authority", "jurisdiction", "reference", "listed_at", "delisted_at")
                 if getattr(a, field) != getattr(b, field)]
        click.echo(f"~ {b.entry}: {'; '.join(parts)}")


@lists_group.command("remove")
@click.argument("name")
@click.option("--reason", default="", metavar="TEXT", help="Why (kept in the list's history).")
@db_option
@click.option("--json", "as_json", is_flag=True, help="Print the result as one JSON object.")
def remove_command(name, reason, db_url, as_json) -> None:
    """Stop applying list NAME. Its versions and history are kept (an audit must show what excluded what).

    Importing the list again makes it active again.

    \b
    Example:
      copyright-guard lists remove arcom --reason "superseded by arcom-2027"
    """
    if has_hidden_characters(reason):
        # The reason is printed in `lists show` history, one event a line: a line break forged
        # history lines, an escape sequence or bidi override would drive the reviewer's terminal.
        raise CLIError("--reason: contains line breaks, control or format characters", "give the reason on one line")
    engine = open_engine(db_url)
    try:
        snapshot = _store_call(store.remove, engine, name, now=_now(), reason=reason)
    finally:
        engine.dispose()
    if as_json:
        click.echo(json.dumps({"list": name, "active": False, "latest_version": snapshot.version if snapshot else None,
                               "reason": reason}))
        return
    kept = f" (version {snapshot.version} and its history are kept)" if snapshot else ""
    click.echo(f"removed exclusion list {name!r}: it no longer applies to check or crawls{kept}")


@lists_group.command("impact")
@click.argument("name")
@click.option("--version", "version", type=VERSION, metavar="N", help="This version instead of the latest.")
@click.option("--added-only", is_flag=True, help="Only entries this version added or changed.")
@click.option("--include-pre-fetch", is_flag=True, help="Also pre-fetch allows (fetched, maybe not kept).")
@click.option("--format", "out_format", type=click.Choice(["csv", "jsonl"]), default="csv", show_default=True)
@click.option("--out", "-o", type=click.Path(dir_okay=False, writable=True), help="Write to this file instead of stdout.")
@db_option
def impact_command(name, version, added_only, include_pre_fetch, out_format, out, db_url) -> None:
    """Content already collected (allowed decisions in the audit log) that list NAME now excludes, to purge.

    One row per allowed decision: url, decision_id, decided_at, run_id, list_name, version, entry,
    kind, authority, reference. A summary goes to stderr.

    \b
    Example:
      copyright-guard lists impact arcom --format csv --out purge-arcom.csv
    """
    engine = open_engine(db_url)
    count = 0
    try:
        rows = _store_call(lambda: list(store.impact(engine, name, version, now=_now(), added_only=added_only,
                                                     stage=None if include_pre_fetch else "post-fetch")))
    finally:
        engine.dispose()
    with output_file(out, "w", newline="") if out else nullcontext(sys.stdout) as handle:
        if out_format == "csv":
            writer = csv.DictWriter(handle, fieldnames=_IMPACT_FIELDS, lineterminator="\n")
            writer.writeheader()
        for row in rows:
            if out_format == "csv":
                writer.writerow(row.as_dict())
            else:
                handle.write(json.dumps(row.as_dict(), ensure_ascii=False) + "\n")
            count += 1
    where = f" (written to {out})" if out else ""
    click.echo(f"{_count(count, 'collected item', 'collected items')} now excluded by list {name!r}{where}", err=True)


def _count(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


def _entry_dict(e) -> dict:
    return {"entry": e.entry, "kind": e.kind, "authority": e.authority, "jurisdiction": e.jurisdiction,
            "reference": e.reference, "listed_at": _iso(e.listed_at), "delisted_at": _iso(e.delisted_at)}


def _line(e) -> str:
    authority = e.authority + (f" ({e.jurisdiction})" if e.jurisdiction else "")
    return f"{e.entry} ({e.kind}) {authority}; {e.reference}"


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def _day(moment: datetime | None) -> str:
    return moment.date().isoformat() if moment else ""


def _show(value) -> str:
    if isinstance(value, datetime):
        return value.date().isoformat()
    return repr(value) if value not in (None, "") else "(none)"


def _table(rows: list[tuple[str, ...]]) -> str:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip() for row in rows)


COMMANDS = [lists_group]
