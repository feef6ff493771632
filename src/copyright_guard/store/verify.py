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

Besides the chain, ``audit verify`` checks everything the reviewer commands show, one function per
kind of check (``check_*`` below; a new table gets its own function and a line in :func:`verify`):

- the **run record** (crawler, start time, policy, host, exclusion lists, checkpoint key): its
  hash, which the run's first decision links to (chain.py);
- the **derived index data**: every ``url_key`` against its URL (``explain`` looks URLs up by it)
  and the ``decision_reasons`` rows against the reasons each decision holds (``search --reason``);
- every **policy text** a run or decision cites against its sha256, and every **evidence body**
  against its sha256 and size (``explain`` and ``audit evidence`` show them), and that each one
  cited still exists;
- the run's **signed checkpoints** (store/checkpoints.py): each must be signed by the run's key and
  match the Merkle root of that many rows; rows after the last checkpoint are reported as the
  unanchored tail. With ``checkpoints_file`` (``--checkpoints``), checkpoints held outside the
  database are checked too: a deleted tail, a deleted run, an appended forgery or a recomputed
  tree all fail there, which the database alone cannot show.

A chain recomputed wholesale by someone with write access cannot be told from the original by the
database alone: that is what checkpoints kept outside it are for (docs/audit-integrity.md).

A run whose chain is intact is also checked against its record of the exclusion lists in force
(``runs.exclusion_lists``, not chained: README "The audit log" says why): every (list, version)
it names must be a stored snapshot with the same sha256 and entry count, or the run is reported
**edited**. A swap to another genuine snapshot cannot be told this way.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.engine import Engine

from ..core.model import sha256_hex
from .db import one_line
from .chain import (
    ENTRY_FIELDS,
    GENESIS,
    RUN_RECORD_FIELDS,
    canonical_entry,
    dumps_array,
    entry_width,
    entry_and_link,
    finish_record_hash,
    row_hash,
    run_record_hash,
    site_view_id,
    snapshot_id,
    url_key,
)
from .checkpoints import origin_for, run_of_origin
from .checkpoints import stored as stored_checkpoints
from .merkle import TreeBuilder, leaf_hash
from .nodes import NodeCheck
from .nodes import stored_in_order as stored_nodes
from .note import Checkpoint, NoteError, open_note, parse_vkey, split_notes
from .proof import consulted_record
from .schema import decision_reasons, decisions, evidence, policies, runs, site_files, site_views
from .schema_lists import exclusion_list_versions
from .sql import stream_batches, stream_tuples

_COLUMNS = [decisions.c[name] for name in ENTRY_FIELDS] + [decisions.c.prev_hash, decisions.c.row_hash, decisions.c.url_key]
_N = len(ENTRY_FIELDS)
_SEQ = ENTRY_FIELDS.index("seq")
_ID = ENTRY_FIELDS.index("id")
_URL = ENTRY_FIELDS.index("url")
_REASONS = ENTRY_FIELDS.index("reasons")
_POLICY = ENTRY_FIELDS.index("policy_hash")
_URL_KEY = _N + 2
_VIEW = ENTRY_FIELDS.index("site_view")  # row format 2: the site-wide file snapshots a decision cites
_FORMAT = ENTRY_FIELDS.index("row_format")
_ENTRY_WIDTHS = {form: entry_width(form) for form in (None, 2, 3)}  # the formats writers write


@dataclass(frozen=True)
class Break:
    kind: str  # edited | deleted | inserted | reordered
    seq: int | None
    decision_id: str | None
    message: str


@dataclass(frozen=True)
class RunCheck:
    """The result for one run (or, with ``subject`` set, for a store-wide table such as evidence)."""

    run_id: str | None
    rows: int
    finished: bool
    broken: Break | None = None
    more: tuple[Break, ...] = ()  # further problems after the first
    notes: tuple[str, ...] = ()  # facts for the reviewer that are not failures (the unanchored tail)
    subject: str | None = None  # "evidence", "policies": a check that is not about one run

    @property
    def ok(self) -> bool:
        return self.broken is None

    @property
    def problems(self) -> tuple[Break, ...]:
        return ((self.broken,) if self.broken else ()) + self.more

    @property
    def label(self) -> str:
        return self.subject or f"run {self.run_id}"

    def with_problems(self, problems: list[Break], notes: list[str] = ()) -> RunCheck:
        found = [*self.problems, *problems]
        return RunCheck(self.run_id, self.rows, self.finished, found[0] if found else None, tuple(found[1:]),
                        (*self.notes, *notes), self.subject)


def verify_chain(
    run_id: str,
    rows: Iterable[tuple],
    *,
    recorded_count: int | None = None,
    recorded_head: str | None = None,
    find_hash: Callable[[str], int | None] = lambda _hash: None,
    genesis: str = GENESIS,
) -> RunCheck:
    """Check one run. ``rows``: tuples of chain.ENTRY_FIELDS + (prev_hash, row_hash), in seq order
    (further columns are ignored).

    ``find_hash(h)`` returns the seq of the run's row whose row_hash is ``h`` (to tell a reordered
    row from a deleted one); ``recorded_*`` come from the run's finish record, if any; ``genesis``
    is what the first row links to (the run's record hash, or GENESIS for older runs).
    (The database's runs are walked by :func:`check_chain`, which applies the same rules.)
    """
    expected_prev, expected_seq = genesis, 1
    before_prev = None  # row_hash of the row before the previous one
    previous = None  # (seq, id) of the previous row
    count = 0
    for row in rows:
        count += 1
        content, prev_hash, stored = row[:_N], row[_N], row[_N + 1]
        seq, decision_id = content[_SEQ], content[_ID]
        _, link = entry_and_link(content, prev_hash)
        if prev_hash == expected_prev and seq == expected_seq and link == stored:
            before_prev, expected_prev, expected_seq, previous = expected_prev, stored, seq + 1, (seq, decision_id)
            continue
        broken = _classify(content, prev_hash, stored, expected_prev, expected_seq, before_prev, previous, find_hash)
        return RunCheck(run_id, count, recorded_count is not None, broken)
    return RunCheck(run_id, count, recorded_count is not None,
                    _end_problem(expected_seq - 1, expected_prev, recorded_count, recorded_head))


def _end_problem(last_seq: int, head: str, recorded_count: int | None, recorded_head: str | None) -> Break | None:
    """An intact chain of ``last_seq`` rows ending at ``head`` against the run's finish record."""
    if recorded_count is None:
        return None
    recorded = f"the run finished with {recorded_count} rows, head hash {recorded_head}"
    if last_seq < recorded_count:
        return Break("deleted", last_seq + 1, None, f"deleted: the chain ends at seq {last_seq} but {recorded}")
    if last_seq > recorded_count:
        return Break("inserted", recorded_count + 1, None,
                     f"inserted: seq {recorded_count + 1}..{last_seq} were added after the run finished ({recorded})")
    if recorded_head is not None and recorded_head != head:
        return Break("edited", last_seq, None,
                     f"edited: the chain was recomputed; its head differs from the record ({recorded})")
    return None


def _classify(content, prev_hash, stored, expected_prev, expected_seq, before_prev, previous, find_hash) -> Break:
    seq, decision_id = content[_SEQ], content[_ID]
    where = f"row seq {seq} (decision {decision_id})"
    if previous is not None and seq == previous[0]:
        return Break("inserted", seq, decision_id, f"inserted: {where} repeats the seq of decision {previous[1]}")
    if prev_hash == expected_prev:
        return Break("edited", seq, decision_id, f"edited: {where} no longer matches its hash")
    if _link(content, expected_prev) == stored:
        return Break("edited", seq, decision_id, f"edited: the link field (prev_hash) of {where} was changed")
    if previous is not None and prev_hash == before_prev:
        return Break(
            "inserted", previous[0], previous[1],
            f"inserted: row seq {previous[0]} (decision {previous[1]}) is not part of the chain; "
            f"seq {seq} links past it",
        )
    if seq > expected_seq and _link(content, prev_hash) == stored:
        missing = f"seq {expected_seq}" if seq == expected_seq + 1 else f"seq {expected_seq}..{seq - 1}"
        return Break("deleted", expected_seq, None, f"deleted: {missing} missing before {where}")
    elsewhere = find_hash(prev_hash)
    if elsewhere is not None:
        return Break("reordered", seq, decision_id, f"reordered: {where} links to seq {elsewhere}, which now sits elsewhere")
    if previous is not None and seq == expected_seq and _link(content, prev_hash) == stored:
        # This row is intact and in place, but the row before it is not the one it was chained to.
        return Break(
            "edited", previous[0], previous[1],
            f"edited: row seq {previous[0]} (decision {previous[1]}) was rewritten with a recomputed hash; "
            f"seq {seq} still links to the original",
        )
    return Break("deleted", expected_seq, decision_id, f"deleted: {where} links to a row that is no longer there")


def _link(content: tuple, prev_hash: str) -> str | None:
    """chain.row_hash, or None for a row holding a value no writer stores (a BLOB in SQLite)."""
    try:
        return row_hash(content, prev_hash)
    except (TypeError, ValueError):
        return None


def verify_export(rows: Iterable[tuple[str, tuple]], meta: dict, *, jsonl: bool, run_id: str | None = None,
                  outside: dict[str, list] | None = None) -> Iterator[RunCheck]:
    """Check an export (``export.chain_rows`` pairs; ``meta`` filled by ``export.read_export``).

    Per run: the chain (the first row's link taken as given: the run record is not exported), and
    the rows' Merkle roots against the checkpoints the export carries (signed by the key it
    names) and those held ``outside`` (their own keys). Then, for JSON Lines, the end line: missing
    or disagreeing, the export was cut off or added to.
    """
    total = 0
    for group_run, group in itertools.groupby(rows, key=lambda pair: pair[0]):
        tree = TreeBuilder()
        carried = [c for c in meta.get("checkpoints", []) if isinstance(c, dict) and c.get("run_id") == group_run]
        problems: list[Break] = []
        signed: list[Checkpoint] = []
        for item in carried:
            try:
                signed.append(open_note(str(item.get("note")), parse_vkey(str(item.get("log_key")))))
            except NoteError as exc:
                problems.append(Break("edited", None, None, f"edited: a checkpoint the export carries for run {group_run}: {exc}"))
        held = (outside or {}).pop(group_run, [])
        sizes = {c.size for c in signed} | {c.size for c in held if isinstance(c, Checkpoint)}
        roots: dict[int, bytes] = {}

        def leaves(group=group, tree=tree, sizes=sizes, roots=roots):
            for _, row in group:
                tree.append(leaf_hash(canonical_entry(row[:_N]).encode("utf-8")))
                if tree.size in sizes:
                    roots[tree.size] = tree.root()
                yield row

        observed = leaves()
        first = next(observed, None)
        genesis = first[_N] if first is not None and first[_SEQ] == 1 else GENESIS
        check = verify_chain(group_run, itertools.chain([first] if first is not None else [], observed), genesis=genesis)
        for _ in observed:
            pass
        total += tree.size
        if run_id is not None and group_run != run_id:
            continue
        for checkpoint in signed:
            if checkpoint.origin != origin_for(group_run):
                problems.append(Break("edited", None, None, f"edited: a checkpoint carried for run {group_run} names "
                                                            f"another log ({checkpoint.origin})"))
            elif checkpoint.size > tree.size:
                problems.append(Break("deleted", tree.size + 1, None,
                                      f"deleted: the export's checkpoint says run {group_run} had {checkpoint.size} "
                                      f"decisions; the export holds {tree.size} (seq {tree.size + 1}.. are gone)"))
            elif roots.get(checkpoint.size) != checkpoint.root:
                problems.append(Break("edited", None, None, f"edited: the first {checkpoint.size} decisions of run "
                                                            f"{group_run} in the export are not those its checkpoint signed"))
        derived = _Derived(set())
        derived.tree, derived.roots = tree, roots
        # an export holds decisions, not the finish record: a held finish seal is checked as the
        # checkpoint of the whole run it also is
        problems += check_outside_checkpoints(type("Run", (), {"id": group_run})(), held, derived, finish_record=False)
        notes = []
        anchored = max((c.size for c in signed), default=0)
        if tree.size > anchored:
            notes.append(f"anchored up to {anchored} decisions by the checkpoints it carries; the last "
                         f"{tree.size - anchored} are not" if anchored else
                         f"no signed checkpoint: {tree.size} decisions are not anchored")
        yield check.with_problems(problems, notes)
    if jsonl:
        end = meta.get("end")
        carried_count = len(meta.get("checkpoints", []))
        problem = None
        if end is None:
            problem = Break("deleted", None, None, f"deleted: the export has no end line: it was cut off after {total} rows")
        elif end.get("rows") != total:
            problem = Break("deleted" if total < (end.get("rows") or 0) else "inserted", None, None,
                            f"{'deleted' if total < (end.get('rows') or 0) else 'inserted'}: the export holds {total} "
                            f"rows but its end line says {end.get('rows')}")
        elif end.get("checkpoints", 0) != carried_count:
            problem = Break("deleted", None, None, f"deleted: the export carries {carried_count} checkpoint line(s) "
                                                   f"but its end line says {end.get('checkpoints')}")
        elif meta.get("after_end"):
            problem = Break("inserted", None, None, f"inserted: {meta['after_end']} row(s) after the export's end line")
        if problem is not None:
            yield RunCheck(None, total, False, problem, subject="export")


_sha256 = hashlib.sha256
_EVIDENCE_SHA = re.compile(r'"sha256":"([0-9a-f]{64})"')


class _Derived:
    """What one pass over a run's rows collects for the derived-data checks: the first wrong
    url_key, a digest of the (decision, reason code) pairs the rows imply, the evidence and
    policies they cite, and the Merkle tree (with its roots at the checkpoint sizes asked for,
    and its nodes of 256 leaves and up compared with the stored ones as they complete)."""

    def __init__(self, sizes: set[int], nodes=None, tree: TreeBuilder | None = None) -> None:
        self.bad_url_key: tuple | None = None
        self.bad_value: tuple | None = None  # (seq, decision id) of the first row holding a value of the wrong type
        self.pairs = 0
        self.pairs_digest = 0
        self.evidence: dict[str, tuple] = {}  # sha256 -> (seq, id) of the first row citing it
        self.views: set[str] = set()  # site views (snapshot sets) the rows cite
        self.policies: dict[str, tuple] = {}
        self.tree = tree or TreeBuilder()
        # the empty tree's root (RFC 9162 §2.1.1: SHA-256 of nothing): the finish seal of a run
        # that recorded no decision signs it
        self.roots: dict[int, bytes] = {0: TreeBuilder().root()} if 0 in sizes else {}
        self.nodes = nodes  # NodeCheck, or anything with its completed(level, index, hash)
        self.index_digest: tuple[int, int] | Break | None = None  # reason_index_digest, if read already
        self._sizes = sizes
        self._codes: dict[str, tuple[str, ...]] = {}

    def walk(self, batches: Iterable[list[tuple]], genesis: str, find_hash, first_seq: int = 1) -> tuple[Break | None, int, str]:
        """One pass over the run's rows (``_COLUMNS``, in seq order, a list per fetch) from
        ``first_seq`` on: the chain (verify_chain's rules, up to its first break), the tree and the
        derived data (every row). Returns the first break, and the last seq and head hash of the
        intact chain before it.

        One loop, locals only, each row serialised once (chain.canonical_entry's form: a tuple
        serialises as the JSON array a list does): this is most of `audit verify`'s time.
        """
        expected_prev, expected_seq, before_prev, previous, broken = genesis, first_seq, None, None, None
        tree, append, completed, sizes, roots = self.tree, self.tree.append, [], self._sizes, self.roots
        # A tree after an unknown prefix (store/verify_split.py) records how to finish its roots.
        at_size = tree.root if not tree.size else (lambda: (len(tree.pieces), tree.known_tail()))
        codes_of, evidence, views, policies = self._codes, self.evidence, self.views, self.policies
        dumps, sha256, from_bytes, widths = dumps_array, _sha256, int.from_bytes, _ENTRY_WIDTHS
        pairs, digest = self.pairs, self.pairs_digest
        for batch in batches:
            for row in batch:
                seq, decision_id, prev_hash, stored = row[_SEQ], row[_ID], row[_N], row[_N + 1]
                try:
                    entry = dumps(row[:widths.get(row[_FORMAT]) or entry_width(row[_FORMAT])]).encode("utf-8")
                except (TypeError, ValueError):  # a value no writer stores (a BLOB in SQLite): an edit
                    entry = repr(row[:_N]).encode("utf-8", "replace")
                if broken is None:
                    if (prev_hash == expected_prev and seq == expected_seq
                            and sha256(entry + prev_hash.encode("utf-8")).hexdigest() == stored):
                        before_prev, expected_prev, expected_seq, previous = expected_prev, stored, seq + 1, (seq, decision_id)
                    else:
                        broken = _classify(row[:_N], prev_hash, stored, expected_prev, expected_seq, before_prev,
                                           previous, find_hash)
                append(sha256(b"\x00" + entry).digest(), completed)
                if tree.size in sizes:
                    roots[tree.size] = at_size()
                try:
                    url = row[_URL]
                    if (self.bad_url_key is None
                            and row[_URL_KEY] != from_bytes(sha256(url.encode("utf-8")).digest()[:8], "big", signed=True)):
                        self.bad_url_key = (seq, decision_id, url)
                    view = row[_VIEW]
                    if view is not None:
                        if view.__class__ is not str:
                            raise TypeError(view)
                        views.add(view)
                    reasons = row[_REASONS]
                    codes = codes_of.get(reasons)
                    if codes is None:
                        codes = _codes(reasons)
                        if len(codes_of) > 4096:
                            codes_of.clear()
                        codes_of[reasons] = codes
                        for sha in _EVIDENCE_SHA.findall(reasons):
                            evidence.setdefault(sha, (seq, decision_id))
                    for code in codes:
                        pairs += 1
                        digest ^= hash((decision_id, code))
                    policy = row[_POLICY]
                    if policy not in policies:
                        if policy.__class__ is not str:
                            raise TypeError(policy)
                        policies[policy] = (seq, decision_id)
                except (TypeError, AttributeError, ValueError):
                    # A value no writer stores (a BLOB or a number where text belongs, in SQLite):
                    # an edit, named by check_values; the row's other derived data is not read.
                    if self.bad_value is None:
                        self.bad_value = (seq, decision_id)
            if completed and self.nodes is not None:
                for node in completed:
                    self.nodes.completed(*node)
            completed.clear()
        self.pairs, self.pairs_digest = pairs, digest
        return broken, expected_seq - 1, expected_prev


def _codes(reasons: str) -> tuple[str, ...]:
    try:
        return tuple(dict.fromkeys(item["code"] for item in json.loads(reasons)))
    except (ValueError, TypeError, KeyError):
        return ()  # an unreadable reasons field is an edit the chain reports


def verify(engine: Engine, run_id: str | None = None, checkpoints_file: str | None = None) -> Iterator[RunCheck]:
    """Check every run (or one), in start order, then the policies and evidence they cite.

    Streams the decisions (memory: the distinct evidence and policies cited, not the rows).
    ``checkpoints_file``: signed checkpoints held outside the database (``audit checkpoints``).
    """
    outside = read_checkpoint_file(checkpoints_file) if checkpoints_file else None
    with engine.connect() as connection:
        query = select(runs).order_by(runs.c.started_at, runs.c.id)
        if run_id:
            query = query.where(runs.c.id == run_id)
        known = connection.execute(query).all()
        if run_id and not known:
            raise LookupError(f"no run {run_id!r} in the audit database")
        memo: dict[str, Break | None] = {}  # sha256 -> the problem found with that policy or body, if any
        for run in known:
            inside = stored_checkpoints(connection, run.id)
            held = outside.pop(run.id, []) if outside is not None else []
            sizes = {c.tree_size for c in inside} | {c.size for c in held if isinstance(c, Checkpoint)}
            if run.finish_note is not None and run.decision_count is not None:
                sizes.add(run.decision_count)  # the finish seal signs the whole run's tree
            check, derived = check_chain(connection, run, sizes)
            notes: list[str] = []
            problems = [
                *check_run_record(connection, run),
                *check_url_keys(derived),
                *check_values(derived),
                *check_reason_index(connection, run.id, derived),
                *check_lists(connection, run),
                *check_snapshots(connection, derived),
                *check_checkpoints(run, inside, derived, notes),
                *check_nodes(run, derived),
                *check_finish(run, derived, notes),
                *check_outside_checkpoints(run, held, derived),
                *check_policies(connection, run, derived.policies, memo),
                *check_evidence(connection, run, derived.evidence, memo),
            ]
            yield check.with_problems(problems, notes)
        if not run_id:
            problems = check_uncited_evidence(connection, memo)
            if problems:  # (cited evidence is reported with the run citing it, above)
                yield RunCheck(None, len(memo), True, subject="evidence").with_problems(problems)
        if outside:
            for missing_run, held in outside.items():
                yield RunCheck(missing_run, 0, False, Break(
                    "deleted", None, None,
                    f"deleted: the checkpoint file holds {len(held)} checkpoint(s) of run {missing_run} "
                    f"(up to {max((c.size for c in held if isinstance(c, Checkpoint)), default=0)} decisions), "
                    "which is not in the database"))
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


def check_chain(connection, run, sizes: set[int]) -> tuple[RunCheck, _Derived]:
    """The hash chain (module docstring), starting from what the first row links to, and the
    pass's derived data (with the Merkle roots at ``sizes``); the run record check below says
    whether that first link is the run's genuine record. A large run is walked by two processes
    (store/verify_split.py), which falls back to this one walk at the first irregularity."""
    from .verify_split import walk_in_two

    genesis = _first_link(connection, run)
    done = walk_in_two(connection, run, sizes, genesis)
    if done is not None:
        return done

    def find_hash(value: str) -> int | None:
        return connection.execute(
            select(decisions.c.seq).where(decisions.c.run_id == run.id, decisions.c.row_hash == value).limit(1)
        ).scalar()

    derived = _Derived(sizes, NodeCheck(run.id, stored_nodes(connection, run.id)))
    batches = stream_batches(connection, select(*_COLUMNS).where(decisions.c.run_id == run.id).order_by(decisions.c.seq))
    try:
        broken, last_seq, head = derived.walk(batches, genesis, find_hash)
    finally:
        batches.close()
    broken = broken or _end_problem(last_seq, head, run.decision_count, run.head_hash)
    return RunCheck(run.id, derived.tree.size, run.decision_count is not None, broken), derived


def check_nodes(run, derived: _Derived) -> list[Break]:
    """The stored Merkle nodes (store/nodes.py) `audit prove` reads instead of the rows: each one
    matches the tree of the rows, and none lies outside it."""
    problem = derived.nodes.finish(derived.tree.size) if derived.nodes is not None else None
    return [Break(problem[0], None, None, problem[1])] if problem else []


def _first_link(connection, run) -> str:
    first = connection.execute(select(decisions.c.prev_hash).where(decisions.c.run_id == run.id, decisions.c.seq == 1)).scalar()
    return first if first is not None else (run.record_hash or GENESIS)


def check_run_record(connection, run) -> list[Break]:
    """The run's start record hashes to ``record_hash``, and its first decision links to it."""
    recomputed = run_record_hash(dict(run._mapping))
    first = connection.execute(select(decisions.c.prev_hash).where(decisions.c.run_id == run.id, decisions.c.seq == 1)).scalar()
    fields = ", ".join(RUN_RECORD_FIELDS[1:])
    if run.record_hash is not None and run.record_hash != recomputed:
        return [Break("edited", None, None, f"edited: the run record of run {run.id} ({fields}) "
                                            "no longer matches its record hash")]
    expected = run.record_hash if run.record_hash is not None else GENESIS
    if first is not None and first != expected:
        what = ("its record hash was removed" if run.record_hash is None
                else f"its first decision links to another run record ({fields} were edited)")
        return [Break("edited", 1, None, f"edited: the run record of run {run.id}: {what}")]
    return []


def check_values(derived: _Derived) -> list[Break]:
    """A value no writer stores (SQLite keeps any type in any column): an edit, never a crash."""
    if derived.bad_value is None:
        return []
    seq, decision_id = derived.bad_value
    return [Break("edited", seq, decision_id, f"edited: row seq {seq} (decision {decision_id}) holds a value of the "
                                              "wrong type (a BLOB or a number where text belongs) in its URL, "
                                              "reasons, policy or site view")]


def check_url_keys(derived: _Derived) -> list[Break]:
    """``url_key`` is how ``explain`` finds a URL: a wrong one hides the decision."""
    if derived.bad_url_key is None:
        return []
    seq, decision_id, url = derived.bad_url_key
    return [Break("edited", seq, decision_id, f"edited: the url_key of row seq {seq} (decision {decision_id}) does not "
                                              f"match its URL, so `audit explain {url[:200]}` would not find it")]


def check_reason_index(connection, run_id: str, derived: _Derived) -> list[Break]:
    """``decision_reasons`` (what ``search --reason`` reads) holds exactly the codes the rows hold."""
    found = derived.index_digest or reason_index_digest(connection, run_id)
    if isinstance(found, Break):
        return [found]
    if found == (derived.pairs, derived.pairs_digest):
        return []
    problem = _name_reason_index_difference(connection, run_id)
    return [problem] if problem else []


def reason_index_digest(connection, run_id: str) -> tuple[int, int] | Break:
    """The count and digest of the run's ``decision_reasons`` pairs (as _Derived sums the rows'),
    or why the index cannot be read. (The second verify process reads it while this one walks.)"""
    pairs = stream_tuples(connection, select(decision_reasons.c.decision_id, decision_reasons.c.code)
                          .join(decisions, decisions.c.id == decision_reasons.c.decision_id)
                          .where(decisions.c.run_id == run_id))
    count, digest = 0, 0
    try:
        for pair in pairs:
            count += 1
            digest ^= hash((pair[0], pair[1]))
    except connection.dialect.dbapi.Error as exc:
        pairs.close()
        connection.rollback()  # PostgreSQL refuses every later statement of a failed transaction
        return Break("deleted", None, None, f"deleted: the decision_reasons index cannot be read ({one_line(exc)})")
    finally:
        pairs.close()
    return count, digest


def _name_reason_index_difference(connection, run_id: str) -> Break | None:
    """The slow path, only when the digests differ: which (decision, code) pair is wrong."""
    expected: set[tuple[str, str]] = set()
    seqs: dict[str, int] = {}
    for decision_id, seq, reasons in connection.execute(
            select(decisions.c.id, decisions.c.seq, decisions.c.reasons).where(decisions.c.run_id == run_id)):
        seqs[decision_id] = seq
        expected.update((decision_id, code) for code in _codes(reasons))
    actual = set(map(tuple, connection.execute(
        select(decision_reasons.c.decision_id, decision_reasons.c.code)
        .join(decisions, decisions.c.id == decision_reasons.c.decision_id).where(decisions.c.run_id == run_id))))
    missing, extra = sorted(expected - actual), sorted(actual - expected)
    if missing:
        decision_id, code = missing[0]
        return Break("deleted", seqs.get(decision_id), decision_id,
                     f"deleted: {len(missing)} decision_reasons row(s), e.g. ({decision_id}, {code}) of row seq "
                     f"{seqs.get(decision_id)}: `audit search --reason {code}` would not find the decision")
    if not extra:
        return None  # the same pairs after all
    decision_id, code = extra[0]
    return Break("inserted", seqs.get(decision_id), decision_id,
                 f"inserted: {len(extra)} decision_reasons row(s) not derived from the decisions, e.g. "
                 f"({decision_id}, {code})")


def check_lists(connection, run) -> list[Break]:
    if run.exclusion_lists is None:
        return []
    problem = _lists_problem(connection, run.exclusion_lists)
    return [Break("edited", None, None, problem)] if problem else []


def check_snapshots(connection, derived: _Derived) -> list[Break]:
    """The site-wide file snapshots the run's decisions were made on (issue 10's proof of
    collection) still prove what the chain says they do."""
    problem = snapshots_problem(connection, derived.views) if derived.views else None
    return [Break("edited" if problem.startswith("edited") else "deleted", None, None, problem)] if problem else []


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


def check_checkpoints(run, inside: list, derived: _Derived, notes: list[str]) -> list[Break]:
    """The run's own checkpoints: signed by the run's key, matching the rows' Merkle roots."""
    size = derived.tree.size
    if not inside:
        if size:
            notes.append(f"no signed checkpoint: {size} decisions are not anchored")
        return []
    verifier = _run_verifier(run, "checkpoints")
    if isinstance(verifier, Break):
        return [verifier]
    for stored_checkpoint in inside:
        opened = _open_checkpoint(run, stored_checkpoint.note, verifier, derived, "stored checkpoint")
        if isinstance(opened, Break):
            return [opened]
    last = inside[-1].tree_size
    if size > last:
        notes.append(f"anchored up to {last} decisions by signed checkpoints; the last {size - last} are not")
    return []


def check_outside_checkpoints(run, held: list, derived: _Derived, finish_record: bool = True) -> list[Break]:
    """Checkpoints held outside the database (``--checkpoints``): each proves the database's tree
    of that size is the one that was signed (RFC 9162 §2.1.4: the database's tree must extend it)."""
    problems = []
    for checkpoint in held:
        if isinstance(checkpoint, str):  # could not be read or verified
            problems.append(Break("edited", None, None, f"edited: {checkpoint}"))
            continue
        size = derived.tree.size
        if checkpoint.size > size:
            problems.append(Break("deleted", size + 1, None,
                                  f"deleted: a checkpoint held outside says run {run.id} had {checkpoint.size} "
                                  f"decisions; the database has {size} (seq {size + 1}..{checkpoint.size} are gone)"))
        elif derived.roots.get(checkpoint.size) != checkpoint.root:
            problems.append(Break("edited", None, None,
                                  f"edited: the first {checkpoint.size} decisions of run {run.id} are not those a "
                                  "checkpoint held outside signed (rows rewritten, inserted or the tree recomputed)"))
        elif (finish_record and checkpoint.extension("run-finish") is not None and (
                run.finished_at is None or finish_record_hash(run._mapping) != checkpoint.extension("run-finish"))):
            problems.append(Break("edited", None, None,
                                  f"edited: the finish record of run {run.id} (finish time, counts) is not the one "
                                  "its finish seal held outside signed"))
    return problems


def _run_verifier(run, signed: str):
    """The verifier key in the run's record (for what it ``signed``), or the Break saying why not."""
    if not run.log_key:
        return Break("edited", None, None, f"edited: run {run.id} has {signed} but no verifier key in its record")
    try:
        return parse_vkey(run.log_key)
    except NoteError as exc:
        return Break("edited", None, None, f"edited: the verifier key of run {run.id} is not readable ({exc})")


def check_finish(run, derived: _Derived, notes: list[str]) -> list[Break]:
    """The finish record `audit runs` and `audit summary` show (finish time, counts, the chain's
    length and head): its hash, and its seal signed with the run's checkpoint key (revision 0010)."""
    if run.finished_at is None:
        if run.finish_hash is not None or run.finish_note is not None:
            return [Break("edited", None, None, f"edited: run {run.id} has a sealed finish record but no finish time")]
        return []
    what = f"the finish record of run {run.id} (finish time, counts)"
    if run.finish_hash is None:
        notes.append("finish record (finish time, counts) not sealed: the run finished before revision 0010, or "
                     "its seal was removed (a checkpoint file held outside tells)")
        return []
    finish_hash = finish_record_hash(run._mapping)
    if finish_hash != run.finish_hash:
        return [Break("edited", None, None, f"edited: {what} no longer matches its finish hash")]
    if run.finish_note is None:
        if run.log_key:
            notes.append("finish record hashed but not signed (the run's writer failed or dropped decisions)")
        return []
    verifier = _run_verifier(run, "a finish seal")
    if isinstance(verifier, Break):
        return [verifier]
    seal = _open_checkpoint(run, run.finish_note, verifier, derived, "finish seal")
    if isinstance(seal, Break):
        return [seal]
    if seal.size != derived.tree.size or seal.extension("run-finish") != finish_hash:
        return [Break("edited", None, None, f"edited: {what} is not the one its finish seal signed")]
    return []


def _open_checkpoint(run, note: str, verifier, derived: _Derived, what: str) -> Checkpoint | Break:
    """The checkpoint ``note`` of ``run``, checked (signature, log, size, root, run record), or the
    Break that names what is wrong with it."""
    try:
        checkpoint = open_note(note, verifier)
    except NoteError as exc:
        return Break("edited", None, None, f"edited: a {what} of run {run.id}: {exc}")
    if checkpoint.origin != origin_for(run.id):
        return Break("edited", None, None, f"edited: a {what} of run {run.id} names another log ({checkpoint.origin})")
    if checkpoint.size > derived.tree.size:
        return Break("deleted", derived.tree.size + 1, None,
                     f"deleted: a {what} of run {run.id} covers {checkpoint.size} decisions; {derived.tree.size} remain")
    if derived.roots.get(checkpoint.size) != checkpoint.root:
        return Break("edited", None, None, f"edited: the first {checkpoint.size} decisions of run {run.id} do not "
                                           f"match the Merkle root its {what} signed")
    record = checkpoint.extension("run-record")
    if record not in (None, "-", run.record_hash):
        return Break("edited", None, None, f"edited: the run record of run {run.id} is not the one its {what} signed")
    return checkpoint


def check_policies(connection, run, cited: dict[str, tuple], memo: dict) -> list[Break]:
    """Every policy the run or its decisions cite is stored, and its text hashes to its name."""
    wanted = {run.policy_hash: (None, None), **cited}
    unknown = sorted(sha for sha in wanted if sha not in memo)
    for chunk in _chunks(unknown):
        for row in connection.execute(select(policies.c.hash, policies.c.name, policies.c.text).where(policies.c.hash.in_(chunk))):
            memo[row.hash] = (None if sha256_hex(row.text.encode("utf-8")) == row.hash else Break(
                "edited", None, None, f"edited: the stored text of policy {row.name!r} ({row.hash}) no longer hashes to it"))
    return _cited_problems(run, wanted, memo, "policy")


def check_evidence(connection, run, cited: dict[str, tuple], memo: dict) -> list[Break]:
    """Every evidence body the run's decisions cite is stored, with its size, hashing to its sha256."""
    unknown = sorted(sha for sha in cited if sha not in memo)
    for chunk in _chunks(unknown):
        query = select(evidence.c.sha256, evidence.c.size, evidence.c.body, evidence.c.source, evidence.c.url)
        for row in connection.execute(query.where(evidence.c.sha256.in_(chunk))):
            memo[row.sha256] = _evidence_problem(*row)
    return _cited_problems(run, cited, memo, "evidence")


def check_uncited_evidence(connection, memo: dict) -> list[Break]:
    """The evidence no decision cites any more (``audit evidence`` still shows it): re-hashed too."""
    query = select(evidence.c.sha256, evidence.c.size, evidence.c.body, evidence.c.source, evidence.c.url)
    problems = []
    rows = stream_tuples(connection, query, size=200)
    try:
        for row in rows:
            if row[0] not in memo:
                memo[row[0]] = problem = _evidence_problem(*row)
                if problem:
                    problems.append(problem)
    finally:
        rows.close()
    return problems


def _evidence_problem(sha: str, size: int, body, source: str, url: str | None) -> Break | None:
    body = bytes(body)
    if len(body) == size and sha256_hex(body) == sha:
        return None
    return Break("edited", None, None, f"edited: evidence {sha} ({source}, {url}): its stored bytes no longer hash "
                                       f"to {sha[:12]} (or their size is not {size})")


def _cited_problems(run, cited: dict[str, tuple], memo: dict, what: str) -> list[Break]:
    problems = []
    for sha, (seq, decision_id) in sorted(cited.items()):
        where = f"row seq {seq} (decision {decision_id})" if seq else "the run record"
        if sha not in memo:
            memo[sha] = None  # reported here, once
            problems.append(Break("deleted", seq, decision_id, f"deleted: {what} {sha} cited by {where} of run {run.id} "
                                                               "is not stored"))
        elif memo[sha] is not None:
            problems.append(memo[sha])
            memo[sha] = None  # named once, at the first run citing it
    return problems


def _chunks(items: list[str], size: int = 500) -> Iterator[list[str]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def read_checkpoint_file(path: str) -> dict[str, list]:
    """Checkpoints held outside: ``{run id: [Checkpoint or a one-line problem]}``.

    The file is what ``audit checkpoints --out`` writes: a verifier key line per run
    (``# key <run id> <vkey>``) and the signed notes. The key is taken from the file, never from
    the database, so a rewritten database cannot bring its own key.
    """
    text = read_bounded(path)
    keys: dict[str, str] = {}
    for line in text.splitlines():
        if line.startswith("# key "):
            parts = line.split(" ", 3)
            if len(parts) == 4:
                keys[parts[2]] = parts[3]
    held: dict[str, list] = {}
    for note in split_notes("\n".join(line for line in text.splitlines() if not line.startswith("#")) + "\n"):
        origin = note.split("\n", 1)[0]
        run_id = run_of_origin(origin)
        if run_id is None:
            raise ValueError(f"{path}: a note for another log ({origin[:80]!r})")
        if run_id not in keys:
            raise ValueError(f"{path}: no '# key {run_id} ...' line for run {run_id}")
        try:
            checkpoint: Checkpoint | str = open_note(note, parse_vkey(keys[run_id]))
        except NoteError as exc:
            checkpoint = f"a checkpoint of run {run_id} held outside: {exc}"
        held.setdefault(run_id, []).append(checkpoint)
    return held


def read_bounded(path: str, limit: int = 64 * 1024 * 1024) -> str:
    from ..core.files import read_input_file

    return read_input_file(path, limit, "checkpoint file").decode("utf-8")


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
