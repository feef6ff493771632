"""Complaint exports (CSV, JSON) that are safe to open in a spreadsheet.

CSV injection (OWASP "CSV Injection"): a cell starting with ``=``, ``+``, ``-``, ``@``, a tab or a
carriage return is a formula to Excel and LibreOffice. Complaint text is written by strangers, so
such cells get a leading apostrophe, which spreadsheets show as text and never evaluate.
"""

from __future__ import annotations

import csv
import io
import json

FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n")


def csv_cell(value: object) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_START) else text


def to_csv(rows: list[dict]) -> str:
    if not rows:
        return ""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]), lineterminator="\r\n")  # RFC 4180 §2
    writer.writeheader()
    for row in rows:
        writer.writerow({key: csv_cell(value) for key, value in row.items()})
    return out.getvalue()


def to_json(rows: list[dict]) -> str:
    # ensure_ascii keeps "<" and friends as text, never markup, whatever later displays the file.
    return json.dumps(rows, indent=2, ensure_ascii=True).replace("<", "\\u003c").replace(">", "\\u003e") + "\n"


def to_jsonl(rows: list[dict]) -> str:
    """One JSON object per line (JSON Lines), escaped as :func:`to_json` escapes."""
    return "".join(json.dumps(row, ensure_ascii=True).replace("<", "\\u003c").replace(">", "\\u003e") + "\n"
                   for row in rows)
