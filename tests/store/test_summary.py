"""``audit summary``: the Template's section 2.3 / 3.1 figures, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from click.testing import CliRunner

from copyright_guard.cli import main
from copyright_guard.core.content import ContentFacts
from copyright_guard.core.model import Decision, Effect, Reason, Stage, Verdict
from copyright_guard.store import DecisionWriter, finish_run, start_run
from copyright_guard.store.summary import Scope, build_summary, top_count
from store_helpers import T0, record_legacy_run

KEYS = {"crawlers", "period", "modalities", "top_domains", "share", "opt_outs", "access_restricted",
        "exclusion_lists", "complaints"}


@pytest.mark.parametrize(("domains", "listed", "sme_listed"), [
    (0, 0, 0), (1, 1, 1), (9, 1, 1), (10, 1, 1), (11, 2, 1), (20, 2, 1), (21, 3, 2),
    (10_000, 1_000, 500), (19_999, 2_000, 1_000), (20_000, 2_000, 1_000), (20_001, 2_001, 1_000),
])
def test_the_share_rule_at_its_boundaries(domains, listed, sme_listed):
    # 10 % rounded up; SME: the lower of 5 % (rounded up) and 1,000.
    assert top_count(domains) == listed
    assert top_count(domains, sme=True) == sme_listed


def _collected(url: str, domain: str, size: int, modality: str, media: str, when) -> Decision:
    facts = ContentFacts(f"{size:064x}", media, size, 200, modality)
    return Decision(url, f"https://{domain}", domain, Stage.POST_FETCH, "train-ai", Verdict.ALLOW, (), "p", when,
                    (), ("headers",), facts)


def _record(engine, policy, domains: int = 11):
    run_id = start_run(engine, policy, now=T0, spider="test")
    with DecisionWriter(engine, run_id) as writer:
        for number in range(domains):
            domain = f"site{number:02d}.example"
            # Domain n serves n + 1 pages of 100 * (n + 1) bytes: the larger the number, the more bytes.
            for page in range(number + 1):
                writer.submit(_collected(f"https://{domain}/{page}", domain, 100 * (number + 1), "text", "text/html",
                                         T0 + timedelta(seconds=number * 10 + page)))
        writer.submit(_collected("https://img.example/a.jpg", "img.example", 5000, "image", "image/jpeg", T0))
        writer.submit(Decision("https://site00.example/private", "https://site00.example", "site00.example",
                               Stage.PRE_FETCH, "train-ai", Verdict.DENY,
                               (Reason("robots.disallowed", "robots.txt", "Disallow: /private", Effect.DENY),), "p", T0))
        writer.submit(Decision("https://pay.example/x", "https://pay.example", "pay.example", Stage.POST_FETCH,
                               "train-ai", Verdict.DENY,
                               (Reason("access.restricted", "response", "HTTP 402 Payment Required: access is restricted",
                                       Effect.DENY),), "p", T0))
    finish_run(engine, run_id, {}, T0 + timedelta(hours=1))
    return run_id


def test_top_domains_per_modality_by_bytes(engine, policy):
    run_id = _record(engine, policy)
    summary = build_summary(engine)
    assert KEYS <= set(summary)
    assert summary["modalities"]["text"] == {"items": 66, "bytes": sum(100 * (n + 1) ** 2 for n in range(11)),
                                             "domains": 11}
    # 11 text domains: 10 % rounded up is 2, largest first.
    assert [(d["domain"], d["items"], d["bytes"]) for d in summary["top_domains"]["text"]] == [
        ("site10.example", 11, 12_100), ("site09.example", 10, 10_000)]
    assert summary["top_domains"]["text"][0]["first"] == "2026-11-23T12:01:40.000000Z"
    assert summary["top_domains"]["image"] == [{"domain": "img.example", "items": 1, "bytes": 5000,
                                                "first": "2026-11-23T12:00:00.000000Z", "last": "2026-11-23T12:00:00.000000Z"}]
    assert summary["share"]["modalities"]["text"] == {"domains": 11, "listed": 2}
    sme = build_summary(engine, sme=True)
    assert [d["domain"] for d in sme["top_domains"]["text"]] == ["site10.example"]
    robots = next(o for o in summary["opt_outs"] if o["reason_codes"] == ["robots.disallowed"])
    assert (robots["urls_refused"], robots["domains"]) == (1, 1)
    assert summary["access_restricted"]["urls_refused"] == 1
    assert summary["access_restricted"]["by_kind"] == [{"kind": "HTTP 402", "urls_refused": 1, "domains": 1}]
    assert summary["crawlers"][0]["product_token"] == policy.crawler.product_token
    assert summary["period"]["runs"][0]["run"] == run_id and summary["decisions_predating_fields"] == 0
    # Scoped by time: nothing after the last decision.
    assert build_summary(engine, Scope(since="2026-11-23T13:00:00.000000Z"))["modalities"]["text"]["items"] == 0


def test_decisions_before_revision_0005_are_counted_as_predating(engine, policy):
    record_legacy_run(engine, policy, 4)
    run_id = _record(engine, policy, domains=2)
    summary = build_summary(engine)
    assert summary["decisions_predating_fields"] == 4
    assert build_summary(engine, Scope(runs=(run_id,)))["decisions_predating_fields"] == 0


def test_the_command_writes_json_markdown_and_html(engine, db_url, policy, tmp_path):
    run_id = _record(engine, policy)
    result = CliRunner().invoke(main, ["audit", "summary", "--db", db_url, "--format", "json", "--run", run_id])
    assert result.exit_code == 0, result.output
    assert KEYS <= set(json.loads(result.output))
    result = CliRunner().invoke(main, ["audit", "summary", "--db", db_url])
    assert "## 2.3 Data crawled and scraped from online sources" in result.output
    assert "| site10.example | 11 |" in result.output and "## 3.1" in result.output
    out = tmp_path / "summary.html"
    result = CliRunner().invoke(main, ["audit", "summary", "--db", db_url, "--format", "html", "--sme", "-o", str(out)])
    assert result.exit_code == 0 and "site10.example" in out.read_text(encoding="utf-8")
    result = CliRunner().invoke(main, ["audit", "summary", "--db", db_url, "--run", "nope"])
    assert result.exit_code == 2 and "no run 'nope'" in result.output and "Traceback" not in result.output


def test_the_index_path_and_the_scan_path_agree_on_runs_in_recording_order(engine, policy):
    from store_helpers import record_run

    record_legacy_run(engine, policy, 4)
    record_run(engine, policy, 6)
    fast = build_summary(engine)  # no time range: per run through the (run_id, seq) index
    scanned = build_summary(engine, Scope(since="2000-01-01T00:00:00.000000Z"))  # one GROUP BY
    assert fast["period"] == scanned["period"] and fast["crawlers"] == scanned["crawlers"]
    assert fast["decisions_predating_fields"] == scanned["decisions_predating_fields"] == 4
    assert [r["decisions"] for r in fast["period"]["runs"]] == [4, 6]
