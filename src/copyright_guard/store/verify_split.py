"""`audit verify` of a large run in two processes: each walks about half of its rows (store/verify.py).

The machine's second core halves the time of the one pass over a run's rows (serialising each row
and ~4 SHA-256s; issue 12 asks for >= 100,000 rows/s including evidence re-hashing). A forked
child reads the run's reason index, then walks the rows after ``split`` (the chain from the stored
link of row ``split``; a Merkle tree whose first ``split`` leaves it does not know:
merkle.TreeBuilder.after) while this process walks the rows up to ``split``; then the child's
known subtrees are appended to the real tree (the roots at checkpoint sizes and the stored-node
comparison continue in completion order) and the derived data are merged in row order.

Only an intact run is done this way: at any irregularity (a break in either half, the halves not
meeting, the child failing or stuck) the caller walks the run again in one process, so every
problem is found and named exactly as the one walk names it. Linux only, in a process without other
threads (fork: the child shares the parent's string hashing, which the reason-index digest relies
on), from PARALLEL_MIN rows up.
"""

from __future__ import annotations

import gc
import heapq
import multiprocessing
import os
import sys
import threading
import time

from sqlalchemy import func, select

from .db import one_line
from .merkle import TreeBuilder
from .schema import decisions

PARALLEL_MIN = 50_000  # rows: below this the second process costs more than it saves
# The rows this process walks, in %. The child also reads the run's reason index (~10 % of a walk
# when 40 % of decisions cite a reason), but this process walked its half ~25 % slower than the
# child (1M rows, benchmarks/bench_integrity.py: 9.6 vs 7.2 CPU s), so halves balance best.
_PARENT_SHARE = 50


class _Collected(list):
    """The nodes the child's tree completes, kept for the parent's NodeCheck (one per 256 rows)."""

    def completed(self, level: int, index: int, node: bytes) -> None:
        self.append((level, index, node))


def walk_in_two(connection, run, sizes: set[int], genesis: str):
    """(RunCheck, derived) for an intact run walked by two processes, or None: walk it in one."""
    from .verify import RunCheck, _COLUMNS, _Derived, _end_problem, NodeCheck, stored_nodes
    from .sql import stream_batches

    split = _split_point(connection, run)
    if split is None:
        return None
    context = multiprocessing.get_context("fork")
    reader, sender = context.Pipe(duplex=False)
    child = context.Process(target=_upper_half, args=(connection.engine, run.id, split, sizes, sender), daemon=True)
    child.start()
    sender.close()
    started = time.monotonic()
    try:
        lower = _Derived({s for s in sizes if s <= split}, NodeCheck(run.id, stored_nodes(connection, run.id)))
        batches = stream_batches(connection, select(*_COLUMNS).where(decisions.c.run_id == run.id,
                                                                     decisions.c.seq <= split).order_by(decisions.c.seq))
        try:
            broken, last_seq, head = lower.walk(batches, genesis, lambda _hash: None)
        finally:
            batches.close()
        upper = None
        # The halves are the same size: a child much slower than this walk is stuck, not busy.
        if reader.poll(max(60.0, 4 * (time.monotonic() - started))):
            try:
                upper = reader.recv()
            except EOFError:  # the child died without a word
                pass
    finally:
        reader.close()
        if upper is None and child.is_alive():
            child.terminate()
        child.join()
    if broken is not None or last_seq != split or not isinstance(upper, dict) or upper["broken"] \
            or upper["genesis"] != head:
        lower.nodes.finish(0)  # (closes its cursor; the one walk starts afresh)
        return None
    _join(lower, upper)
    problem = _end_problem(upper["last_seq"], upper["head"], run.decision_count, run.head_hash)
    return RunCheck(run.id, lower.tree.size, run.decision_count is not None, problem), lower


def _split_point(connection, run) -> int | None:
    # Forking a process with other threads running could leave the child holding their locks.
    if sys.platform != "linux" or (os.cpu_count() or 1) < 2 or threading.active_count() > 1:
        return None
    url = connection.engine.url
    if url.get_backend_name() == "sqlite" and url.database in (None, "", ":memory:"):
        return None  # a second process cannot open it
    last = connection.execute(select(func.max(decisions.c.seq)).where(decisions.c.run_id == run.id)).scalar()
    return last * _PARENT_SHARE // 100 if last and last >= max(PARALLEL_MIN, 2) else None


def _upper_half(engine, run_id: str, split: int, sizes: set[int], sender) -> None:
    """The child: walk the rows after ``split`` and send what the parent needs to join them."""
    from .verify import _COLUMNS, _Derived, reason_index_digest
    from .sql import stream_batches

    # The parent's objects are shared copy-on-write: a full collection touching each of them would
    # copy the whole heap into this process.
    gc.freeze()
    try:
        engine.dispose(close=False)  # the parent's pooled connections stay the parent's
        with engine.connect() as connection:
            index_digest = reason_index_digest(connection, run_id)  # while the parent walks its half
            link = connection.execute(select(decisions.c.row_hash).where(decisions.c.run_id == run_id,
                                                                         decisions.c.seq == split)).scalar()
            derived = _Derived({s for s in sizes if s > split}, _Collected(), TreeBuilder.after(split))
            batches = stream_batches(connection, select(*_COLUMNS).where(decisions.c.run_id == run_id,
                                                                         decisions.c.seq > split).order_by(decisions.c.seq))
            try:
                broken, last_seq, head = derived.walk(batches, link, lambda _hash: None, split + 1)
            finally:
                batches.close()
        tree = derived.tree
        sender.send({
            "broken": broken is not None, "genesis": link, "last_seq": last_seq, "head": head,
            "pieces": tree.pieces, "tail": tree.known_tail(), "roots": derived.roots, "nodes": list(derived.nodes),
            "index_digest": index_digest, "bad_url_key": derived.bad_url_key,
            "bad_value": derived.bad_value, "pairs": derived.pairs, "pairs_digest": derived.pairs_digest,
            "evidence": derived.evidence, "views": derived.views, "policies": derived.policies,
        })
    except BaseException as exc:  # noqa: BLE001 - reported to the parent, which walks the run alone
        sender.send(f"the second verify process failed: {one_line(exc)}")
    finally:
        sender.close()


def _join(lower, upper: dict) -> None:
    """Continue the lower half's tree and derived data with the upper half's, in row order."""
    tree, pieces = lower.tree, upper["pieces"]
    waiting: dict[int, list] = {}
    for size, (count, tail) in upper["roots"].items():  # a checkpoint inside the upper half
        waiting.setdefault(count, []).append((size, tail))
    cascade: list[tuple] = []
    for number in range(len(pieces) + 1):
        for size, tail in waiting.get(number, ()):
            partial = tree.copy()
            for level, node in tail:
                partial.append_node(level, node)
            lower.roots[size] = partial.root()
        if number < len(pieces):
            tree.append_node(*pieces[number], cascade)
    for level, node in upper["tail"]:
        tree.append_node(level, node, cascade)
    for node in heapq.merge(upper["nodes"], cascade, key=lambda n: ((n[1] + 1) << n[0], n[0])):
        lower.nodes.completed(*node)
    lower.index_digest = upper["index_digest"]
    lower.bad_url_key = lower.bad_url_key or upper["bad_url_key"]
    lower.bad_value = lower.bad_value or upper["bad_value"]
    lower.pairs += upper["pairs"]
    lower.pairs_digest ^= upper["pairs_digest"]
    lower.views |= upper["views"]
    for mine, theirs in ((lower.evidence, upper["evidence"]), (lower.policies, upper["policies"])):
        for key, where in theirs.items():
            mine.setdefault(key, where)
