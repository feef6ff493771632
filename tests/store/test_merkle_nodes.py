"""Revision 0008: stored Merkle nodes. A proof reads O(log n) of them and at most two chunks of 256
rows, not the run; `audit verify` names a tampered node; a run without nodes is still provable."""

from __future__ import annotations

import pytest
from alembic import command
from sqlalchemy import func, inspect, select, text, update
from sqlalchemy.exc import DBAPIError

from copyright_guard.store import connect
from copyright_guard.store.db import alembic_config
from copyright_guard.store.note import new_signer, open_note, parse_vkey
from copyright_guard.store.proofs import ProofError, check_proof, prove
from copyright_guard.store.schema import decisions, merkle_nodes
from copyright_guard.store.verify import verify
from copyright_guard.store.writer import DecisionWriter
from store_helpers import make_decision, record_run, tampering

ROWS = 1000  # 512 + 256 + 232: nodes (8, 0..2), (9, 0..0); a proof needs chunk 0 and chunk 3 only


@pytest.fixture
def signer():
    return new_signer("copyright-guard-test")


@pytest.fixture
def run_id(engine, policy, signer):
    return record_run(engine, policy, ROWS, signer=signer, checkpoint_every=ROWS)


def _problems(engine) -> list[str]:
    return [p.message for check in verify(engine) for p in check.problems]


def _proof_of_seq(engine, seq: int, signer, run_id: str) -> dict:
    proof = prove(engine, _decision(engine, seq))
    check_proof(proof, {run_id: [_held(engine, proof)]})
    return proof


def _held(engine, proof):
    """The proof's checkpoint as a witness holds it (opened with the run's key)."""
    with engine.connect() as connection:
        key = connection.execute(text("SELECT log_key FROM runs")).scalar()
    return open_note(proof["checkpoint"], parse_vkey(key))


def _decision(engine, seq: int) -> str:
    with engine.connect() as connection:  # (closed at once: PostgreSQL's schema is dropped after the test)
        return connection.execute(select(decisions.c.id).where(decisions.c.seq == seq)).scalar()


def test_the_writer_stores_every_complete_subtree_of_256_decisions_and_verify_checks_them(engine, run_id):
    with engine.connect() as connection:
        stored = connection.execute(select(merkle_nodes.c.level, merkle_nodes.c.node_index)
                                    .order_by(merkle_nodes.c.level, merkle_nodes.c.node_index)).all()
    assert [tuple(row) for row in stored] == [(8, 0), (8, 1), (8, 2), (9, 0)]
    assert _problems(engine) == []


def test_a_proof_reads_the_stored_nodes_not_the_rows_they_cover(engine, run_id, signer):
    # The path of seq 2 in the tree of 1000: 8 siblings inside chunk 0 (seq 1..256, re-hashed), the
    # stored node (8, 1), and MTH(seq 513..1000) = H(stored node (8, 2), right edge seq 769..1000,
    # re-hashed). Row seq 600, under node (8, 2), is never read: editing it leaves the proof as it was.
    proof = _proof_of_seq(engine, 2, signer, run_id)
    assert proof["tree_size"] == ROWS and len(proof["inclusion"]) == 10
    with tampering(engine) as connection:
        connection.execute(update(decisions).where(decisions.c.seq == 600).values(verdict="allow"))
    assert _proof_of_seq(engine, 2, signer, run_id) == proof
    assert "row seq 600" in (problems := "\n".join(_problems(engine))), problems  # verify reads every row


def test_a_tampered_node_is_named_by_verify_and_refused_by_prove(engine, run_id, signer):
    with tampering(engine) as connection:
        connection.execute(update(merkle_nodes).where(merkle_nodes.c.level == 8, merkle_nodes.c.node_index == 1)
                           .values(hash="00" * 32))
    assert (f"edited: the stored Merkle node level 8 index 1 of run {run_id} (seq 257..512) does not match the "
            "tree of those decisions") in "\n".join(_problems(engine))
    with pytest.raises(ProofError, match="do not match its checkpoint"):
        prove(engine, _decision(engine, 2))


def test_a_node_added_past_the_run_is_named(engine, run_id):
    with tampering(engine) as connection:
        connection.execute(merkle_nodes.insert().values(run_id=run_id, level=8, node_index=7, hash="11" * 32))
    assert (f"inserted: the stored Merkle node level 8 index 7 of run {run_id} (seq 1793..2048) lies past the "
            f"run's {ROWS} decisions") in "\n".join(_problems(engine))


def test_a_run_without_stored_nodes_is_still_provable(engine, run_id, signer):
    # As a run recorded before revision 0008 reads: the nodes are recomputed from the rows.
    proof = _proof_of_seq(engine, 700, signer, run_id)
    with tampering(engine) as connection:
        connection.execute(text("DELETE FROM merkle_nodes"))
    assert _proof_of_seq(engine, 700, signer, run_id) == proof
    assert _problems(engine) == []


def test_a_resumed_run_stores_the_nodes_its_new_rows_complete(engine, policy, signer):
    run_id = record_run(engine, policy, 300, finish=False, signer=signer, checkpoint_every=100)
    with tampering(engine) as connection:  # recorded before revision 0008: no nodes
        connection.execute(text("DELETE FROM merkle_nodes"))
    with DecisionWriter(engine, run_id, signer=signer, checkpoint_every=100) as writer:
        for number in range(300, 520):
            writer.submit(make_decision(number, policy))
    with engine.connect() as connection:
        stored = connection.execute(select(merkle_nodes.c.level, merkle_nodes.c.node_index)).all()
    assert sorted(tuple(row) for row in stored) == [(8, 1), (9, 0)]  # (8, 0) was complete before
    assert _problems(engine) == []
    _proof_of_seq(engine, 10, signer, run_id)


def test_merkle_nodes_refuse_updates_and_deletes(engine):
    with engine.begin() as connection:
        connection.execute(merkle_nodes.insert().values(run_id="r", level=8, node_index=0, hash="x"))
    for statement in ("UPDATE merkle_nodes SET hash = 'y'", "DELETE FROM merkle_nodes"):
        with pytest.raises(DBAPIError, match="append-only"):
            with engine.begin() as connection:
                connection.execute(text(statement))


def test_revision_0008_goes_down_and_up_again(db_url, policy, signer):
    engine = connect(db_url)
    run_id = record_run(engine, policy, 300, signer=signer, checkpoint_every=300)
    with engine.connect() as connection:
        command.downgrade(alembic_config(connection), "0007_run_crawl_name")
        connection.commit()
    assert "merkle_nodes" not in inspect(engine).get_table_names()
    engine.dispose()
    engine = connect(db_url)  # migrates up again: the run has no nodes now, and still verifies and proves
    with engine.connect() as connection:
        assert connection.execute(select(func.count()).select_from(merkle_nodes)).scalar() == 0
    assert _problems(engine) == []
    _proof_of_seq(engine, 5, signer, run_id)
    test_merkle_nodes_refuse_updates_and_deletes(engine)
    engine.dispose()
