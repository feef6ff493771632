"""Audit-integrity benchmark: Merkle proofs, insert rate with signed checkpoints, full verify rate.

Each figure is printed beside its baseline from the same run:

- merkle:  an in-memory tree of ``--leaves`` leaves (default 1,000,000): root, an inclusion proof
           (size as the JSON proof carries it, time to make and to check), a consistency proof;
- insert:  ``--rows`` decisions (default 200,000; SQLite) through DecisionWriter with a signer and
           checkpoints every 10,000 (baseline: the same writer without a signer, a fresh database);
- verify:  `audit verify` of that database - chain, Merkle tree, stored Merkle nodes, checkpoints,
           run record, reason index, url_key, policies and re-hashing every evidence body - as it
           runs (two processes from 50,000 rows on Linux: store/verify_split.py) and in one
           process, each twice, the best of each (baseline: streaming the same rows without hashing);
- prove:   `audit prove` of decisions spread over the run (seq 2: the longest path; the middle; the
           last anchored one): time (stored Merkle nodes + at most two chunks of 256 rows are read)
           and size (the proof file; and without the decision's own entry: the inclusion path and
           the signed checkpoint), and `verify-proof`'s check (no database).

    .venv/bin/python benchmarks/bench_integrity.py                 # ~1 minute on 2 CPUs
    .venv/bin/python benchmarks/bench_integrity.py --rows 1000000 --no-baseline-insert  # the issue's 1M run
"""

from __future__ import annotations

import argparse
import atexit
import base64
import gc
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import func, select

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
from copyright_guard.store import verify_split  # noqa: E402
from copyright_guard.store.proofs import check_proof, checkpoint_file, prove  # noqa: E402
from copyright_guard.store.schema import checkpoints, decisions  # noqa: E402
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
    parser.add_argument("--no-baseline-insert", action="store_true",
                        help="skip the insert without a signer (halves the time of a large --rows)")
    args = parser.parse_args()
    bench_merkle(args.leaves)

    policy = load_policy()
    pool = decision_pool(policy, args.rows)
    tmp = Path(tempfile.mkdtemp(prefix="cg-integrity-"))
    atexit.register(shutil.rmtree, tmp, True)  # its databases can be large
    plain_url, signed_url = f"sqlite:///{tmp / 'plain.db'}", f"sqlite:///{tmp / 'signed.db'}"
    plain_rate = None if args.no_baseline_insert else write_run(plain_url, policy, pool, None)[1]
    run_id, signed_rate = write_run(signed_url, policy, pool, new_signer("bench"))
    print(f"insert   {signed_rate:,.0f} decisions/s with signed checkpoints every 10,000 " +
          (f"(baseline: the same writer without a signer {plain_rate:,.0f}/s; ratio {signed_rate / plain_rate:.3f})"
           if plain_rate else "(no baseline: --no-baseline-insert)"))

    del pool  # verify runs as the CLI does, without a million decisions in the process
    gc.collect()
    engine = connect(signed_url)
    rates, as_run = {}, verify_split.PARALLEL_MIN
    # Each way twice, alternating, the best of each: the machine's load changes within seconds.
    for label, minimum in (("one process", 10 ** 12), ("as run", as_run)) * 2:
        verify_split.PARALLEL_MIN = minimum
        started = time.perf_counter()
        checks = list(verify(engine))
        elapsed = time.perf_counter() - started
        assert all(c.ok for c in checks), [p.message for c in checks for p in c.problems]
        rows = sum(c.rows for c in checks)
        rates[label] = max(rates.get(label, 0), rows / elapsed)
    verify_split.PARALLEL_MIN = as_run
    with engine.connect() as connection:
        started = time.perf_counter()
        streamed = sum(1 for _ in stream_tuples(connection, _COLUMNS[0].table.select().with_only_columns(*_COLUMNS)
                                                .order_by(decisions.c.seq)))
        baseline = time.perf_counter() - started
    processes = 2 if rows >= verify_split.PARALLEL_MIN and (os.cpu_count() or 1) > 1 and sys.platform == "linux" else 1
    print(f"verify   {rates['as run']:,.0f} rows/s over {rows:,} rows, everything included ({processes} process{'es' if processes > 1 else ''}; "
          f"one process: {rates['one process']:,.0f}/s) (baseline: streaming the rows without hashing "
          f"{streamed / baseline:,.0f}/s)")

    witness = tmp / "checkpoints.txt"
    witness.write_text("".join(checkpoint_file(engine, run_id)))
    held = read_checkpoint_file(str(witness))
    with engine.connect() as connection:
        anchored = connection.execute(select(func.max(checkpoints.c.tree_size))).scalar()
        targets = [connection.execute(select(decisions.c.id).where(decisions.c.seq == seq)).scalar()
                   for seq in (2, anchored // 2 + 1, anchored)]
    for decision_id in targets:
        timings = []
        for _ in range(5):
            started = time.perf_counter()
            proof = prove(engine, decision_id)
            timings.append(time.perf_counter() - started)
        size = len(json.dumps(proof, indent=1, ensure_ascii=False).encode())  # as `audit prove --out` writes it
        entry = len(json.dumps(proof["entry"], ensure_ascii=False).encode())
        started = time.perf_counter()
        check_proof(proof, held)
        checked = time.perf_counter() - started
        print(f"prove    seq {proof['seq']:,} of the tree of {proof['tree_size']:,}: {len(proof['inclusion'])} nodes, "
              f"{size:,} B proof file ({size - entry:,} B without the decision's own {entry:,} B entry), made in "
              f"{min(timings) * 1000:.1f}-{max(timings) * 1000:.1f} ms (5 times), checked in {checked * 1000:.2f} ms "
              "without the database")
    engine.dispose()


if __name__ == "__main__":
    started = time.monotonic()
    main()
    print(f"(benchmark took {time.monotonic() - started:.0f} s)")
