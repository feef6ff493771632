"""``audit export``: stream decisions as CSV or JSON Lines in constant memory, and read them back.

An export carries every field of the hash chain, so ``audit verify --file export.jsonl`` can check
a copy handed to a third party without the database. ``reasons`` is the stored canonical JSON
(text in CSV, an array in JSONL, which re-serialises to the same text); ``reason_codes`` is a
convenience column (``;``-separated) for spreadsheets and is not hashed.
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
from .schema import decisions
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


def read_export(lines: Iterable[str], fmt: str) -> Iterator[dict]:
    """Rows of an export as dicts of the stored columns (reasons back as canonical JSON text)."""
    if fmt == "csv":
        reader = csv.DictReader(lines)
        _check_columns(reader.fieldnames or [], "the CSV header")
        for record in reader:
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
                if not isinstance(record, dict):
                    raise ValueError(f"line {number}: not a JSON object")
                _check_columns(record, f"line {number}")
                record["reasons"] = canonical_json(record["reasons"])
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
    """(run_id, row tuple for verify.verify_chain) from exported records."""
    for record in records:
        try:
            yield record["run_id"], (*(record[name] for name in CHAIN_FIELDS), record["prev_hash"], record["row_hash"])
        except KeyError as exc:
            raise ValueError(f"export row lacks the column {exc.args[0]!r}") from None
