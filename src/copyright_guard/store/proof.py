"""The proof of collection as records: site-wide file snapshots and the content facts of a decision.

One shape for every output (``audit export``, ``explain --json``, ``search --json``, reports), the
export contract of docs/proof-of-collection.md:

- ``consulted``: ``[{"kind", "url", "outcome", "status", "sha256", "fetched_at"}, ...]`` - the
  site-wide file snapshots the decision was made on (``status``: the HTTP status, or the fault when
  there was no HTTP answer; ``sha256`` null when there was no body);
- ``content``: ``{"sha256", "media_type", "bytes", "modality"}`` of the response a post-fetch
  decision judged, null on pre-fetch decisions (and on decisions recorded before revision 0005).
"""

from __future__ import annotations

import json
from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.engine import Connection

from .schema import site_files, site_views

CONTENT_COLUMNS = ("content_sha256", "media_type", "content_bytes", "modality")
CONTENT_KEYS = ("sha256", "media_type", "bytes", "modality")  # the export contract's names


def consulted_record(row) -> dict:
    """A site_files row as the ``consulted`` object (what chain.snapshot_id hashes)."""
    return {
        "kind": row["kind"], "url": row["url"], "outcome": row["outcome"],
        "status": row["status"] if row["status"] is not None else row["fault"],
        "sha256": row["sha256"], "fetched_at": row["fetched_at"],
    }


def consulted_for_views(connection: Connection, views: Iterable[str]) -> dict[str, list[dict]]:
    """The ``consulted`` records of each site view, in the order they were consulted."""
    wanted_views = sorted({v for v in views if v})
    lists: dict[str, list[str]] = {}
    for start in range(0, len(wanted_views), 500):
        for row in connection.execute(select(site_views.c.id, site_views.c.files)
                                      .where(site_views.c.id.in_(wanted_views[start:start + 500]))):
            lists[row.id] = json.loads(row.files)
    wanted = sorted({i for ids in lists.values() for i in ids})
    snapshots: dict[str, dict] = {}
    for start in range(0, len(wanted), 500):
        for row in connection.execute(select(site_files).where(site_files.c.id.in_(wanted[start:start + 500]))):
            snapshots[row.id] = consulted_record(row._mapping)
    return {view: [snapshots[i] for i in ids if i in snapshots] for view, ids in lists.items()}


def content_object(record: dict) -> dict | None:
    """The ``content`` object of a decision row (a mapping with the content_* columns)."""
    if record.get("content_sha256") is None:
        return None
    return {key: record[name] for key, name in zip(CONTENT_KEYS, CONTENT_COLUMNS)}


def with_proof(record: dict, consulted: dict[str, list[dict]]) -> dict:
    """A decision row for JSON output: ``consulted`` and ``content`` in place of the raw columns
    (``examined`` parsed; ``site_view``, ``row_format`` and ``http_status`` kept: the chain covers them)."""
    shaped = {k: v for k, v in record.items() if k not in CONTENT_COLUMNS}
    if isinstance(shaped.get("examined"), str):
        shaped["examined"] = json.loads(shaped["examined"])
    shaped["consulted"] = consulted.get(record.get("site_view") or "", [])
    shaped["content"] = content_object(record)
    return shaped


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
