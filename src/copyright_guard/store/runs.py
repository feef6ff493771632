"""Crawl runs: one row per crawl (or per crawler process), with the policy it ran under."""

from __future__ import annotations

import json
import socket
from collections.abc import Callable, Mapping
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from ..core.policy import Policy
from .chain import FINISH_RECORD_FIELDS, canonical_json, finish_record_hash, format_time, run_record_hash
from .db import StoreError, one_line
from .schema import decisions, policies, runs
from .schema_lists import exclusion_list_versions
from .sql import insert_ignoring_duplicates
from .writer import new_id


def record_policy(connection, policy: Policy, now: datetime) -> str:
    """Store the policy's full text once per hash; returns the hash."""
    # Exactly the text Policy.hash hashes, so `audit verify` can re-hash it.
    text = policy.source_text or json.dumps(policy.model_dump(mode="json"), sort_keys=True)
    connection.execute(
        insert_ignoring_duplicates(connection, policies),
        [{"hash": policy.hash, "name": policy.policy.name, "text": text, "first_seen": format_time(now)}],
    )
    return policy.hash


def start_run(
    engine: Engine,
    policy: Policy,
    *,
    crawler: str | None = None,
    software_version: str | None = None,
    now: datetime,
    spider: str | None = None,
    run_id: str | None = None,
    exclusion_lists: Mapping[str, int] | None = None,
    signing_key_id: str | None = None,
    log_key: str | None = None,
    crawl: str | None = None,
) -> str:
    """Record a new run (and its policy); returns the run id for :class:`DecisionWriter`.

    ``crawler`` defaults to the policy's product token and User-Agent; ``software_version`` to
    this copyright-guard's version. ``exclusion_lists`` is ``{list name: version}`` of the lists
    the run checks every URL against (``ExclusionIndex.versions``; ``{}`` when none are in force):
    each is recorded with its content hash and entry count (see :func:`exclusion_list_records`).
    ``None`` records nothing (the run row says "unknown", like runs from before revision 0004).
    ``signing_key_id`` (the Web Bot Auth key id the run signed its requests with) is part of the
    recorded crawler identity: what the sites saw, ``...; Web Bot Auth keyid <id>``.
    ``log_key``: the verifier key (C2SP vkey) of the key that signs the run's checkpoints.
    """
    from .. import __version__

    run_id = run_id or new_id()
    if crawler is None:
        crawler = f"{policy.crawler.product_token} ({policy.crawler.user_agent})"
        if signing_key_id:
            crawler += f"; Web Bot Auth keyid {signing_key_id} ({policy.crawler.key_directory})"
    try:
        with engine.begin() as connection:
            record_policy(connection, policy, now)
            row = {
                "id": run_id,
                "started_at": format_time(now),
                "policy_hash": policy.hash,
                "crawler": crawler,
                "software_version": software_version or f"copyright-guard {__version__}",
                "spider": spider,
                "host": socket.gethostname(),
            }
            if crawl is not None:  # (left out otherwise: a run row as before revision 0007)
                row["crawl"] = crawl
            if exclusion_lists is not None:
                row["exclusion_lists"] = canonical_json(exclusion_list_records(connection, exclusion_lists))
            if log_key is not None:
                row["log_key"] = log_key
            # The run's first decision links to this hash: an edit of the run record breaks the chain.
            row["record_hash"] = run_record_hash(row)
            connection.execute(runs.insert(), [row])
    except SQLAlchemyError as exc:
        raise StoreError(f"cannot record the run in the audit database: {one_line(exc)}") from None
    return run_id


def exclusion_list_records(connection, versions: Mapping[str, int]) -> list[dict]:
    """``[{"list", "version", "sha256", "entry_count"}]`` (sorted by list) for ``{name: version}``.

    Snapshots are append-only (revision 0002's triggers), so looking a version up after the index
    was built from it gives the very snapshot the index holds. ``sha256`` is that of the imported
    bytes, the same hash an ``exclusion.listed`` reason cites (``audit evidence`` shows them).
    """
    if not versions:
        return []
    v = exclusion_list_versions.c
    wanted = {(name, int(version)) for name, version in versions.items()}
    rows = connection.execute(
        select(v.list_name, v.version, v.sha256, v.entry_count).where(v.list_name.in_(sorted(versions)))
    ).all()
    found = {(r.list_name, r.version): r for r in rows if (r.list_name, r.version) in wanted}
    missing = sorted(wanted - found.keys())
    if missing:
        named = ", ".join(f"{name!r} version {version}" for name, version in missing)
        raise StoreError(f"cannot record the run's exclusion lists: no stored snapshot of {named}")
    return [{"list": r.list_name, "version": r.version, "sha256": r.sha256, "entry_count": r.entry_count}
            for r in (found[key] for key in sorted(found))]


def run_exclusion_lists(stored: str | None) -> list[dict] | None:
    """The stored ``runs.exclusion_lists`` text as a list; None for a run that did not record them."""
    return json.loads(stored) if stored is not None else None


def describe_exclusion_lists(recorded: list[dict] | None) -> str:
    """One line for a reviewer: ``blocked v3 (sha256 0123456789ab, 12 entries); ...``."""
    if recorded is None:
        return "not recorded (run started before exclusion-list versions were recorded)"
    if not recorded:
        return "none in force"
    return "; ".join(f"{item['list']} v{item['version']} (sha256 {item['sha256'][:12]}, {item['entry_count']} "
                     f"{'entry' if item['entry_count'] == 1 else 'entries'})" for item in recorded)


def finish_run(engine: Engine, run_id: str, counts: dict | None, now: datetime,
               seal: Callable[[int, str], str | None] | None = None) -> None:
    """Mark the run finished; records the chain's length and last hash (call after writer.close()).

    The recorded length and head hash let ``audit verify`` detect rows cut off the end of the chain.
    The finish record (finish time, counts, length, head) is hashed (``finish_hash``) and, with
    ``seal`` (the run's writer's :meth:`~copyright_guard.store.writer.DecisionWriter.seal`), signed
    with the run's checkpoint key (``finish_note``), so what ``audit runs`` shows is verified too.
    """
    try:
        with engine.begin() as connection:
            last = connection.execute(
                select(decisions.c.seq, decisions.c.row_hash)
                .where(decisions.c.run_id == run_id)
                .order_by(decisions.c.seq.desc())
                .limit(1)
            ).first()
            by_verdict = dict(connection.execute(
                select(decisions.c.verdict, func.count()).where(decisions.c.run_id == run_id).group_by(decisions.c.verdict)
            ).all())
            summary = {**{k: v for k, v in by_verdict.items()}, **(counts or {})}
            record = {"id": run_id, "finished_at": format_time(now),
                      "counts": json.dumps(summary, sort_keys=True, default=str),
                      "decision_count": last.seq if last else 0, "head_hash": last.row_hash if last else None}
            finish_hash = finish_record_hash(record)
            result = connection.execute(
                update(runs).where(runs.c.id == run_id).values(
                    **{name: record[name] for name in FINISH_RECORD_FIELDS}, finish_hash=finish_hash,
                    finish_note=seal(record["decision_count"], finish_hash) if seal is not None else None,
                )
            )
            if result.rowcount == 0:
                raise StoreError(f"no run {run_id!r} in the audit database")
    except SQLAlchemyError as exc:
        raise StoreError(f"cannot finish run {run_id}: {one_line(exc)}") from None
