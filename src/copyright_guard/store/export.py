"""``audit export``: stream decisions as CSV or JSON Lines in constant memory, and read them back.

An export carries every field of the hash chain, so ``audit verify --file export.jsonl`` can check
a copy handed to a third party without the database. ``reasons`` is the stored canonical JSON
(text in CSV, an array in JSONL, which re-serialises to the same text); ``reason_codes`` is a
convenience column (``;``-separated) for spreadsheets and is not hashed.

The proof of collection (docs/proof-of-collection.md "Export contract"): every record has
``consulted`` - the site-wide file snapshots the decision was made on, a list of ``{"kind",
"url", "outcome", "status", "sha256", "fetched_at"}`` - and ``content`` - ``{"sha256",
"media_type", "bytes", "modality"}`` of the response judged, null before the fetch - plus
``examined`` (the asset sources read), ``http_status``, ``site_view`` and ``row_format``. A reader
recomputes ``site_view`` from ``consulted`` (chain.snapshot_id, chain.site_view_id) and the row
hash from the ``content`` fields, so the chain proves these objects as exported. CSV flattens
them: ``consulted`` is the list's canonical JSON text, ``content_sha256``, ``media_type``,
``content_bytes`` and ``modality`` are columns of their own, and ``consulted_summary`` is a
readable, unhashed convenience column (``robots.txt parsed 200; tdmrep.json unavailable 404``).
"""

from __future__ import annotations

import csv
import itertools
import json
from collections.abc import Callable, Iterable, Iterator
from typing import IO

from sqlalchemy import func, select
from sqlalchemy.engine import Connection, Engine

from .audit import DECISION_COLUMNS, Filters
from .chain import ALL_FIELDS, canonical_json, site_view_id, snapshot_id
from .proof import CONTENT_COLUMNS as _CONTENT
from .proof import CONTENT_KEYS as _CONTENT_KEYS
from .proof import consulted_for_views
from .schema import decisions
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


class ConsultedLookup:
    """site_view id -> the ``consulted`` records, read once per view (a few per origin)."""

    def __init__(self, connection: Connection, limit: int = 4096) -> None:
        self._connection = connection
        self._cache: dict[str, list[dict]] = {}
        self._limit = limit

    def __call__(self, view: str | None) -> list[dict]:
        if view is None:
            return []
        found = self._cache.get(view)
        if found is None:
            found = consulted_for_views(self._connection, [view]).get(view, [])
            if len(self._cache) >= self._limit:
                self._cache.clear()
            self._cache[view] = found
        return found


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
    return written


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


def read_export(lines: Iterable[str], fmt: str) -> Iterator[dict]:
    """Rows of an export as dicts of the stored columns (reasons and examined back as canonical
    JSON text), with ``consulted`` as a list of records (None when the export predates it)."""
    if fmt == "csv":
        for record in csv.DictReader(lines):
            for name in _INTEGERS:
                if name in record:
                    record[name] = int(record[name]) if record[name] not in ("", None) else None
            for name in ("row_format", "site_view", "examined", *_CONTENT):
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
                record["reasons"] = canonical_json(record["reasons"])
                if record.get("examined") is not None:
                    record["examined"] = canonical_json(record["examined"])
                content = record.get("content")
                for key, name in zip(_CONTENT_KEYS, _CONTENT):
                    record[name] = content.get(key) if isinstance(content, dict) else None
                yield record
    else:
        raise ValueError(f"unknown export format {fmt!r} (choose {' or '.join(FORMATS)})")


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
