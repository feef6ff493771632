"""`audit verify` in two processes (store/verify_split.py) finds and names exactly what one walk
does: an intact run is joined (roots at checkpoints in both halves, stored nodes, derived data), a
tampered one is walked again in one process."""

from __future__ import annotations

import json
import subprocess
import sys

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


# The two-process walk runs in a fresh interpreter: verify never forks while other threads run
# (a fork could leave the child holding their locks), and a test suite leaves threads behind
# (servers, browsers, writers of earlier tests), which would silently make it walk in one.
_TWO_WALKS = """
import json, sys
from copyright_guard.store import verify_split
from copyright_guard.store.db import connect
from copyright_guard.store.verify import verify

joined = []
real_join = verify_split._join
verify_split._join = lambda lower, upper: joined.append(1) or real_join(lower, upper)
verify_split.PARALLEL_MIN = 1
engine = connect(sys.argv[1])
print(json.dumps({"results": [repr(check) for check in verify(engine)], "joined": len(joined)}))
"""


def _both(engine, monkeypatch) -> tuple[list, list, int]:
    """verify's results in one walk and in two, and how often the two halves were joined."""
    monkeypatch.setattr(verify_split, "PARALLEL_MIN", 10 ** 12)
    one = [repr(check) for check in verify(engine)]
    done = subprocess.run([sys.executable, "-c", _TWO_WALKS, engine.url.render_as_string(hide_password=False)],
                          capture_output=True, text=True, timeout=120, check=True)
    two = json.loads(done.stdout)
    return one, two["results"], two["joined"]


def test_an_intact_run_is_joined_from_two_halves(engine, run_id, monkeypatch):
    one, two, joined = _both(engine, monkeypatch)
    assert one == two and joined == 1
    (check,) = verify(engine)
    assert (check.rows, check.finished, check.problems, check.notes) == (ROWS, True, (), ())  # every checkpoint matched


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
    assert one == two and not all(check.ok for check in verify(engine)), one
