"""Tamper evidence: every kind of change to the log is detected and named; `audit verify` exits 1."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from sqlalchemy import select, text, update

from copyright_guard.cli import main
from copyright_guard.store.chain import row_hash
from copyright_guard.store.schema import decisions
from copyright_guard.store.verify import verify
from store_helpers import record_run, tampering

ROWS = 12


@pytest.fixture
def run_id(engine, policy):
    return record_run(engine, policy, ROWS)


def _row(engine, run_id, seq):
    with engine.connect() as connection:
        return connection.execute(select(decisions).where(decisions.c.run_id == run_id, decisions.c.seq == seq)).one()


def _check(engine, run_id):
    [check] = verify(engine, run_id)
    return check


def test_an_untouched_log_verifies(engine, run_id, db_url):
    check = _check(engine, run_id)
    assert check.ok and check.rows == ROWS and check.finished
    result = CliRunner().invoke(main, ["audit", "verify", "--db", db_url])
    assert result.exit_code == 0 and f"run {run_id}: intact, {ROWS} rows" in result.output


def test_an_edited_row_is_named(engine, run_id, db_url):
    victim = _row(engine, run_id, 6)  # a denial, turned into an allow
    with tampering(engine) as connection:
        connection.execute(update(decisions).where(decisions.c.id == victim.id).values(verdict="allow", reasons="[]"))
    broken = _check(engine, run_id).broken
    assert (broken.kind, broken.seq, broken.decision_id) == ("edited", 6, victim.id)
    result = CliRunner().invoke(main, ["audit", "verify", "--db", db_url])
    assert result.exit_code == 1
    assert f"BROKEN - edited: row seq 6 (decision {victim.id}) no longer matches its hash" in result.output


def test_an_edit_with_a_recomputed_row_hash_breaks_the_next_link(engine, run_id):
    victim = _row(engine, run_id, 6)
    forged = {**victim._mapping, "verdict": "allow"}
    with tampering(engine) as connection:
        connection.execute(update(decisions).where(decisions.c.id == victim.id)
                           .values(verdict="allow", row_hash=row_hash(forged, victim.prev_hash)))
    broken = _check(engine, run_id).broken
    # Row 7 still links to the original hash of row 6, which no row has any more.
    assert (broken.kind, broken.seq, broken.decision_id) == ("edited", 6, victim.id)
    assert "recomputed hash" in broken.message


def test_an_edited_link_field_is_named(engine, run_id):
    victim = _row(engine, run_id, 7)
    with tampering(engine) as connection:
        connection.execute(update(decisions).where(decisions.c.id == victim.id).values(prev_hash="f" * 64))
    broken = _check(engine, run_id).broken
    assert (broken.kind, broken.seq) == ("edited", 7) and "link field" in broken.message


def test_a_deleted_row_is_named(engine, run_id):
    victim = _row(engine, run_id, 4)
    with tampering(engine) as connection:
        connection.execute(decisions.delete().where(decisions.c.id == victim.id))
    broken = _check(engine, run_id).broken
    assert (broken.kind, broken.seq) == ("deleted", 4) and "seq 4 missing before row seq 5" in broken.message


def test_deleting_the_first_row_is_detected(engine, run_id):
    with tampering(engine) as connection:
        connection.execute(decisions.delete().where(decisions.c.run_id == run_id, decisions.c.seq == 1))
    assert _check(engine, run_id).broken.kind == "deleted"


def test_deleting_the_last_rows_of_a_finished_run_is_detected(engine, run_id):
    with tampering(engine) as connection:
        connection.execute(decisions.delete().where(decisions.c.run_id == run_id, decisions.c.seq > ROWS - 2))
    broken = _check(engine, run_id).broken
    assert broken.kind == "deleted" and f"ends at seq {ROWS - 2} but the run finished with {ROWS} rows" in broken.message


def test_a_deleted_row_with_renumbering_is_detected(engine, run_id):
    with tampering(engine) as connection:
        connection.execute(decisions.delete().where(decisions.c.run_id == run_id, decisions.c.seq == 6))
        for seq in range(7, ROWS + 1):
            connection.execute(update(decisions).where(decisions.c.run_id == run_id, decisions.c.seq == seq).values(seq=seq - 1))
    broken = _check(engine, run_id).broken
    assert (broken.kind, broken.seq) == ("deleted", 6)


def test_an_inserted_row_is_named(engine, run_id):
    """A forged row slipped in at seq 5 with a valid-looking hash; later rows renumbered."""
    with tampering(engine) as connection:
        for seq in range(ROWS, 4, -1):  # make room, highest first (seq is unique per run)
            connection.execute(update(decisions).where(decisions.c.run_id == run_id, decisions.c.seq == seq).values(seq=seq + 1))
        before = connection.execute(select(decisions).where(decisions.c.run_id == run_id, decisions.c.seq == 4)).one()
        forged = {**before._mapping, "id": "f" * 32, "seq": 5, "url": "https://example.com/forged", "verdict": "allow",
                  "reasons": "[]", "prev_hash": before.row_hash}
        forged["row_hash"] = row_hash(forged, before.row_hash)
        connection.execute(decisions.insert().values(**forged))
    broken = _check(engine, run_id).broken
    assert (broken.kind, broken.seq, broken.decision_id) == ("inserted", 5, "f" * 32)


def test_a_row_appended_after_the_run_finished_is_detected(engine, run_id):
    last = _row(engine, run_id, ROWS)
    forged = {**last._mapping, "id": "e" * 32, "seq": ROWS + 1, "prev_hash": last.row_hash}
    forged["row_hash"] = row_hash(forged, last.row_hash)
    with tampering(engine) as connection:
        connection.execute(decisions.insert().values(**forged))
    broken = _check(engine, run_id).broken
    assert broken.kind == "inserted" and "after the run finished" in broken.message


def test_reordered_rows_are_named(engine, run_id):
    with tampering(engine) as connection:  # swap seq 8 and 9 (through a free number: seq is unique)
        where = lambda seq: (decisions.c.run_id == run_id) & (decisions.c.seq == seq)  # noqa: E731
        connection.execute(update(decisions).where(where(8)).values(seq=-1))
        connection.execute(update(decisions).where(where(9)).values(seq=8))
        connection.execute(update(decisions).where(where(-1)).values(seq=9))
    broken = _check(engine, run_id).broken
    assert (broken.kind, broken.seq) == ("reordered", 8) and "links to seq 9" in broken.message


def test_a_decision_of_a_run_that_never_started_is_reported(engine, run_id):
    row = dict(_row(engine, run_id, 1)._mapping)
    with tampering(engine) as connection:
        connection.execute(decisions.insert().values(**{**row, "id": "d" * 32, "run_id": "0" * 32}))
    checks = list(verify(engine))
    assert [c.broken.kind for c in checks if not c.ok] == ["inserted"]


def test_verify_json_and_unknown_run(engine, run_id, db_url):
    with tampering(engine) as connection:
        connection.execute(text("DELETE FROM decisions WHERE seq = 3"))
    result = CliRunner().invoke(main, ["audit", "verify", "--json", "--db", db_url])
    assert result.exit_code == 1
    record = json.loads(result.output.splitlines()[0])
    assert record["ok"] is False and record["broken"]["kind"] == "deleted" and record["broken"]["seq"] == 3
    result = CliRunner().invoke(main, ["audit", "verify", "--run", "nope", "--db", db_url])
    assert result.exit_code == 2 and "no run 'nope'" in result.output
