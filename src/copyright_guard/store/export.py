"""``audit export``: stream decisions as CSV or JSON Lines in constant memory, and read them back.

An export carries every field of the hash chain, so ``audit verify --file export.jsonl`` can check
a copy handed to a third party without the database. ``reasons`` is the stored canonical JSON
(text in CSV, an array in JSONL, which re-serialises to the same text); ``reason_codes`` is a
convenience column (``;``-separated) for spreadsheets and is not hashed.

The proof of collection (docs/proof-of-collection.md "Export contract"): every record has
``consulted`` - the site-wide file snapshots the decision was made on, a list of ``{"kind",
"url", "outcome", "status", "sha256", "fetched_at"}`` - and ``content`` - ``{"sha256",
"media_type", "bytes", "modality"}`` of the response judged, null before the fetch - plus
``examined`` (the asset sources read), ``http_status``, ``site_view``, ``row_format`` and, from
row format 3, the response's validators ``etag`` and ``last_modified``. A reader
recomputes ``site_view`` from ``consulted`` (chain.snapshot_id, chain.site_view_id) and the row
hash from the ``content`` fields, so the chain proves these objects as exported. CSV flattens
them: ``consulted`` is the list's canonical JSON text, ``content_sha256``, ``media_type``,
``content_bytes`` and ``modality`` are columns of their own, and ``consulted_summary`` is a
readable, unhashed convenience column (``robots.txt parsed 200; tdmrep.json unavailable 404``).

A JSON Lines export also carries what anchors it (revision 0006): first one line per signed
checkpoint of the runs it holds whole (``{"checkpoint": {"run_id", "log_key", "tree_size",
"note"}}``), last an end line (``{"export_end": {"rows": N, "checkpoints": K}}``). ``verify
--file`` then detects a truncated export (no end line, or fewer rows), and checks the rows against
the checkpoints' signed Merkle roots. A CSV export has no room for them: check it with
``verify --file export.csv --checkpoints FILE``.
"""

from __future__ import annotations

import csv
import itertools
import json
from collections.abc import Callable, Iterable, Iterator
from typing import IO

from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from .audit import DECISION_COLUMNS, Filters
from .chain import ALL_FIELDS, CHAIN_FIELDS, VALIDATOR_FIELDS, canonical_json, site_view_id, snapshot_id
from .proof import CONTENT_COLUMNS as _CONTENT
from .proof import CONTENT_KEYS as _CONTENT_KEYS
from .proof import ConsultedLookup
from .schema import checkpoints, decisions, runs
from .sql import stream_tuples

FIELDS = tuple(column.name for column in DECISION_COLUMNS)
CSV_FIELDS = (*FIELDS, "consulted", "consulted_summary", "reason_codes")
JSON_FIELDS = tuple(name for name in FIELDS if name not in (*_CONTENT, "reasons"))  # + consulted, content, reasons
FORMATS = ("csv", "jsonl")
# A real exported row is a few KiB (the evidence bytes are not exported, only their hash), so 16 Mi
# characters is far above any genuine line; it bounds the memory a hostile or mistaken --file
# (/dev/zero, a pipe, a binary blob without newlines) can take before it is refused.
MAX_LINE_CHARS = 16 * 1024 * 1024


def count(engine: Engine, filters: Filters) -> int:
    with engine.connect() as connection:
        return connection.execute(filters.apply(select(func.count()).select_from(decisions))).scalar_one()


def consulted_summary(consulted: list[dict]) -> str:
    return "; ".join(f"{c['kind']} {c['outcome']} {c['status']}" for c in consulted)


def export_record(row: tuple, consulted: Callable[[str | None], list[dict]]) -> dict:
    """One decision as the JSON export contract has it (reasons and examined parsed)."""
    values = dict(zip(FIELDS, row))
    record = {name: values[name] for name in JSON_FIELDS}
    record["examined"] = json.loads(values["examined"]) if values["examined"] else None
    record["consulted"] = consulted(values["site_view"])
    record["content"] = ({key: values[name] for key, name in zip(_CONTENT_KEYS, _CONTENT)}
                         if values["content_sha256"] is not None else None)
    record["reasons"] = json.loads(values["reasons"])
    return record


def export(
    engine: Engine,
    out: IO[str],
    fmt: str,
    filters: Filters = Filters(),
    progress: Callable[[int], None] | None = None,
) -> int:
    """Write matching decisions (by run, then seq) to ``out``; returns the number written."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown export format {fmt!r} (choose {' or '.join(FORMATS)})")
    query = filters.apply(select(*DECISION_COLUMNS)).order_by(decisions.c.run_id, decisions.c.seq)
    reasons_at = FIELDS.index("reasons")
    view_at = FIELDS.index("site_view")
    written = 0
    writer = csv.writer(out, lineterminator="\n") if fmt == "csv" else None
    if writer:
        writer.writerow(CSV_FIELDS)
    with engine.connect() as connection, engine.connect() as side:
        lookup = ConsultedLookup(side)
        carried = 0
        if fmt == "jsonl" and _whole_runs(filters):
            for line in _checkpoint_lines(connection, filters.run):
                out.write(line)
                carried += 1
        for row in stream_tuples(connection, query):
            if writer:
                codes = ";".join(dict.fromkeys(r["code"] for r in json.loads(row[reasons_at])))
                found = lookup(row[view_at])
                writer.writerow((*row, canonical_json(found) if row[view_at] else "", consulted_summary(found), codes))
            else:
                record = export_record(row, lookup)
                reasons = record.pop("reasons")
                head = json.dumps(record, ensure_ascii=False)
                # The stored reasons are canonical JSON already: embed them as they are.
                out.write(f'{head[:-1]}, "reasons": {row[reasons_at]}}}\n' if reasons is not None else head + "\n")
            written += 1
            if progress and written % 1000 == 0:
                progress(1000)
        if progress:
            progress(written % 1000)
    if fmt == "jsonl":
        out.write(json.dumps({"export_end": {"rows": written, "checkpoints": carried}}) + "\n")
    return written


def _whole_runs(filters: Filters) -> bool:
    """Only whole runs can be checked against their checkpoints: no filter but --run."""
    return all(getattr(filters, name) is None for name in ("domain", "verdict", "reason", "since", "until", "stage", "url"))


def _checkpoint_lines(connection, run_id: str | None) -> Iterator[str]:
    query = (select(runs.c.id, runs.c.log_key, checkpoints.c.tree_size, checkpoints.c.note)
             .join(checkpoints, checkpoints.c.run_id == runs.c.id)
             .order_by(runs.c.id, checkpoints.c.tree_size))
    if run_id is not None:
        query = query.where(runs.c.id == run_id)
    for row in connection.execute(query):
        yield json.dumps({"checkpoint": {"run_id": row.id, "log_key": row.log_key, "tree_size": row.tree_size,
                                         "note": row.note}}, ensure_ascii=False) + "\n"


def bounded_lines(stream: IO[str], limit: int = MAX_LINE_CHARS) -> Iterator[str]:
    """The stream's lines, refusing one longer than ``limit`` characters with ValueError naming it.

    ``readline(limit + 1)`` never holds more than limit + 1 characters, whatever the source: a
    regular file, a FIFO or a device such as /dev/zero that has no size and no newline.
    """
    for number in itertools.count(1):
        line = stream.readline(limit + 1)
        if not line:
            return
        # limit characters plus the newline is still a whole line; limit + 1 without one is not.
        if len(line) > limit and not line.endswith("\n"):
            raise ValueError(f"line {number} is longer than {limit} characters, so it is no exported row")
        yield line


_INTEGERS = ("seq", "row_format", "content_bytes", "http_status")


def read_export(lines: Iterable[str], fmt: str, meta: dict | None = None) -> Iterator[dict]:
    """Rows of an export as dicts of the stored columns (reasons and examined back as canonical
    JSON text), with ``consulted`` as a list of records (None when the export predates it).

    A JSON Lines export's checkpoint and end lines are not rows: they go into ``meta``
    (``meta["checkpoints"]``: list, ``meta["end"]``: the end line's object, ``meta["after_end"]``:
    lines found after it), when given.
    """
    meta = {} if meta is None else meta
    meta.setdefault("checkpoints", [])
    if fmt == "csv":
        reader = csv.DictReader(lines)
        _check_columns(reader.fieldnames or [], "the CSV header")
        for record in reader:
            for name in _INTEGERS:
                if name in record:
                    record[name] = int(record[name]) if record[name] not in ("", None) else None
            for name in ("row_format", "site_view", "examined", *_CONTENT, *VALIDATOR_FIELDS):
                if record.get(name) == "":
                    record[name] = None
            consulted = record.get("consulted")
            record["consulted"] = json.loads(consulted) if consulted else ([] if "consulted" in record else None)
            record.pop("reason_codes", None)
            record.pop("consulted_summary", None)
            yield record
    elif fmt == "jsonl":
        for number, line in enumerate(lines, 1):
            if line.strip():
                try:
                    record = json.loads(line)
                except json.JSONDecodeError as exc:
                    raise ValueError(f"line {number}: not JSON ({exc.msg})") from None
                if isinstance(record, dict) and "checkpoint" in record:
                    meta["checkpoints"].append(record["checkpoint"])
                    continue
                if isinstance(record, dict) and "export_end" in record:
                    meta["end"] = record["export_end"]
                    continue
                if "end" in meta:
                    meta["after_end"] = meta.get("after_end", 0) + 1
                if not isinstance(record, dict):
                    raise ValueError(f"line {number}: not a JSON object")
                _check_columns(record, f"line {number}")
                record["reasons"] = canonical_json(record["reasons"])
                if record.get("examined") is not None:
                    record["examined"] = canonical_json(record["examined"])
                content = record.get("content")
                for key, name in zip(_CONTENT_KEYS, _CONTENT):
                    record[name] = content.get(key) if isinstance(content, dict) else None
                yield record
    else:
        raise ValueError(f"unknown export format {fmt!r} (choose {' or '.join(FORMATS)})")


# What verifying a row needs: the chained fields, the links and the run.
REQUIRED_COLUMNS = ("run_id", *CHAIN_FIELDS, "prev_hash", "row_hash")


def _check_columns(present: Iterable[str], where: str) -> None:
    """A file from elsewhere (another tool's CSV, a hand-edited export) is named for what it lacks,
    every missing column at once, not for the first one a reader trips over."""
    missing = [name for name in REQUIRED_COLUMNS if name not in set(present)]
    if missing:
        raise ValueError(f"{where} lacks the column{'s' if len(missing) > 1 else ''} {', '.join(missing)} "
                         "of a copyright-guard export")


def chain_rows(records: Iterable[dict]) -> Iterator[tuple[str, tuple]]:
    """(run_id, row tuple for verify.verify_chain) from exported records.

    For a row-format-2 record the ``site_view`` hashed is the one recomputed from the exported
    ``consulted`` list, so an edited ``consulted`` breaks the row's hash like any edited field.
    """
    for record in records:
        try:
            if record.get("row_format") and record.get("consulted") is not None:
                ids = [snapshot_id(item) for item in record["consulted"]]
                record["site_view"] = site_view_id(ids) if ids else None
            yield record["run_id"], (*(record.get(name) if name in _OPTIONAL else record[name] for name in ALL_FIELDS),
                                     record["prev_hash"], record["row_hash"])
        except KeyError as exc:
            raise ValueError(f"export row lacks the column {exc.args[0]!r}") from None
        except (TypeError, AttributeError):
            raise ValueError("an exported consulted record is not an object") from None


_OPTIONAL = frozenset(ALL_FIELDS) - {"id", "run_id", "seq", "decided_at", "url", "origin", "registered_domain", "stage",
                                      "purpose", "verdict", "policy_hash", "reasons"}
