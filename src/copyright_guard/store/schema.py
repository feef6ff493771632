"""The audit tables (one schema module; other store modules add their tables to ``metadata``).

Design notes for a reviewer:

- ``decisions`` is append-only: a correction is a new row. Each row carries ``seq`` (1, 2, ... per
  run) and a hash-chain link (``prev_hash`` -> ``row_hash``); see :mod:`.chain` for the exact
  recipe, which ``audit verify`` recomputes.
- Times are stored as fixed-width ISO 8601 UTC text (``2026-11-23T12:00:00.000000Z``): they sort
  and compare as text, and the hashed form is byte-identical on SQLite and PostgreSQL (a
  ``timestamptz`` round-trip would depend on the session time zone).
- URLs are looked up through ``url_key`` (the first 64 bits of the URL's sha256, as a signed
  integer) rather than an index on the URL itself: PostgreSQL cannot index a B-tree value larger
  than ~2.7 kB, crawled URLs can be longer, and a compact key keeps the index of a large log in
  memory (random inserts into a 64-hex-digit index slowed the writer 3x at a million rows).
- ``decision_reasons`` holds one row per (decision, reason code): the index for "every decision
  with reason X". It is derived from ``decisions.reasons``, which is what the hash covers.
- ``evidence`` keeps each distinct body once, keyed by its sha256.
- The two high-volume tables (``decisions``, ``decision_reasons``) carry no foreign-key
  constraints: PostgreSQL checks those row by row with a trigger, which tripled insert time in
  benchmarks/bench_store.py. The writer is their only producer, and ``audit verify`` reports any
  decision whose run does not exist.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    SmallInteger,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)

# Explicit constraint names keep Alembic migrations identical on SQLite and PostgreSQL.
metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

HASH = String(64)  # sha256, lower-case hex
TIME = String(27)  # 2026-11-23T12:00:00.000000Z

policies = Table(
    "policies",
    metadata,
    Column("hash", HASH, primary_key=True),
    Column("name", Text, nullable=False),
    Column("text", Text, nullable=False),
    Column("first_seen", TIME, nullable=False),
)

runs = Table(
    "runs",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("started_at", TIME, nullable=False),
    Column("finished_at", TIME),
    Column("policy_hash", HASH, ForeignKey("policies.hash"), nullable=False),
    Column("crawler", Text, nullable=False),  # product token and User-Agent the sites saw
    Column("software_version", Text, nullable=False),
    Column("spider", Text),
    Column("host", Text),  # the machine, to tell concurrent crawler processes apart
    Column("counts", Text),  # JSON object, written by finish_run
    # Written by finish_run: the chain's length and last hash, so a truncated tail is detected.
    Column("decision_count", Integer),
    Column("head_hash", HASH),
    # Written by start_run (revision 0004): the exclusion-list versions in force for the whole
    # run, as canonical JSON [{"list", "version", "sha256", "entry_count"}, ...] sorted by list.
    # Every decision of the run was checked against exactly these snapshots (they are immutable),
    # so a decision that matched nothing still says which lists it was checked against without
    # repeating them on every row. NULL: a run recorded before revision 0004 (unknown).
    Column("exclusion_lists", Text),
    # Written by start_run (revision 0006): sha256 of the run's canonical record (chain.py
    # run_record_hash), which the run's first decision links to, and the run's checkpoint verifier
    # key (C2SP signed-note vkey). NULL: a run recorded before revision 0006.
    Column("record_hash", HASH),
    Column("log_key", Text),
    # Revision 0007: the name of the crawl the run is one worker of (docs/distributed.md); NULL
    # for a run with no crawl name. Each worker's run keeps its own hash chain.
    Column("crawl", Text, index=True),
    # Revision 0010, written by finish_run: sha256 of the finish record (chain.finish_record_hash:
    # finished_at, counts, decision_count, head_hash) and, for a run with a checkpoint key, that
    # hash signed (a checkpoint note of the whole run with a `run-finish` line). NULL: a run
    # finished before revision 0010, or not finished.
    Column("finish_hash", HASH),
    Column("finish_note", Text),
)

decisions = Table(
    "decisions",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("run_id", String(32), nullable=False),  # runs.id (no FK constraint: see above)
    Column("seq", Integer, nullable=False),
    Column("decided_at", TIME, nullable=False),
    Column("url", Text, nullable=False),
    Column("url_key", BigInteger, nullable=False),  # see url_key() in chain.py
    Column("origin", Text, nullable=False),
    Column("registered_domain", Text, nullable=False),
    Column("stage", String(16), nullable=False),
    Column("purpose", String(32), nullable=False),
    Column("verdict", String(8), nullable=False),
    Column("reasons", Text, nullable=False),  # canonical JSON list of Reason.as_dict()
    Column("policy_hash", HASH, nullable=False),
    Column("prev_hash", HASH, nullable=False),
    Column("row_hash", HASH, nullable=False),
    # Revision 0005 (row format 2, chain.py): the proof of collection. NULL on older rows.
    Column("row_format", SmallInteger),  # NULL = 1
    Column("site_view", HASH),  # site_views.id: the site-wide file snapshots consulted
    Column("examined", Text),  # post-fetch: canonical JSON list of the asset sources read
    Column("content_sha256", HASH),  # post-fetch: sha256 of the body the spider receives
    Column("media_type", Text),
    Column("content_bytes", BigInteger),
    Column("http_status", SmallInteger),
    Column("modality", String(8)),  # text | image | audio | video | other (core/content.py)
    # Revision 0009 (row format 3): the collected response's validators (RFC 9110 §8.8), as sent
    # when well-formed (core/content.py); NULL otherwise and on older rows.
    Column("etag", Text),
    Column("last_modified", Text),
    UniqueConstraint("run_id", "seq"),
    Index(None, "url_key"),
    Index(None, "registered_domain", "decided_at"),
    Index(None, "verdict", "decided_at"),
    Index(None, "decided_at"),
    # Revision 0005: what `audit summary` and the report group by, for post-fetch rows only (a
    # partial index: pre-fetch rows have no modality). Covering, so the per-(modality, domain)
    # GROUP BY reads this index in order instead of sorting the table (benchmarks/bench_summary.py).
    Index("ix_decisions_collected", "modality", "registered_domain", "verdict", "stage", "content_bytes",
          "decided_at", "run_id", sqlite_where=text("modality IS NOT NULL"),
          postgresql_where=text("modality IS NOT NULL")),
)

decision_reasons = Table(
    "decision_reasons",
    metadata,
    Column("decision_id", String(32), primary_key=True),  # decisions.id (no FK constraint)
    Column("code", String(64), primary_key=True),
    Index(None, "code"),
    sqlite_with_rowid=False,  # small rows keyed by their primary key: one B-tree fewer per insert
)

evidence = Table(
    "evidence",
    metadata,
    Column("sha256", HASH, primary_key=True),
    Column("body", LargeBinary, nullable=False),
    Column("size", Integer, nullable=False),
    # Where these bytes were first seen; every reason also carries its own evidence reference.
    Column("source", Text, nullable=False),
    Column("url", Text),
    Column("final_url", Text),
    Column("status", Integer),
    Column("fetched_at", TIME),
    Column("stored_at", TIME, nullable=False),
)

# A site-wide file as fetched once (robots.txt, tdmrep.json, ai.txt, an RSL licence), including a
# 404 or an unreachable answer. Insert-only; the id is chain.snapshot_id() of the export record
# (kind, url, outcome, status or fault, sha256, fetched_at), so it is written once per fetch however many
# decisions cite it, and a changed field no longer matches the id the chain covers. The body
# bytes are in ``evidence`` under ``sha256`` (NULL: no body, e.g. a connection failure).
site_files = Table(
    "site_files",
    metadata,
    Column("id", HASH, primary_key=True),
    Column("kind", String(16), nullable=False),
    Column("origin", Text, nullable=False),
    Column("url", Text, nullable=False),
    Column("outcome", String(16), nullable=False),  # parsed | unavailable | unreachable
    Column("status", Integer),  # the HTTP status; NULL when there was no HTTP answer
    Column("fault", Text),  # then why not ("connection refused"); the export's status carries it
    Column("sha256", HASH),
    Column("fetched_at", TIME, nullable=False),
    Column("stored_at", TIME, nullable=False),
)

# The set of snapshots decisions were made on: one row per distinct set (per origin and fetch),
# never per decision. ``files`` is the canonical JSON list of site_files ids in the order
# consulted; the id is chain.site_view_id() of that list. Insert-only.
site_views = Table(
    "site_views",
    metadata,
    Column("id", HASH, primary_key=True),
    Column("files", Text, nullable=False),
    Column("stored_at", TIME, nullable=False),
)


checkpoints = Table(
    "checkpoints",
    metadata,
    # One signed checkpoint of a run's Merkle tree (store/checkpoints.py): the tree of the run's
    # first tree_size decisions has root root_hash; note is the C2SP signed note, verbatim.
    Column("run_id", String(32), primary_key=True),
    Column("tree_size", BigInteger, primary_key=True),
    Column("root_hash", HASH, nullable=False),
    Column("signed_at", TIME, nullable=False),
    Column("note", Text, nullable=False),
)

merkle_nodes = Table(
    "merkle_nodes",
    metadata,
    # Revision 0008: the hash of the complete subtree over leaves [node_index * 2^level,
    # (node_index + 1) * 2^level) of a run's Merkle tree, for level >= merkle.NODE_LEVEL (store/nodes.py).
    # Written with the rows it covers; what `audit prove` reads instead of the whole run.
    Column("run_id", String(32), primary_key=True),
    Column("level", SmallInteger, primary_key=True),
    Column("node_index", BigInteger, primary_key=True),
    Column("hash", HASH, nullable=False),
)

AUDIT_TABLES = (policies, runs, decisions, decision_reasons, evidence, site_files, site_views, checkpoints,
                merkle_nodes)
