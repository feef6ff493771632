#!/usr/bin/env python3
"""What the opt-out checks cost: per HTML page and per image after the fetch, per URL before it.

    .venv/bin/python benchmarks/bench_optouts.py [--rounds 9] [--calls 300]

Each row is timed beside its baseline in the same run, in interleaved rounds (best round wins, so
machine load hits both sides alike):

- ``core.html.scan_html`` (every head meta and link decoded) on a realistic news page (30 and 100 KB, 25 tags in the head, JSON-LD,
  a robots meta) against the standard library's ``html.parser.HTMLParser`` collecting the same
  head metas and links - the obvious way to write it;
- ``core.assets.asset_signals`` (headers, head metas, links, embedded metadata; no reservation)
  on that page and on a 200 KB JPEG without metadata, against the pre-fetch decision for the
  same URL (``evaluate`` with a parsed robots.txt), the budget the issue measures it against;
- ``core.location.location_signals`` for an origin with robots.txt Content-Usage and
  Content-Signal lines, a 200-entry tdmrep.json and an ai.txt, against ``robots_reasons`` alone.

Every call gets a distinct body object (a new page each time, as in a crawl).
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
import time
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from html.parser import HTMLParser
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_post_fetch import html_page, jpeg_with_xmp  # noqa: E402 - the same realistic inputs

from copyright_guard.core import robots  # noqa: E402
from copyright_guard.core.signals import assets, html, location
from copyright_guard.core.evaluate import SiteView, evaluate  # noqa: E402
from copyright_guard.core.model import Evidence, ResponseView, SiteFile, SiteFileStatus  # noqa: E402
from copyright_guard.core.signals.parsers import parser_for  # noqa: E402
from copyright_guard.core.policy import load_policy  # noqa: E402
from copyright_guard.core.urls import parse_target  # noqa: E402

ORIGIN = "https://news.example.com"
NOW = datetime(2026, 11, 23, 12, 0, tzinfo=timezone.utc)
ROBOTS = (b"User-agent: *\nDisallow: /admin/\nContent-Usage: search=y\nContent-Usage: /archive/ train-ai=n\n"
          b"Content-Signal: search=yes, ai-train=no\nAllow: /\n\nUser-agent: GPTBot\nDisallow: /\n")
TDMREP = json.dumps([{"location": f"/section-{i}/", "tdm-reservation": i % 2} for i in range(200)]).encode()
AI_TXT = b"# Spawning AI\nUser-agent: *\nDisallow: *.jpg\nDisallow: *.png\nDisallow: *.mp3\n"


class _StdlibHead(HTMLParser):
    """The baseline: stdlib HTMLParser collecting head metas and links, stopping at <body>."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.metas: list[tuple[str, str]] = []
        self.links: list[tuple[str, str, str]] = []

    def handle_starttag(self, tag, attrs):
        values = {k: v or "" for k, v in attrs}
        if tag == "meta":
            key = values.get("name") or values.get("property") or values.get("http-equiv")
            if key is not None and "content" in values:
                self.metas.append((key.lower(), values["content"]))
        elif tag == "link":
            self.links.append((values.get("rel", "").lower(), values.get("type", "").lower(), values.get("href", "")))
        elif tag == "body":
            raise StopIteration


def stdlib_scan(body: bytes) -> _StdlibHead:
    parser = _StdlibHead()
    try:
        parser.feed(body[: html.WINDOW].decode("utf-8", "replace"))
    except StopIteration:
        pass
    return parser


def head_metas_links(body: bytes) -> html.HtmlHead:
    """Ours, doing what the baseline does: every head meta and link decoded (scan_html itself is
    lazy and walks the head on first use)."""
    head = html.scan_html(body)
    head.metas, head.links  # noqa: B018 - the work being timed
    return head


def site_file(kind: str, body: bytes) -> SiteFile:
    url = f"{ORIGIN}/{kind}"
    return SiteFile(kind, ORIGIN, SiteFileStatus.PARSED, Evidence(kind, url=url, status=200), NOW,
                    NOW + timedelta(hours=24), parser_for(kind)(body), body)


def rounds(pairs: dict[str, tuple], number: int, count: int) -> dict[str, tuple[float, float]]:
    best = {name: [float("inf"), float("inf")] for name in pairs}
    for _ in range(count):
        for name, (ours, baseline) in pairs.items():
            for side, call in enumerate((ours, baseline)):
                start = time.perf_counter()
                for _ in range(number):
                    call()
                best[name][side] = min(best[name][side], (time.perf_counter() - start) / number * 1e6)
    return {name: (a, b) for name, (a, b) in best.items()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--calls", type=int, default=300)
    args = parser.parse_args()
    policy = load_policy()
    robots_file = site_file("robots.txt", ROBOTS)
    site = SiteView(robots=robots_file, tdmrep=site_file("tdmrep.json", TDMREP), ai_txt=site_file("ai.txt", AI_TXT))
    url = f"{ORIGIN}/city/2026/11/tram"
    target = parse_target(url)
    pages = {size: html_page(size) for size in (30_000, 100_000)}
    jpeg = jpeg_with_xmp(xmp=None)

    # Same answers first: a benchmark of two things that disagree measures nothing.
    for body in pages.values():
        ours, theirs = html.scan_html(body), stdlib_scan(body)
        assert list(ours.metas) == theirs.metas and list(ours.links) == theirs.links, "scanners disagree"

    def cycle(body: bytes, content_type: str):
        views = [ResponseView(url, 200, {"content-type": [content_type]}, body + b" " * i) for i in range(16)]
        return itertools.cycle(views)

    pairs = {}
    for size, body in pages.items():
        bodies = itertools.cycle([body + b" " * i for i in range(16)])
        views = cycle(body, "text/html; charset=utf-8")
        pairs[f"scan_html metas+links, {size // 1000} KB page (vs stdlib)"] = (
            lambda b=bodies: head_metas_links(next(b)), lambda b=bodies: stdlib_scan(next(b)))
        pairs[f"asset_signals, {size // 1000} KB page (vs pre-fetch evaluate)"] = (
            lambda v=views: assets.asset_signals(target, next(v), site, policy),
            lambda: evaluate(url, policy, now=NOW, site=site))
    images = cycle(jpeg, "image/jpeg")
    pairs[f"asset_signals, {len(jpeg) // 1000} KB JPEG (vs pre-fetch evaluate)"] = (
        lambda: assets.asset_signals(target, next(images), site, policy),
        lambda: evaluate(url, policy, now=NOW, site=site))
    pairs["location_signals (vs robots_reasons)"] = (
        lambda: location.location_signals(target, site, policy),
        lambda: robots.robots_reasons(target, robots_file, policy, "train-ai"))

    results = rounds(pairs, args.calls, args.rounds)
    print(f"Python {sys.version.split()[0]}; best of {args.rounds} interleaved rounds x {args.calls} calls; µs per call")
    print(f"{'':62} {'ours':>8} {'baseline':>9} {'ratio':>6}")
    for name, (ours, baseline) in results.items():
        print(f"{name:62} {ours:8.1f} {baseline:9.1f} {ours / baseline:6.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
