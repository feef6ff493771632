"""Revision 0006: the database itself refuses to rewrite the audit log (SQLite and PostgreSQL)."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from copyright_guard.store import finish_run, start_run
from store_helpers import T0, record_run

STATEMENTS = [
    "UPDATE decisions SET verdict = 'allow'",
    "DELETE FROM decisions",
    "UPDATE decision_reasons SET code = 'x'",
    "DELETE FROM decision_reasons",
    "UPDATE evidence SET body = body",
    "DELETE FROM evidence",
    "UPDATE policies SET text = 'forged'",
    "DELETE FROM policies",
    "DELETE FROM runs",
    "UPDATE runs SET crawler = 'someone else'",
    "UPDATE runs SET finished_at = NULL, decision_count = NULL, head_hash = NULL",
]


@pytest.mark.parametrize("statement", STATEMENTS)
def test_the_audit_tables_refuse_updates_and_deletes(engine, policy, statement):
    record_run(engine, policy, 4)  # finished, with evidence and reasons
    with pytest.raises(DBAPIError, match="append-only"):
        with engine.begin() as connection:
            connection.execute(text(statement))


def test_checkpoints_refuse_updates_and_deletes(engine, policy):
    with engine.begin() as connection:
        connection.execute(text("INSERT INTO checkpoints (run_id, tree_size, root_hash, signed_at, note) "
                                "VALUES ('r', 1, 'x', 't', 'n')"))
    for statement in ("UPDATE checkpoints SET root_hash = 'y'", "DELETE FROM checkpoints"):
        with pytest.raises(DBAPIError, match="append-only"):
            with engine.begin() as connection:
                connection.execute(text(statement))


def test_a_run_is_finished_once_and_only_its_finish_is_written(engine, policy):
    run_id = start_run(engine, policy, now=T0)
    with pytest.raises(DBAPIError, match="only the finish"):  # a start column, before the finish
        with engine.begin() as connection:
            connection.execute(text("UPDATE runs SET started_at = '2020-01-01T00:00:00.000000Z'"))
    finish_run(engine, run_id, {}, T0)
    with pytest.raises(DBAPIError, match="only the finish"):  # finishing again
        with engine.begin() as connection:
            connection.execute(text("UPDATE runs SET finished_at = '2030-01-01T00:00:00.000000Z'"))
