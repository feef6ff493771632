"""Proof of collection in the store: snapshots written once, cited by every decision, chained.

docs/proof-of-collection.md describes the design; these tests pin it on SQLite and PostgreSQL.
"""

from __future__ import annotations

import hashlib
import json
from datetime import timedelta

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select, update

from copyright_guard.cli import main
from copyright_guard.core.evaluate import SiteView, evaluate
from copyright_guard.core.model import ResponseView
from copyright_guard.fetch.states import FetchOutcome, SiteFileFetch
from copyright_guard.store import DecisionWriter, finish_run, start_run
from copyright_guard.store.schema import decisions, evidence, site_files, site_views
from copyright_guard.store.verify import verify
from store_helpers import T0, tampering

ORIGIN = "https://shop.example"
ROBOTS = b"User-agent: *\nDisallow: /private/\n"
PAGE = b"<!doctype html><html><head><title>x</title></head><body>hello</body></html>"


def _fetch(kind: str, status: int | None, body: bytes, policy, error: str = ""):
    fetch = SiteFileFetch(kind, ORIGIN, policy, T0)
    fetch.feed(FetchOutcome(fetch.url, status=status, body=body, error=error, fetched_at=T0))
    return fetch.result()


@pytest.fixture
def site(policy):
    return SiteView(
        robots=_fetch("robots.txt", 200, ROBOTS, policy),
        tdmrep=_fetch("tdmrep.json", 404, b"not here", policy),
        ai_txt=_fetch("ai.txt", None, b"", policy, error="connection refused"),
    )


def _record(engine, policy, site):
    run_id = start_run(engine, policy, now=T0, spider="test")
    page = ResponseView(f"{ORIGIN}/a", 200, {"content-type": ["text/html; charset=utf-8"]}, PAGE, fetched_at=T0)
    with DecisionWriter(engine, run_id) as writer:
        for path in ("/a", "/b", "/private/c"):
            writer.submit(evaluate(ORIGIN + path, policy, now=T0, site=site))
        writer.submit(evaluate(f"{ORIGIN}/a", policy, now=T0, site=site, response=page))
    finish_run(engine, run_id, {}, T0 + timedelta(minutes=1))
    return run_id


def test_snapshots_are_written_once_and_cited_by_every_decision(engine, policy, site):
    run_id = _record(engine, policy, site)
    with engine.connect() as connection:
        snapshots = connection.execute(select(site_files).order_by(site_files.c.kind)).all()
        views = connection.execute(select(site_views)).all()
        rows = connection.execute(select(decisions).order_by(decisions.c.seq)).all()
        bodies = {r.sha256: r.body for r in connection.execute(select(evidence))}
    # One row per fetch, whatever the number of decisions: robots.txt, the 404 tdmrep.json, ai.txt.
    assert [(s.kind, s.outcome, s.status, s.fault) for s in snapshots] == [
        ("ai.txt", "unreachable", None, "connection refused"),
        ("robots.txt", "parsed", 200, None),
        ("tdmrep.json", "unavailable", 404, None),
    ]
    robots = next(s for s in snapshots if s.kind == "robots.txt")
    assert robots.sha256 == hashlib.sha256(ROBOTS).hexdigest() and bodies[robots.sha256] == ROBOTS
    missing = next(s for s in snapshots if s.kind == "tdmrep.json")
    assert bodies[missing.sha256] == b"not here"  # the 404's own bytes, as served
    assert len(views) == 1 and json.loads(views[0].files)[0] == robots.id
    assert [r.site_view for r in rows] == [views[0].id] * 4 and {r.row_format for r in rows} == {2}
    pre, post = rows[:3], rows[3]
    assert all(r.content_sha256 is None and r.examined is None for r in pre)
    assert post.content_sha256 == hashlib.sha256(PAGE).hexdigest()
    assert (post.media_type, post.content_bytes, post.http_status, post.modality) == ("text/html", len(PAGE), 200, "text")
    assert json.loads(post.examined)[:2] == ["headers", "html-meta"]
    assert [check.ok for check in verify(engine, run_id)] == [True]


@pytest.mark.parametrize("tamper", ["snapshot", "bytes", "view", "content"])
def test_verify_notices_an_edited_snapshot_its_bytes_its_view_or_the_content_facts(engine, policy, site, tamper):
    run_id = _record(engine, policy, site)
    with tampering(engine) as connection:  # the triggers switched off: an owner of the database
        if tamper == "snapshot":
            connection.execute(update(site_files).where(site_files.c.kind == "tdmrep.json").values(status=200, outcome="parsed"))
        elif tamper == "bytes":
            connection.execute(update(evidence).where(evidence.c.body == ROBOTS).values(body=b"User-agent: *\nAllow: /\n"))
        elif tamper == "view":
            connection.execute(update(site_views).values(files="[]"))
        else:
            connection.execute(update(decisions).where(decisions.c.seq == 4).values(content_bytes=1))
    (check,) = verify(engine, run_id)
    assert not check.ok and check.broken.kind == "edited"


@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_exports_carry_consulted_and_content_and_verify_from_the_file(engine, db_url, policy, site, tmp_path, fmt):
    run_id = _record(engine, policy, site)
    path = tmp_path / f"export.{fmt}"
    result = CliRunner().invoke(main, ["audit", "export", "--db", db_url, "--format", fmt, "--out", str(path)])
    assert result.exit_code == 0, result.output
    from copyright_guard.store.export import read_export

    with open(path, encoding="utf-8", newline="") as lines:
        records = list(read_export(lines, fmt))
    assert [r["consulted"][1] for r in records][0] == {
        "kind": "tdmrep.json", "url": f"{ORIGIN}/.well-known/tdmrep.json", "outcome": "unavailable", "status": 404,
        "sha256": hashlib.sha256(b"not here").hexdigest(), "fetched_at": "2026-11-23T12:00:00.000000Z"}
    assert records[2]["consulted"][2]["status"] == "connection refused" and records[2]["consulted"][2]["sha256"] is None
    if fmt == "jsonl":
        raw = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
        assert raw[0]["content"] is None
        assert raw[3]["content"] == {"sha256": hashlib.sha256(PAGE).hexdigest(), "media_type": "text/html",
                                     "bytes": len(PAGE), "modality": "text"}
        assert set(raw[0]["consulted"][0]) == {"kind", "url", "outcome", "status", "sha256", "fetched_at"}
    result = CliRunner().invoke(main, ["audit", "verify", "--file", str(path)])
    assert result.exit_code == 0 and f"run {run_id}: intact, 4 rows" in result.output
    assert "not finished" not in result.output

    # An edited consulted record (the 404 made a 200) breaks that row's hash in the copy.
    path.write_text(path.read_text(encoding="utf-8").replace("404", "200", 1), encoding="utf-8")
    result = CliRunner().invoke(main, ["audit", "verify", "--file", str(path)])
    assert result.exit_code == 1 and "edited: row seq 1" in result.output


def test_a_thousand_decisions_on_one_view_store_each_snapshot_once(engine, policy, site):
    run_id = start_run(engine, policy, now=T0, spider="test")
    with DecisionWriter(engine, run_id, max_latency=0.05) as writer:
        for number in range(1000):
            writer.submit(evaluate(f"{ORIGIN}/p/{number}", policy, now=T0, site=site))
    with engine.connect() as connection:
        assert connection.execute(select(func.count()).select_from(site_files)).scalar() == 3
        assert connection.execute(select(func.count()).select_from(site_views)).scalar() == 1


def test_explain_says_what_a_decision_was_made_on_and_what_older_rows_lack(engine, db_url, policy, site):
    from store_helpers import record_legacy_run

    legacy = record_legacy_run(engine, policy, 2)
    _record(engine, policy, site)
    result = CliRunner().invoke(main, ["audit", "explain", "--db", db_url, f"{ORIGIN}/a"])
    assert result.exit_code == 0, result.output
    assert f"made on: robots.txt parsed (200) {ORIGIN}/robots.txt" in result.output
    assert "made on: tdmrep.json unavailable (404)" in result.output
    assert "made on: ai.txt unreachable (connection refused)" in result.output and "no body" in result.output
    assert f"content: text text/html, {len(PAGE)} bytes, HTTP 200, sha256 {hashlib.sha256(PAGE).hexdigest()}" in result.output
    assert "reasons: none (no reservation" in result.output and "[, fetched" not in result.output
    assert ROBOTS.decode() in result.output  # the robots.txt bytes themselves, as evidence
    old = CliRunner().invoke(main, ["audit", "explain", "--db", db_url, "https://example.com/private/0"])
    assert "made on: not recorded (decision recorded before audit database revision 0005)" in old.output
    assert legacy in old.output
