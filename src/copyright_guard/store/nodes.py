"""Stored Merkle nodes (revision 0008): what the writer stores, `audit prove` reads, `audit verify` checks.

A node (level, index) is the root of the complete subtree over a run's leaves
[index * 2^level, (index + 1) * 2^level) (store/merkle.py). Its hash is fixed once its last leaf
exists, so the writer stores every node of level >= merkle.NODE_LEVEL (256 leaves and up) in the
transaction that commits the rows it covers: 1/128 as many rows as decisions.

An inclusion proof (:class:`RunTree`) then needs only the O(log n) stored node hashes on the path,
plus a re-hash of the rows of the leaf's own chunk of 256 and of the right-edge partial chunk. A node
not stored (a run recorded before revision 0008) is recomputed from its rows, streamed, so a proof
of any run reads at most the rows up to its checkpoint, in constant memory.

A stored node is only a shortcut: a proof made from a wrong one does not check against the signed
checkpoint root (``audit prove`` checks before it writes), and `audit verify` compares every stored
node with the tree it recomputes from the rows (:class:`NodeCheck`) and names one that differs.
"""

from __future__ import annotations

from collections.abc import Iterator

from sqlalchemy import select, tuple_

from .chain import ENTRY_FIELDS, canonical_entry
from .merkle import NODE_LEVEL, TreeBuilder, inclusion_path, leaf_hash, root_of
from .schema import decisions, merkle_nodes
from .sql import stream_tuples

NODE_COLUMNS = ("run_id", "level", "node_index", "hash")  # merkle_nodes, in a node row's tuple order
_CHUNK = 1 << NODE_LEVEL
_ENTRY_COLUMNS = [decisions.c[name] for name in ENTRY_FIELDS]
_SEQ = ENTRY_FIELDS.index("seq")


def node_rows(run_id: str, completed: list[tuple[int, int, bytes]]) -> list[tuple]:
    """merkle_nodes rows (NODE_COLUMNS order) for the ``(level, index, hash)`` TreeBuilder.append gave."""
    return [(run_id, level, index, node.hex()) for level, index, node in completed]


def covered(level: int, index: int) -> str:
    """The decisions a node covers, as a reviewer counts them (seq is leaf index + 1)."""
    return f"seq {(index << level) + 1}..{(index + 1) << level}"


class MissingRows(LookupError):
    """The run lacks rows its checkpoint covers (one line; ``audit verify`` names them)."""


class RunTree:
    """The Merkle tree of a run's first ``size`` decisions, read as an inclusion proof needs it."""

    def __init__(self, connection, run_id: str, size: int) -> None:
        self.connection, self.run_id, self.size = connection, run_id, size
        self._stored: dict[tuple[int, int], bytes] = {}
        self._chunks: dict[int, tuple[list[bytes], list[str]]] = {}

    def path(self, index: int) -> list[bytes]:
        """RFC 9162 §2.1.3.1 PATH for leaf ``index``: the stored nodes it names are read in one query."""
        wanted: list[tuple[int, int]] = []
        inclusion_path(index, self.size, lambda level, i: wanted.append((level, i)) or b"")
        self._read_nodes([key for key in wanted if key[0] >= NODE_LEVEL])
        return inclusion_path(index, self.size, self.node)

    def entry(self, index: int) -> str:
        """The canonical entry (chain.canonical_entry) of leaf ``index``."""
        return self._chunk(index >> NODE_LEVEL)[1][index % _CHUNK]

    def node(self, level: int, index: int) -> bytes:
        if level < NODE_LEVEL:  # inside one chunk of 256: hashed from its rows
            shift = NODE_LEVEL - level
            leaves = self._chunk(index >> shift)[0]
            start = (index % (1 << shift)) << level
            return root_of(leaves[start:start + (1 << level)])
        stored = self._stored.get((level, index))
        if stored is not None:
            return stored
        return self._from_rows(index << level, (index + 1) << level)

    def _read_nodes(self, keys: list[tuple[int, int]]) -> None:
        if not keys:
            return
        m = merkle_nodes.c
        query = select(m.level, m.node_index, m.hash).where(m.run_id == self.run_id,
                                                            tuple_(m.level, m.node_index).in_(keys))
        for level, index, value in self.connection.execute(query):
            try:
                self._stored[(level, index)] = bytes.fromhex(value)
            except ValueError:
                pass  # unreadable: recomputed from the rows instead (verify names it)

    def _rows(self, lo: int, hi: int) -> Iterator[tuple]:
        """The entry columns of leaves [lo, hi), checked to be exactly seq lo+1..hi."""
        query = (select(*_ENTRY_COLUMNS).where(decisions.c.run_id == self.run_id, decisions.c.seq > lo,
                                                decisions.c.seq <= hi).order_by(decisions.c.seq))
        expected = lo + 1
        rows = stream_tuples(self.connection, query)
        try:
            for row in rows:
                if row[_SEQ] != expected:
                    break
                expected += 1
                yield row
        finally:
            rows.close()
        if expected != hi + 1:
            raise MissingRows(f"run {self.run_id} lacks decision seq {expected} of the {self.size} its checkpoint "
                              "covers (run `audit verify`)")

    def _chunk(self, number: int) -> tuple[list[bytes], list[str]]:
        found = self._chunks.get(number)
        if found is None:
            entries = [canonical_entry(row) for row in self._rows(number * _CHUNK, min((number + 1) * _CHUNK, self.size))]
            found = self._chunks[number] = ([leaf_hash(e.encode("utf-8")) for e in entries], entries)
        return found

    def _from_rows(self, lo: int, hi: int) -> bytes:
        """A node no row of merkle_nodes holds (a run recorded before revision 0008): streamed."""
        tree = TreeBuilder()
        for row in self._rows(lo, hi):
            tree.append(leaf_hash(canonical_entry(row).encode("utf-8")))
        return tree.root()


def stored_in_order(connection, run_id: str) -> Iterator[tuple]:
    """A run's stored nodes in the order a growing tree completes them: by last leaf, then level."""
    m = merkle_nodes.c
    return stream_tuples(connection, select(m.level, m.node_index, m.hash).where(m.run_id == run_id)
                         .order_by((m.node_index + 1).op("<<")(m.level), m.level))


class NodeCheck:
    """Compares the nodes a recomputation of a run's tree completes (in completion order) with the
    stored ones streamed in the same order: constant memory. Keeps the first problem, one line."""

    def __init__(self, run_id: str, stored: Iterator[tuple]) -> None:
        self.run_id = run_id
        self.problem: tuple[str, str] | None = None  # (kind, message)
        self.checked = 0
        self._stored = stored
        self._next = next(stored, None)

    def completed(self, level: int, index: int, node: bytes) -> None:
        key = ((index + 1) << level, level)
        while self._next is not None:
            s_level, s_index, s_hash = self._next
            s_key = ((s_index + 1) << s_level, s_level)
            if s_key > key:
                return  # not stored (a run older than revision 0008): nothing to check
            self._next = next(self._stored, None)
            if s_key < key or s_level < NODE_LEVEL or s_index < 0:
                self._flag("inserted", s_level, s_index, "is no node of the run's tree")
            elif s_hash != node.hex():
                self._flag("edited", s_level, s_index, "does not match the tree of those decisions")
            else:
                self.checked += 1
            if s_key == key:
                return

    def finish(self, size: int) -> tuple[str, str] | None:
        """After the last leaf: a stored node past the tree's ``size`` leaves is not derived from it."""
        if self._next is not None:
            level, index, _ = self._next
            self._flag("inserted", level, index, f"lies past the run's {size} decisions")
        close = getattr(self._stored, "close", None)
        if close is not None:
            close()
        return self.problem

    def _flag(self, kind: str, level: int, index: int, why: str) -> None:
        if self.problem is None:
            self.problem = (kind, f"{kind}: the stored Merkle node level {level} index {index} of run {self.run_id} "
                                  f"({covered(level, index)}) {why} (`audit prove` reads it)")
