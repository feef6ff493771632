"""Audit-store benchmark: writer throughput, explain latency, verify speed, export memory.

Each figure is printed beside a baseline measured in the same run on the same machine:

- insert:  DecisionWriter (hash chain, evidence de-duplication, background thread) vs. a plain
           SQLAlchemy Core ``executemany`` of the same rows from the caller's thread (no chain);
- explain: ``audit explain`` through the url_key index vs. the same query forced to scan;
- verify:  recomputing the chain vs. merely streaming the same rows;
- export:  peak RSS of an export process at the end vs. after the first tenth of the rows
           (constant memory means the two are about equal).

    .venv/bin/python benchmarks/bench_store.py                      # 1,000,000 rows, SQLite and PostgreSQL
    .venv/bin/python benchmarks/bench_store.py --rows 100000 --backend sqlite

PostgreSQL: the server at 127.0.0.1:5432, database ``test``, in a scratch schema dropped afterwards.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

from sqlalchemy import select, text

from copyright_guard.core.model import Decision, Effect, Evidence, Reason, Stage, Verdict, sha256_hex
from copyright_guard.core.policy import load_policy
from copyright_guard.store import DecisionWriter, connect, finish_run, start_run
from copyright_guard.store.audit import explain
from copyright_guard.store.chain import format_time, url_key
from copyright_guard.store.schema import decisions
from copyright_guard.store.verify import _COLUMNS, verify

T0 = datetime(2026, 11, 1, tzinfo=timezone.utc)
PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
POOL = 100_000  # distinct URLs; a larger run decides them again, as recrawls do


def decision_pool(policy, size: int) -> list[Decision]:
    """``size`` decisions as a crawl makes them: 2,000 sites, each with its own robots.txt evidence,
    40 % denied; 100,000 distinct URLs, each decided again on every recrawl; times increasing
    (10 ms apart), as they do in a real crawl - the time indexes are appended to, not shuffled."""
    rng = random.Random(7)
    sites = []
    for number in range(2000):
        domain = f"site{number}.example"
        body = f"User-agent: *\nDisallow: /private/\nDisallow: /drafts/{number}/\n".encode()
        found = Evidence("robots.txt", "robots.txt line 2: Disallow: /private/", f"https://{domain}/robots.txt",
                         f"https://{domain}/robots.txt", 200, T0, sha256_hex(body), body)
        sites.append((domain, (Reason("robots.disallowed", "robots.txt", "Disallow: /private/ matches /private/page",
                                      Effect.DENY, found),)))
    pages = []
    for number in range(min(size, POOL)):
        domain, reasons = sites[rng.randrange(len(sites))]
        denied = rng.random() < 0.4
        pages.append((f"https://{domain}/{'private' if denied else 'articles'}/{number}.html", f"https://{domain}", domain,
                      Stage.PRE_FETCH if denied else Stage.POST_FETCH, Verdict.DENY if denied else Verdict.ALLOW,
                      reasons if denied else ()))
    return [Decision(url, origin, domain, stage, "train-ai", verdict, reasons, policy.hash, T0 + timedelta(milliseconds=10 * n))
            for n, (url, origin, domain, stage, verdict, reasons) in ((n, pages[n % len(pages)]) for n in range(size))]


SEGMENT = 100_000  # rows per reported segment of the insert (the rate falls as the database grows)


def written_bytes() -> int:
    """Bytes this process has caused to be written to storage (Linux /proc/self/io), or 0."""
    try:
        with open("/proc/self/io") as io:
            return next(int(line.split()[1]) for line in io if line.startswith("write_bytes:"))
    except (OSError, StopIteration):
        return 0


def bench_insert(engine, policy, pool, rows: int, **writer_options) -> tuple[float, list[float], str, int]:
    """Overall rate, the rate of each SEGMENT rows (submit blocks once max_pending rows wait, so
    the time a segment's last row is accepted tracks the database within that backlog), the run
    id and the bytes written to storage (the database, its WAL and checkpoints)."""
    run_id = start_run(engine, policy, now=T0)
    segments = []
    before = written_bytes()
    started = mark = time.perf_counter()
    with DecisionWriter(engine, run_id, **writer_options) as writer:
        for number, decision in enumerate(pool[:rows], 1):
            writer.submit(decision)
            if number % SEGMENT == 0:
                now = time.perf_counter()
                segments.append(SEGMENT / (now - mark))
                mark = now
    elapsed = time.perf_counter() - started
    written = written_bytes() - before
    finish_run(engine, run_id, None, T0)
    return rows / elapsed, segments, run_id, written


# The writer's batching before it was tuned (README "Benchmarks"): the same writer, 5,000-row batches.
PREVIOUS_WRITER = {"batch_size": 5000, "max_pending": 20_000}


def bench_insert_previous(url: str, policy, pool, rows: int) -> tuple[float, list[float], int]:
    """The insert again, into a fresh database of its own, with PREVIOUS_WRITER's batching."""
    engine = connect(url)
    rate, segments, _, written = bench_insert(engine, policy, pool, rows, **PREVIOUS_WRITER)
    engine.dispose()
    return rate, segments, written


def bench_insert_baseline(url: str, policy, pool, rows: int) -> float:
    """Plain Core executemany, no chain, no thread: what a straightforward logger would do. Into a
    database of its own: its unchained rows could not be deleted afterwards (decisions are
    append-only, revision 0006) and would fail the verify measured next."""
    engine = connect(url)
    run_id = start_run(engine, policy, now=T0)
    started = time.perf_counter()
    batch = []
    for number, d in enumerate(pool[:rows]):
        batch.append({"id": uuid.uuid4().hex, "run_id": run_id, "seq": number + 1, "decided_at": format_time(d.decided_at),
                      "url": d.url, "url_key": url_key(d.url), "origin": d.origin,
                      "registered_domain": d.registered_domain, "stage": d.stage.value, "purpose": d.purpose,
                      "verdict": d.verdict.value, "reasons": json.dumps([r.as_dict() for r in d.reasons]),
                      "policy_hash": d.policy_hash, "prev_hash": "", "row_hash": ""})
        if len(batch) == 5000:
            with engine.begin() as connection:
                connection.execute(decisions.insert(), batch)
            batch = []
    if batch:
        with engine.begin() as connection:
            connection.execute(decisions.insert(), batch)
    rate = rows / (time.perf_counter() - started)
    engine.dispose()
    return rate


def bench_explain(engine, pool) -> tuple[float, float, float]:
    """Median and worst of 30 explains over random URLs (library call), and one forced scan."""
    rng = random.Random(3)
    times = []
    for _ in range(30):
        url = pool[rng.randrange(min(len(pool), POOL))].url
        started = time.perf_counter()
        found = explain(engine, url)
        times.append(time.perf_counter() - started)
        assert found.decisions, url
    url = pool[0].url
    with engine.connect() as connection:
        started = time.perf_counter()
        # The same lookup without the index (a concatenation defeats it): the baseline.
        connection.execute(select(decisions.c.id).where(decisions.c.url + "" == url)).all()
        scan = time.perf_counter() - started
    return statistics.median(times) * 1000, max(times) * 1000, scan * 1000


def bench_explain_cli(url: str, pool) -> float:
    started = time.perf_counter()
    subprocess.run([str(Path(sys.executable).with_name("copyright-guard")), "audit", "explain", pool[5].url, "--db", url],
                   check=True, capture_output=True, env={**os.environ, "PYTHONWARNINGS": "ignore"})
    return (time.perf_counter() - started) * 1000


def bench_verify(engine) -> tuple[float, float, int]:
    started = time.perf_counter()
    checks = list(verify(engine))
    elapsed = time.perf_counter() - started
    assert all(c.ok for c in checks), [c.broken for c in checks if not c.ok]
    total = sum(c.rows for c in checks)
    with engine.connect() as connection:
        started = time.perf_counter()
        streamed = 0
        result = connection.execution_options(stream_results=True, yield_per=5000).execute(
            select(*_COLUMNS).order_by(decisions.c.run_id, decisions.c.seq))
        for _ in result:
            streamed += 1
        baseline = time.perf_counter() - started
    return total / elapsed, streamed / baseline, total


EXPORT_PROBE = """
import json, sys, time
from copyright_guard.store import connect
from copyright_guard.store.export import count, export
from copyright_guard.store.audit import Filters

engine = connect(sys.argv[1])
total = count(engine, Filters())
marks, seen, started = {}, [0], time.perf_counter()

def peak_rss_mib():
    # VmHWM is this program's own peak; getrusage's ru_maxrss would include the parent's from
    # before exec (Linux keeps the larger of the two).
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmHWM:")) / 1024

def progress(rows):
    seen[0] += rows
    if seen[0] >= total // 10 and "tenth" not in marks:
        marks["tenth"] = {"rows": seen[0], "peak_rss_mib": peak_rss_mib()}

with open(sys.argv[2], "w", encoding="utf-8") as out:
    written = export(engine, out, "jsonl", progress=progress)
marks["all"] = {"rows": written, "seconds": time.perf_counter() - started,
                "peak_rss_mib": peak_rss_mib()}
print(json.dumps(marks))
"""


def bench_export(url: str) -> dict:
    """Peak RSS (MiB) of one export process after a tenth of the rows and at the end.

    Constant memory means the two are about equal (the SQLite page cache, at most 128 MiB, is part
    of both); a process that collected the rows would grow tenfold.
    """
    with tempfile.NamedTemporaryFile(suffix=".jsonl") as out:
        done = subprocess.run([sys.executable, "-c", EXPORT_PROBE, url, out.name], check=True, capture_output=True, text=True)
    return json.loads(done.stdout.splitlines()[-1])


def run_backend(name: str, url: str, baseline_url: str, rows: int, policy, pool,
                previous_url: str | None = None) -> dict:
    engine = connect(url)
    result = {"backend": name, "rows": rows}
    rate, segments, _, written = bench_insert(engine, policy, pool, rows)
    result.update(insert_per_s=rate, insert_segments_per_s=segments, insert_written_mib=written / 2**20)
    if previous_url is not None:
        rate, segments, written = bench_insert_previous(previous_url, policy, pool, rows)
        result["previous"] = {"insert_per_s": rate, "insert_segments_per_s": segments, "insert_written_mib": written / 2**20}
    result["insert_baseline_per_s"] = bench_insert_baseline(baseline_url, policy, pool, min(rows, 100_000))
    if engine.dialect.name == "postgresql":
        with engine.begin() as connection:
            connection.execute(text("ANALYZE"))
    median, worst, scan = bench_explain(engine, pool)
    result.update(explain_median_ms=median, explain_max_ms=worst, explain_scan_ms=scan,
                  explain_cli_ms=bench_explain_cli(url, pool))
    verify_rate, stream_rate, total = bench_verify(engine)
    result.update(verify_per_s=verify_rate, stream_per_s=stream_rate, verified_rows=total)
    result["export"] = bench_export(url)
    engine.dispose()
    return result


def show(result: dict) -> None:
    e = result["export"]
    print(f"\n== {result['backend']}: {result['rows']:,} decisions ==")
    print(f"insert   {result['insert_per_s']:>10,.0f} decisions/s through DecisionWriter   "
          f"(baseline: plain executemany, no chain {result['insert_baseline_per_s']:,.0f}/s)")
    def curve(figures: dict) -> str:
        return (" ".join(f"{r / 1000:.0f}k" for r in figures["insert_segments_per_s"])
                + (f"; {figures['insert_written_mib']:,.0f} MiB written" if figures["insert_written_mib"] else ""))

    print(f"         per {SEGMENT:,} rows: {curve(result)}")
    if "previous" in result:
        previous = result["previous"]
        print(f"         (baseline: the same writer with {PREVIOUS_WRITER['batch_size']:,}-row batches, fresh database: "
              f"{previous['insert_per_s']:,.0f}/s; per {SEGMENT:,} rows: {curve(previous)})")
    print(f"explain  median {result['explain_median_ms']:.1f} ms, max {result['explain_max_ms']:.1f} ms (library); "
          f"CLI process incl. start-up {result['explain_cli_ms']:.0f} ms   (baseline: same query by scan {result['explain_scan_ms']:.0f} ms)")
    print(f"verify   {result['verify_per_s']:>10,.0f} rows/s over {result['verified_rows']:,} rows   "
          f"(baseline: streaming the rows without hashing {result['stream_per_s']:,.0f}/s)")
    print(f"export   {e['all']['rows']:,} rows in {e['all']['seconds']:.1f} s ({e['all']['rows'] / e['all']['seconds']:,.0f}/s), "
          f"peak RSS {e['all']['peak_rss_mib']:.0f} MiB   (baseline: the same process after {e['tenth']['rows']:,} rows: {e['tenth']['peak_rss_mib']:.0f} MiB)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--json", action="store_true", help="also print the figures as JSON")
    parser.add_argument("--no-previous", action="store_true",
                        help="skip the SQLite insert with the writer's previous batching (saves a second insert)")
    args = parser.parse_args()
    policy = load_policy()
    pool = decision_pool(policy, args.rows)
    results = []
    with tempfile.TemporaryDirectory() as scratch:
        if args.backend in ("sqlite", "both"):
            previous = None if args.no_previous else f"sqlite:///{Path(scratch) / 'previous.db'}"
            results.append(run_backend("sqlite", f"sqlite:///{Path(scratch) / 'bench.db'}",
                                       f"sqlite:///{Path(scratch) / 'baseline.db'}", args.rows, policy, pool, previous))
            show(results[-1])
        if args.backend in ("postgresql", "both"):
            import psycopg

            schemas = [f"cg_bench_{uuid.uuid4().hex[:8]}" for _ in range(2)]  # the writer's, the baseline's
            with psycopg.connect("postgresql://postgres@127.0.0.1:5432/test", autocommit=True) as admin:
                for schema in schemas:
                    admin.execute(f"CREATE SCHEMA {schema}")
            try:
                url, baseline = (f"{PG}?options=-csearch_path%3D{schema}" for schema in schemas)
                results.append(run_backend("postgresql", url, baseline, args.rows, policy, pool))
                show(results[-1])
            finally:
                with psycopg.connect("postgresql://postgres@127.0.0.1:5432/test", autocommit=True) as admin:
                    for schema in schemas:
                        admin.execute(f"DROP SCHEMA {schema} CASCADE")
    if args.json:
        print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
