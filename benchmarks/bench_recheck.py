"""Recheck benchmark: ``copyright_guard.recheck`` over a large collection, with and without fetching.

Builds an audit log of ``--urls`` collected items (post-fetch allows, written by the real
DecisionWriter) spread over ``--origins`` loopback origins, then times, in one run:

- baseline: reading the collected items back (``store.collected.collected_items``), the floor any
  recheck pays;
- ``recheck --no-fetch``: the exclusion lists (one of them naming 1 % of the origins), upheld
  complaints and the policy re-applied, every re-decision recorded;
- ``recheck --fetch``: robots.txt, tdmrep.json and ai.txt of every origin fetched again from a
  twisted.web server in its own process (one listening port per origin on 127.0.0.2..), which
  counts the requests: the target is one fetch per kind per origin, none to a listed origin.

    .venv/bin/python benchmarks/bench_recheck.py                       # 100,000 URLs, 1,000 origins
    .venv/bin/python benchmarks/bench_recheck.py --urls 20000 --origins 200
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import datetime, timedelta, timezone
from pathlib import Path

from copyright_guard.core.content import ContentFacts
from copyright_guard.core.model import Stage, Verdict, new_decision
from copyright_guard.core.policy import load_policy
from copyright_guard.rechecker import PurgeSummary, recheck
from copyright_guard.store import DecisionWriter, connect, finish_run, start_run
from copyright_guard.store.collected import collected_items
from copyright_guard.store.lists import add_entries

HERE = Path(__file__)
T0 = datetime(2026, 11, 1, tzinfo=timezone.utc)


def serve(origins: int) -> None:
    """Child process: one port per origin; prints the origins, then the request counts on stdin EOF."""
    import threading

    from twisted.internet import reactor
    from twisted.web import resource, server

    counts: Counter = Counter()

    class Site(resource.Resource):
        isLeaf = True

        def render_GET(self, request):  # noqa: N802 - twisted.web naming
            host = request.getHost()
            counts[(f"{host.host}:{host.port}", request.path.decode())] += 1
            if request.path == b"/robots.txt":
                request.setHeader(b"content-type", b"text/plain")
                return b"User-agent: *\nDisallow: /private/\n"
            request.setResponseCode(404)
            return b"not found"

    site = server.Site(Site())
    urls = []
    for number in range(origins):
        host = f"127.0.{2 + number // 250}.{2 + number % 250}"
        port = reactor.listenTCP(0, site, interface=host)
        urls.append(f"http://{host}:{port.getHost().port}")
    print(json.dumps(urls), flush=True)

    def wait_for_eof():
        sys.stdin.read()
        reactor.callFromThread(reactor.stop)

    threading.Thread(target=wait_for_eof, daemon=True).start()
    reactor.run(installSignalHandlers=False)
    print(json.dumps([[key[0], key[1], n] for key, n in counts.items()]), flush=True)


def build(db: str, origins: list[str], urls: int) -> None:
    engine = connect(db)
    policy = load_policy()
    run_id = start_run(engine, policy, now=T0, spider="bench")
    with DecisionWriter(engine, run_id) as writer:
        for number in range(urls):
            origin = origins[number % len(origins)]
            host = origin.split("//")[1].split(":")[0]
            facts = ContentFacts(sha256=f"{number:064x}", media_type="text/html", bytes=5000, status=200, modality="text")
            writer.submit(new_decision(f"{origin}/page/{number}", origin, host, Stage.POST_FETCH, "train-ai",
                                       Verdict.ALLOW, (), policy.hash, T0 + timedelta(milliseconds=number),
                                       (), ("headers", "html-meta"), facts))
    finish_run(engine, run_id, None, T0 + timedelta(hours=1))
    listed = [{"entry": o.split("//")[1].split(":")[0], "authority": "bench", "reference": "b"}
              for o in origins[:: 100]]
    add_entries(engine, "bench-list", listed, now=T0, source="bench")
    engine.dispose()


def timed(label: str, urls: int, func) -> tuple[float, object]:
    started = time.perf_counter()
    value = func()
    elapsed = time.perf_counter() - started
    print(f"  {label:<44} {elapsed:7.2f} s  {urls / elapsed:10,.0f} URLs/s", flush=True)
    return elapsed, value


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--urls", type=int, default=100_000)
    parser.add_argument("--origins", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=16)
    args = parser.parse_args()
    child = subprocess.Popen([sys.executable, str(HERE), "_serve", str(args.origins)],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        origins = json.loads(child.stdout.readline())
        db = f"sqlite:///{tempfile.mkdtemp(prefix='cg-recheck-')}/audit.db"
        started = time.perf_counter()
        build(db, origins, args.urls)
        print(f"{args.urls:,} collected items over {len(origins)} origins written in "
              f"{time.perf_counter() - started:.1f} s", flush=True)
        engine = connect(db)
        timed("baseline: read the collected items", args.urls, lambda: sum(1 for _ in collected_items(engine)))
        summary = PurgeSummary()
        timed("recheck --no-fetch (recorded)", args.urls,
              lambda: sum(1 for _ in recheck(engine, fetch=False, summary=summary)))
        print(f"    withdrawn {summary.withdrawn_items:,} (listed origins: {len(origins[::100])}) "
              f"{dict(summary.by_reason)}")
        summary = PurgeSummary()
        timed(f"recheck --fetch, concurrency {args.concurrency} (recorded)", args.urls,
              lambda: sum(1 for _ in recheck(engine, fetch=True, concurrency=args.concurrency, summary=summary)))
        print(f"    withdrawn {summary.withdrawn_items:,} {dict(summary.by_reason)}")  # a timeout under load: robots.unreachable
        engine.dispose()
    finally:
        child.stdin.close()
        counts = json.loads(child.stdout.readline() or "[]")
        child.wait(timeout=30)
    per_kind = Counter()
    for _, path, n in counts:
        per_kind[path] += n
    fetched_origins = {origin for origin, _, _ in counts}
    listed = {o.split("//")[1] for o in origins[::100]}
    print(f"  site-file requests: {dict(per_kind)} over {len(fetched_origins)} origins "
          f"(max per file and origin {max((n for *_, n in counts), default=0)}); "
          f"requests to listed origins: {len(fetched_origins & listed)}")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "_serve":
        serve(int(sys.argv[2]))
    else:
        main()
