"""The hash chain over decision rows, and the row format it covers.

Recipe (documented in README "The audit log" and docs/proof-of-collection.md so a reviewer can
recompute it with any tool)::

    content  = JSON array, compact separators, UTF-8, of
               [id, run_id, seq, decided_at, url, origin, registered_domain, stage, purpose,
                verdict, policy_hash, reasons]          # reasons: the stored JSON text, verbatim
             + (row format 2 and 3) [row_format, site_view, examined, content_sha256,
                media_type, content_bytes, http_status, modality]
             + (row format 3 only) [etag, last_modified]
    row_hash = sha256(content + prev_hash).hexdigest()
    prev_hash of a run's first row (seq 1) = the run's record hash (below); GENESIS (64 zeros)
                                             for runs recorded before revision 0006

    run record = JSON array, compact, UTF-8, of
               [id, started_at, policy_hash, crawler, software_version, spider, host,
                exclusion_lists, log_key, crawl]        # exclusion_lists: the stored text
    record_hash = sha256("copyright-guard run record v1\n" + run record).hexdigest()

``content`` (:func:`canonical_entry`) is also the entry of the run's Merkle tree (store/merkle.py,
RFC 9162 §2.1.1: leaf hash = SHA-256(0x00 || entry)). It is the ONE serialisation of a decision
row: the chain, the tree, exports and proofs all derive from it, so a field added to
``CHAIN_FIELDS`` flows into every one of them.

Row format 1 (``row_format`` NULL: every row written before revision 0005) is the first twelve
fields alone, so old rows keep verifying unchanged. Format 2 appends the proof of collection:
``site_view`` names the site-wide file snapshots the decision was made on (:func:`snapshot_id`,
:func:`site_view_id`: content hashes, so the chain covers every snapshot's fields and body hash),
``examined`` the asset sources read (canonical JSON list, post-fetch) and the ``content_*`` fields
the response judged. :func:`canonical_entry` is the one canonical form of a row; anything that hashes
a row (the chain, a Merkle leaf) derives from it. Format 3 (revision 0009) appends the response's
validators, ``etag`` and ``last_modified``, to a post-fetch row that has one (what ``recheck
--pages`` sends back in a conditional request); other rows stay format 2.

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

def _array_encoder(encoder: json.JSONEncoder):
    """``encoder.encode`` for a list or tuple, without building the C encoder again on every call
    (what JSONEncoder.iterencode does): the same C function with the same arguments, so the same
    text - except the circular-reference check, which a flat array of scalars (a row) cannot need
    and whose bookkeeping a failed call could leave behind. Where the C accelerator is missing,
    ``encoder.encode`` itself."""
    from json.encoder import c_make_encoder, encode_basestring

    if c_make_encoder is None or encoder.indent is not None:
        return encoder.encode
    make = c_make_encoder(None, encoder.default, encode_basestring,
                          encoder.indent, encoder.key_separator, encoder.item_separator, encoder.sort_keys,
                          encoder.skipkeys, encoder.allow_nan)
    join = "".join
    return lambda values: join(make(values, 0))


# canonical_entry's serialisation: json.dumps(values, ensure_ascii=False, separators=(",", ":")).
dumps_array = _dumps = _array_encoder(json.JSONEncoder(ensure_ascii=False, separators=(",", ":")))
_canonical = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode


def canonical_json(value: object) -> str:
    """Sorted keys, compact separators, UTF-8: the one serialisation of stored JSON."""
    return _canonical(value)


# Appended to CHAIN_FIELDS in row format 2 (revision 0005); NULL/absent on format-1 rows.
PROOF_FIELDS = (
    "row_format",
    "site_view",
    "examined",
    "content_sha256",
    "media_type",
    "content_bytes",
    "http_status",
    "modality",
)
# Appended in row format 3 (revision 0009): the validators of the response a post-fetch decision
# judged (core/content.py). The writer writes format 3 only for a row that has one, so every other
# row keeps format 2 and its entry; older rows verify unchanged.
VALIDATOR_FIELDS = ("etag", "last_modified")
ALL_FIELDS = (*CHAIN_FIELDS, *PROOF_FIELDS, *VALIDATOR_FIELDS)  # a stored row's tuple order for canonical_entry()
# The stored columns canonical_entry() reads, in order: what the writer, verify and proofs select
# to rebuild a row's entry (and so its chain link and Merkle leaf).
ENTRY_FIELDS = ALL_FIELDS
ROW_FORMAT = 2  # what the writer writes now
ROW_FORMAT_VALIDATORS = 3  # ... for a post-fetch row with an ETag or a Last-Modified
_N_CHAIN = len(CHAIN_FIELDS)
_N_PROOF = _N_CHAIN + len(PROOF_FIELDS)
_N_ALL = len(ALL_FIELDS)


def canonical_entry(row: dict | tuple) -> str:
    """The canonical content of one decision row (the text the chain hashes before ``prev_hash``).

    ``row``: a mapping with ALL_FIELDS (CHAIN_FIELDS suffice for a format-1 row), or a tuple in
    CHAIN_FIELDS order (format 1) or ALL_FIELDS order. The row's own ``row_format`` picks the form.
    """
    if isinstance(row, dict):
        values = [row[name] for name in CHAIN_FIELDS]
        form = row.get("row_format")
        if form:
            values += [row.get(name) for name in PROOF_FIELDS]
            if _validators(form):
                values += [row.get(name) for name in VALIDATOR_FIELDS]
    else:
        values = row[:entry_width(row[_N_CHAIN] if len(row) > _N_CHAIN else None)]
    return _dumps(values)


def entry_width(form: object) -> int:
    """How many leading fields of a stored row (ENTRY_FIELDS order) a row of this ``row_format``
    puts in its canonical entry: the one place that maps a format to its fields."""
    if not form:
        return _N_CHAIN
    return _N_ALL if _validators(form) else _N_PROOF


def _validators(form: object) -> bool:
    """Whether a row of this format carries the validator fields (an exported row's format may be
    anything: only a real 3 adds them, anything else then fails to verify, as it should)."""
    return type(form) is int and form >= ROW_FORMAT_VALIDATORS


def row_hash(row: dict | tuple, prev_hash: str) -> str:
    """The hash of one decision row (see :func:`canonical_entry` for what ``row`` may be)."""
    return hashlib.sha256((canonical_entry(row) + prev_hash).encode("utf-8")).hexdigest()


def snapshot_id(record: dict) -> str:
    """A site-wide file snapshot's id: sha256 of the canonical JSON of its ``consulted`` record
    ``{"kind", "url", "outcome", "status", "sha256", "fetched_at"}`` (exactly the export's object,
    so a copy of an export can be checked without the database)."""
    return hashlib.sha256(canonical_json(record).encode("utf-8")).hexdigest()


def site_view_id(snapshot_ids: list[str] | tuple[str, ...]) -> str:
    """The id of the set of snapshots one decision was made on: sha256 of their ids' canonical
    JSON list, in the order consulted (robots.txt, tdmrep.json, ai.txt, RSL licences)."""
    return hashlib.sha256(canonical_json(list(snapshot_ids)).encode("utf-8")).hexdigest()


def entry_and_link(row: tuple, prev_hash: str) -> tuple[bytes, str]:
    """The row's Merkle entry (UTF-8 :func:`canonical_entry`) and its chain link, serialising once."""
    entry = canonical_entry(row).encode("utf-8")
    return entry, hashlib.sha256(entry + prev_hash.encode("ascii")).hexdigest()


_string = json.encoder.encode_basestring  # what _dumps writes for a str (ensure_ascii=False): the same function


def _value(value: object) -> str:
    """One value as :func:`canonical_entry` writes it inside the array."""
    if value is None:
        return "null"
    kind = type(value)
    if kind is str:
        return _string(value)
    if kind is int:
        return int.__repr__(value)
    return _dumps(value)


class EntryMaker:
    """:func:`entry_and_link` for the writer's hot path: the same bytes, built from cached pieces.

    Consecutive rows repeat most of their fields (run, origin, stage, verdict, policy, the reasons
    text, the site view); their JSON is made once per distinct value instead of once per row, and
    only the id, seq, time, URL and content facts are encoded per row. tests/store/test_chain.py
    checks it against :func:`canonical_entry` on generated rows; a format-1 row takes the plain path.
    """

    _LIMIT = 4096  # distinct pieces remembered (a few per origin); the caches start over past it

    def __init__(self) -> None:
        self._strings: dict[str, str] = {}  # run id -> JSON
        self._at: tuple = (None, "")  # the last decided_at text and its JSON
        self._places: dict[tuple, str] = {}  # (origin, registered_domain) -> JSON of both
        self._middles: dict[tuple, str] = {}  # (stage ... examined) -> JSON of those fields

    def entry_and_link(self, row: tuple, prev_hash: str) -> tuple[bytes, str]:
        if not row[_N_CHAIN]:  # format 1: not written any more, no need to be fast
            return entry_and_link(row, prev_hash)
        strings = self._strings
        run = strings.get(row[1])
        if run is None:
            run = self._remember(strings, row[1], _value(row[1]))
        if row[3] == self._at[0]:  # a recheck's rows share one time; a crawl's rarely do
            at = self._at[1]
        else:
            at = _value(row[3])
            self._at = (row[3], at)
        key = (row[5], row[6])
        place = self._places.get(key)
        if place is None:
            place = self._remember(self._places, key, f"{_value(row[5])},{_value(row[6])}")
        key = row[7:_N_CHAIN + 3]  # stage, purpose, verdict, policy_hash, reasons, row_format, site_view, examined
        middle = self._middles.get(key)
        if middle is None:
            middle = self._remember(self._middles, key, ",".join(map(_value, key)))
        tail = row[_N_CHAIN + 3:entry_width(row[_N_CHAIN])]
        facts = _NULL_FACTS if tail == _NO_FACTS else ",".join(map(_value, tail))
        text = f"[{_value(row[0])},{run},{_value(row[2])},{at},{_value(row[4])},{place},{middle},{facts}]"
        entry = text.encode("utf-8")
        return entry, hashlib.sha256(entry + prev_hash.encode("ascii")).hexdigest()

    def _remember(self, cache: dict, key, value: str) -> str:
        if len(cache) >= self._LIMIT:
            cache.clear()
        cache[key] = value
        return value


_NO_FACTS = (None,) * (len(PROOF_FIELDS) - 3)  # no content facts (a pre-fetch or recheck row)
_NULL_FACTS = ",".join(["null"] * len(_NO_FACTS))


# The run columns start_run writes, in the order the run record hash covers them.
RUN_RECORD_FIELDS = ("id", "started_at", "policy_hash", "crawler", "software_version", "spider", "host",
                     "exclusion_lists", "log_key", "crawl")
_RUN_RECORD_TAG = "copyright-guard run record v1\n"


def run_record_hash(run: dict) -> str:
    """sha256 of a run's start record (a mapping with RUN_RECORD_FIELDS); the chain starts from it."""
    content = _RUN_RECORD_TAG + _dumps([run.get(name) for name in RUN_RECORD_FIELDS])
    return hashlib.sha256(content.encode("utf-8")).hexdigest()


# The run columns finish_run writes, in the order the finish hash covers them (after the run id).
FINISH_RECORD_FIELDS = ("finished_at", "counts", "decision_count", "head_hash")
_FINISH_RECORD_TAG = "copyright-guard run finish v1\n"


def finish_record_hash(run: dict) -> str:
    """sha256 of a run's finish record (``id`` and FINISH_RECORD_FIELDS, ``counts`` as the stored
    JSON text): what `audit runs` and `audit summary` show of a finished run. The chain's length and
    head hash bind it to the run's decisions; the run's signed finish note binds it to its key."""
    content = _FINISH_RECORD_TAG + _dumps([run.get(name) for name in ("id", *FINISH_RECORD_FIELDS)])
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
