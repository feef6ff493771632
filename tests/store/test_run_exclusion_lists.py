"""Runs record the exclusion-list versions in force (revision 0004), and reviewers see them.

"The list version is recorded in every decision" (Code of Practice reference): a decision that
matched no list cites none itself, so its run says which list versions it was checked against.
"""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from alembic import command
from click.testing import CliRunner
from sqlalchemy import inspect, select, text

from copyright_guard.cli import main
from copyright_guard.core.lists.files import parse_list_file
from copyright_guard.store import DecisionWriter, StoreError, connect, start_run
from copyright_guard.store.audit import explain, list_runs
from copyright_guard.store.db import HEAD_REVISION, VERSION_TABLE, alembic_config, create
from copyright_guard.store.lists import add_entries, import_list, load_exclusion_index
from copyright_guard.store.report import write_report
from copyright_guard.store.schema import runs
from store_helpers import T0, make_decision, record_legacy_run, record_run, tampering

TEST_POLICY = str(Path(__file__).resolve().parents[1] / "data" / "policies" / "identity.toml")  # a concrete identity

LIST_CSV = b"domain,authority,jurisdiction,reference\npirate.example,Tribunal of Examples,EX,case 1\nwarez.example,Tribunal of Examples,EX,case 2\n"


def _import(engine, name: str = "court-orders", data: bytes = LIST_CSV, file: str = "orders.csv"):
    return import_list(engine, name, parse_list_file(data, file), data, source=file, now=T0).snapshot


def _revision(engine) -> str:
    with engine.connect() as connection:
        return connection.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).scalar_one()


def _run_row(engine, run_id: str):
    with engine.connect() as connection:
        return connection.execute(select(runs).where(runs.c.id == run_id)).one()


def test_a_run_records_each_list_version_with_its_hash_and_entry_count(engine, policy):
    first = _import(engine)
    second = add_entries(engine, "court-orders", [{"entry": "more.example", "authority": "A court", "reference": "case 3"}],
                         now=T0 + timedelta(days=1), source="test")
    other = _import(engine, "agency", b"domain,authority,reference\nblocked.example,An agency,order 9\n", "agency.csv")
    index = load_exclusion_index(engine)
    run_id = start_run(engine, policy, now=T0 + timedelta(days=2), exclusion_lists=index.versions)
    recorded = json.loads(_run_row(engine, run_id).exclusion_lists)
    assert recorded == [
        {"list": "agency", "version": 1, "sha256": other.sha256, "entry_count": 1},
        {"list": "court-orders", "version": 2, "sha256": second.sha256, "entry_count": 3},
    ]
    assert second.sha256 != first.sha256


def test_no_lists_in_force_is_recorded_as_an_empty_list_and_unknown_as_null(engine, policy):
    none_in_force = start_run(engine, policy, now=T0, exclusion_lists={})
    not_recorded = start_run(engine, policy, now=T0)
    assert _run_row(engine, none_in_force).exclusion_lists == "[]"
    assert _run_row(engine, not_recorded).exclusion_lists is None
    shown = {run["id"]: run["exclusion_lists"] for run in list_runs(engine)}
    assert shown == {none_in_force: [], not_recorded: None}


def test_a_version_with_no_stored_snapshot_is_a_one_line_error(engine, policy):
    _import(engine)
    with pytest.raises(StoreError, match=r"no stored snapshot of 'court-orders' version 7"):
        start_run(engine, policy, now=T0, exclusion_lists={"court-orders": 7})
    assert list_runs(engine) == []  # nothing half-recorded


def test_migrating_from_0003_keeps_old_runs_as_not_recorded(db_url, policy):
    engine = create(db_url)
    with engine.connect() as connection:
        command.upgrade(alembic_config(connection), "0003_complaints")
        connection.commit()
    assert "exclusion_lists" not in {c["name"] for c in inspect(engine).get_columns("runs")}
    old_run = record_legacy_run(engine, policy, 3)
    engine.dispose()

    engine = connect(db_url)
    assert _revision(engine) == HEAD_REVISION
    assert "exclusion_lists" in {c["name"] for c in inspect(engine).get_columns("runs")}
    assert _run_row(engine, old_run).exclusion_lists is None
    _import(engine)
    new_run = start_run(engine, policy, now=T0, exclusion_lists=load_exclusion_index(engine).versions)
    assert [item["list"] for item in json.loads(_run_row(engine, new_run).exclusion_lists)] == ["court-orders"]
    engine.dispose()


def test_an_empty_database_is_created_at_0004_and_0004_downgrades_to_0003(db_url, policy):
    engine = connect(db_url)
    assert _revision(engine) == HEAD_REVISION
    run_id = start_run(engine, policy, now=T0, exclusion_lists={})
    with engine.connect() as connection:
        command.downgrade(alembic_config(connection), "0003_complaints")
        connection.commit()
    assert "exclusion_lists" not in {c["name"] for c in inspect(engine).get_columns("runs")}
    with engine.connect() as connection:  # the run itself survives the downgrade
        assert connection.execute(select(runs.c.id)).scalars().all() == [run_id]
    engine.dispose()


def _run_cli(*args: str, db_url: str):
    return CliRunner().invoke(main, [*args, "--db", db_url], catch_exceptions=False)


def _run_with_lists(engine, policy) -> tuple[str, object]:
    snapshot = _import(engine)
    run_id = start_run(engine, policy, now=T0, exclusion_lists=load_exclusion_index(engine).versions)
    with DecisionWriter(engine, run_id) as writer:
        writer.submit(make_decision(2, policy, url="https://example.com/open"))  # matched no list
    return run_id, snapshot


def test_audit_runs_and_explain_show_the_lists_each_decision_was_checked_against(engine, policy, db_url):
    run_id, snapshot = _run_with_lists(engine, policy)
    old_run = start_run(engine, policy, now=T0 + timedelta(hours=1))
    with DecisionWriter(engine, old_run) as writer:
        writer.submit(make_decision(4, policy, url="https://example.com/open", when=T0 + timedelta(hours=1)))
    expected = f"court-orders v1 (sha256 {snapshot.sha256[:12]}, 2 entries)"

    runs_out = _run_cli("audit", "runs", db_url=db_url).output
    assert f"exclusion lists: {expected}" in runs_out
    assert "exclusion lists: not recorded" in runs_out

    out = _run_cli("audit", "explain", "https://example.com/open", db_url=db_url).output
    assert out.index(f"exclusion lists checked: {expected}") < out.index("exclusion lists checked: not recorded")
    data = json.loads(_run_cli("audit", "explain", "https://example.com/open", "--json", db_url=db_url).output)
    assert [d["exclusion_lists"] for d in data["decisions"]] == [
        [{"list": "court-orders", "version": 1, "sha256": snapshot.sha256, "entry_count": 2}], None,
    ]
    assert explain(engine, "https://example.com/open").exclusion_lists[run_id][0]["version"] == 1


def test_the_html_report_shows_each_runs_lists_and_links_decisions_to_their_run(engine, policy, tmp_path):
    import io

    run_id, snapshot = _run_with_lists(engine, policy)
    out = io.StringIO()
    write_report(engine, out)
    html = out.getvalue()
    assert f'<tr id="run-{run_id}">' in html
    assert f"court-orders v1 (sha256 {snapshot.sha256[:12]}, 2 entries)" in html
    assert f'<a href="#run-{run_id}">' in html


def test_check_json_names_the_list_versions_it_checked_against(sqlite_url):
    engine = connect(sqlite_url)
    snapshot = _import(engine)
    engine.dispose()
    # A listed origin gets no request of any kind, so this needs no network.
    result = CliRunner().invoke(main, ["check", "https://pirate.example/film", "--json", "--db", sqlite_url])
    assert result.exit_code == 1, result.output
    data = json.loads(result.output)
    assert data["exclusion_list_versions"] == [
        {"list": "court-orders", "version": 1, "sha256": snapshot.sha256, "entry_count": 2}
    ]
    assert f"court-orders v1 (sha256 {snapshot.sha256[:12]}, 2 entries)" in data["exclusion_lists"]
    text_out = CliRunner().invoke(main, ["check", "https://pirate.example/film", "--db", sqlite_url]).output
    assert "exclusion lists: every active list from sqlite:///" in text_out and "court-orders v1" in text_out


# -- end to end: a real crawl ------------------------------------------------------------------------


@pytest.mark.slow  # one real crawl in a subprocess (~5 s)
def test_a_crawl_run_records_the_lists_in_force_and_explain_shows_them_for_unlisted_pages(tmp_path):
    from copyright_guard.demo.server import MultiOriginServer, Route

    routes = {
        ("open", "/robots.txt"): Route.text("User-agent: *\nAllow: /\n"),
        ("open", "/"): Route.html("<html><head><title>t</title></head><body>open</body></html>"),
        ("listed", "/"): Route.html("<html><body>listed</body></html>"),
    }
    db = f"sqlite:///{tmp_path / 'audit.db'}"
    cli = str(Path(sys.executable).with_name("copyright-guard"))
    with MultiOriginServer(routes) as server:
        engine = connect(db)
        host = server.origin("listed").split("//")[1].split(":")[0]
        snapshot = add_entries(engine, "court-orders", [{"entry": host, "authority": "A court", "reference": "case 1"}],
                               now=T0, source="test")
        seeds = tmp_path / "seeds.txt"
        seeds.write_text(server.url("open", "/") + "\n" + server.url("listed", "/") + "\n")
        done = subprocess.run([cli, "crawl", "seeds", "--policy", TEST_POLICY, "--seeds", str(seeds), "--db", db, "--depth", "0",
                               "-o", str(tmp_path / "items.jsonl"), "--log-level", "ERROR"],
                              capture_output=True, text=True, timeout=120, cwd=tmp_path)
        assert done.returncode == 0, done.stderr[-3000:]
        open_url = server.url("open", "/")
    [run] = list_runs(engine)
    assert run["exclusion_lists"] == [
        {"list": "court-orders", "version": snapshot.version, "sha256": snapshot.sha256, "entry_count": 1}
    ]
    found = explain(engine, open_url)
    assert found.decisions and all(d["verdict"] == "allow" for d in found.decisions)
    assert found.exclusion_lists == {run["id"]: run["exclusion_lists"]}
    out = _run_cli("audit", "explain", open_url, db_url=db).output
    assert f"exclusion lists checked: court-orders v{snapshot.version} (sha256 {snapshot.sha256[:12]}, 1 entry)" in out
    engine.dispose()


def test_verify_reports_a_run_whose_recorded_lists_match_no_stored_snapshot(engine, policy, db_url):
    from copyright_guard.store.verify import verify

    run_id, snapshot = _run_with_lists(engine, policy)
    assert [check.ok for check in verify(engine)] == [True]
    forged = json.dumps([{"list": "court-orders", "version": 1, "sha256": "0" * 64, "entry_count": 2}])
    with tampering(engine) as connection:  # an owner with the triggers off
        connection.execute(runs.update().where(runs.c.id == run_id).values(exclusion_lists=forged))
    [check] = list(verify(engine))
    assert check.broken.kind == "edited"
    # The edit breaks the run record hash (revision 0006) and names the list that matches no snapshot.
    assert "run record" in check.broken.message
    assert any("exclusion list 'court-orders' version 1 (sha256 000000000000, 2 entries)" in p.message
               for p in check.problems)
    result = CliRunner().invoke(main, ["audit", "verify", "--db", db_url])
    assert result.exit_code == 1 and "does not match any stored snapshot" in result.output
