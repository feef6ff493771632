#!/usr/bin/env python3
"""`check --urls` (one process for a list) against the single-URL command, on loopback origins.

    .venv/bin/python benchmarks/bench_check_batch.py [--urls 10000] [--origins 100] [--sample 20] [--fetch]

The local origins run in a separate process (copyright_guard.demo.server, one 127.0.0.x address
each, a robots.txt with a Disallow rule, a page per URL). Measured in the same run:

1. ``copyright-guard check --urls FILE`` over all URLs (``--no-fetch`` unless ``--fetch``: the
   pre-fetch decision, site-wide files fetched once per origin; with ``--fetch`` every page is
   requested and decided post-fetch too);
2. the single-URL command ``copyright-guard check URL --json`` run once per URL of a random sample
   (``--sample``, default 20): the time for the whole list is *extrapolated* from the sample's
   mean (running 10,000 processes would take several minutes of a shared machine).
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BIN = Path(sys.executable).parent
CG = str(BIN / "copyright-guard")


def serve(origins: int) -> None:
    """The server process: print one base URL per origin, then serve until stdin closes."""
    from copyright_guard.demo.server import MultiOriginServer, Route

    page = Route.html("<html><head><title>p</title></head><body>a page</body></html>")
    routes = {(f"o{n}", "/robots.txt"): Route.text("User-agent: *\nDisallow: /private/\n") for n in range(origins)}
    with MultiOriginServer(routes, default=page) as server:
        for n in range(origins):
            print(server.url(f"o{n}", "/"), flush=True)
        sys.stdin.read()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--urls", type=int, default=10_000)
    parser.add_argument("--origins", type=int, default=100)
    parser.add_argument("--sample", type=int, default=20)
    parser.add_argument("--fetch", action="store_true", help="also request every page (post-fetch decisions)")
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve)
        return
    server = subprocess.Popen([sys.executable, __file__, "--serve", str(args.origins)], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    try:
        bases = [server.stdout.readline().strip() for _ in range(args.origins)]
        # Every 10th URL is disallowed by robots.txt: the list has allows and denies, as a real one.
        urls = [f"{bases[n % args.origins]}{'private' if n % 10 == 0 else 'articles'}/{n}" for n in range(args.urls)]
        no_fetch = [] if args.fetch else ["--no-fetch"]
        with tempfile.TemporaryDirectory() as directory:
            listing = Path(directory) / "urls.txt"
            listing.write_text("\n".join(urls) + "\n")
            env = {"PATH": str(BIN)}
            started = time.perf_counter()
            done = subprocess.run([CG, "check", "--urls", str(listing), *no_fetch], capture_output=True, text=True,
                                  env=env, cwd=directory)
            batch = time.perf_counter() - started
            rows = [json.loads(line) for line in done.stdout.splitlines()]
            assert len(rows) == args.urls, done.stderr[-500:]
            denied = sum(row["verdict"] == "deny" for row in rows)
            singles = []
            for url in random.Random(7).sample(urls, args.sample):
                started = time.perf_counter()
                subprocess.run([CG, "check", url, "--json", *no_fetch], capture_output=True, env=env, cwd=directory)
                singles.append(time.perf_counter() - started)
    finally:
        server.stdin.close()
        server.wait(timeout=30)
    mode = "pre-fetch only (--no-fetch)" if not args.fetch else "pre- and post-fetch (every page requested)"
    per_url = statistics.mean(singles)
    print(f"{args.urls:,} URLs over {args.origins} loopback origins, {mode}; {denied:,} denied")
    print(f"  check --urls FILE      {batch:8.2f} s  ({args.urls / batch:,.0f} URLs/s, {batch / args.urls * 1000:.2f} ms a URL)")
    print(f"  check URL (one each)   {per_url * args.urls:8.2f} s  extrapolated from {args.sample} runs "
          f"(mean {per_url:.3f} s, median {statistics.median(singles):.3f} s a process)")
    print(f"  speed-up               {per_url * args.urls / batch:8.1f} x")


if __name__ == "__main__":
    main()
