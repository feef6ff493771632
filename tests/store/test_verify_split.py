"""`audit verify` in two processes (store/verify_split.py) finds and names exactly what one walk
does: an intact run is joined (roots at checkpoints in both halves, stored nodes, derived data), a
tampered one is walked again in one process."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from copyright_guard.store import verify_split
from copyright_guard.store.note import new_signer
from copyright_guard.store.verify import verify
from store_helpers import record_run, tampering

ROWS = 1100  # split at 550: checkpoints every 100 on both sides, nodes (8, 0..3), (9, 0..1), (10, 0)


@pytest.fixture
def run_id(engine, policy):
    return record_run(engine, policy, ROWS, signer=new_signer("copyright-guard-test"), checkpoint_every=100)


def _both(engine, monkeypatch) -> tuple[list, list, int]:
    """verify's results in one walk and in two, and how often the two halves were joined."""
    joined = []
    real_join = verify_split._join
    monkeypatch.setattr(verify_split, "_join", lambda lower, upper: joined.append(1) or real_join(lower, upper))
    results = []
    for minimum in (10 ** 12, 1):
        monkeypatch.setattr(verify_split, "PARALLEL_MIN", minimum)
        results.append([(c.run_id, c.rows, c.finished, c.problems, c.notes, c.subject) for c in verify(engine)])
    return results[0], results[1], len(joined)


def test_an_intact_run_is_joined_from_two_halves(engine, run_id, monkeypatch):
    one, two, joined = _both(engine, monkeypatch)
    assert one == two and joined == 1
    assert one[0][1:5] == (ROWS, True, (), ())  # every checkpoint matched, on both sides of the split


@pytest.mark.parametrize("tamper", [
    "UPDATE decisions SET verdict = 'allow' WHERE seq = 802",
    "UPDATE decisions SET url_key = 42 WHERE seq = 900",
    "DELETE FROM decisions WHERE seq = 1000",
    "DELETE FROM decision_reasons WHERE decision_id IN (SELECT id FROM decisions WHERE seq = 700)",
    "UPDATE merkle_nodes SET hash = '00' WHERE level = 8 AND node_index = 3",
    "UPDATE merkle_nodes SET hash = '00' WHERE level = 10",
    "UPDATE decisions SET verdict = 'allow' WHERE seq = 2",
])
def test_a_tampered_run_is_named_as_one_walk_names_it(engine, run_id, monkeypatch, tamper):
    with tampering(engine) as connection:
        connection.execute(text(tamper))
    one, two, _ = _both(engine, monkeypatch)
    assert one == two and one[0][3], one
