#!/usr/bin/env python3
"""What the fetch layer adds on top of the work it wraps, each beside its baseline in the same run.

    .venv/bin/python benchmarks/bench_fetch.py [--rounds 5] [--files 2000] [--origins 200]

1. state machine: ``SiteFileFetch`` turning a 200 outcome into a SiteFile (status class, size cut,
   sha256 evidence, parse) vs the bare ``parse_robots(body)`` it wraps. Same realistic robots.txt
   as benchmarks/bench_decisions.py.
2. cached site view: ``SiteFetcher.site_view`` answered from the cache + ``evaluate`` vs
   ``evaluate`` on a prebuilt SiteView (what a crawl pays per URL of a known origin).
3. loopback HTTP: fetching robots.txt of N origins through ``SiteFetcher`` + ``HttpxTransport``
   (streamed read, state machine, cache) vs a bare ``httpx.Client.get`` of the same URLs.
"""

from __future__ import annotations

import argparse
import importlib.util
import time
from datetime import datetime, timezone
from pathlib import Path

import httpx

from copyright_guard.core.evaluate import evaluate
from copyright_guard.core.policy import Policy, parse_policy
from copyright_guard.core.robots.rules import parse_robots
from copyright_guard.demo.server import MultiOriginServer, Route
from copyright_guard.fetch.cache import SiteFileCache
from copyright_guard.fetch.http import HttpxTransport
from copyright_guard.fetch.site import SiteFetcher
from copyright_guard.fetch.states import FetchOutcome, SiteFileFetch

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=timezone.utc)
ORIGIN = "https://www.news.example"


def _robots_text() -> bytes:
    spec = importlib.util.spec_from_file_location("bench_decisions", Path(__file__).with_name("bench_decisions.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    robots = module.ROBOTS
    return robots if isinstance(robots, bytes) else robots.encode("utf-8")


def compare(ours, base, rounds: int) -> tuple[float, float]:
    """Best time of each, rounds interleaved so a busy neighbour slows both sides alike."""
    times: tuple[list[float], list[float]] = ([], [])
    for _ in range(rounds):
        for fn, bucket in ((ours, times[0]), (base, times[1])):
            start = time.perf_counter()
            fn()
            bucket.append(time.perf_counter() - start)
    return min(times[0]), min(times[1])


def report(name: str, ours: float, base: float, n: int, unit: str) -> None:
    print(f"{name:<28} ours {ours / n * 1e6:9.1f} µs/{unit}   baseline {base / n * 1e6:9.1f} µs/{unit}"
          f"   ratio {ours / base:5.2f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--files", type=int, default=2000)
    parser.add_argument("--origins", type=int, default=200)
    args = parser.parse_args()
    body = _robots_text()
    policy = Policy()
    outcome = FetchOutcome(ORIGIN + "/robots.txt", 200, {"content-type": ["text/plain"]}, body)

    def machine() -> None:
        for _ in range(args.files):
            fetch = SiteFileFetch("robots.txt", ORIGIN, policy, NOW)
            fetch.feed(outcome)
            fetch.result()

    def bare_parse() -> None:
        for _ in range(args.files):
            parse_robots(body)

    report("1. state machine per file", *compare(machine, bare_parse, args.rounds), args.files, "file")

    class Cached:
        def fetch(self, url, **_):
            return FetchOutcome(url, 200, {}, body if url.endswith("/robots.txt") else b"")

    fetcher = SiteFetcher(policy, Cached(), SiteFileCache())
    view = fetcher.site_view(ORIGIN, NOW)
    urls = [f"{ORIGIN}/news/2026/11/{i}/story-{i}" for i in range(args.files)]

    def with_cache() -> None:
        for url in urls:
            evaluate(url, policy, now=NOW, site=fetcher.site_view(ORIGIN, NOW))

    def prebuilt() -> None:
        for url in urls:
            evaluate(url, policy, now=NOW, site=view)

    report("2. cached view + evaluate", *compare(with_cache, prebuilt, args.rounds), len(urls), "URL")

    robots_only = parse_policy("[sources]\ntdmrep = false\nai_txt = false\nrsl = false\n")
    names = [f"o{i}" for i in range(args.origins)]
    # One loopback address per origin would need many 127.0.0.x; distinct ports on one address are
    # distinct origins too (RFC 9309: scheme + host + port).
    routes = {(name, "/robots.txt"): Route.text(body) for name in names}
    with MultiOriginServer(routes, hosts={name: "127.0.0.2" for name in names}) as server:
        robots_urls = [server.url(name, "/robots.txt") for name in names]
        origins = [server.origin(name) for name in names]

        def ours() -> None:
            with HttpxTransport() as transport:
                fetcher = SiteFetcher(robots_only, transport, SiteFileCache())
                for origin in origins:
                    fetcher.site_view(origin, NOW)

        def bare_httpx() -> None:
            with httpx.Client() as client:
                for url in robots_urls:
                    client.get(url).content  # noqa: B018

        ours_t, base_t = compare(ours, bare_httpx, args.rounds)
    report("3. loopback robots.txt fetch", ours_t, base_t, len(origins), "origin")
    print(f"(best of {args.rounds} rounds; {args.files} files/URLs, {args.origins} origins;"
          f" robots.txt {len(body)} bytes; the minimum is the least noisy figure on a shared machine)")


if __name__ == "__main__":
    main()
