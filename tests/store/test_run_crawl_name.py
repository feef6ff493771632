"""Revision 0007: a run records the crawl it is one worker of; audit queries select a crawl's runs."""

from __future__ import annotations

from click.testing import CliRunner
from sqlalchemy import inspect

from copyright_guard.cli import main
from copyright_guard.store.audit import Filters, list_runs, search
from copyright_guard.store.db import connect
from copyright_guard.store.runs import start_run
from copyright_guard.store.writer import DecisionWriter

from store_helpers import T0, make_decision


def test_runs_of_one_crawl_are_selected_by_its_name(tmp_path, policy):
    db = f"sqlite:///{tmp_path / 'audit.db'}"
    engine = connect(db)
    assert "crawl" in {c["name"] for c in inspect(engine).get_columns("runs")}
    made = {}
    for crawl in ("books", "books", "news", None):
        run_id = start_run(engine, policy, now=T0, crawl=crawl)
        writer = DecisionWriter(engine, run_id)
        writer.submit(make_decision(len(made) + 1, policy, domain=f"{crawl or 'none'}.example"))
        writer.close()
        made[run_id] = crawl
    books = [run_id for run_id, crawl in made.items() if crawl == "books"]
    assert sorted(run["id"] for run in list_runs(engine, "books")) == sorted(books)
    assert {d["run_id"] for d in search(engine, Filters(crawl="books"))} == set(books)
    assert list(search(engine, Filters(crawl="nothing"))) == []
    result = CliRunner().invoke(main, ["audit", "runs", "--db", db, "--crawl", "news"])
    assert result.exit_code == 0 and result.output.count("crawl news") == 1, result.output
    result = CliRunner().invoke(main, ["audit", "search", "--db", db, "--crawl", "books", "--json"])
    assert result.exit_code == 0 and result.output.count("\n") == 2
    assert CliRunner().invoke(main, ["audit", "runs", "--db", db, "--crawl", " "]).exit_code == 2
