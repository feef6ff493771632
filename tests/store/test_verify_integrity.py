"""Every tampering case of issue 12 "Why" fails `audit verify` (exit 1) with a message naming what
and where - on SQLite and PostgreSQL. The attacker owns the database (triggers off: tampering())."""

from __future__ import annotations

import json
import subprocess

import pytest
from click.testing import CliRunner
from sqlalchemy import select, text, update

from copyright_guard.cli import main
from copyright_guard.store.note import new_signer
from copyright_guard.store.schema import decision_reasons, decisions, evidence, policies, runs
from store_helpers import record_run, tampering

ROWS = 12


@pytest.fixture
def signer():
    return new_signer("copyright-guard-test")


@pytest.fixture
def run_id(engine, policy, signer):
    return record_run(engine, policy, ROWS, signer=signer, checkpoint_every=4)


def _scalar(engine, query):
    # A connection left open would hold its locks until collected: PostgreSQL's schema drop after
    # the test (and tampering()'s ALTER TABLE) would wait on it.
    with engine.connect() as connection:
        return connection.execute(query).scalar()


def _first(engine, query):
    with engine.connect() as connection:
        return connection.execute(query).first()


def _verify(db_url, *args):
    result = CliRunner().invoke(main, ["audit", "verify", "--db", db_url, *args])
    assert "Traceback" not in result.output
    return result


def _broken(db_url, *args) -> str:
    result = _verify(db_url, *args)
    assert result.exit_code == 1, result.output
    return result.output


def _checkpoint_file(db_url, tmp_path) -> str:
    out = tmp_path / "witness.txt"
    result = CliRunner().invoke(main, ["audit", "checkpoints", "--db", db_url, "--out", str(out)])
    assert result.exit_code == 0, result.output
    return str(out)


def test_an_untouched_signed_run_verifies_fully_anchored(engine, run_id, db_url, tmp_path):
    witness = _checkpoint_file(db_url, tmp_path)
    result = _verify(db_url, "--checkpoints", witness)
    assert result.exit_code == 0, result.output
    assert f"run {run_id}: intact, {ROWS} rows" in result.output and "not anchored" not in result.output
    assert open(witness).read().count("\u2014 copyright-guard-test ") == ROWS // 4 + 1  # 4, 8, 12 and the finish seal


def test_replaced_evidence_bytes_are_named(engine, run_id, db_url):
    sha = json.loads(_scalar(engine, select(decisions.c.reasons).where(decisions.c.seq == 2)))[0]["evidence"]["sha256"]
    with tampering(engine) as connection:
        connection.execute(update(evidence).where(evidence.c.sha256 == sha).values(body=b"User-agent: *\nDisallow: /\n"))
    assert f"edited: evidence {sha}" in _broken(db_url)


def test_an_edited_policy_text_is_named(engine, run_id, db_url, policy):
    with tampering(engine) as connection:
        connection.execute(update(policies).values(text="[policy]\nname = 'lenient'\n"))
    assert f"edited: the stored text of policy" in (out := _broken(db_url)) and policy.hash in out


def test_deleted_reason_index_rows_are_named(engine, run_id, db_url):
    with tampering(engine) as connection:
        connection.execute(decision_reasons.delete())
    out = _broken(db_url)
    assert "deleted: 6 decision_reasons row(s)" in out and "audit search --reason robots.disallowed" in out


def test_a_changed_url_key_is_named(engine, run_id, db_url):
    victim = _scalar(engine, select(decisions.c.id).where(decisions.c.seq == 5))
    with tampering(engine) as connection:
        connection.execute(update(decisions).where(decisions.c.id == victim).values(url_key=42))
    assert f"edited: the url_key of row seq 5 (decision {victim})" in _broken(db_url)


@pytest.mark.parametrize("column, value", [("crawler", "SomeoneElseBot"), ("started_at", "2020-01-01T00:00:00.000000Z")])
def test_edited_run_metadata_is_named(engine, run_id, db_url, column, value):
    with tampering(engine) as connection:
        connection.execute(update(runs).where(runs.c.id == run_id).values({column: value}))
    assert f"edited: the run record of run {run_id}" in _broken(db_url)


def test_the_deleted_tail_of_an_unfinished_run_is_named(engine, policy, signer, db_url, tmp_path):
    run_id = record_run(engine, policy, 10, finish=False, signer=signer, checkpoint_every=4)
    witness = _checkpoint_file(db_url, tmp_path)
    with tampering(engine) as connection:
        connection.execute(decisions.delete().where(decisions.c.run_id == run_id, decisions.c.seq > 7))
    assert "deleted: a stored checkpoint of run" in _broken(db_url)
    with tampering(engine) as connection:  # the attacker removes the checkpoints too
        connection.execute(text("DELETE FROM checkpoints"))
    assert _verify(db_url).exit_code == 0  # the database alone cannot tell: a witness can
    out = _broken(db_url, "--checkpoints", witness)
    assert f"deleted: a checkpoint held outside says run {run_id} had 10 decisions; the database has 7" in out


def test_a_row_appended_to_an_unfinished_run_is_not_anchored(engine, policy, signer, db_url):
    from copyright_guard.store import DecisionWriter
    from store_helpers import make_decision

    run_id = record_run(engine, policy, 8, finish=False, signer=signer, checkpoint_every=4)
    with DecisionWriter(engine, run_id) as forger:  # correctly chained, but no key to sign with
        forger.submit(make_decision(100, policy))
    out = _verify(db_url).output
    assert f"run {run_id}: intact, 9 rows (run not finished); anchored up to 8 decisions by signed checkpoints; " \
           "the last 1 are not" in out


def test_a_nulled_finish_and_deleted_tail_fail_against_the_witness(engine, run_id, db_url, tmp_path):
    witness = _checkpoint_file(db_url, tmp_path)
    with tampering(engine) as connection:
        connection.execute(update(runs).values(finished_at=None, decision_count=None, head_hash=None, counts=None))
        connection.execute(decisions.delete().where(decisions.c.seq > 9))
        connection.execute(text("DELETE FROM checkpoints WHERE tree_size > 8"))
    out = _broken(db_url, "--checkpoints", witness)
    assert f"run {run_id} had 12 decisions; the database has 9" in out


def test_a_recomputed_log_fails_against_the_witness(engine, run_id, db_url, tmp_path, policy):
    from copyright_guard.store.chain import row_hash

    witness = _checkpoint_file(db_url, tmp_path)
    with tampering(engine) as connection:  # rewrite row 2 and recompute every later link
        rows = connection.execute(select(decisions).where(decisions.c.run_id == run_id).order_by(decisions.c.seq)).all()
        prev = rows[0].prev_hash
        for row in rows:
            values = dict(row._mapping)
            if row.seq == 2:  # a denial (record_run: seq 2 is decision number 1, odd: denied)
                values["verdict"], values["reasons"] = "allow", "[]"
            link = row_hash(values, prev)
            connection.execute(update(decisions).where(decisions.c.id == row.id).values(
                verdict=values["verdict"], reasons=values["reasons"], prev_hash=prev, row_hash=link))
            prev = link
        connection.execute(update(runs).values(head_hash=prev))
        connection.execute(text("DELETE FROM checkpoints"))
        connection.execute(decision_reasons.delete().where(decision_reasons.c.decision_id == rows[1].id))
    # the finish record holds the old head hash: alone, the database gives the rewrite away
    assert f"the finish record of run {run_id} (finish time, counts) no longer matches its finish hash" in _broken(db_url)
    with tampering(engine) as connection:  # so the attacker removes the seal too
        connection.execute(update(runs).values(finish_hash=None, finish_note=None))
    assert _verify(db_url).exit_code == 0  # consistent in itself
    out = _broken(db_url, "--checkpoints", witness)
    assert f"edited: the first 4 decisions of run {run_id} are not those a checkpoint held outside signed" in out


def test_a_deleted_run_fails_against_the_witness(engine, run_id, db_url, tmp_path):
    witness = _checkpoint_file(db_url, tmp_path)
    with tampering(engine) as connection:
        for table in ("decision_reasons", "decisions", "checkpoints", "runs"):
            connection.execute(text(f"DELETE FROM {table}"))
    out = _broken(db_url, "--checkpoints", witness)
    assert f"deleted: the checkpoint file holds 4 checkpoint(s) of run {run_id}" in out  # 3 and the finish seal and "not in the database" in out


def test_a_forged_checkpoint_signature_is_named(engine, run_id, db_url, tmp_path):
    witness = tmp_path / "forged.txt"
    text_ = open(_checkpoint_file(db_url, tmp_path)).read()
    witness.write_text(text_.replace("\n4\n", "\n5\n", 1))
    assert "does not match the checkpoint text" in _broken(db_url, "--checkpoints", str(witness))


def test_inclusion_proofs_check_without_the_database(engine, run_id, db_url, tmp_path):
    witness = _checkpoint_file(db_url, tmp_path)
    url = _scalar(engine, select(decisions.c.url).where(decisions.c.seq == 6))
    proof = tmp_path / "proof.json"
    made = CliRunner().invoke(main, ["audit", "prove", url, "--db", db_url, "--out", str(proof), "--json"])
    assert made.exit_code == 0, made.output
    document = json.loads(proof.read_text())
    assert document["leaf_index"] == 5 and document["tree_size"] == 8 and len(proof.read_bytes()) < 2048
    checked = CliRunner().invoke(main, ["audit", "verify-proof", str(proof), "--checkpoint", witness])
    assert checked.exit_code == 0 and "proved: decision" in checked.output, checked.output
    document["entry"] = document["entry"].replace('"deny"', '"allow"')
    proof.write_text(json.dumps(document))
    refused = CliRunner().invoke(main, ["audit", "verify-proof", str(proof), "--checkpoint", witness])
    assert refused.exit_code == 1 and "NOT PROVED" in refused.output


def test_a_truncated_or_edited_export_is_named(engine, run_id, db_url, tmp_path):
    export = tmp_path / "export.jsonl"
    done = CliRunner().invoke(main, ["audit", "export", "--db", db_url, "--out", str(export)])
    assert done.exit_code == 0, done.output
    lines = export.read_text(encoding="utf-8").splitlines(keepends=True)
    assert sum('"checkpoint"' in line for line in lines) == 3 and '"export_end"' in lines[-1]
    intact = CliRunner().invoke(main, ["audit", "verify", "--file", str(export)])
    assert intact.exit_code == 0 and f"run {run_id}: intact, {ROWS} rows" in intact.output, intact.output

    export.write_text("".join(lines[:-10]), encoding="utf-8")  # head -n -10
    out = CliRunner().invoke(main, ["audit", "verify", "--file", str(export)]).output
    assert "export: BROKEN - deleted: the export has no end line: it was cut off after 3 rows" in out

    export.write_text("".join(lines[:-4] + lines[-1:]), encoding="utf-8")  # rows cut, the end line kept
    result = CliRunner().invoke(main, ["audit", "verify", "--file", str(export)])
    assert result.exit_code == 1
    assert f"deleted: the export's checkpoint says run {run_id} had 12 decisions; the export holds 9" in result.output


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)  # PostgreSQL's column types refuse such values
@pytest.mark.parametrize("column", ["url", "reasons", "policy_hash", "site_view"])
def test_a_value_of_the_wrong_type_is_an_edit_never_a_crash(engine, run_id, db_url, column):
    """SQLite keeps any type in any column: a BLOB where text belongs is named as an edit (exit 1),
    not a one-line crash (exit 2) that leaves the reviewer without the row."""
    victim = _scalar(engine, select(decisions.c.id).where(decisions.c.seq == 5))
    with tampering(engine) as connection:
        connection.execute(update(decisions).where(decisions.c.id == victim).values({column: b"\xff\xfe"}))
    assert f"edited: row seq 5 (decision {victim}) holds a value of the wrong type" in _broken(db_url)


# -- the finish record (revision 0010): what `audit runs` and `audit summary` show of a finished run --


def _edit_counts(connection, run_id, *, rehash=False):
    from copyright_guard.store.chain import finish_record_hash

    row = connection.execute(select(runs).where(runs.c.id == run_id)).first()
    counts = {**json.loads(row.counts), "allow": 999}  # "pages collected" inflated
    values = {"counts": json.dumps(counts, sort_keys=True)}
    if rehash:  # the attacker recomputes the finish hash too: only the signature is left to catch it
        values["finish_hash"] = finish_record_hash({**row._mapping, **values})
    connection.execute(update(runs).where(runs.c.id == run_id).values(values))


def test_a_finished_run_is_sealed_and_its_seal_goes_to_the_checkpoint_file(engine, run_id, db_url, tmp_path):
    row = _first(engine, select(runs).where(runs.c.id == run_id))
    assert row.finish_hash and "\nrun-finish " + row.finish_hash + "\n" in row.finish_note
    assert open(_checkpoint_file(db_url, tmp_path)).read().count("run-finish ") == 1
    result = _verify(db_url)
    assert result.exit_code == 0 and "not sealed" not in result.output, result.output


@pytest.mark.parametrize("field", ["counts", "finished_at"])
def test_an_edited_finish_record_is_named(engine, run_id, db_url, field):
    with tampering(engine) as connection:
        if field == "counts":
            _edit_counts(connection, run_id)
        else:
            connection.execute(update(runs).values(finished_at="2031-01-01T00:00:00.000000Z"))
    assert f"edited: the finish record of run {run_id} (finish time, counts) no longer matches its finish hash" \
        in _broken(db_url)


def test_a_finish_record_rehashed_by_the_attacker_fails_its_signed_seal(engine, run_id, db_url):
    with tampering(engine) as connection:
        _edit_counts(connection, run_id, rehash=True)
    assert f"edited: the finish record of run {run_id} (finish time, counts) is not the one its finish seal signed" \
        in _broken(db_url)


def test_a_removed_seal_is_caught_by_the_checkpoint_file_held_outside(engine, run_id, db_url, tmp_path):
    witness = _checkpoint_file(db_url, tmp_path)
    with tampering(engine) as connection:
        _edit_counts(connection, run_id)
        connection.execute(update(runs).values(finish_hash=None, finish_note=None))
    alone = _verify(db_url)  # the database alone cannot tell a removed seal from a run finished before 0010
    assert alone.exit_code == 0 and "not sealed" in alone.output and "held outside tells" in alone.output
    assert "is not the one its finish seal held outside signed" in _broken(db_url, "--checkpoints", witness)


def test_an_unsigned_run_has_its_finish_hashed(engine, policy, db_url):
    run_id = record_run(engine, policy, 3)
    row = _first(engine, select(runs).where(runs.c.id == run_id))
    assert row.finish_hash and row.finish_note is None
    with tampering(engine) as connection:
        _edit_counts(connection, run_id)
    assert "no longer matches its finish hash" in _broken(db_url)


def test_a_run_that_recorded_nothing_has_its_finish_sealed_too(engine, policy, signer, db_url):
    """A worker stopped before its first page: its finish seal signs the empty tree (RFC 9162 §2.1.1)."""
    run_id = record_run(engine, policy, 0, signer=signer)
    row = _first(engine, select(runs).where(runs.c.id == run_id))
    assert row.decision_count == 0 and "\n0\n" in row.finish_note
    result = _verify(db_url)
    assert result.exit_code == 0 and f"run {run_id}: intact, 0 rows" in result.output, result.output
    with tampering(engine) as connection:
        _edit_counts(connection, run_id, rehash=True)
    assert "is not the one its finish seal signed" in _broken(db_url)


def test_an_export_verifies_against_a_checkpoint_file_holding_finish_seals(engine, run_id, db_url, tmp_path):
    """An export holds the decisions, not the finish record: the held finish seal is checked as the
    checkpoint of the whole run it also is (it crashed verify --file before)."""
    witness = _checkpoint_file(db_url, tmp_path)
    export = tmp_path / "export.jsonl"
    made = CliRunner().invoke(main, ["audit", "export", "--db", db_url, "--format", "jsonl", "--out", str(export)])
    assert made.exit_code == 0, made.output
    result = _verify(db_url, "--checkpoints", witness)
    assert result.exit_code == 0, result.output
    result = CliRunner().invoke(main, ["audit", "verify", "--file", str(export), "--checkpoints", witness])
    assert result.exit_code == 0 and f"run {run_id}: intact, {ROWS} rows" in result.output, result.output
