"""What was collected, read back for ``copyright-guard recheck``: items, their runs' policies and
the upheld complaints.

A *collected item* is a post-fetch allow decision: the response reached the spider. Its content
facts (sha256 of the body, media type, size, modality; revision 0005) are what a dataset joins
on; decisions recorded before that revision have none, and the purge list says so (null hash).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import NamedTuple

from sqlalchemy import select
from sqlalchemy.engine import Engine

from ..core.complaints.workflow import Status, TargetKind
from ..core.policy import Policy, PolicyError, parse_policy
from ..core.withdrawal import UpheldTarget
from .db import StoreError
from .schema import decisions, policies, runs
from .sql import stream_tuples

__all__ = ["CollectedItem", "CollectedPage", "collected_items", "collected_page", "collected_policies", "run_policies", "upheld_targets"]


class CollectedItem(NamedTuple):  # a tuple: made from the driver's row at no cost (one per item read)
    decision_id: str  # the post-fetch allow decision of the original collection
    run_id: str
    url: str
    origin: str
    registered_domain: str
    purpose: str
    policy_hash: str
    collected_at: str  # stored time text
    content_sha256: str | None
    content_bytes: int | None
    media_type: str | None
    modality: str | None
    etag: str | None = None  # the response's validators (revision 0009; recheck --pages sends them back)
    last_modified: str | None = None


def collected_items(engine: Engine, *, run_ids: Sequence[str] = (), crawl: str | None = None,
                    since: str | None = None, until: str | None = None, policy_hash: str | None = None,
                    by_url: bool = False) -> Iterator[CollectedItem]:
    """Every post-fetch allow in the selection (all runs when none is named; ``crawl``: the runs of
    that crawl, revision 0007; ``policy_hash``: collected under that policy), oldest first - or,
    ``by_url``, sorted by origin, URL and purpose, so that the items of one URL, and the URLs of
    one origin, come together (the database sorts: nothing is held here). ``since`` is inclusive
    and ``until`` exclusive (stored-time text, store.audit.parse_moment). Read in constant memory."""
    c = decisions.c
    query = select(c.id, c.run_id, c.url, c.origin, c.registered_domain, c.purpose, c.policy_hash, c.decided_at,
                   c.content_sha256, c.content_bytes, c.media_type, c.modality, c.etag, c.last_modified)
    query = _selected(query, run_ids=run_ids, crawl=crawl, since=since, until=until)
    if policy_hash is not None:
        query = query.where(c.policy_hash == policy_hash)
    order = (c.origin, c.url, c.purpose) if by_url else ()
    with engine.connect() as connection:
        for row in stream_tuples(connection, query.order_by(*order, c.decided_at, c.run_id, c.seq)):
            yield CollectedItem(*row)


def collected_policies(engine: Engine, *, run_ids: Sequence[str] = (), crawl: str | None = None,
                       since: str | None = None, until: str | None = None) -> list[str]:
    """The policy hashes the items of the selection were collected under (a handful)."""
    query = _selected(select(decisions.c.policy_hash).distinct(), run_ids=run_ids, crawl=crawl, since=since,
                      until=until)
    with engine.connect() as connection:
        return sorted(connection.execute(query).scalars())


def _selected(query, *, run_ids: Sequence[str], crawl: str | None, since: str | None, until: str | None):
    c = decisions.c
    query = query.where(c.stage == "post-fetch", c.verdict == "allow")
    if run_ids:
        query = query.where(c.run_id.in_(list(run_ids)))
    if crawl is not None:
        query = query.where(c.run_id.in_(select(runs.c.id).where(runs.c.crawl == crawl)))
    if since:
        query = query.where(c.decided_at >= since)
    if until:
        query = query.where(c.decided_at < until)
    return query


@dataclass(frozen=True, slots=True)
class CollectedPage:
    """What the post-fetch decision of a collection recorded about the page itself: the reasons
    its headers and metadata gave (stored canonical JSON, parsed), the asset sources examined and
    the HTTP status - what a recheck reuses when the server answers 304 Not Modified."""

    reasons: list
    examined: list
    http_status: int | None


def collected_page(engine: Engine, decision_id: str) -> CollectedPage | None:
    """The recorded page-level evidence of one collection (None: no such decision, or unreadable)."""
    c = decisions.c
    with engine.connect() as connection:
        row = connection.execute(select(c.reasons, c.examined, c.http_status)
                                 .where(c.id == decision_id, c.stage == "post-fetch")).first()
    if row is None:
        return None
    try:
        reasons, examined = json.loads(row.reasons), json.loads(row.examined) if row.examined else []
    except ValueError:
        return None
    if not isinstance(reasons, list) or not isinstance(examined, list):
        return None
    return CollectedPage(reasons, examined, row.http_status)


def unknown_runs(engine: Engine, run_ids: Iterable[str]) -> list[str]:
    wanted = sorted(set(run_ids))
    if not wanted:
        return []
    with engine.connect() as connection:
        found = set(connection.execute(select(runs.c.id).where(runs.c.id.in_(wanted))).scalars())
    return [run_id for run_id in wanted if run_id not in found]


def run_policies(engine: Engine, hashes: Iterable[str]) -> dict[str, Policy]:
    """The policies the collecting runs ran under, parsed from the text the audit log stored with
    them (so the same crawler identity, and so the same robots.txt groups, apply again)."""
    wanted = sorted(set(hashes))
    if not wanted:
        return {}
    with engine.connect() as connection:
        rows = connection.execute(select(policies.c.hash, policies.c.name, policies.c.text)
                                  .where(policies.c.hash.in_(wanted))).all()
    found: dict[str, Policy] = {}
    for row in rows:
        try:
            policy = parse_policy(row.text, f"stored policy {row.name!r} (sha256 {row.hash[:12]})")
        except PolicyError as exc:
            raise StoreError(f"{exc}; give --policy FILE to recheck under another policy") from None
        if policy.hash != row.hash:  # a policy stored as JSON (no source text) hashes differently
            raise StoreError(f"stored policy {row.name!r} no longer hashes to {row.hash[:12]}; "
                             "run `audit verify`, or give --policy FILE")
        found[row.hash] = policy
    missing = [h for h in wanted if h not in found]
    if missing:
        raise StoreError(f"no stored policy text for sha256 {missing[0][:12]}; give --policy FILE")
    return found


def upheld_targets(engine: Engine) -> list[UpheldTarget]:
    """The URL and domain targets of every upheld complaint."""
    from .complaints import list_complaints  # the complaint tables exist from revision 0003 on

    targets = []
    for complaint in list_complaints(engine):
        if complaint.outcome is not Status.UPHELD:
            continue
        for target in complaint.targets:
            if target.kind in (TargetKind.URL, TargetKind.DOMAIN):
                targets.append(UpheldTarget(complaint.reference, target.kind.value, target.value, complaint.decided_at))
    return targets
