"""One crawl on 1, 2 and 4 workers (Redis + PostgreSQL) against the single-process add-on, same run.

A local site of ``--origins`` x ``--pages`` pages (copyright_guard.demo.server, which logs every
request) is crawled by ``copyright-guard crawl`` four ways, each in fresh processes:

* ``single``: the add-on in one process, no Redis (the baseline);
* ``workers=K`` (K = 1, 2, 4): ``--redis --name --workers K`` - the scrapy-redis queue, the shared
  site-file store and crawl-wide politeness in Redis.

All write to the same PostgreSQL server (a fresh schema per crawl). Reported per configuration:
pages, wall seconds, pages/s, pages per CPU second (user+system of every crawler process: a busy
shared machine disturbs it less than wall time) and its ratio to ``single`` (the efficiency); the
start-up CPU of the configuration (a crawl of one page: the processes, importing Scrapy - once, in
the parent the local workers are forked from -, opening the database and Redis) and the efficiency
without it (the per-page cost, what grows with a crawl); the site-file requests per origin the
server saw (1 each = one fetch per (kind, origin) crawl-wide); the Redis commands per page (INFO commandstats before and after: every command the server ran,
those inside the Lua scripts included; the Redis server is assumed quiet otherwise) and the Redis
server's own CPU seconds (INFO cpu; not in the crawlers' CPU, as PostgreSQL's is in neither).
Every configuration runs ``--rounds`` times, interleaved (a busy machine disturbs them alike); each
figure is the median of its rounds, and each round's efficiency against that round's ``single`` is
listed.
Finally the Redis store's own cost per decision: the round trip the politeness middleware makes
for a request (claim+turn, with the previous request's release), timed alone on loopback, in
microseconds.

On a 2-core machine the aggregate speed-up is bounded by the cores; per-CPU-second efficiency is
the figure that carries over to many machines (each worker's CPU cost per page does not depend on
how many other workers there are, while Redis work per page is a few O(1) commands).

    .venv/bin/python benchmarks/bench_distributed.py                 # 6 origins x 600 pages, 3 rounds
    .venv/bin/python benchmarks/bench_distributed.py --pages 50 --workers 1 2 --rounds 1
"""

from __future__ import annotations

import argparse
import atexit
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from pathlib import Path

CLI = str(Path(sys.executable).with_name("copyright-guard"))
PG = "postgresql://postgres@127.0.0.1:5432/test"
REDIS = "redis://127.0.0.1:6379/0"
SITE_FILES = ("/robots.txt", "/.well-known/tdmrep.json", "/ai.txt")


def site(origins: int, pages: int) -> dict:
    from copyright_guard.demo.server import Route

    text = "Lorem ipsum dolor sit amet. " * 40
    routes = {}
    for o in range(origins):
        name = f"site{o}"
        routes[(name, "/robots.txt")] = Route.text("User-agent: *\nDisallow: /private/\n")
        for i in range(pages):
            links = "".join(f'<a href="/p/{j}">{j}</a> ' for j in range(i * 10 + 1, min(i * 10 + 11, pages)))
            routes[(name, f"/p/{i}")] = Route.html(f"<title>{name} {i}</title><p>{text}</p>{links}")
    return routes


def policy_file(directory: Path) -> Path:
    """The default policy under a concrete benchmark identity (the placeholder one is refused)."""
    from importlib import resources

    from copyright_guard.core.identity import starter_policy_text

    text = starter_policy_text(resources.files("copyright_guard.data").joinpath("default.toml").read_text("utf-8"),
                               token="CopyrightGuardBot", info_url="https://bench.test/bot",
                               contact_email="bot@bench.test", operator_name="benchmark", name="bench")
    path = directory / "policy.toml"
    path.write_text(text)
    return path


def fresh_schema() -> tuple[str, str]:
    import psycopg

    schema = f"cg_bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(PG, autocommit=True) as connection:
        connection.execute(f"CREATE SCHEMA {schema}")
    return schema, f"postgresql+psycopg://postgres@127.0.0.1:5432/test?options=-csearch_path%3D{schema}"


def drop_schema(schema: str) -> None:
    import psycopg

    with psycopg.connect(PG, autocommit=True) as connection:
        connection.execute(f"DROP SCHEMA {schema} CASCADE")


def run(label: str, workers: int | None, server, policy: Path, tmp: Path, seeds: list[str] | None = None) -> dict:
    from copyright_guard.store.db import connect

    schema, db = fresh_schema()
    connect(db).dispose()  # migrated before the clock starts, as `copyright-guard db upgrade` would
    name = f"bench-{uuid.uuid4().hex[:8]}"
    args = [CLI, "crawl", "--db", db, "--policy", str(policy), "--depth", "10", "--json", "--log-level", "ERROR",
            "--progress", "0"]
    seeds = seeds or [server.url(origin, "/p/0") for origin in server.origins]
    args += [arg for seed in seeds for arg in ("--url", seed)]
    if workers is not None:
        args += ["--redis", REDIS, "--name", name, "--workers", str(workers)]
    server.clear_log()
    commands_before = redis_commands()
    redis_cpu_before = redis_cpu()
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.monotonic()
    done = subprocess.run(args, capture_output=True, text=True, timeout=600, cwd=tmp)
    wall = time.monotonic() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    commands = redis_commands() - commands_before
    redis_seconds = redis_cpu() - redis_cpu_before
    try:
        if done.returncode != 0:
            raise SystemExit(f"{label}: crawl failed (exit {done.returncode}): {done.stderr.strip()[-500:]}")
        summary = json.loads(done.stdout)
        if summary["undecidable"]:
            raise SystemExit(f"{label}: {summary['undecidable']} undecidable requests: figures refused")
    finally:
        drop_schema(schema)
        if workers is not None:
            import redis

            client = redis.Redis.from_url(REDIS)
            keys = list(client.scan_iter(match=f"copyright-guard:{name}:*", count=1000))
            if keys:
                client.delete(*keys)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    fetches = Counter((r.origin, r.path) for r in server.requests if r.path in SITE_FILES)
    per_origin = sorted({fetches[(origin, path)] for origin in server.origins for path in SITE_FILES})
    pages = summary["pages"]
    return {"label": label, "pages": pages, "wall": wall, "cpu": cpu, "pages_per_s": pages / wall,
            "pages_per_cpu_s": pages / cpu, "site_file_fetches_per_origin": per_origin,
            "redis_per_page": commands / pages, "redis_cpu": redis_seconds}


def redis_commands() -> int:
    """Commands the Redis server has run so far (all clients; scripts' own commands included)."""
    import redis

    stats = redis.Redis.from_url(REDIS).info("commandstats")
    return sum(entry["calls"] for name, entry in stats.items() if name not in ("cmdstat_info",))


def redis_cpu() -> float:
    """CPU seconds the Redis server has used so far (user + system; INFO cpu)."""
    import redis

    cpu = redis.Redis.from_url(REDIS).info("cpu")
    return cpu["used_cpu_user"] + cpu["used_cpu_sys"]


def redis_overhead(rounds: int = 2000) -> float:
    """Microseconds of Redis round trips per decision (politeness: claim+turn with the previous
    request's release)."""
    from copyright_guard.core.policy import load_policy
    from copyright_guard.scale.store import SharedState, connect_redis

    shared = SharedState(connect_redis(REDIS), f"bench-{uuid.uuid4().hex[:8]}", load_policy())
    origin = "http://127.0.0.2:8000"
    try:
        samples = []
        ended: list[tuple[str, str]] = []
        for _ in range(5):
            started = time.perf_counter()
            for _ in range(rounds // 5):
                token, _ = shared.claim_turn(origin, 8, 60, 0, ended)
                ended = [(origin, token)]
            samples.append((time.perf_counter() - started) / (rounds // 5) * 1e6)
        return statistics.median(samples)
    finally:
        shared.clear()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--origins", type=int, default=6)
    parser.add_argument("--pages", type=int, default=600, help="pages per origin")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--rounds", type=int, default=3, help="rounds of every configuration, interleaved; "
                        "the median of each figure is reported")
    args = parser.parse_args()
    from copyright_guard.demo.server import MultiOriginServer

    tmp = Path(tempfile.mkdtemp(prefix="cg-bench-dist-"))
    atexit.register(shutil.rmtree, tmp, True)
    policy = policy_file(tmp)
    print(f"# {args.origins} origins x {args.pages} pages; {os.cpu_count()} cores; {args.rounds} rounds; "
          f"load {' '.join(open('/proc/loadavg').read().split()[:3])}")
    configurations = [("single (add-on, no Redis)", None)] + [(f"workers={k} (Redis)", k) for k in args.workers]
    rounds: list[list[dict]] = [[] for _ in configurations]
    fixed: list[list[float]] = [[] for _ in configurations]
    with MultiOriginServer(site(args.origins, args.pages)) as server:
        # The fixed cost of each configuration (start-up: processes, imports, database, Redis):
        # a crawl of one page without links, so the per-page cost can be told apart from it.
        leaf = [server.url(server.origins[0], f"/p/{args.pages - 1}")]
        for _ in range(args.rounds):
            for at, (label, workers) in enumerate(configurations):
                rounds[at].append(run(label, workers, server, policy, tmp))
                fixed[at].append(run(label, workers, server, policy, tmp, leaf)["cpu"])
    results = [{key: (statistics.median(r[key] for r in runs) if isinstance(runs[0][key], float) else runs[0][key])
                for key in runs[0]} for runs in rounds]
    start_ups = [statistics.median(costs) for costs in fixed]
    base = results[0]["pages_per_cpu_s"]
    base_steady = results[0]["pages"] / max(results[0]["cpu"] - start_ups[0], 1e-9)
    print(f"{'configuration':<28}{'pages':>7}{'wall s':>9}{'pages/s':>9}{'CPU s':>8}{'pages/CPU s':>13}"
          f"{'efficiency':>12}{'start-up CPU s':>16}{'efficiency w/o':>16}{'Redis cmd/page':>16}"
          f"{'Redis CPU s':>13}  site-file fetches/origin")
    for r, start_up, runs in zip(results, start_ups, rounds):
        steady = r["pages"] / max(r["cpu"] - start_up, 1e-9)
        spread = "/".join(f"{x['pages_per_cpu_s'] / single['pages_per_cpu_s']:.2f}" for x, single in zip(runs, rounds[0]))
        fetches = sorted({n for x in runs for n in x["site_file_fetches_per_origin"]})
        print(f"{r['label']:<28}{r['pages']:>7}{r['wall']:>9.1f}{r['pages_per_s']:>9.1f}{r['cpu']:>8.1f}"
              f"{r['pages_per_cpu_s']:>13.1f}{r['pages_per_cpu_s'] / base:>12.2f}{start_up:>16.1f}"
              f"{steady / base_steady:>16.2f}{r['redis_per_page']:>16.1f}{r['redis_cpu']:>13.2f}  "
              f"{fetches}   (rounds: {spread})")
    print(f"Redis round trip per decision (claim+turn with the previous release): {redis_overhead():.0f} µs")


if __name__ == "__main__":
    main()
