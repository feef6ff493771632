"""``audit export``: stream decisions as CSV or JSON Lines in constant memory, and read them back.

An export carries every field of the hash chain, so ``audit verify --file export.jsonl`` can check
a copy handed to a third party without the database. ``reasons`` is the stored canonical JSON
(text in CSV, an array in JSONL, which re-serialises to the same text); ``reason_codes`` is a
convenience column (``;``-separated) for spreadsheets and is not hashed.

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
from .chain import CHAIN_FIELDS, canonical_json
from .schema import checkpoints, decisions, runs
from .sql import stream_tuples

FIELDS = tuple(column.name for column in DECISION_COLUMNS)
CSV_FIELDS = (*FIELDS, "reason_codes")
FORMATS = ("csv", "jsonl")
# A real exported row is a few KiB (the evidence bytes are not exported, only their hash), so 16 Mi
# characters is far above any genuine line; it bounds the memory a hostile or mistaken --file
# (/dev/zero, a pipe, a binary blob without newlines) can take before it is refused.
MAX_LINE_CHARS = 16 * 1024 * 1024


def count(engine: Engine, filters: Filters) -> int:
    with engine.connect() as connection:
        return connection.execute(filters.apply(select(func.count()).select_from(decisions))).scalar_one()


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
    written = 0
    writer = csv.writer(out, lineterminator="\n") if fmt == "csv" else None
    if writer:
        writer.writerow(CSV_FIELDS)
    others = [i for i in range(len(FIELDS)) if i != reasons_at]
    with engine.connect() as connection:
        carried = 0
        if fmt == "jsonl" and _whole_runs(filters):
            for line in _checkpoint_lines(connection, filters.run):
                out.write(line)
                carried += 1
        for row in stream_tuples(connection, query):
            if writer:
                codes = ";".join(dict.fromkeys(r["code"] for r in json.loads(row[reasons_at])))
                writer.writerow((*row, codes))
            else:
                # The stored reasons are canonical JSON already: embed them as they are.
                head = json.dumps({FIELDS[i]: row[i] for i in others}, ensure_ascii=False)
                out.write(f'{head[:-1]}, "reasons": {row[reasons_at]}}}\n')
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


def read_export(lines: Iterable[str], fmt: str, meta: dict | None = None) -> Iterator[dict]:
    """Rows of an export as dicts of the stored columns (reasons back as canonical JSON text).

    A JSON Lines export's checkpoint and end lines are not rows: they go into ``meta``
    (``meta["checkpoints"]``: list, ``meta["end"]``: the end line's object, ``meta["after_end"]``:
    lines found after it), when given.
    """
    meta = {} if meta is None else meta
    meta.setdefault("checkpoints", [])
    if fmt == "csv":
        for record in csv.DictReader(lines):
            record["seq"] = int(record["seq"])
            record.pop("reason_codes", None)
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
                record["reasons"] = canonical_json(record["reasons"])
                yield record
    else:
        raise ValueError(f"unknown export format {fmt!r} (choose {' or '.join(FORMATS)})")


def chain_rows(records: Iterable[dict]) -> Iterator[tuple[str, tuple]]:
    """(run_id, row tuple for verify.verify_chain) from exported records."""
    for record in records:
        try:
            yield record["run_id"], (*(record[name] for name in CHAIN_FIELDS), record["prev_hash"], record["row_hash"])
        except KeyError as exc:
            raise ValueError(f"export row lacks the column {exc.args[0]!r}") from None
