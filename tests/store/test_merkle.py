"""RFC 9162 §2.1 Merkle tree: roots against the RFC's recursive definition, inclusion and
consistency proofs for every leaf and every old size of trees of 1..40 leaves."""

from __future__ import annotations

import hashlib

from copyright_guard.store.merkle import (
    EMPTY_ROOT,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    node_hash,
    root_of,
    verify_consistency,
    verify_inclusion,
)


def mth(entries: list[bytes]) -> bytes:
    """MTH(D[n]) written as RFC 9162 §2.1.1 defines it."""
    n = len(entries)
    if n == 0:
        return hashlib.sha256(b"").digest()
    if n == 1:
        return hashlib.sha256(b"\x00" + entries[0]).digest()
    k = 1 << ((n - 1).bit_length() - 1)
    return hashlib.sha256(b"\x01" + mth(entries[:k]) + mth(entries[k:])).digest()


def _entries(n: int) -> list[bytes]:
    return [f"entry {i}".encode() for i in range(n)]


def test_roots_match_the_rfc_definition():
    assert root_of([]) == EMPTY_ROOT == mth([])
    for n in range(1, 41):
        entries = _entries(n)
        assert root_of([leaf_hash(e) for e in entries]) == mth(entries), n


def test_inclusion_proofs_verify_and_a_wrong_leaf_or_index_does_not():
    for n in range(1, 41):
        leaves = [leaf_hash(e) for e in _entries(n)]
        root = root_of(leaves)
        for index in range(n):
            proof = inclusion_proof(leaves, index)
            assert len(proof) <= n.bit_length()
            assert verify_inclusion(leaves[index], index, n, proof, root)
            assert not verify_inclusion(leaf_hash(b"forged"), index, n, proof, root)
            if n > 1:
                assert not verify_inclusion(leaves[index], (index + 1) % n, n, proof, root)


def test_consistency_proofs_verify_and_a_rewritten_prefix_does_not():
    for n in range(1, 41):
        entries = _entries(n)
        leaves = [leaf_hash(e) for e in entries]
        root = root_of(leaves)
        for old in range(1, n + 1):
            proof = consistency_proof(leaves, old)
            assert verify_consistency(old, n, mth(entries[:old]), root, proof), (old, n)
            rewritten = mth([b"forged", *entries[1:old]])
            assert not verify_consistency(old, n, rewritten, root, proof)
    assert node_hash(b"a", b"b") == hashlib.sha256(b"\x01ab").digest()


def test_the_builder_reports_every_complete_subtree_of_256_leaves_and_up_and_paths_read_them():
    from copyright_guard.store.merkle import NODE_LEVEL, TreeBuilder, inclusion_path

    leaves = [leaf_hash(e) for e in _entries(1300)]
    builder, nodes = TreeBuilder(), []
    for leaf in leaves:
        builder.append(leaf, nodes)
    expected = sorted((level, index) for level in range(NODE_LEVEL, 11) for index in range(1300 >> level))
    assert sorted((level, index) for level, index, _ in nodes) == expected  # 5 + 2 + 1 nodes
    for level, index, node in nodes:
        assert node == root_of(leaves[index << level:(index + 1) << level])
    stored = {(level, index): node for level, index, node in nodes}

    def node(level, index):  # stored nodes where there are, leaves below NODE_LEVEL
        return stored.get((level, index)) or root_of(leaves[index << level:(index + 1) << level])

    for size in (256, 300, 1024, 1300):
        for index in (0, 255, 256, size - 1):
            if index < size:
                path = inclusion_path(index, size, node)
                assert path == inclusion_proof(leaves[:size], index)
                assert verify_inclusion(leaves[index], index, size, path, root_of(leaves[:size]))
