#!/usr/bin/env python3
"""Exclusion-list look-ups per second: ``ExclusionIndex.match`` beside a linear scan, same run.

    .venv/bin/python benchmarks/bench_exclusions.py [--entries 100000] [--urls 20000] [--rounds 5]

The index holds ``--entries`` entries (90 % registered domains, 8 % exact hosts, 2 % IPv4
addresses); the URLs are parsed once (``core.urls.parse_target``, cached in a crawl too), and one
in ten is listed (a subdomain of a listed domain, an exact host or an IP). The baseline is the
obvious implementation: for each URL, test every entry (``host == entry or host.endswith("." +
entry)``). Only a few hundred URLs are scanned linearly (it is that slow) and the rate scaled.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from copyright_guard.core.lists.exclusions import ExclusionEntry, ExclusionIndex  # noqa: E402
from copyright_guard.core.urls import parse_target  # noqa: E402

NOW = datetime(2026, 11, 23, tzinfo=timezone.utc)


def build(entries: int, urls: int, seed: int = 7):
    rng = random.Random(seed)
    listed: list[ExclusionEntry] = []
    for i in range(entries):
        roll = rng.random()
        if roll < 0.90:
            listed.append(ExclusionEntry("bench", 1, f"site{i}.example", "domain", "Authority", "FR", f"ref-{i}"))
        elif roll < 0.98:
            listed.append(ExclusionEntry("bench", 1, f"www.host{i}.example", "host", "Authority", "FR", f"ref-{i}"))
        else:
            listed.append(ExclusionEntry("bench", 1, f"10.{(i >> 16) & 255}.{(i >> 8) & 255}.{i & 255}", "ip", "Authority", "FR", f"ref-{i}"))
    targets = []
    for j in range(urls):
        if j % 10 == 0:
            entry = rng.choice(listed)
            host = f"cdn.{entry.entry}" if entry.kind == "domain" else entry.entry
        else:
            host = f"www.free{j}.co.uk"
        targets.append(parse_target(f"https://{host}/articles/{j}?page=2"))
    return listed, targets


def linear(listed: list[ExclusionEntry], targets) -> int:
    found = 0
    for target in targets:
        host = target.host
        for entry in listed:
            if host == entry.entry or (entry.kind == "domain" and host.endswith("." + entry.entry)):
                found += 1
                break
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument("--entries", type=int, default=100_000)
    parser.add_argument("--urls", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()

    listed, targets = build(args.entries, args.urls)
    started = time.perf_counter()
    index = ExclusionIndex(listed)
    build_seconds = time.perf_counter() - started

    rates = []
    for _ in range(args.rounds):
        started = time.perf_counter()
        hits = sum(1 for target in targets if index.match(target, NOW))
        rates.append(len(targets) / (time.perf_counter() - started))
    sample = targets[:300]
    started = time.perf_counter()
    linear_hits = linear(listed, sample)
    linear_rate = len(sample) / (time.perf_counter() - started)
    expected = sum(1 for target in sample if index.match(target, NOW))
    assert linear_hits == expected, (linear_hits, expected)

    median = statistics.median(rates)
    print(f"entries {args.entries:,}, urls {args.urls:,}, listed hits {hits:,}; index built in {build_seconds * 1000:.0f} ms")
    print(f"ExclusionIndex.match: {median:,.0f} look-ups/s (median of {args.rounds}, {1e6 / median:.2f} us each)")
    print(f"linear scan baseline: {linear_rate:,.0f} look-ups/s ({len(sample)} URLs)")
    print(f"speed-up: {median / linear_rate:,.0f}x")


if __name__ == "__main__":
    main()
