"""`copyright-guard recheck` against local origins: collect with a real crawl, change one signal
per origin, then decide again. Exactly the affected items are withdrawn, each with its reason;
a newly listed origin receives no request; an unreachable robots.txt withdraws (fail closed)."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from collections import defaultdict
from datetime import datetime, timezone
from pathlib import Path

import pytest

from copyright_guard import recheck
from copyright_guard.core.complaints import workflow as wf
from copyright_guard.core.policy import load_policy
from copyright_guard.demo.server import MultiOriginServer, Route
from copyright_guard.rechecker import PURGE_FIELDS, PurgeSummary, write_purge_list
from copyright_guard.store import complaints as complaint_store
from copyright_guard.store.audit import Filters, search
from copyright_guard.store.db import connect
from copyright_guard.store.lists import add_entries

pytestmark = pytest.mark.slow  # one real crawl in a subprocess, then re-checks in process

CLI = [str(Path(sys.executable).with_name("copyright-guard"))]
TEST_POLICY = str(Path(__file__).resolve().parents[1] / "data" / "policies" / "identity.toml")  # a concrete identity
TOKEN = "CopyrightGuardBot"
OPEN = "User-agent: *\nAllow: /\n"
SITE_FILES = ("/robots.txt", "/.well-known/tdmrep.json", "/ai.txt")

# origin -> (what changes after the crawl, the paths withdrawn then, the reason code)
CHANGES = {
    "robots": ("robots.txt", f"User-agent: {TOKEN}\nDisallow: /b\n", {"/b"}, "robots.disallowed"),
    "peer": ("robots.txt", OPEN + "\nUser-agent: GPTBot\nDisallow: /\n", {"/", "/a", "/b"}, "robots.peer-disallowed"),
    "usage": ("robots.txt", "User-agent: *\nAllow: /\nContent-Usage: train-ai=n\n", {"/", "/a", "/b"}, "aipref.reserved"),
    "signal": ("robots.txt", "User-agent: *\nContent-Signal: ai-train=no\nAllow: /\n", {"/", "/a", "/b"},
               "content-signal.reserved"),
    "tdmrep": ("tdmrep.json", '[{"location": "/a", "tdm-reservation": 1}]', {"/a"}, "tdmrep.reserved"),
    "aitxt": ("ai.txt", "User-Agent: *\nDisallow: /b\n", {"/b"}, "ai-txt.reserved"),
    "listed": ("list", None, {"/", "/a", "/b"}, "exclusion.listed"),
    "complaint": ("complaint", None, {"/a"}, "complaint.upheld"),
    "header": ("page", None, {"/b"}, "robots-meta.reserved"),  # with --pages only
    "down": ("robots.txt", None, {"/", "/a", "/b"}, "robots.unreachable"),
    "steady": (None, None, set(), None),
}


def _page(*links: str) -> Route:
    return Route.html("<html><head><title>t</title></head><body>"
                      + "".join(f'<a href="{href}">{href}</a>' for href in links) + "</body></html>")


def _routes() -> dict:
    routes = {}
    for name in CHANGES:
        routes[(name, "/robots.txt")] = Route.text(OPEN)
        routes[(name, "/")] = _page("/a", "/b")
        routes[(name, "/a")] = _page()
        routes[(name, "/b")] = _page()
    return routes


def _change(server: MultiOriginServer, engine, name: str) -> None:
    kind, body, _, _ = CHANGES[name]
    if kind == "robots.txt":
        server.set(name, "/robots.txt", Route.text("Internal error", 503) if body is None else Route.text(body))
    elif kind == "tdmrep.json":
        server.set(name, "/.well-known/tdmrep.json", Route.json(body))
    elif kind == "ai.txt":
        server.set(name, "/ai.txt", Route.text(body))
    elif kind == "page":
        server.set(name, "/b", Route.html("<p>x</p>", headers=[("X-Robots-Tag", "noai")]))
    elif kind == "list":
        host = server.origin(name).split("//")[1].split(":")[0]
        add_entries(engine, "court-orders", [{"entry": host, "authority": "A court", "reference": "case 7"}],
                    now=datetime.now(timezone.utc), source="test")
    elif kind == "complaint":
        rules = load_policy().complaints
        submission, errors = wf.validate_submission({
            "name": "Ada", "email": "ada@example.org", "role": "rightsholder", "type": "opt-out-not-honoured",
            "description": "This page is my novel's first chapter, copied without a licence.",
            "urls": server.url(name, "/a")})
        assert not errors, errors
        record, _ = complaint_store.submit(engine, submission, now=datetime.now(timezone.utc), rules=rules)
        reference = record.complaint.reference
        for to in ("acknowledged", "under_review", "upheld"):
            complaint_store.transition(engine, reference, to, actor="rev", why="w", now=datetime.now(timezone.utc), rules=rules)


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def database(request, tmp_path_factory):
    """The audit database: an SQLite file, or a fresh schema on the PostgreSQL test server."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path_factory.mktemp('db') / 'audit.db'}"
    return request.getfixturevalue("pg_module_url")


@pytest.fixture(scope="module")
def site(tmp_path_factory, database):
    tmp = tmp_path_factory.mktemp("recheck")
    db = database
    with MultiOriginServer(_routes()) as server:
        seeds = tmp / "seeds.txt"
        seeds.write_text("".join(server.url(name, "/") + "\n" for name in CHANGES))
        done = subprocess.run([*CLI, "crawl", "seeds", "--seeds", str(seeds), "--db", db, "--depth", "1",
                               "--policy", TEST_POLICY, "--name", "books-2026-11", "-o", str(tmp / "items.jsonl"), "--json",
                               "--log-level", "ERROR"], capture_output=True, text=True, timeout=120, cwd=tmp)
        assert done.returncode == 0, done.stderr[-3000:]
        engine = connect(db)
        collected = [d for d in search(engine, Filters(stage="post-fetch", verdict="allow"))]
        assert len(collected) == 3 * len(CHANGES)
        for name in CHANGES:
            if CHANGES[name][0] is not None:
                _change(server, engine, name)
        server.clear_log()
        yield {"server": server, "engine": engine, "db": db, "tmp": tmp, "collected": collected,
               "run": json.loads(done.stdout)["run_id"]}
        engine.dispose()


def _withdrawn(results, server) -> dict[str, dict[str, set[str]]]:
    """origin name -> path -> the denying reason codes, for the withdrawn items."""
    found: dict[str, dict[str, set[str]]] = defaultdict(dict)
    for result in results:
        if result.withdrawn:
            name = server.name_of(result.item.url)
            path = "/" + result.item.url.split("/", 3)[3]
            found[name][path] = set(result.reason_codes)
    return found


@pytest.fixture(scope="module")
def fetched(site):
    summary = PurgeSummary()
    results = list(recheck(site["engine"], fetch=True, summary=summary))
    return {"results": results, "summary": summary, "requests": site["server"].requests}


def test_recheck_lists_exactly_the_affected_items_with_their_reasons(site, fetched):
    withdrawn = _withdrawn(fetched["results"], site["server"])
    for name, (kind, _, paths, code) in CHANGES.items():
        expected = set() if kind == "page" else paths  # a page header needs --pages
        assert set(withdrawn.get(name, {})) == expected, name
        for path in expected:
            assert code in withdrawn[name][path], (name, path, withdrawn[name][path])
    assert len(fetched["results"]) == len(site["collected"])  # every collected item, once


def test_no_request_goes_to_a_newly_listed_origin_and_each_site_file_is_fetched_once(site, fetched):
    requests = fetched["requests"]
    assert not [r for r in requests if r.origin == "listed"]
    per_file = defaultdict(int)
    for r in requests:
        per_file[(r.origin, r.path)] += 1
    assert all(path in SITE_FILES for _, path in per_file)  # no page is requested without --pages
    assert set(per_file.values()) == {1}


def test_an_unreachable_robots_txt_withdraws_the_origin_and_says_so(site, fetched):
    down = [r for r in fetched["results"] if site["server"].name_of(r.item.url) == "down"]
    assert down and all(r.withdrawn for r in down)
    reason = next(x for x in down[0].decision.reasons if x.code == "robots.unreachable")
    assert "503" in reason.detail or "503" in (reason.evidence.location or "") or reason.evidence.status == 503


def test_every_redecision_is_recorded_in_a_recheck_run_that_verifies(site, fetched):
    from copyright_guard.store.verify import verify

    [run_id] = fetched["summary"].run_ids
    recorded = list(search(site["engine"], Filters(run=run_id)))
    assert {d["stage"] for d in recorded} == {"recheck"}
    assert len(recorded) == len({r.item.url for r in fetched["results"]})  # one decision per URL
    ids = {d["id"] for d in recorded}
    assert all(r.decision_id in ids for r in fetched["results"])
    assert all(report.ok for report in verify(site["engine"]))


def test_pages_rereads_headers_and_metadata(site):
    results = list(recheck(site["engine"], fetch=True, pages=True, run_ids=[site["run"]]))
    withdrawn = _withdrawn(results, site["server"])
    assert set(withdrawn["header"]) == {"/b"}
    assert "robots-meta.reserved" in withdrawn["header"]["/b"]


def test_no_fetch_reapplies_lists_and_complaints_without_any_request(site):
    site["server"].clear_log()
    results = list(recheck(site["engine"], fetch=False, record=False))
    assert site["server"].requests == []
    withdrawn = _withdrawn(results, site["server"])
    assert set(withdrawn) == {"listed", "complaint"}
    assert set(withdrawn["complaint"]) == {"/a"}
    assert all(r.decision_id is None for r in results)


def test_the_purge_list_joins_on_the_content_hash_and_matches_the_collection(site, fetched):
    by_id = {d["id"]: d for d in site["collected"]}
    out = io.StringIO()
    rows = write_purge_list(fetched["results"], out, "csv")
    parsed = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert len(parsed) == rows == fetched["summary"].withdrawn_items > 0
    assert list(parsed[0])[:len(PURGE_FIELDS) - 1] == list(PURGE_FIELDS[:-1])
    for row in parsed:
        original = by_id[row["decision_id"]]
        assert row["url"] == original["url"] and row["content_sha256"] and len(row["content_sha256"]) == 64
        assert row["reason_codes"]
    lines = io.StringIO()
    write_purge_list(fetched["results"], lines, "jsonl")
    first = json.loads(lines.getvalue().splitlines()[0])
    assert set(first) == set(PURGE_FIELDS)


def test_the_cli_writes_the_purge_list_and_exits_1_when_items_must_go(site):
    out = site["tmp"] / "purge.jsonl"
    done = subprocess.run([*CLI, "recheck", "--db", site["db"], "--no-fetch", "--out", str(out), "--json"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 1, done.stderr
    summary = json.loads(done.stdout)
    assert summary["items_to_purge"] == len(out.read_text().splitlines()) == 4  # 3 listed + 1 complaint
    assert {r["reason"] for r in summary["by_reason"]} == {"exclusion.listed", "complaint.upheld"}
    bad = subprocess.run([*CLI, "recheck", "--db", site["db"], "--run", "nope"], capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and "nope" in bad.stderr


def test_a_crawl_name_selects_the_runs_of_that_crawl(site):
    from copyright_guard.store.audit import list_runs

    [crawl] = {run["crawl"] for run in list_runs(site["engine"]) if run["id"] == site["run"]}
    assert crawl == "books-2026-11"
    results = list(recheck(site["engine"], crawl=crawl, fetch=False, record=False))
    assert {r.item.run_id for r in results} == {site["run"]}
    bad = subprocess.run([*CLI, "recheck", "--db", site["db"], "--crawl", "no-such-crawl", "--no-fetch"],
                         capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and "no-such-crawl" in bad.stderr


def test_the_summary_shows_how_much_of_each_collection_was_withdrawn_and_why(site, fetched):
    from copyright_guard.store.summary import build_summary
    from copyright_guard.store.summary_text import to_markdown

    summary = build_summary(site["engine"])
    withdrawn = summary["withdrawn"]
    assert withdrawn["rechecks"] >= 1 and withdrawn["last_recheck"]
    [run] = withdrawn["by_run"]  # one collecting crawl
    assert run["run"] == site["run"]
    # the latest recheck of each URL decides; a later --pages or --no-fetch recheck may differ
    assert run["items"] == withdrawn["items"] > 0
    assert set(run["reasons"]) <= {code for *_, code in CHANGES.values() if code}
    assert "Withdrawn after collection" in to_markdown(summary)
    assert all(c["product_token"] == TOKEN for c in summary["crawlers"])  # a recheck is no crawler of its own


def test_a_result_is_yielded_only_once_its_redecision_is_committed(site):
    from sqlalchemy import select

    from copyright_guard.store.schema import decisions

    seen = 0
    for result in recheck(site["engine"], fetch=False):
        with site["engine"].connect() as connection:  # another connection: sees committed rows only
            found = connection.execute(select(decisions.c.stage).where(decisions.c.id == result.decision_id)).scalar()
        assert found == "recheck", result.item.url
        seen += 1
    assert seen == len(site["collected"])


def test_an_origin_split_over_several_tasks_still_fetches_each_site_file_once(site, monkeypatch):
    from copyright_guard import rechecker

    monkeypatch.setattr(rechecker, "CHUNK_URLS", 1)  # every URL a task of its own, on 8 threads
    site["server"].clear_log()
    results = list(recheck(site["engine"], fetch=True, record=False, concurrency=8))
    assert len(results) == len(site["collected"])
    per_file = defaultdict(int)
    for r in site["server"].requests:
        per_file[(r.origin, r.path)] += 1
    assert per_file and set(per_file.values()) == {1}
    assert set(_withdrawn(results, site["server"])) == {n for n, c in CHANGES.items() if c[2] and c[0] != "page"}
