"""The reviewer commands: runs, explain, search, evidence, export (round trip), verify --file."""

from __future__ import annotations

import csv
import io
import json

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from copyright_guard.cli import main
from copyright_guard.store import DecisionWriter, start_run
from copyright_guard.store.schema import decisions
from store_helpers import ROBOTS, T0, make_decision, record_run, robots_evidence


def run_cli(*args: str, db_url: str) -> "CliRunner.invoke":
    return CliRunner().invoke(main, [*args, "--db", db_url], catch_exceptions=False)


@pytest.fixture
def recorded(engine, policy):
    return record_run(engine, policy, 20)


def test_runs_lists_policy_crawler_counts_and_head(recorded, db_url, policy):
    result = run_cli("audit", "runs", db_url=db_url)
    assert result.exit_code == 0
    assert recorded in result.output and "strict-default" in result.output and "CopyrightGuardBot" in result.output
    assert "decisions: 10 allow, 10 deny" in result.output and "head hash " in result.output
    assert "{" not in result.output  # readable counts, not a Python dict
    [run] = json.loads(run_cli("audit", "runs", "--json", db_url=db_url).output)
    assert run["id"] == recorded and run["decision_count"] == 20 and run["policy_hash"] == policy.hash


def test_explain_shows_reasons_policy_and_the_evidence_bytes(recorded, db_url, policy):
    result = run_cli("audit", "explain", "https://example.com/private/3", db_url=db_url)
    assert result.exit_code == 0
    out = result.output
    assert "1 decision(s)" in out and "DENY  post-fetch  purpose train-ai" in out
    assert "robots.disallowed (deny): Disallow: /private/ matches" in out
    assert "evidence: robots.txt line 2: Disallow: /private/ [https://example.com/robots.txt HTTP 200" in out
    assert ROBOTS.decode() in out  # the bytes as they were
    assert f"policy 'strict-default' sha256 {policy.hash}" in out and '[crawler]' in out  # the policy text
    data = json.loads(run_cli("audit", "explain", "https://example.com/private/3", "--json", db_url=db_url).output)
    assert data["evidence"][robots_evidence().sha256]["text"] == ROBOTS.decode()


def test_explain_lists_every_decision_for_a_url_over_time(engine, policy, db_url):
    run_id = start_run(engine, policy, now=T0)
    with DecisionWriter(engine, run_id) as writer:
        writer.submit(make_decision(1, policy, url="https://example.com/page"))
        writer.submit(make_decision(2, policy, url="https://example.com/page"))
    result = run_cli("audit", "explain", "https://example.com/page", db_url=db_url)
    assert "2 decision(s)" in result.output
    assert result.output.index("[1] 2026-11-23T12:00:01") < result.output.index("[2] 2026-11-23T12:00:02")


def test_explain_escapes_terminal_control_characters_in_recorded_text(engine, policy, db_url):
    hostile = b"User-agent: *\nDisallow: /\x1b]0;owned\x07\x1b[2J\n"
    run_id = start_run(engine, policy, now=T0)
    with DecisionWriter(engine, run_id) as writer:
        writer.submit(make_decision(1, policy, url="https://example.com/x", evidence=robots_evidence(hostile)))
    out = run_cli("audit", "explain", "https://example.com/x", db_url=db_url).output
    assert "\x1b" not in out and "\x07" not in out and "\\x1b]0;owned\\x07" in out


def test_explain_of_an_unknown_url_exits_1(recorded, db_url):
    result = CliRunner().invoke(main, ["audit", "explain", "https://nowhere.example/", "--db", db_url])
    assert result.exit_code == 1 and "no decision recorded" in result.output


@pytest.mark.parametrize("url", ["", "   "])
def test_explain_of_an_empty_url_is_a_usage_error_not_every_decision(recorded, db_url, url):
    # Filters(url="") used to be "no filter": `audit explain ""` printed all 20 decisions.
    result = CliRunner().invoke(main, ["audit", "explain", url, "--db", db_url])
    assert result.exit_code == 2
    assert result.output.strip().splitlines() == [
        "Error: audit explain: the URL is empty (hint: give the URL of a decision, e.g. from audit search)"]


def test_an_empty_url_filter_matches_nothing(engine, recorded):
    from copyright_guard.store.audit import Filters, explain, search

    assert list(search(engine, Filters(url=""))) == []
    with pytest.raises(ValueError, match="the URL is empty"):
        explain(engine, "")


@pytest.mark.parametrize("option", ["--domain", "--reason", "--run", "--since", "--until"])
def test_an_empty_search_filter_is_a_usage_error_not_no_filter(recorded, db_url, option):
    result = CliRunner().invoke(main, ["audit", "search", option, "", "--db", db_url])
    assert result.exit_code == 2
    assert result.output.strip().splitlines() == [
        f"Error: {option}: the value is empty (hint: leave {option} out to match every decision)"]


def test_search_filters(engine, policy, db_url, recorded):
    record_run(engine, policy, 6, domain="other.org", start=100)
    lines = run_cli("audit", "search", "--domain", "other.org", "--limit", "0", db_url=db_url).output.splitlines()
    assert len(lines) == 6 and all("other.org" in line for line in lines)
    found = [json.loads(line) for line in run_cli("audit", "search", "--verdict", "deny", "--reason", "robots.*",
                                                   "--json", "--limit", "0", db_url=db_url).output.splitlines()]
    assert len(found) == 13 and all(d["verdict"] == "deny" for d in found)
    assert found[0]["decided_at"] >= found[-1]["decided_at"]  # newest first
    timed = run_cli("audit", "search", "--since", "2026-11-23T12:00:05", "--until", "2026-11-23T12:00:08",
                    "--run", recorded, "--json", db_url=db_url).output.splitlines()
    assert [json.loads(line)["seq"] for line in timed] == [8, 7, 6]
    assert len(run_cli("audit", "search", "--limit", "3", db_url=db_url).output.splitlines()) == 3
    none = run_cli("audit", "search", "--reason", "tdmrep.reserved", db_url=db_url)
    assert none.stdout == "" and "no matching decisions" in none.stderr
    bad = CliRunner().invoke(main, ["audit", "search", "--since", "yesterday", "--db", db_url])
    assert bad.exit_code == 2 and "--since: 'yesterday' is not an ISO 8601 date" in bad.output


def test_evidence_prints_the_exact_bytes(recorded, db_url, tmp_path):
    sha = robots_evidence().sha256
    result = CliRunner().invoke(main, ["audit", "evidence", sha, "--db", db_url])
    assert result.exit_code == 0 and result.stdout_bytes == ROBOTS
    out = tmp_path / "robots.txt"
    assert CliRunner().invoke(main, ["audit", "evidence", sha[:12], "--out", str(out), "--db", db_url]).exit_code == 0
    assert out.read_bytes() == ROBOTS
    missing = CliRunner().invoke(main, ["audit", "evidence", "ab" * 32, "--db", db_url])
    assert missing.exit_code == 1
    assert CliRunner().invoke(main, ["audit", "evidence", "xyz", "--db", db_url]).exit_code == 2


def _stored_rows(engine) -> dict[str, dict]:
    with engine.connect() as connection:
        return {row.id: {k: v for k, v in row._mapping.items() if k != "url_key"} for row in connection.execute(select(decisions))}


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_export_round_trips_and_verifies_without_the_database(engine, recorded, db_url, tmp_path, fmt):
    path = tmp_path / f"export.{fmt}"
    result = run_cli("audit", "export", "--format", fmt, "--out", str(path), db_url=db_url)
    assert result.exit_code == 0 and "exported 20 decisions" in result.output
    from copyright_guard.store.export import read_export

    with open(path, encoding="utf-8", newline="") as lines:
        # consulted / content are the proof-of-collection objects, rebuilt from the stored columns.
        exported = {row["id"]: {k: v for k, v in row.items() if k not in ("consulted", "content")}
                    for row in read_export(lines, fmt)}
    assert exported == _stored_rows(engine)
    result = CliRunner().invoke(main, ["audit", "verify", "--file", str(path)])
    assert result.exit_code == 0 and f"run {recorded}: intact, 20 rows" in result.output

    tampered = path.read_text(encoding="utf-8").replace("/private/7", "/public/7")
    path.write_text(tampered, encoding="utf-8")
    result = CliRunner().invoke(main, ["audit", "verify", "--file", str(path)])
    assert result.exit_code == 1 and "edited: row seq 8" in result.output


def test_export_to_stdout_with_filters(recorded, db_url):
    out = run_cli("audit", "export", "--format", "csv", "--verdict", "deny", db_url=db_url).output
    rows = list(csv.DictReader(io.StringIO(out)))
    assert len(rows) == 10 and {r["reason_codes"] for r in rows} == {"robots.disallowed"}


def test_every_audit_command_has_help_with_an_example():
    for name in ("runs", "explain", "search", "evidence", "export", "verify", "report"):
        result = CliRunner().invoke(main, ["audit", name, "--help"])
        assert result.exit_code == 0 and "Example:" in result.output and "--db" in result.output


def test_export_shows_a_progress_bar_on_a_terminal(recorded, db_url, tmp_path):
    import os
    import pty
    import subprocess
    import sys
    from pathlib import Path

    leader, follower = pty.openpty()
    command = Path(sys.executable).with_name("copyright-guard")
    out = tmp_path / "export.jsonl"
    done = subprocess.run([str(command), "audit", "export", "--out", str(out), "--db", db_url],
                          stderr=follower, stdout=subprocess.DEVNULL, timeout=120)
    os.close(follower)
    shown = b""
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:
            break
        if not chunk:
            break
        shown += chunk
    os.close(leader)
    assert done.returncode == 0 and len(out.read_text().splitlines()) == 20 + 1  # the rows and the end line
    assert b"exporting" in shown and b"100%" in shown
