"""``audit summary`` over a large log, beside a plain SQL ``GROUP BY`` baseline in the same run.

Builds ``--rows`` decisions (default 1,000,000) in a fresh database, shaped like a crawl's log:
half are post-fetch allows (collected content, with content facts), 40 % pre-fetch allows, 10 %
denials with a reason code (robots.disallowed, tdmrep.reserved, aipref.reserved,
access.restricted); 20,000 registered domains with a skewed (Zipf-like) share of the pages; five
modalities (text 80 %, image 15 %, audio/video/other 5 %). The rows are inserted in bulk (COPY on
PostgreSQL) with placeholder chain hashes: the summary does not read the chain, and building a
million chained rows through the writer would only lengthen the set-up.

Then, on the same database: the baseline - one ``SELECT modality, registered_domain, count(*),
sum(content_bytes) ... GROUP BY`` over the collected decisions, the least any per-domain answer has
to do - and ``build_summary`` (every figure of the summary, several queries); median of
``--repeat`` timings each.

    .venv/bin/python benchmarks/bench_summary.py                       # 1,000,000 rows, both backends
    .venv/bin/python benchmarks/bench_summary.py --rows 200000 --backend sqlite
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
import uuid
from datetime import datetime, timedelta, timezone

from sqlalchemy import text

from copyright_guard.core.policy import load_policy
from copyright_guard.store import connect, finish_run, start_run
from copyright_guard.store.chain import canonical_json, format_time, url_key
from copyright_guard.store.schema import decision_reasons, decisions
from copyright_guard.store.sql import insert_many
from copyright_guard.store.summary import build_summary

PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
T0 = datetime(2026, 11, 1, tzinfo=timezone.utc)
DOMAINS = 20_000
COLUMNS = ("id", "run_id", "seq", "decided_at", "url", "url_key", "origin", "registered_domain", "stage", "purpose",
           "verdict", "reasons", "policy_hash", "prev_hash", "row_hash", "row_format", "content_sha256", "media_type",
           "content_bytes", "http_status", "modality")
MEDIA = (("text", "text/html", 0.80), ("image", "image/jpeg", 0.15), ("audio", "audio/mpeg", 0.02),
         ("video", "video/mp4", 0.02), ("other", "application/octet-stream", 0.01))
CODES = ("robots.disallowed", "tdmrep.reserved", "aipref.reserved", "access.restricted")


def build(engine, rows: int, policy) -> str:
    run_id = start_run(engine, policy, now=T0, spider="bench")
    rng = random.Random(10)
    weights = [1 / (rank + 1) ** 0.8 for rank in range(DOMAINS)]
    domains = rng.choices(range(DOMAINS), weights, k=rows)
    kinds = rng.choices(MEDIA, [w for *_, w in MEDIA], k=rows)
    zero = "0" * 64
    batch, codes = [], []
    started = time.perf_counter()
    for seq in range(1, rows + 1):
        domain = f"site{domains[seq - 1]}.example"
        url = f"https://{domain}/p/{seq}"
        decided = format_time(T0 + timedelta(milliseconds=10 * seq))
        ident = f"{seq:032x}"
        roll = seq % 10
        if roll < 5:  # collected
            modality, media, _ = kinds[seq - 1]
            size = rng.randrange(500, 200_000)
            row = (ident, run_id, seq, decided, url, url_key(url), f"https://{domain}", domain, "post-fetch",
                   "train-ai", "allow", "[]", policy.hash, zero, zero, 2, f"{seq:064x}", media, size, 200, modality)
        elif roll < 9:
            row = (ident, run_id, seq, decided, url, url_key(url), f"https://{domain}", domain, "pre-fetch",
                   "train-ai", "allow", "[]", policy.hash, zero, zero, 2, None, None, None, None, None)
        else:
            code = CODES[seq // 10 % len(CODES)]
            reasons = canonical_json([{"code": code, "source": "bench", "detail": "HTTP 402 Payment Required"
                                       if code == "access.restricted" else "bench", "effect": "deny", "evidence": None}])
            row = (ident, run_id, seq, decided, url, url_key(url), f"https://{domain}", domain, "pre-fetch",
                   "train-ai", "deny", reasons, policy.hash, zero, zero, 2, None, None, None, None, None)
            codes.append((ident, code))
        batch.append(row)
        if len(batch) >= 50_000:
            with engine.begin() as connection:
                insert_many(connection, decisions, batch, COLUMNS)
                insert_many(connection, decision_reasons, codes, ("decision_id", "code"))
            batch, codes = [], []
    with engine.begin() as connection:
        insert_many(connection, decisions, batch, COLUMNS)
        insert_many(connection, decision_reasons, codes, ("decision_id", "code"))
        if engine.dialect.name == "sqlite":
            connection.execute(text("ANALYZE"))
    if engine.dialect.name == "postgresql":
        # What autovacuum does to a table after a bulk load: statistics, and the visibility map
        # that lets PostgreSQL answer from an index alone (an index-only scan).
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text("VACUUM ANALYZE decisions"))
            connection.execute(text("VACUUM ANALYZE decision_reasons"))
    finish_run(engine, run_id, {}, T0 + timedelta(days=1))
    print(f"  built {rows:,} decisions in {time.perf_counter() - started:.1f} s", flush=True)
    return run_id


BASELINE = text(
    "SELECT modality, registered_domain, count(*), sum(content_bytes) FROM decisions "
    "WHERE stage = 'post-fetch' AND verdict = 'allow' AND modality IS NOT NULL GROUP BY modality, registered_domain"
)


def timed(function, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        function()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def run_backend(name: str, url: str, rows: int, repeat: int) -> None:
    engine = connect(url)
    try:
        build(engine, rows, load_policy())

        def baseline():
            with engine.connect() as connection:
                return connection.execute(BASELINE).all()

        groups = len(baseline())
        plain = timed(baseline, repeat)
        summary = timed(lambda: build_summary(engine), repeat)
        sme = timed(lambda: build_summary(engine, sme=True), 1)
        result = build_summary(engine)
        listed = sum(len(v) for v in result["top_domains"].values())
        print(f"{name:<10} {rows:>9,} decisions: baseline GROUP BY {plain:6.2f} s ({groups:,} groups); "
              f"audit summary {summary:6.2f} s (x{summary / plain:.2f}; --sme {sme:.2f} s; {listed} domains listed) "
              f"{'< 5 s: ok' if summary < 5 else '>= 5 s: TOO SLOW'}", flush=True)
    finally:
        engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    print(f"audit summary benchmark, Python {sys.version.split()[0]}", flush=True)
    if args.backend in ("sqlite", "both"):
        with tempfile.TemporaryDirectory(prefix="cg-summary-") as tmp:
            run_backend("sqlite", f"sqlite:///{tmp}/audit.db", args.rows, args.repeat)
    if args.backend in ("postgresql", "both"):
        import psycopg

        schema = f"bench_summary_{uuid.uuid4().hex[:8]}"
        with psycopg.connect("postgresql://postgres@127.0.0.1:5432/test", autocommit=True) as admin:
            admin.execute(f"CREATE SCHEMA {schema}")
        try:
            run_backend("postgresql", f"{PG}?options=-csearch_path%3D{schema}", args.rows, args.repeat)
        finally:
            with psycopg.connect("postgresql://postgres@127.0.0.1:5432/test", autocommit=True) as admin:
                admin.execute(f"DROP SCHEMA {schema} CASCADE")


if __name__ == "__main__":
    started = time.monotonic()
    main()
    print(f"(benchmark took {time.monotonic() - started:.0f} s)")
