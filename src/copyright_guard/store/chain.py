"""The hash chain over decision rows, and the row format it covers.

Recipe (documented in README "The audit log" so a reviewer can recompute it with any tool)::

    content  = JSON array, compact separators, UTF-8, of
               [id, run_id, seq, decided_at, url, origin, registered_domain, stage, purpose,
                verdict, policy_hash, reasons]          # reasons: the stored JSON text, verbatim
    row_hash = sha256(content + prev_hash).hexdigest()
    prev_hash of a run's first row (seq 1) = GENESIS (64 zeros)

The chain is per run, so several crawler processes (one run each) can write one database at once
without coordinating.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timezone

GENESIS = "0" * 64

# The column order the content array follows; exports use the same names.
CHAIN_FIELDS = (
    "id",
    "run_id",
    "seq",
    "decided_at",
    "url",
    "origin",
    "registered_domain",
    "stage",
    "purpose",
    "verdict",
    "policy_hash",
    "reasons",
)

_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
_canonical = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode


def canonical_json(value: object) -> str:
    """Sorted keys, compact separators, UTF-8: the one serialisation of stored JSON."""
    return _canonical(value)


def row_hash(row: dict | tuple, prev_hash: str) -> str:
    """The hash of one decision row; ``row`` is a mapping with CHAIN_FIELDS or a tuple in that order."""
    values = [row[name] for name in CHAIN_FIELDS] if isinstance(row, dict) else row
    content = _dumps(values) + prev_hash
    return hashlib.sha256(content.encode("utf-8")).hexdigest()


def url_key(url: str) -> int:
    """The indexed look-up key of a URL: the first 64 bits of its sha256 as a signed integer.

    Collisions are harmless: queries compare the URL itself as well.
    """
    return int.from_bytes(hashlib.sha256(url.encode("utf-8")).digest()[:8], "big", signed=True)


def format_time(moment: datetime) -> str:
    """Fixed-width ISO 8601 UTC text; a naive datetime is taken to be UTC already."""
    if moment.tzinfo is not None:
        if moment.utcoffset():
            moment = moment.astimezone(timezone.utc)
        moment = moment.replace(tzinfo=None)
    return moment.isoformat(timespec="microseconds") + "Z"


def parse_time(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=timezone.utc)


def format_optional_time(moment: datetime | None) -> str | None:
    """:func:`format_time` for a nullable column: ``None`` stays ``None``."""
    return format_time(moment) if moment else None


def parse_optional_time(text: str | None) -> datetime | None:
    """:func:`parse_time` for a nullable column: ``None`` (or empty) stays ``None``."""
    return parse_time(text) if text else None
