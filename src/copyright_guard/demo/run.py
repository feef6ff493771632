"""``copyright-guard demo``: serve the demo site, crawl it with the default policy, show the result.

Steps: start every origin of :mod:`copyright_guard.demo.site` on its own 127.0.0.x address; create
a fresh SQLite audit database and put the ``pirated`` origin on an exclusion list in it; crawl the
origins' home pages with the ``seeds`` spider (depth 2) under the bundled strict default policy
with the marked demo identity (core/identity.py);
then read the run's decisions back from the audit log and print, per URL, the verdict and the
reason codes beside what the demo site meant to show.
"""

from __future__ import annotations

import stat
from importlib import resources
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from ..core.files import file_kind
from ..core.identity import demo_policy_text
from . import site
from .server import MultiOriginServer


@dataclass
class DemoResult:
    summary: Any  # copyright_guard.scrapy.runner.CrawlSummary
    table: list[dict] = field(default_factory=list)  # one row per URL: the final decision
    not_requested: list[str] = field(default_factory=list)  # URLs the site never received
    requests_by_origin: dict[str, int] = field(default_factory=dict)
    mismatches: list[str] = field(default_factory=list)  # rows that differ from site.EXPECTED
    example_url: str | None = None  # a denied URL worth `audit explain`

    def render(self) -> str:
        headers = ("origin", "path", "stage", "verdict", "reason codes", "what the demo shows")
        rows = [(r["origin"], r["path"], r["stage"], r["verdict"], ", ".join(r["deny_codes"]) or "-", r["shows"])
                for r in self.table]
        widths = [max(len(str(row[i])) for row in (headers, *rows)) for i in range(len(headers))]
        line = "  ".join("{:<%d}" % w for w in widths)
        out = ["Decisions recorded in the audit log (the final decision per URL):", "",
               line.format(*headers), line.format(*("-" * w for w in widths))]
        out += [line.format(*row) for row in rows]
        out += ["", "Requests the demo site received, per origin (site-wide files included):"]
        out += [f"  {name:<10} {count}" for name, count in self.requests_by_origin.items()]
        if self.mismatches:
            out += ["", "Unexpected (the demo site meant something else):"] + [f"  {m}" for m in self.mismatches]
        return "\n".join(out)


DEFAULT_POLICY = resources.files("copyright_guard.data").joinpath("default.toml")
DEMO_SOURCE = "copyright-guard demo"  # the source of the demo's exclusion list: marks a demo database


class DemoError(Exception):
    """The demo cannot start (e.g. --db names a file that is not a demo database); one line."""


def _is_demo_database(path: Path) -> bool:
    """True for an SQLite file the demo wrote (its exclusion list's source says so). The caller has
    checked that ``path`` is a regular file: opening a FIFO here would hang."""
    import sqlite3

    try:
        connection = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
        try:
            row = connection.execute(
                "SELECT 1 FROM exclusion_list_versions WHERE source = ? LIMIT 1", (DEMO_SOURCE,)).fetchone()
        finally:
            connection.close()
    except sqlite3.Error:  # not SQLite (an empty file too), or not our schema: someone else's file
        return False
    return row is not None


def _regular_or_missing(path: Path, db_path: str) -> bool:
    """Does ``path`` exist? Raises DemoError if it does and is anything but a regular file: a
    device (``/dev/null``), a FIFO or a socket is never "an earlier demo database" to delete."""
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        return False
    except OSError as exc:
        raise DemoError(f"--db {db_path!r}: cannot use {path}: {exc.strerror or exc}") from None
    if stat.S_ISDIR(mode):
        raise DemoError(f"--db {db_path!r}: is a directory, not a database file")
    if not stat.S_ISREG(mode):
        raise DemoError(f"--db {db_path!r}: {path} is not a regular file ({file_kind(mode)}); "
                        "not replacing it (give another file name)")
    return True


def _fresh_sqlite(db_path: str) -> str:
    # "Replaced on each run" must never mean deleting a real audit log, a device, a FIFO or any
    # other file that happens to be named: only an earlier demo database is replaced (recognised
    # by its contents; an empty file is not one - it may be a placeholder someone made).
    path = Path(db_path.removeprefix("sqlite:///"))
    if "://" in str(db_path) and not db_path.startswith("sqlite:///"):
        raise DemoError(f"--db {db_path!r}: the demo writes an SQLite file; give a file name")
    # Every file first, before SQLite opens any (it opens a -journal or -wal beside the database
    # too, and would hang on a FIFO) and before anything is deleted: a FIFO or device named like
    # SQLite's side files is not ours either.
    _regular_or_missing(path, db_path)  # "." or "/" first: they have no name to add a suffix to
    siblings = [path.with_name(path.name + suffix) for suffix in ("", "-wal", "-shm", "-journal")]
    existing = [candidate for candidate in siblings if _regular_or_missing(candidate, db_path)]
    if path in existing and not _is_demo_database(path):
        raise DemoError(f"--db {db_path!r}: the file exists and is not a copyright-guard demo database; "
                        "not replacing it (give another file name)")
    if not path.parent.is_dir():
        raise DemoError(f"--db {db_path!r}: directory {path.parent} does not exist")
    for candidate in existing:
        candidate.unlink()
    return f"sqlite:///{path}"


def _exclude(db_url: str, host: str, now: datetime) -> None:
    """Put the demo's infringing origin on an exclusion list (the lists module's import API)."""
    from ..store.db import connect
    from ..store.lists import add_entries

    engine = connect(db_url)
    try:
        add_entries(
            engine,
            site.EXCLUSION_LIST,
            [{"entry": host, "authority": "copyright-guard demo",
              "reference": "a stand-in for a site an authority lists as infringing"}],
            now=now,
            source=DEMO_SOURCE,
        )
    finally:
        engine.dispose()


def run_demo(
    db_path: str = "copyright-guard-demo.db",
    *,
    progress: Callable[[Any], None] | None = None,
    progress_interval: float = 5.0,
) -> DemoResult:
    from ..scrapy.runner import crawl_settings, run_crawl

    db_url = _fresh_sqlite(db_path)
    with MultiOriginServer(site.routes(), origins=site.origins()) as server:
        excluded_host = urlsplit(server.origin(site.EXCLUDED)).hostname
        _exclude(db_url, excluded_host, datetime.now(timezone.utc))
        with tempfile.TemporaryDirectory(prefix="cg-demo-") as tmp:
            seeds = Path(tmp) / "seeds.txt"
            seeds.write_text("".join(server.url(name, "/") + "\n" for name in site.origins()), "utf-8")
            # The strict default under a marked demo identity: `crawl` refuses the placeholder one.
            policy = Path(tmp) / "demo-policy.toml"
            policy.write_text(demo_policy_text(DEFAULT_POLICY.read_text("utf-8")), "utf-8")
            settings = crawl_settings(policy=str(policy), db=db_url, log_level="ERROR", extra={
                "DOWNLOAD_TIMEOUT": 10,
                "CONCURRENT_REQUESTS_PER_DOMAIN": 8,
                "LOGSTATS_INTERVAL": 0,
            })
            summary = run_crawl("seeds", {"seeds": str(seeds), "depth": 2}, settings,
                                progress=progress, progress_interval=progress_interval)
        requested = {(r.origin, r.path) for r in server.requests}
        requests_by_origin = {name: len(server.requests_to(name)) for name in site.origins()}
        result = DemoResult(summary, requests_by_origin=requests_by_origin)
        result.table = _final_decisions(db_url, summary.run_id, server)
        result.example_url = server.url("news", "/reports/header-usage")
        for (name, path), expected in site.EXPECTED.items():
            if expected.verdict == "deny" and expected.reason in ("exclusion.listed", "robots.disallowed") \
                    and (name, path) in requested:
                result.mismatches.append(f"{name}{path} was requested although it is denied before fetch")
        for row in result.table:
            expected = site.EXPECTED.get((row["origin"], row["path"]))
            if expected is None:
                continue
            if row["verdict"] != expected.verdict or (expected.reason and expected.reason not in row["deny_codes"]):
                result.mismatches.append(f"{row['origin']}{row['path']}: expected {expected.verdict} "
                                         f"{expected.reason or ''} ({expected.shows}), got {row['verdict']} "
                                         f"{', '.join(row['deny_codes'])}")
        for (name, path) in site.EXPECTED:
            if (name, path) not in requested:
                result.not_requested.append(server.url(name, path))
    return result


def _final_decisions(db_url: str, run_id: str | None, server: MultiOriginServer) -> list[dict]:
    from ..store.audit import Filters, search
    from ..store.db import connect

    if run_id is None:
        return []
    engine = connect(db_url)
    try:
        final: dict[str, dict] = {}
        for record in search(engine, Filters(run=run_id), newest_first=False):
            url = record["url"]
            if url in final and final[url]["stage"] == "post-fetch" and record["stage"] == "pre-fetch":
                continue
            final[url] = record
    finally:
        engine.dispose()
    rows = []
    for url, record in final.items():
        name = server.name_of(url) or urlsplit(url).netloc
        path = urlsplit(url).path or "/"
        expected = site.EXPECTED.get((name, path))
        deny_codes = list(dict.fromkeys(r["code"] for r in record["reasons"] if r["effect"] == "deny"))
        rows.append({
            "origin": name, "path": path, "url": url, "stage": record["stage"], "verdict": record["verdict"],
            "deny_codes": deny_codes, "decision_id": record["id"], "shows": expected.shows if expected else "",
        })
    order = {name: index for index, name in enumerate(site.origins())}
    rows.sort(key=lambda r: (order.get(r["origin"], 99), r["path"]))
    return rows
