"""Crawl throughput: plain Scrapy (ROBOTSTXT_OBEY=True) against Scrapy with the copyright-guard add-on.

A local site of ``--pages`` HTML pages (default 5,000) spread over ``--origins`` loopback origins
(127.0.0.2, ...) is served by twisted.web in its own process.
The same spider crawls it (following every link, one small item per page) in two configurations:

* ``plain``: Scrapy 2.19 defaults plus ``ROBOTSTXT_OBEY = True`` (its RobotsTxtMiddleware);
* ``guard``: ``ADDONS = {"copyright_guard.scrapy.Addon": 100}`` with the bundled strict policy (under
  a benchmark identity: the shipped placeholder is refused) and the audit log on (a fresh SQLite
  file per run): a pre-fetch and a post-fetch decision for every page, each written to the
  hash-chained log;
* ``guard-signed`` (with ``--signing``): ``guard`` with Web Bot Auth request signing on (a fresh
  Ed25519 key): every request carries an RFC 9421 signature. ``--signing`` also times the signer
  alone (microseconds per request).

Both send the same User-Agent. Runs alternate (plain, guard, guard, plain, ...) so that drift in
the machine's speed hits both alike; each crawl runs in a fresh process (Scrapy's reactor runs once
per process). Pages per second = items / the crawl's elapsed time (spider open to close, as Scrapy
measures it, so start-up counts: for the add-on that is importing SQLAlchemy/Alembic and creating the
audit database, about 1-1.5 s); steady-state pages per second = the items between the 10th and 90th
percentile item over the time between them; pages per CPU second = items / the crawler process's user+system CPU time, which a busy
machine disturbs less. The ratios compare the medians.

    .venv/bin/python benchmarks/bench_crawl.py --pages 5000 --runs 3
    .venv/bin/python benchmarks/bench_crawl.py --gc --runs 3     # also both with/without gc.freeze
    .venv/bin/python benchmarks/bench_crawl.py --signing --pages 1000 --runs 3  # + Web Bot Auth signing
    .venv/bin/python benchmarks/bench_crawl.py --log-first --runs 3  # also the add-on without holding
                                                                     # responses for their commit (the old way)
    .venv/bin/python benchmarks/bench_crawl.py --imports         # also plain Scrapy + the add-on's imports
    .venv/bin/python benchmarks/bench_crawl.py --hooks           # the per-page hooks alone, in microseconds
    .venv/bin/python benchmarks/bench_crawl.py --profile guard   # cProfile one guarded crawl
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve()
# The add-on refuses the shipped placeholder identity: the guarded crawls run under this one.
POLICY_UA = "CopyrightGuardBot/1.0 (+http://127.0.0.1/crawler; bench@localhost)"
KEY_DIRECTORY = "http://127.0.0.1/.well-known/http-message-signatures-directory"
FILLER = ("Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor incididunt ut "
          "labore et dolore magna aliqua. ")


# -- the site (child process) -------------------------------------------------------------------

def page_html(origin: str, index: int, per_origin: int, size: int) -> bytes:
    children = [i for i in range(index * 10 + 1, index * 10 + 11) if i < per_origin]
    links = "".join(f'<li><a href="/p/{i}">page {i}</a></li>' for i in children)
    text = (FILLER * (size // len(FILLER) + 1))[:size]
    return (f"<!doctype html><html lang=en><head><meta charset=utf-8><title>{origin} page {index}</title>"
            f'<meta name="viewport" content="width=device-width"></head><body><main><h1>Page {index}</h1>'
            f"<p>{text}</p><ul>{links}</ul></main></body></html>").encode()


def serve(pages: int, origins: int, size: int) -> None:
    """Serve the site with twisted.web (a Scrapy dependency): fast enough on loopback that the
    crawler, not the server, is what is measured (the stdlib server of demo/server.py is not)."""
    from twisted.internet import reactor
    from twisted.web import resource, server

    per_origin = pages // origins

    class Origin(resource.Resource):
        isLeaf = True

        def __init__(self, name: str) -> None:
            super().__init__()
            self.pages = {b"/robots.txt": (b"text/plain", b"User-agent: *\nDisallow: /private/\n"),
                          b"/": (b"text/html; charset=utf-8", page_html(name, 0, per_origin, size))}
            for index in range(per_origin):
                self.pages[f"/p/{index}".encode()] = (b"text/html; charset=utf-8", page_html(name, index, per_origin, size))

        def render_GET(self, request):  # noqa: N802 - twisted.web naming
            found = self.pages.get(request.path)
            if found is None:
                request.setResponseCode(404)
                return b"not found"
            request.setHeader(b"content-type", found[0])
            return found[1]

    urls = []
    for index in range(origins):
        host = f"127.0.0.{index + 2}"
        site = server.Site(Origin(f"site{index}"))
        site.log = lambda *a, **k: None  # no access log
        port = reactor.listenTCP(0, site, interface=host)
        urls.append(f"http://{host}:{port.getHost().port}/")
    print(json.dumps(urls), flush=True)
    reactor.callInThread(lambda: (sys.stdin.read(), reactor.callFromThread(reactor.stop)))
    reactor.run()


# -- one crawl (child process) ------------------------------------------------------------------

def bench_policy(tmp: Path, signed: bool) -> str:
    """The strict default under the benchmark identity; with ``signed``, a fresh signing key."""
    from importlib import resources

    from copyright_guard.core.identity import starter_policy_text

    text = starter_policy_text(resources.files("copyright_guard.data").joinpath("default.toml").read_text("utf-8"),
                               token="CopyrightGuardBot", info_url="http://127.0.0.1/crawler",
                               contact_email="bench@localhost.localdomain", operator_name="benchmark", name="bench")
    text = text.replace("CopyrightGuardBot/1.0 (+http://127.0.0.1/crawler; bench@localhost.localdomain)", POLICY_UA)
    if signed:
        from copyright_guard.webbotauth import generate_key_file

        generate_key_file(tmp / "bench-key.pem")
        text = text.replace("\n[purposes]", f'signing_key = "bench-key.pem"\nkey_directory = "{KEY_DIRECTORY}"\n\n[purposes]', 1)
    (tmp / "bench-policy.toml").write_text(text, "utf-8")
    return str(tmp / "bench-policy.toml")


def signing_cost(count: int = 2000, batches: int = 5) -> tuple[float, float]:
    """Microseconds per signed request, the signer alone (what IdentityGuardMiddleware adds), median
    of ``batches``: (a request to a new authority or in a new second - a full Ed25519 signature
    and RFC 9421 signature base; a further request to the same authority in the same second - the
    headers reused, identical since Ed25519 is deterministic)."""
    from datetime import datetime, timedelta, timezone

    from copyright_guard.webbotauth import RequestSigner, generate_key_file

    key = generate_key_file(Path(tempfile.mkdtemp(prefix="cg-bench-")) / "k.pem")
    signer = RequestSigner(key, KEY_DIRECTORY)
    start = datetime.now(timezone.utc)
    urls = [f"http://127.0.0.{2 + i % 4}:8080/p/{i}" for i in range(count)]
    full, reused = [], []
    for batch in range(batches):
        # a new second for every request: no reuse
        moments = [start + timedelta(seconds=batch * count + i) for i in range(count)]
        full.append(_timed(lambda: [signer.request_headers("GET", u, m) for u, m in zip(urls, moments)]) / count)
        same = start + timedelta(days=1, seconds=batch)
        reused.append(_timed(lambda: [signer.request_headers("GET", u, same) for u in urls]) / count)
    return statistics.median(full) * 1e6, statistics.median(reused) * 1e6


def crawl(mode: str, seeds: list[str], concurrency: int, extra: dict, profile: str | None) -> None:
    import scrapy
    from scrapy.crawler import CrawlerProcess

    class BenchSpider(scrapy.Spider):
        name = "bench"

        async def start(self):
            for url in seeds:
                yield scrapy.Request(url)

        def parse(self, response):
            yield {"url": response.url, "title": response.css("title::text").get()}
            for href in response.css("a::attr(href)").getall():
                yield response.follow(href)

    settings = {
        "LOG_LEVEL": "ERROR",
        "TELNETCONSOLE_ENABLED": False,
        "CONCURRENT_REQUESTS": concurrency,
        "CONCURRENT_REQUESTS_PER_DOMAIN": concurrency,
        "USER_AGENT": POLICY_UA,
        **extra,
    }
    tmp = tempfile.mkdtemp(prefix="cg-bench-")
    if mode.startswith("plain"):
        settings["ROBOTSTXT_OBEY"] = True
    else:
        settings.update({
            "ADDONS": {"copyright_guard.scrapy.Addon": 100},
            "COPYRIGHT_GUARD_POLICY": bench_policy(Path(tmp), signed=mode == "guard-signed"),
            "COPYRIGHT_GUARD_DB": f"sqlite:///{tmp}/audit.db",
            "COPYRIGHT_GUARD_PROGRESS_INTERVAL": 0,
            "COPYRIGHT_GUARD_GC_FREEZE": mode != "guard-nofreeze",
        })
    if mode == "guard-unheld":
        # The baseline for log-first: responses go to the spider without waiting for their
        # decision's commit, as before store/writer.py's after_commit (a benchmark-only switch).
        from copyright_guard.scrapy.extension import AuditExtension

        opened = AuditExtension.spider_opened

        def spider_opened(self, spider):
            opened(self, spider)
            self.recorder.committed = None

        AuditExtension.spider_opened = spider_opened
    process = CrawlerProcess(settings)
    crawler = process.create_crawler(BenchSpider)
    marks: list[float] = []
    cpu_marks: list[float] = []

    def item_scraped(item, response, spider):
        marks.append(time.monotonic())
        cpu_marks.append(time.process_time())  # all threads of the process (the audit writer too)

    crawler.signals.connect(item_scraped, signal=scrapy.signals.item_scraped)
    if mode == "plain-imports":
        # The add-on's footprint without its per-page work: its modules imported and an audit
        # database opened (migrated) as the add-on does, but no decision made or written.
        from copyright_guard.scrapy import extension  # noqa: F401 - imported for its footprint
        from copyright_guard.store.db import connect
        from copyright_guard.store.lists import load_exclusion_index
        from copyright_guard.store.runs import start_run  # noqa: F401
        from copyright_guard.store.writer import DecisionWriter  # noqa: F401

        engine = connect(f"sqlite:///{tmp}/audit.db")
        load_exclusion_index(engine, None)
    if mode == "plain-freeze":  # like-for-like with the add-on's COPYRIGHT_GUARD_GC_FREEZE

        def freeze(spider):
            import gc

            gc.collect()
            gc.freeze()

        crawler.signals.connect(freeze, signal=scrapy.signals.spider_opened)

    # The collector's share: collections per generation and the time spent in them (gc.callbacks).
    import gc

    collector = {"seconds": 0.0, "collections": [0, 0, 0], "started": 0.0}

    def on_gc(phase: str, info: dict) -> None:
        if phase == "start":
            collector["started"] = time.perf_counter()
        else:
            collector["seconds"] += time.perf_counter() - collector["started"]
            collector["collections"][info["generation"]] += 1

    gc.callbacks.append(on_gc)
    process.crawl(crawler)
    import resource

    before = resource.getrusage(resource.RUSAGE_SELF)
    if profile:
        import cProfile

        cProfile.runctx("process.start()", globals(), {"process": process}, profile)
    else:
        process.start()
    after = resource.getrusage(resource.RUSAGE_SELF)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    stats = crawler.stats.get_stats()
    # The audit database's size after the crawl: its pages once the WAL is folded in (the
    # size of the -wal file depends on when SQLite last checkpointed, not on what was stored).
    audit_bytes = 0
    if (Path(tmp) / "audit.db").exists():
        import sqlite3

        with sqlite3.connect(Path(tmp) / "audit.db") as db:
            db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            audit_bytes = db.execute("PRAGMA page_count").fetchone()[0] * db.execute("PRAGMA page_size").fetchone()[0]
    print(json.dumps({
        "audit_db_bytes": audit_bytes,
        "mode": mode,
        "items": stats.get("item_scraped_count", 0),
        "elapsed": stats.get("elapsed_time_seconds"),
        "decisions": stats.get("copyright_guard/decisions/allow", 0) + stats.get("copyright_guard/decisions/deny", 0),
        "written": stats.get("copyright_guard/audit/written"),
        "finish_reason": stats.get("finish_reason"),
        "undecidable": stats.get("copyright_guard/refused/undecidable", 0),
        "cpu": cpu,  # user + system seconds of the whole crawler process (the audit writer thread too)
        # Steady state: from the 10th to the 90th percentile item (start-up and the tail left out).
        "steady": _steady(marks),
        "steady_cpu": _steady(cpu_marks),
        "gc_seconds": collector["seconds"],
        "gc_collections": collector["collections"],
    }), flush=True)


def _steady(marks: list[float]) -> float:
    """Items per second between the 10th and the 90th percentile item."""
    first, last = int(0.1 * len(marks)), int(0.9 * len(marks)) - 1
    return (last - first) / (marks[last] - marks[first])


# -- the hooks alone (--hooks) ------------------------------------------------------------------

def hooks(pages: int, size: int) -> None:
    """Time the add-on's per-page hooks directly, beside plain Scrapy's RobotsTxtMiddleware hook.

    Real Scrapy requests and responses (the benchmark site's pages), the bundled strict policy, a
    real SQLite audit writer (its thread's inserts share the GIL and so count); the origin's site
    files are already known, as for every page but the first of a crawl. The breakdown times the
    core decisions and the writer's ``submit`` alone, and the hooks with a no-op audit log (the rest
    of which is glue: clock, headers to a ``ResponseView``, stats, the event check).
    """
    import gc
    from datetime import datetime, timezone

    from scrapy import Request, Spider
    from scrapy.downloadermiddlewares.robotstxt import RobotsTxtMiddleware
    from scrapy.http import HtmlResponse
    from scrapy.robotstxt import ProtegoRobotParser
    from scrapy.utils.test import get_crawler

    from copyright_guard.core.evaluate import SiteView, evaluate
    from copyright_guard.core.policy import load_policy
    from copyright_guard.fetch.states import FetchOutcome, SiteFileFetch, site_file_url
    from copyright_guard.scrapy.middleware import CopyrightGuardMiddleware, IdentityGuardMiddleware
    from copyright_guard.scrapy.recorder import DecisionRecorder
    from copyright_guard.scrapy.transport import response_headers
    from copyright_guard.core.model import ResponseView
    from copyright_guard.store.db import connect
    from copyright_guard.store.runs import start_run
    from copyright_guard.store.writer import DecisionWriter

    robots_txt = b"User-agent: *\nDisallow: /private/\n"
    origin = "http://127.0.0.2:8000"
    now = datetime.now(timezone.utc)
    policy = load_policy()

    def site_file(kind: str, status: int, body: bytes):
        machine = SiteFileFetch(kind, origin, policy, now)
        machine.feed(FetchOutcome(site_file_url(kind, origin), status=status, body=body, fetched_at=now))
        return machine.result()

    site = SiteView(robots=site_file("robots.txt", 200, robots_txt), tdmrep=site_file("tdmrep.json", 404, b""),
                    ai_txt=site_file("ai.txt", 404, b""))

    class KnownSite:  # the site-file cache after the origin's first request
        in_flight: dict = {}

        def cached(self, origin_, now_):
            return site

        def latest(self, origin_):
            return site

    class Bench(Spider):
        name = "bench"

    crawler = get_crawler(Bench, settings_dict={"ROBOTSTXT_OBEY": True, "USER_AGENT": POLICY_UA})
    tmp = tempfile.mkdtemp(prefix="cg-hooks-")
    engine = connect(f"sqlite:///{tmp}/audit.db")
    # The writer's thread inserts a batch when it is full or max_latency old: flushed before every
    # timed pass and no latency flush within one, so its inserts are timed apart (``flush`` below).
    writer = DecisionWriter(engine, start_run(engine, policy, now=now, spider="bench"), max_latency=3600.0)
    recorder = DecisionRecorder(crawler.stats, crawler.signals.send_catch_log, crawler.signals.sender)
    recorder.submit = writer.submit
    guard = CopyrightGuardMiddleware(policy, KnownSite(), recorder)
    unaudited = DecisionRecorder(crawler.stats)  # the same hooks with a no-op audit log
    unaudited.submit = lambda decision: "0" * 32
    guard_unaudited = CopyrightGuardMiddleware(policy, KnownSite(), unaudited)
    identity = IdentityGuardMiddleware(policy.crawler.product_token, recorder)
    robots = RobotsTxtMiddleware(crawler)
    robots._parsers["127.0.0.2:8000"] = ProtegoRobotParser.from_crawler(crawler, robots_txt)

    per_origin = max(pages // 4, 1)
    requests = [Request(f"{origin}/p/{i}", headers={"User-Agent": POLICY_UA}) for i in range(pages)]
    responses = [HtmlResponse(r.url, status=200, request=r, body=page_html("site0", i % per_origin, per_origin, size),
                              headers={"Content-Type": "text/html; charset=utf-8", "Server": "TwistedWeb/24.11.0",
                                       "Date": "Mon, 23 Nov 2026 12:00:00 GMT"})
                 for i, r in enumerate(requests)]
    views = [ResponseView(url=r.url, status=200, headers=response_headers(r), body=r.body, final_url=r.url,
                          fetched_at=now) for r in responses]
    pre_decisions = [evaluate(r.url, policy, now=now, site=site) for r in requests]
    post_decisions = [evaluate(r.url, policy, now=now, site=site, response=v) for r, v in zip(responses, views)]

    def drive(coroutine) -> None:  # with the site known, neither hook awaits: run it in place
        try:
            coroutine.send(None)
        except StopIteration:
            pass

    timings = {
        "plain Scrapy: RobotsTxtMiddleware.process_request": lambda: [drive(robots.process_request(r))
                                                                     for r in requests],
        "add-on: all hooks (pre + post + identity)": lambda: [
            (drive(guard.process_request(r)), guard.process_response(r, resp), identity.process_request(r))
            for r, resp in zip(requests, responses)],
        "  the same with a no-op audit log": lambda: [
            (drive(guard_unaudited.process_request(r)), guard_unaudited.process_response(r, resp),
             identity.process_request(r))
            for r, resp in zip(requests, responses)],
        "    of which evaluate, pre-fetch": lambda: [evaluate(r.url, policy, now=now, site=site) for r in requests],
        "    of which evaluate, post-fetch": lambda: [evaluate(r.url, policy, now=now, site=site, response=v)
                                                     for r, v in zip(requests, views)],
        "audit writer submit alone (2 per page)": lambda: [(writer.submit(a), writer.submit(b))
                                                           for a, b in zip(pre_decisions, post_decisions)],
    }
    gc.collect()
    results = {}
    inserts = []
    for name, func in timings.items():
        best = float("inf")
        for _ in range(3):
            writer.flush()
            best = min(best, _timed(func))
            if "submit" in name:  # the database side of the same decisions, on the writer's thread
                inserts.append(_timed(writer.flush))
        results[name] = best / pages * 1e6
        print(f"{name:<52} {results[name]:7.1f} µs/page")
    unaudited_total = results["  the same with a no-op audit log"]
    glue = unaudited_total - sum(v for k, v in results.items() if k.startswith("    of which"))
    print(f"{'    of which the rest (clock, headers, stats, meta)':<52} {glue:7.1f} µs/page")
    audit = results["add-on: all hooks (pre + post + identity)"] - unaudited_total
    print(f"{'  so the audit log on the reactor thread':<52} {audit:7.1f} µs/page")
    print(f"{'audit writer thread: inserting those 2 rows':<52} {min(inserts) / pages * 1e6:7.1f} µs/page "
          "(not on the reactor thread, but in the crawler's CPU time)")
    writer.close()


def _timed(func) -> float:
    """Seconds for one call, with the collector off as timeit does (a full collection over the
    prepared pages would land in a random pass; its cost in a crawl is what the crawl measures)."""
    import gc

    gc.disable()
    try:
        started = time.perf_counter()
        func()
        return time.perf_counter() - started
    finally:
        gc.enable()


# -- the comparison -----------------------------------------------------------------------------

def run_one(mode: str, seeds: list[str], concurrency: int, extra: dict, profile: str | None = None) -> dict:
    command = [sys.executable, str(HERE), "_crawl", mode, json.dumps(seeds), str(concurrency), json.dumps(extra)]
    if profile:
        command.append(profile)
    done = subprocess.run(command, capture_output=True, text=True, timeout=900)
    if done.returncode != 0:
        raise SystemExit(f"{mode} crawl failed:\n{done.stderr[-3000:]}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    if result["undecidable"]:  # undecidable is a failure, never a faster crawl (issue 17)
        raise SystemExit(f"{mode} crawl could not decide {result['undecidable']} requests: the figures are void")
    result["pages_per_second"] = result["items"] / result["elapsed"]
    result["pages_per_cpu_second"] = result["items"] / result["cpu"]
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pages", type=int, default=5000)
    parser.add_argument("--origins", type=int, default=4)
    parser.add_argument("--page-bytes", type=int, default=6000, help="text per page (the HTML is a bit larger)")
    parser.add_argument("--runs", type=int, default=3, help="crawls per configuration")
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--profile", choices=["plain", "guard"], help="cProfile one crawl; print the top functions")
    parser.add_argument("--gc", action="store_true",
                        help="also run plain Scrapy with gc.freeze() at spider open and the add-on without it")
    parser.add_argument("--hooks", action="store_true",
                        help="time the add-on's per-page hooks directly (no crawl), beside Scrapy's robots.txt hook")
    parser.add_argument("--log-first", action="store_true",
                        help="also run the add-on without holding responses until their decision is committed")
    parser.add_argument("--imports", action="store_true",
                        help="also run plain Scrapy with the add-on's modules imported and an audit database opened "
                             "(its memory footprint without its per-page work)")
    parser.add_argument("--signing", action="store_true",
                        help="also run the add-on with Web Bot Auth request signing, and time the signer alone")
    parser.add_argument("--set", dest="settings", action="append", default=[], metavar="NAME=VALUE",
                        help="a Scrapy setting for both configurations, e.g. --set CONCURRENT_ITEMS=1")
    args = parser.parse_args()
    if args.hooks:
        hooks(min(args.pages, 2000), args.page_bytes)
        return
    extra = {}
    for assignment in args.settings:
        name, _, value = assignment.partition("=")
        extra[name] = json.loads(value) if value[:1].isdigit() or value in ("true", "false") else value

    server = subprocess.Popen([sys.executable, str(HERE), "_serve", str(args.pages), str(args.origins), str(args.page_bytes)],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        seeds = json.loads(server.stdout.readline())
        if args.profile:
            out = Path(tempfile.mkdtemp(prefix="cg-prof-")) / f"{args.profile}.prof"
            result = run_one(args.profile, seeds, args.concurrency, extra, str(out))
            import pstats

            print(f"{args.profile}: {result['pages_per_second']:.0f} pages/s under cProfile; profile in {out}")
            pstats.Stats(str(out)).sort_stats("tottime").print_stats(25)
            return
        modes = ("plain", "guard", "plain-freeze", "guard-nofreeze") if args.gc else ("plain", "guard")
        if args.imports:
            modes += ("plain-imports",)
        if args.signing:
            modes += ("guard-signed",)
        if args.log_first:
            modes += ("guard-unheld",)
        results: dict[str, list[dict]] = {mode: [] for mode in modes}
        for round_ in range(args.runs):
            order = modes if round_ % 2 == 0 else tuple(reversed(modes))
            for mode in order:
                result = run_one(mode, seeds, args.concurrency, extra)
                results[mode].append(result)
                print(f"  run {round_ + 1} {mode:<14} {result['items']:>6} pages in {result['elapsed']:6.2f} s "
                      f"= {result['pages_per_second']:7.1f} pages/s, steady {result['steady']:7.1f} pages/s, "
                      f"{result['pages_per_cpu_second']:7.1f} pages/CPU-s, steady {result['steady_cpu']:7.1f} pages/CPU-s"
                      + f", collector {result['gc_seconds']:.2f} s ({'/'.join(map(str, result['gc_collections']))} "
                        "collections of generation 0/1/2)"
                      + (f"  ({result['decisions']} decisions, {result['written']} written)" if result["decisions"] else ""),
                      flush=True)
        plain = statistics.median(r["pages_per_second"] for r in results["plain"])
        guard = statistics.median(r["pages_per_second"] for r in results["guard"])
        print(f"\n{args.pages} pages, {args.origins} origins, {args.page_bytes} B text/page, "
              f"concurrency {args.concurrency}, {os.cpu_count()} CPUs, Python {sys.version.split()[0]}"
              + (f", settings {extra}" if extra else ""))
        print(f"plain Scrapy (ROBOTSTXT_OBEY=True): {plain:7.1f} pages/s (median of {args.runs})")
        print(f"Scrapy + copyright-guard (audit on): {guard:7.1f} pages/s (median of {args.runs})")
        print(f"ratio: {guard / plain:.3f}  (target >= 0.90)")
        plain_steady = statistics.median(r["steady"] for r in results["plain"])
        guard_steady = statistics.median(r["steady"] for r in results["guard"])
        print(f"steady state (10th to 90th percentile item): plain {plain_steady:.1f}, guard {guard_steady:.1f} pages/s, "
              f"ratio {guard_steady / plain_steady:.3f}")
        plain_cpu = statistics.median(r["pages_per_cpu_second"] for r in results["plain"])
        guard_cpu = statistics.median(r["pages_per_cpu_second"] for r in results["guard"])
        print(f"pages per CPU second of the crawler process: plain {plain_cpu:.1f}, guard {guard_cpu:.1f}, "
              f"ratio {guard_cpu / plain_cpu:.3f}  (less sensitive to other load on the machine)")
        plain_sc = statistics.median(r["steady_cpu"] for r in results["plain"])
        guard_sc = statistics.median(r["steady_cpu"] for r in results["guard"])
        print(f"pages per CPU second, steady state: plain {plain_sc:.1f}, guard {guard_sc:.1f}, ratio {guard_sc / plain_sc:.3f}")
        db = statistics.median(r["audit_db_bytes"] * 1000 / r["items"] for r in results["guard"] if r["items"])
        print(f"audit database (SQLite, after the crawl): {db / 1024:.1f} KiB per 1,000 pages "
              f"({statistics.median(r['decisions'] for r in results['guard'])} decisions)")
        if args.imports:
            wall = statistics.median(r["pages_per_second"] for r in results["plain-imports"])
            cpu = statistics.median(r["steady_cpu"] for r in results["plain-imports"])
            print(f"plain-imports: {wall:.1f} pages/s, {cpu:.1f} pages/CPU-s steady "
                  f"(ratio to plain {cpu / plain_sc:.3f}: the add-on's footprint alone)")
        if args.signing:
            signed = statistics.median(r["pages_per_second"] for r in results["guard-signed"])
            signed_cpu = statistics.median(r["steady_cpu"] for r in results["guard-signed"])
            print(f"guard-signed (Web Bot Auth on): {signed:7.1f} pages/s; ratio to guard {signed / guard:.3f}, "
                  f"to plain {signed / plain:.3f}; steady pages/CPU-s ratio to guard {signed_cpu / guard_sc:.3f}")
            full, reused = signing_cost()
            print(f"signing cost, the signer alone (median of 5 x 2,000 requests): {full:.0f} µs per request to a new "
                  f"authority or second, {reused:.1f} µs per further request to the same authority in the same second")
        if args.log_first:
            wall = statistics.median(r["pages_per_second"] for r in results["guard-unheld"])
            steady = statistics.median(r["steady"] for r in results["guard-unheld"])
            print(f"log first: guard (held until committed) {guard:.1f} pages/s, guard-unheld {wall:.1f} pages/s, "
                  f"ratio {guard / wall:.3f}; steady {guard_steady:.1f} vs {steady:.1f}, ratio {guard_steady / steady:.3f} "
                  "(target >= 0.97)")
        if args.gc:
            for mode in ("plain-freeze", "guard-nofreeze"):
                wall = statistics.median(r["pages_per_second"] for r in results[mode])
                cpu = statistics.median(r["steady_cpu"] for r in results[mode])
                print(f"{mode}: {wall:.1f} pages/s, {cpu:.1f} pages/CPU-s steady")
            plain_f = statistics.median(r["steady_cpu"] for r in results["plain-freeze"])
            guard_n = statistics.median(r["steady_cpu"] for r in results["guard-nofreeze"])
            print(f"like for like, steady pages/CPU-s: guard / plain-freeze {guard_sc / plain_f:.3f}; "
                  f"guard-nofreeze / plain {guard_n / plain_sc:.3f}")
    finally:
        server.stdin.close()
        server.wait(timeout=30)


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "_serve":
        serve(int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]))
    elif len(sys.argv) > 1 and sys.argv[1] == "_crawl":
        crawl(sys.argv[2], json.loads(sys.argv[3]), int(sys.argv[4]), json.loads(sys.argv[5]),
              sys.argv[6] if len(sys.argv) > 6 else None)
    else:
        started = time.monotonic()
        main()
        print(f"(benchmark took {time.monotonic() - started:.0f} s)")
