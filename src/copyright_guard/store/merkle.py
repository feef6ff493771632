"""The Merkle tree over a run's decisions: RFC 9162 (Certificate Transparency 2.0) §2.1 hashing.

    leaf hash = SHA-256(0x00 || entry)             entry: chain.canonical_entry(row), UTF-8
    node hash = SHA-256(0x01 || left || right)

over the run's rows in ``seq`` order (leaf index = seq - 1). The tree of n leaves splits at k, the
largest power of two smaller than n (§2.1.1). Inclusion proofs (§2.1.3) and consistency proofs
(§2.1.4) are produced and checked with the RFC's algorithms, so any RFC 9162 implementation can
check them too. Pure: bytes in, bytes out.

A **node** (level, index) is the root of the complete subtree over leaves
[index * 2^level, (index + 1) * 2^level): every such subtree is also a subtree of every larger tree
(§2.1.1 splits at powers of two), so its hash never changes once its last leaf exists. The writer
stores the nodes of level >= NODE_LEVEL as the tree grows (store/nodes.py), so an inclusion proof
(:func:`inclusion_path`) needs those stored hashes plus at most two chunks of 2^NODE_LEVEL leaves.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Sequence

_sha256 = hashlib.sha256


def leaf_hash(entry: bytes) -> bytes:
    return _sha256(b"\x00" + entry).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return _sha256(b"\x01" + left + right).digest()


EMPTY_ROOT = _sha256(b"").digest()  # MTH({}) = SHA-256() (§2.1.1)

# Nodes of 2^8 = 256 leaves and up are stored: 1/128 as many rows as decisions, and a proof re-hashes
# at most 2 x 255 decisions besides the O(log n) stored hashes it reads.
NODE_LEVEL = 8


class TreeBuilder:
    """Appends leaf hashes and gives the root at the current size, in O(log n) memory.

    The stack holds the roots of the complete subtrees the leaves so far decompose into, largest
    first: one per set bit of ``size``. Appending leaf number ``size`` (1-based) completes one
    subtree per trailing zero bit of it, each merged with the stack's top; the root folds the stack
    from the right, which is exactly MTH's split at the largest power of two.

    :meth:`after` starts a tree whose first leaves are not known here (another process hashes
    them: store/verify.py): a subtree reaching into them is unknown (``None``), and the known
    subtrees that would have merged into one are kept, in order, as :attr:`pieces` - appending
    them with :meth:`append_node` to the real tree of the first leaves gives the whole tree.
    """

    __slots__ = ("size", "_stack", "pieces")

    def __init__(self) -> None:
        self.size = 0
        self._stack: list[bytes | None] = []
        self.pieces: list[tuple[int, bytes]] = []

    @classmethod
    def after(cls, size: int) -> TreeBuilder:
        tree = cls()
        tree.size, tree._stack = size, [None] * size.bit_count()
        return tree

    def append(self, leaf: bytes, nodes: list | None = None) -> None:
        """Add a leaf hash; with ``nodes``, every complete subtree of 2^NODE_LEVEL leaves or more this
        leaf completes is appended to it as ``(level, index, hash)`` (smallest first)."""
        if self.size & 1:  # an even leaf number completes subtrees
            self.append_node(0, leaf, nodes)
        else:  # an odd one completes none (half of all leaves: `audit verify` appends one per row)
            self.size += 1
            self._stack.append(leaf)

    def append_node(self, level: int, node: bytes, nodes: list | None = None) -> None:
        """Add the root of a complete subtree of 2^level leaves (``size`` must be a multiple of it)."""
        self.size = size = self.size + (1 << level)
        stack, bits = self._stack, size >> level
        while not bits & 1:
            left = stack.pop()
            if left is None or node is None:  # reaches into leaves not known here (see after())
                if node is not None:
                    self.pieces.append((level, node))
                node = None
            else:
                node = _sha256(b"\x01" + left + node).digest()
            bits >>= 1
            level += 1
            if level >= NODE_LEVEL and nodes is not None and node is not None:
                nodes.append((level, (size >> level) - 1, node))
        stack.append(node)

    def copy(self) -> TreeBuilder:
        other = TreeBuilder()
        other.size, other._stack, other.pieces = self.size, list(self._stack), list(self.pieces)
        return other

    def known_tail(self) -> list[tuple[int, bytes]]:
        """The known subtrees after the last unknown one, largest first, as (level, hash)."""
        levels = [bit for bit in range(self.size.bit_length() - 1, -1, -1) if self.size >> bit & 1]
        tail = []
        for level, node in zip(levels, self._stack):
            tail = [] if node is None else [*tail, (level, node)]
        return tail

    def root(self) -> bytes:
        if not self._stack:
            return EMPTY_ROOT
        node = self._stack[-1]
        for left in reversed(self._stack[:-1]):
            node = node_hash(left, node)
        return node


def root_of(leaves: Iterable[bytes]) -> bytes:
    builder = TreeBuilder()
    for leaf in leaves:
        builder.append(leaf)
    return builder.root()


def _split(n: int) -> int:
    """The largest power of two smaller than n (n > 1)."""
    return 1 << ((n - 1).bit_length() - 1)


def _mth(leaves: Sequence[bytes]) -> bytes:
    return root_of(leaves)


def inclusion_proof(leaves: Sequence[bytes], index: int) -> list[bytes]:
    """PATH(m, D[n]) of RFC 9162 §2.1.3.1, leaf hashes given."""
    return inclusion_path(index, len(leaves),
                          lambda level, i: _mth(leaves[i << level:(i + 1) << level]))


def inclusion_path(index: int, size: int, node: Callable[[int, int], bytes]) -> list[bytes]:
    """PATH(index, D[size]) of RFC 9162 §2.1.3.1, given ``node(level, i)``: the hash of the complete
    subtree over leaves [i * 2^level, (i + 1) * 2^level) (a leaf hash at level 0).

    Every subtree the path names is either such a complete subtree or the tree's right edge
    [lo, size), which is the fold of the complete subtrees the bits of its length give (§2.1.1).
    """
    if not 0 <= index < size:
        raise ValueError(f"leaf index {index} is outside a tree of {size}")
    path = []
    lo, hi = 0, size
    while hi - lo > 1:  # outermost sibling first; the RFC lists them innermost first
        k = _split(hi - lo)
        if index < lo + k:
            path.append(_range_hash(lo + k, hi, node))
            hi = lo + k
        else:
            path.append(_range_hash(lo, lo + k, node))
            lo += k
    path.reverse()
    return path


def _range_hash(lo: int, hi: int, node: Callable[[int, int], bytes]) -> bytes:
    """MTH(D[lo:hi]) for a range inclusion_path visits: lo is a multiple of a power of two >= its length."""
    n = hi - lo
    if n & (n - 1) == 0:
        level = n.bit_length() - 1
        return node(level, lo >> level)
    k = _split(n)
    return node_hash(_range_hash(lo, lo + k, node), _range_hash(lo + k, hi, node))


def verify_inclusion(leaf: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes) -> bool:
    """RFC 9162 §2.1.3.2."""
    if not 0 <= index < size:
        return False
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


def consistency_proof(leaves: Sequence[bytes], old_size: int) -> list[bytes]:
    """PROOF(m, D[n]) of RFC 9162 §2.1.4.1."""
    n = len(leaves)
    if not 0 < old_size <= n:
        raise ValueError(f"no consistency proof from size {old_size} to {n}")
    return _subproof(leaves, old_size, True)


def _subproof(leaves: Sequence[bytes], m: int, complete: bool) -> list[bytes]:
    n = len(leaves)
    if m == n:
        return [] if complete else [_mth(leaves)]
    k = _split(n)
    if m <= k:
        return [*_subproof(leaves[:k], m, complete), _mth(leaves[k:])]
    return [*_subproof(leaves[k:], m - k, False), _mth(leaves[:k])]


def verify_consistency(old_size: int, new_size: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]) -> bool:
    """RFC 9162 §2.1.4.2."""
    if old_size == new_size:
        return not proof and old_root == new_root
    if not 0 < old_size < new_size:
        return False
    path = list(proof)
    if old_size & (old_size - 1) == 0:  # a power of two: the old root is the first node
        path.insert(0, old_root)
    if not path:
        return False
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return sn == 0 and fr == old_root and sr == new_root
