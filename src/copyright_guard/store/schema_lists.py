"""Exclusion-list tables, on the shared :data:`copyright_guard.store.schema.metadata`.

- ``exclusion_lists``: one row per list name; ``active`` says whether it applies to crawls and
  ``check`` (``lists remove`` only clears it: what excluded what must stay answerable).
- ``exclusion_list_versions``: one immutable snapshot per import (or per ``add_entries`` call),
  numbered 1, 2, ... per list, with the sha256 of the imported bytes (the bytes themselves go to
  the ``evidence`` table, so ``audit`` can show them) and of the canonical entries (to notice an
  unchanged re-import), the import time, the entry count and where it came from.
- ``exclusion_list_entries``: every entry of every snapshot (a full copy per version, so a diff
  or an old decision's citation never depends on later imports), with its line in the source.
- ``exclusion_list_events``: imports, additions, removals and restorations, append-only.
- Times are fixed-width ISO 8601 UTC text, like the audit tables (see :mod:`.schema`).
"""

from __future__ import annotations

from sqlalchemy import Boolean, Column, ForeignKey, Index, Integer, String, Table, Text, UniqueConstraint

from .schema import HASH, TIME, metadata

NAME = String(128)

exclusion_lists = Table(
    "exclusion_lists",
    metadata,
    Column("name", NAME, primary_key=True),
    Column("active", Boolean, nullable=False),
    Column("created_at", TIME, nullable=False),
)

exclusion_list_versions = Table(
    "exclusion_list_versions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("list_name", NAME, ForeignKey("exclusion_lists.name"), nullable=False),
    Column("version", Integer, nullable=False),
    Column("sha256", HASH, nullable=False),  # of the imported bytes (kept in ``evidence``)
    Column("entries_sha256", HASH, nullable=False),  # of the canonical entries
    Column("imported_at", TIME, nullable=False),
    Column("entry_count", Integer, nullable=False),
    Column("source", Text, nullable=False),  # file name, or e.g. "complaint CG-2026-0001"
    Column("format", String(8), nullable=False),  # csv | json | text | api
    UniqueConstraint("list_name", "version"),
)

exclusion_list_entries = Table(
    "exclusion_list_entries",
    metadata,
    Column("version_id", Integer, ForeignKey("exclusion_list_versions.id"), primary_key=True),
    Column("entry", String(253), primary_key=True),  # normalised host, domain or IP
    Column("kind", String(8), nullable=False),  # domain | host | ip
    Column("authority", Text, nullable=False),
    Column("jurisdiction", Text, nullable=False),
    Column("reference", Text, nullable=False),
    Column("listed_at", TIME),
    Column("delisted_at", TIME),
    Column("line", Integer),  # line in the imported file, for a reviewer
    Index(None, "entry"),
)

exclusion_list_events = Table(
    "exclusion_list_events",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("list_name", NAME, ForeignKey("exclusion_lists.name"), nullable=False),
    Column("at", TIME, nullable=False),
    Column("action", String(16), nullable=False),  # import | add | remove | restore
    Column("version", Integer),
    Column("detail", Text, nullable=False),
    Index(None, "list_name", "at"),
)

LIST_TABLES = (exclusion_lists, exclusion_list_versions, exclusion_list_entries, exclusion_list_events)
