"""The hash chain over decision rows, and the row format it covers.

Recipe (documented in README "The audit log" so a reviewer can recompute it with any tool)::

    content  = JSON array, compact separators, UTF-8, of
               [id, run_id, seq, decided_at, url, origin, registered_domain, stage, purpose,
                verdict, policy_hash, reasons]          # reasons: the stored JSON text, verbatim
    row_hash = sha256(content + prev_hash).hexdigest()
    prev_hash of a run's first row (seq 1) = the run's record hash (below); GENESIS (64 zeros)
                                             for runs recorded before revision 0006

    run record = JSON array, compact, UTF-8, of
               [id, started_at, policy_hash, crawler, software_version, spider, host,
                exclusion_lists, log_key]               # exclusion_lists: the stored text
    record_hash = sha256("copyright-guard run record v1\n" + run record).hexdigest()

``content`` (:func:`canonical_entry`) is also the entry of the run's Merkle tree (store/merkle.py,
RFC 9162 §2.1.1: leaf hash = SHA-256(0x00 || entry)). It is the ONE serialisation of a decision
row: the chain, the tree, exports and proofs all derive from it, so a field added to
``CHAIN_FIELDS`` flows into every one of them.

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

# The stored columns canonical_entry() reads, in order: what the writer, verify and proofs select
# to rebuild a row's entry. (Issue 10's row format 2 appends its proof fields here.)
ENTRY_FIELDS = CHAIN_FIELDS

_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
_canonical = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode


def canonical_json(value: object) -> str:
    """Sorted keys, compact separators, UTF-8: the one serialisation of stored JSON."""
    return _canonical(value)


def canonical_entry(row: dict | tuple) -> str:
    """The canonical content of one decision row (the module docstring's ``content``);
    ``row`` is a mapping with CHAIN_FIELDS or a tuple in that order."""
    values = [row[name] for name in CHAIN_FIELDS] if isinstance(row, dict) else row
    return _dumps(values)


def row_hash(row: dict | tuple, prev_hash: str) -> str:
    """The hash-chain link of one decision row (see :func:`canonical_entry` for ``row``)."""
    return hashlib.sha256((canonical_entry(row) + prev_hash).encode("utf-8")).hexdigest()


def entry_and_link(row: tuple, prev_hash: str) -> tuple[bytes, str]:
    """The row's Merkle entry (UTF-8 :func:`canonical_entry`) and its chain link, serialising once."""
    entry = canonical_entry(row).encode("utf-8")
    return entry, hashlib.sha256(entry + prev_hash.encode("ascii")).hexdigest()


# The run columns start_run writes, in the order the run record hash covers them.
RUN_RECORD_FIELDS = ("id", "started_at", "policy_hash", "crawler", "software_version", "spider", "host",
                     "exclusion_lists", "log_key")
_RUN_RECORD_TAG = "copyright-guard run record v1\n"


def run_record_hash(run: dict) -> str:
    """sha256 of a run's start record (a mapping with RUN_RECORD_FIELDS); the chain starts from it."""
    content = _RUN_RECORD_TAG + _dumps([run.get(name) for name in RUN_RECORD_FIELDS])
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
