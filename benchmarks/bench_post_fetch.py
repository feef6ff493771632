"""What post-fetch checks cost per response, against the pre-fetch decision for the same URL.

    .venv/bin/python benchmarks/bench_post_fetch.py [--quick]

Two responses, each decided by ``core.evaluate.evaluate`` exactly as the crawler does:
- an HTML page (~30, ~60 and ~100 KB: head metas, links, scripts, body text; no reservation and no
  embedded metadata) - target: post-fetch under 50 µs per page;
- a ~200 KB JPEG whose APP1 XMP says DMI-PROHIBITED-AIMLTRAINING (Pillow noise, quality 90),
  and the same without metadata.
The baseline is the pre-fetch-only decision for the same URL and site state (robots.txt parsed
and allowing, tdmrep.json absent), timed in the same run. The breakdown times the stages of the
post-fetch path on their own, so a regression points at its module.
Every figure is the best of several repeats (µs per call): the least-disturbed run.
"""

from __future__ import annotations

import argparse
import io
import itertools
import sys
import time
from dataclasses import replace
from datetime import datetime, timedelta, timezone

from copyright_guard.core.signals import access, assets, html
from copyright_guard.core.embedded.scan import embedded_signals
from copyright_guard.core.evaluate import SiteView, evaluate
from copyright_guard.core.model import Evidence, ResponseView, SiteFile, SiteFileStatus
from copyright_guard.core.policy import load_policy
from copyright_guard.core.robots.rules import parse_robots
from copyright_guard.core.urls import parse_target

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=timezone.utc)
ORIGIN = "https://news.example.com"
XMP = (
    '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?><x:xmpmeta xmlns:x="adobe:ns:meta/">'
    '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description rdf:about="" '
    'xmlns:plus="http://ns.useplus.org/ldf/xmp/1.0/" xmlns:dc="http://purl.org/dc/elements/1.1/" '
    'plus:DataMining="http://ns.useplus.org/ldf/vocab/DMI-PROHIBITED-AIMLTRAINING">'
    "<dc:creator><rdf:Seq><rdf:li>A. Photographer</rdf:li></rdf:Seq></dc:creator></rdf:Description>"
    "</rdf:RDF></x:xmpmeta>" + " " * 2048 + '<?xpacket end="w"?>'
).encode()


def html_page(size: int) -> bytes:
    head = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>City council approves the new tram line - Example News</title>
<meta name="description" content="The council voted 31 to 12 for the eastern tram extension.">
<meta name="robots" content="index, follow, max-image-preview:large">
<meta property="og:title" content="City council approves the new tram line">
<meta property="og:type" content="article"><meta property="og:image" content="https://news.example.com/i/tram.jpg">
<meta name="twitter:card" content="summary_large_image"><meta name="author" content="Jane Reporter">
<link rel="canonical" href="https://news.example.com/2026/11/tram"><link rel="stylesheet" href="/s/site.css">
<link rel="icon" href="/favicon.ico"><link rel="alternate" type="application/rss+xml" href="/rss.xml">
<script type="application/ld+json">{"@context":"https://schema.org","@type":"NewsArticle","headline":"Tram"}</script>
<script src="/s/app.js" defer></script><style>body{font-family:serif;max-width:40em;margin:auto}</style>
</head><body><header><nav><a href="/">Home</a> <a href="/city">City</a></nav></header><article>"""
    paragraph = ("<p>The council met on Tuesday evening to debate the eastern extension of the tram line, "
                 "which would connect the station with the new hospital and the university campus. "
                 '<a href="/2026/10/budget">Earlier reporting</a> put the cost at 240 million.</p>\n')
    body = head + paragraph * max(1, (size - len(head)) // len(paragraph)) + "</article></body></html>"
    return body.encode()


def jpeg_with_xmp(target: int = 200_000, xmp: bytes | None = XMP) -> bytes:
    from PIL import Image  # dev extra

    side = 300
    while True:
        noise = Image.effect_noise((side, side), 60).convert("RGB")
        buf = io.BytesIO()
        noise.save(buf, "JPEG", quality=90, **({"xmp": xmp} if xmp else {}))
        if buf.tell() >= target:
            return buf.getvalue()
        side += 40


def site() -> SiteView:
    robots_body = b"User-agent: *\nDisallow: /admin/\nAllow: /\n\nUser-agent: GPTBot\nDisallow: /private/\n"
    fetched = NOW - timedelta(hours=1)
    robots = SiteFile("robots.txt", ORIGIN, SiteFileStatus.PARSED, Evidence("robots.txt", url=f"{ORIGIN}/robots.txt", status=200),
                      fetched, fetched + timedelta(hours=24), parse_robots(robots_body), robots_body)
    tdmrep = SiteFile("tdmrep.json", ORIGIN, SiteFileStatus.UNAVAILABLE, Evidence("tdmrep.json", status=404),
                      fetched, fetched + timedelta(hours=24), error="HTTP 404")
    return SiteView(robots=robots, tdmrep=tdmrep)


def best_us(call, number: int, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        for _ in range(number):
            call()
        best = min(best, (time.perf_counter() - start) / number)
    return best * 1e6


def distinct(view: ResponseView, count: int = 8) -> itertools.cycle:
    """Copies of a response with distinct body objects, in a cycle: each crawled page is a new
    object (nothing may be measured from a cache keyed by the body)."""
    return itertools.cycle([replace(view, body=view.body + b" " * i) for i in range(count)])


def measure(label: str, url: str, view: ResponseView, policy, number: int, repeat: int) -> dict[str, float]:
    site_view = site()
    target = parse_target(url)
    pre = evaluate(url, policy, now=NOW, site=site_view)
    post = evaluate(url, policy, now=NOW, site=site_view, response=view)
    views = distinct(view)
    is_html = "html" in view.content_type
    meta_names = assets._meta_names(policy.crawler.product_token, policy.peer_tokens)
    figures = {
        "pre-fetch evaluate (baseline)": best_us(lambda: evaluate(url, policy, now=NOW, site=site_view), number, repeat),
        "post-fetch evaluate": best_us(lambda: evaluate(url, policy, now=NOW, site=site_view, response=next(views)), number, repeat),
        "  of which assets.asset_signals": best_us(lambda: assets.asset_signals(target, next(views), site_view, policy), number, repeat),
        "    html head walk + select_metas": best_us(lambda: html.scan_html(next(views).body).select_metas(meta_names),
                                                  number, repeat) if is_html else 0.0,
        "    embedded.embedded_signals": best_us(lambda: embedded_signals(next(views), policy), number, repeat),
        "  of which access.access_reasons": best_us(lambda: access.access_reasons(next(views)), number, repeat),
        # (each "of which" line scans the page itself; evaluate() scans once for both)
        "    paywall pre-check (contains_any)": best_us(lambda: html.scan_html(next(views).body).contains_any(b"isAccessibleForFree", b"isaccessibleforfree"),
                                                number, repeat) if is_html else 0.0,
    }
    print(f"\n{label}: {len(view.body) / 1000:.0f} KB, pre-fetch {pre.verdict.value}, post-fetch {post.verdict.value} "
          f"({', '.join(r.code for r in post.reasons) or 'no reasons'})")
    for name, value in figures.items():
        print(f"  {name:<36} {value:10.1f} µs")
    ratio = figures["post-fetch evaluate"] / figures["pre-fetch evaluate (baseline)"]
    print(f"  {'post-fetch / pre-fetch':<36} {ratio:10.2f} x")
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer iterations (a smoke run)")
    args = parser.parse_args()
    number, repeat = (20, 3) if args.quick else (300, 7)
    policy = load_policy()
    print(f"Python {sys.version.split()[0]}; best of {repeat} x {number} calls; default policy")
    verdicts = []
    for size in (30_000, 60_000, 100_000):
        page = ResponseView(f"{ORIGIN}/2026/11/tram", 200, {"content-type": ["text/html; charset=utf-8"]}, html_page(size))
        figures = measure(f"HTML page ~{size // 1000} KB", page.url, page, policy, number, repeat)
        verdicts.append(figures["post-fetch evaluate"] < 50.0)
    image = ResponseView(f"{ORIGIN}/i/tram.jpg", 200, {"content-type": ["image/jpeg"]}, jpeg_with_xmp())
    measure("JPEG with XMP DataMining", image.url, image, policy, max(10, number // 3), repeat)
    plain = ResponseView(f"{ORIGIN}/i/plain.jpg", 200, {"content-type": ["image/jpeg"]}, jpeg_with_xmp(xmp=None))
    measure("JPEG without metadata", plain.url, plain, policy, max(10, number // 3), repeat)
    print(f"\ntarget < 50 µs per HTML page without embedded metadata: {'met' if all(verdicts) else 'NOT met'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
