"""Audit-integrity benchmark: Merkle proofs, insert rate with signed checkpoints, full verify rate.

Each figure is printed beside its baseline from the same run:

- merkle:  an in-memory tree of ``--leaves`` leaves (default 1,000,000): root, an inclusion proof
           (size as the JSON proof carries it, time to make and to check), a consistency proof;
- insert:  ``--rows`` decisions (default 200,000; SQLite) through DecisionWriter with a signer and
           checkpoints every 10,000 (baseline: the same writer without a signer, a fresh database);
- verify:  `audit verify` of that database - chain, Merkle tree, checkpoints, run record, reason
           index, url_key, policies and re-hashing every evidence body (baseline: streaming the
           same rows without hashing);
- prove:   `audit prove` of the last decision (reads the run's rows up to its checkpoint) and
           `verify-proof`'s check (no database).

    .venv/bin/python benchmarks/bench_integrity.py                 # ~1 minute on 2 CPUs
    .venv/bin/python benchmarks/bench_integrity.py --rows 1000000  # the issue's 1M-decision run (slow)
"""

from __future__ import annotations

import argparse
import base64
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_store import T0, decision_pool  # noqa: E402 - the same decisions as the store benchmark

from copyright_guard.core.policy import load_policy  # noqa: E402
from copyright_guard.store import DecisionWriter, connect, finish_run, start_run  # noqa: E402
from copyright_guard.store.merkle import (  # noqa: E402
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    root_of,
    verify_consistency,
    verify_inclusion,
)
from copyright_guard.store.note import new_signer  # noqa: E402
from copyright_guard.store.proofs import check_proof, prove  # noqa: E402
from copyright_guard.store.schema import decisions  # noqa: E402
from copyright_guard.store.sql import stream_tuples  # noqa: E402
from copyright_guard.store.verify import _COLUMNS, read_checkpoint_file, verify  # noqa: E402


def bench_merkle(n: int) -> None:
    started = time.perf_counter()
    leaves = [leaf_hash(b'["%d","decision row content of about the usual length ............"]' % i) for i in range(n)]
    hashed = time.perf_counter() - started
    started = time.perf_counter()
    root = root_of(leaves)
    rooted = time.perf_counter() - started
    index = 1  # a leaf of the largest complete subtree: the longest path (log2 n nodes)
    started = time.perf_counter()
    proof = inclusion_proof(leaves, index)
    made = time.perf_counter() - started
    started = time.perf_counter()
    for _ in range(1000):
        assert verify_inclusion(leaves[index], index, n, proof, root)
    checked = (time.perf_counter() - started) / 1000
    encoded = json.dumps([base64.b64encode(p).decode() for p in proof])
    old = n // 3
    cproof = consistency_proof(leaves, old)
    assert verify_consistency(old, n, root_of(leaves[:old]), root, cproof)
    print(f"merkle   {n:,} leaves: leaf hashes {hashed:.2f} s, root {rooted:.2f} s; inclusion proof of leaf {index:,}: "
          f"{len(proof)} nodes = {len(encoded)} B as JSON, made in {made * 1000:.0f} ms from the leaf hashes, "
          f"checked in {checked * 1e6:.0f} µs; consistency proof {old:,} -> {n:,}: {len(cproof)} nodes")


def write_run(url: str, policy, pool, signer) -> tuple[str, float]:
    engine = connect(url)
    run_id = start_run(engine, policy, now=T0, log_key=signer.vkey if signer else None)
    started = time.perf_counter()
    with DecisionWriter(engine, run_id, signer=signer, checkpoint_every=10_000) as writer:
        for decision in pool:
            writer.submit(decision)
    elapsed = time.perf_counter() - started
    finish_run(engine, run_id, None, T0)
    engine.dispose()
    return run_id, len(pool) / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leaves", type=int, default=1_000_000)
    parser.add_argument("--rows", type=int, default=200_000)
    args = parser.parse_args()
    bench_merkle(args.leaves)

    policy = load_policy()
    pool = decision_pool(policy, args.rows)
    tmp = Path(tempfile.mkdtemp(prefix="cg-integrity-"))
    plain_url, signed_url = f"sqlite:///{tmp / 'plain.db'}", f"sqlite:///{tmp / 'signed.db'}"
    _, plain_rate = write_run(plain_url, policy, pool, None)
    run_id, signed_rate = write_run(signed_url, policy, pool, new_signer("bench"))
    print(f"insert   {signed_rate:,.0f} decisions/s with signed checkpoints every 10,000 "
          f"(baseline: the same writer without a signer {plain_rate:,.0f}/s; ratio {signed_rate / plain_rate:.3f})")

    engine = connect(signed_url)
    started = time.perf_counter()
    checks = list(verify(engine))
    elapsed = time.perf_counter() - started
    assert all(c.ok for c in checks), [p.message for c in checks for p in c.problems]
    rows = sum(c.rows for c in checks)
    with engine.connect() as connection:
        started = time.perf_counter()
        streamed = sum(1 for _ in stream_tuples(connection, _COLUMNS[0].table.select().with_only_columns(*_COLUMNS)
                                                .order_by(decisions.c.seq)))
        baseline = time.perf_counter() - started
    print(f"verify   {rows / elapsed:,.0f} rows/s over {rows:,} rows, everything included "
          f"(baseline: streaming the rows without hashing {streamed / baseline:,.0f}/s)")

    last = pool[1].url  # seq 2: a leaf deep in the tree (the longest path)
    started = time.perf_counter()
    proof = prove(engine, last)
    made = time.perf_counter() - started
    size = len(json.dumps(proof, indent=1, ensure_ascii=False).encode())
    witness = tmp / "checkpoints.txt"
    from copyright_guard.store.proofs import checkpoint_file

    witness.write_text("".join(checkpoint_file(engine, run_id)))
    held = read_checkpoint_file(str(witness))
    started = time.perf_counter()
    check_proof(proof, held)
    checked = time.perf_counter() - started
    print(f"prove    {len(proof['inclusion'])} nodes, {size} B proof file (entry and signed checkpoint included), "
          f"made in {made * 1000:.0f} ms (reads the run's {proof['tree_size']:,} rows), checked in {checked * 1000:.2f} ms "
          "without the database")
    engine.dispose()


if __name__ == "__main__":
    started = time.monotonic()
    main()
    print(f"(benchmark took {time.monotonic() - started:.0f} s)")
