"""``audit verify``: recompute each run's hash chain and name the first broken link.

Walking a run in ``seq`` order, every row must (a) hash to its ``row_hash`` given its
``prev_hash`` (chain.py has the recipe), (b) link to the previous row's ``row_hash`` (GENESIS for
seq 1), and (c) follow the previous ``seq`` by one. The first row that breaks a rule is classified:

- **edited**: the link is right but the content no longer matches its hash (or only the stored
  link field was changed, or the row was rewritten with a recomputed hash, so the next row's link
  points at the original);
- **inserted**: the row links to the row *two* back, so the row before it was slipped in (or the
  chain goes on past the length recorded when the run finished);
- **deleted**: ``seq`` jumps, or the row links to a hash no row has (or the chain stops short of
  the recorded length and head hash of a finished run);
- **reordered**: the row links to a row that exists in the run but elsewhere.

A chain recomputed wholesale by someone with write access cannot be told from the original by the
database alone; ``audit runs`` prints each finished run's head hash so it can be kept elsewhere.

A run whose chain is intact is also checked against its record of the exclusion lists in force
(``runs.exclusion_lists``, not chained: README "The audit log" says why): every (list, version)
it names must be a stored snapshot with the same sha256 and entry count, or the run is reported
**edited**. A swap to another genuine snapshot cannot be told this way.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.engine import Engine

from .chain import ALL_FIELDS, GENESIS, row_hash, site_view_id, snapshot_id
from .proof import consulted_record
from .schema import decisions, evidence, runs, site_files, site_views
from .schema_lists import exclusion_list_versions
from .sql import stream_tuples

_COLUMNS = [decisions.c[name] for name in ALL_FIELDS] + [decisions.c.prev_hash, decisions.c.row_hash]
_N = len(ALL_FIELDS)
_SEQ = ALL_FIELDS.index("seq")
_ID = ALL_FIELDS.index("id")
_VIEW = ALL_FIELDS.index("site_view")


@dataclass(frozen=True)
class Break:
    kind: str  # edited | deleted | inserted | reordered
    seq: int | None
    decision_id: str | None
    message: str


@dataclass(frozen=True)
class RunCheck:
    run_id: str
    rows: int
    finished: bool
    broken: Break | None = None

    @property
    def ok(self) -> bool:
        return self.broken is None


def verify_chain(
    run_id: str,
    rows: Iterable[tuple],
    *,
    recorded_count: int | None = None,
    recorded_head: str | None = None,
    find_hash: Callable[[str], int | None] = lambda _hash: None,
) -> RunCheck:
    """Check one run. ``rows``: tuples of chain.ALL_FIELDS + (prev_hash, row_hash), in seq order.

    ``find_hash(h)`` returns the seq of the run's row whose row_hash is ``h`` (to tell a reordered
    row from a deleted one); ``recorded_*`` come from the run's finish record, if any.
    """
    expected_prev, expected_seq = GENESIS, 1
    before_prev = None  # row_hash of the row before the previous one
    previous = None  # (seq, id) of the previous row
    count = 0
    for row in rows:
        count += 1
        content, prev_hash, stored = row[:_N], row[_N], row[_N + 1]
        seq, decision_id = content[_SEQ], content[_ID]
        if prev_hash == expected_prev and seq == expected_seq and row_hash(content, prev_hash) == stored:
            before_prev, expected_prev, expected_seq, previous = expected_prev, stored, seq + 1, (seq, decision_id)
            continue
        broken = _classify(content, prev_hash, stored, expected_prev, expected_seq, before_prev, previous, find_hash)
        return RunCheck(run_id, count, recorded_count is not None, broken)
    last_seq = expected_seq - 1
    if recorded_count is not None:
        recorded = f"the run finished with {recorded_count} rows, head hash {recorded_head}"
        if last_seq < recorded_count:
            return RunCheck(run_id, count, True, Break(
                "deleted", last_seq + 1, None, f"deleted: the chain ends at seq {last_seq} but {recorded}"))
        if last_seq > recorded_count:
            return RunCheck(run_id, count, True, Break(
                "inserted", recorded_count + 1, None,
                f"inserted: seq {recorded_count + 1}..{last_seq} were added after the run finished ({recorded})"))
        if recorded_head is not None and recorded_head != expected_prev:
            return RunCheck(run_id, count, True, Break(
                "edited", last_seq, None, f"edited: the chain was recomputed; its head differs from the record ({recorded})"))
    return RunCheck(run_id, count, recorded_count is not None)


def _classify(content, prev_hash, stored, expected_prev, expected_seq, before_prev, previous, find_hash) -> Break:
    seq, decision_id = content[_SEQ], content[_ID]
    where = f"row seq {seq} (decision {decision_id})"
    if previous is not None and seq == previous[0]:
        return Break("inserted", seq, decision_id, f"inserted: {where} repeats the seq of decision {previous[1]}")
    if prev_hash == expected_prev:
        return Break("edited", seq, decision_id, f"edited: {where} no longer matches its hash")
    if row_hash(content, expected_prev) == stored:
        return Break("edited", seq, decision_id, f"edited: the link field (prev_hash) of {where} was changed")
    if previous is not None and prev_hash == before_prev:
        return Break(
            "inserted", previous[0], previous[1],
            f"inserted: row seq {previous[0]} (decision {previous[1]}) is not part of the chain; "
            f"seq {seq} links past it",
        )
    if seq > expected_seq and row_hash(content, prev_hash) == stored:
        missing = f"seq {expected_seq}" if seq == expected_seq + 1 else f"seq {expected_seq}..{seq - 1}"
        return Break("deleted", expected_seq, None, f"deleted: {missing} missing before {where}")
    elsewhere = find_hash(prev_hash)
    if elsewhere is not None:
        return Break("reordered", seq, decision_id, f"reordered: {where} links to seq {elsewhere}, which now sits elsewhere")
    if previous is not None and seq == expected_seq and row_hash(content, prev_hash) == stored:
        # This row is intact and in place, but the row before it is not the one it was chained to.
        return Break(
            "edited", previous[0], previous[1],
            f"edited: row seq {previous[0]} (decision {previous[1]}) was rewritten with a recomputed hash; "
            f"seq {seq} still links to the original",
        )
    return Break("deleted", expected_seq, decision_id, f"deleted: {where} links to a row that is no longer there")


def verify(engine: Engine, run_id: str | None = None) -> Iterator[RunCheck]:
    """Check every run (or one), in start order; streams the decisions (constant memory)."""
    with engine.connect() as connection:
        query = select(runs.c.id, runs.c.decision_count, runs.c.head_hash, runs.c.exclusion_lists).order_by(runs.c.started_at, runs.c.id)
        if run_id:
            query = query.where(runs.c.id == run_id)
        known = connection.execute(query).all()
        if run_id and not known:
            raise LookupError(f"no run {run_id!r} in the audit database")
        for run in known:
            rows = stream_tuples(connection, select(*_COLUMNS).where(decisions.c.run_id == run.id).order_by(decisions.c.seq))
            views: set[str] = set()

            def find_hash(value: str, run=run.id) -> int | None:
                return connection.execute(
                    select(decisions.c.seq).where(decisions.c.run_id == run, decisions.c.row_hash == value).limit(1)
                ).scalar()

            check = verify_chain(run.id, _noting_views(rows, views), recorded_count=run.decision_count,
                                 recorded_head=run.head_hash, find_hash=find_hash)
            rows.close()
            if check.ok and views:
                problem = snapshots_problem(connection, views)
                if problem:
                    check = RunCheck(check.run_id, check.rows, check.finished, Break("edited", None, None, problem))
            if check.ok and run.exclusion_lists is not None:
                problem = _lists_problem(connection, run.exclusion_lists)
                if problem:
                    check = RunCheck(check.run_id, check.rows, check.finished, Break("edited", None, None, problem))
            yield check
        if not run_id:
            orphans = connection.execute(
                select(decisions.c.id, decisions.c.run_id, decisions.c.seq)
                .where(decisions.c.run_id.not_in(select(runs.c.id))).limit(1)
            ).first()
            if orphans:
                yield RunCheck(orphans.run_id, 0, False, Break(
                    "inserted", orphans.seq, orphans.id,
                    f"inserted: decision {orphans.id} belongs to run {orphans.run_id}, which was never started",
                ))


def _noting_views(rows: Iterable[tuple], views: set[str]) -> Iterator[tuple]:
    for row in rows:
        view = row[_VIEW]
        if view is not None:
            views.add(view)
        yield row


def snapshots_problem(connection, view_ids: set[str]) -> str | None:
    """Why the site-wide file snapshots cited by a run's decisions do not prove what they claim.

    The chain covers each decision's ``site_view`` id; that id must be the hash of the view's list
    of snapshot ids (chain.site_view_id), each snapshot's id the hash of its fields
    (chain.snapshot_id), and each snapshot's bytes in ``evidence`` must hash to its ``sha256``.
    """
    wanted = sorted(view_ids)
    views: dict[str, str] = {}
    for start in range(0, len(wanted), 500):
        for row in connection.execute(select(site_views.c.id, site_views.c.files)
                                      .where(site_views.c.id.in_(wanted[start:start + 500]))):
            views[row.id] = row.files
    snapshot_ids: set[str] = set()
    for view in wanted:
        if view not in views:
            return f"deleted: site view {view[:12]} cited by a decision is not stored"
        try:
            ids = json.loads(views[view])
        except ValueError:
            return f"edited: site view {view[:12]} is not readable"
        if site_view_id(ids) != view:
            return f"edited: site view {view[:12]} no longer lists the snapshots it was recorded with"
        snapshot_ids.update(ids)
    wanted = sorted(snapshot_ids)
    found = {}
    for start in range(0, len(wanted), 500):
        for row in connection.execute(select(site_files).where(site_files.c.id.in_(wanted[start:start + 500]))):
            found[row.id] = row
    for ident in wanted:
        row = found.get(ident)
        if row is None:
            return f"deleted: site-wide file snapshot {ident[:12]} cited by a decision is not stored"
        if snapshot_id(consulted_record(row._mapping)) != ident:
            return f"edited: site-wide file snapshot {ident[:12]} ({row.kind} {row.url}) no longer matches its id"
        if row.sha256 is not None:
            body = connection.execute(select(evidence.c.body).where(evidence.c.sha256 == row.sha256)).scalar()
            if body is None:
                return f"deleted: the bytes of {row.kind} {row.url} (sha256 {row.sha256[:12]}) are not stored"
            if hashlib.sha256(body).hexdigest() != row.sha256:
                return f"edited: the stored bytes of {row.kind} {row.url} no longer hash to {row.sha256[:12]}"
    return None


def _lists_problem(connection, recorded: str) -> str | None:
    """Why a run's record of the exclusion lists in force does not match the stored snapshots."""
    try:
        items = json.loads(recorded)
        wanted = {(item["list"], item["version"]): (item["sha256"], item["entry_count"]) for item in items}
    except (ValueError, TypeError, KeyError):
        return "edited: the run's record of the exclusion lists in force is not readable"
    if not wanted:
        return None
    v = exclusion_list_versions.c
    stored = {
        (row.list_name, row.version): (row.sha256, row.entry_count)
        for row in connection.execute(
            select(v.list_name, v.version, v.sha256, v.entry_count).where(v.list_name.in_(sorted({n for n, _ in wanted})))
        )
    }
    for (name, version), (sha256, count) in sorted(wanted.items()):
        if stored.get((name, version)) != (sha256, count):
            return (f"edited: the run records exclusion list {name!r} version {version} (sha256 {str(sha256)[:12]}, "
                    f"{count} entries), which does not match any stored snapshot")
    return None
