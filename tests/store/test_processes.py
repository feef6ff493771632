"""Real processes: a crawl killed with SIGKILL and resumed, SIGTERM flushing, concurrent writers."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

from sqlalchemy import select

from copyright_guard.store import connect, start_run
from copyright_guard.store.schema import decisions
from copyright_guard.store.verify import verify
from store_helpers import T0

WORKER = Path(__file__).with_name("crawl_worker.py")


def _worker(db_url: str, run_id: str, start: int, count: int, mode: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, str(WORKER), db_url, run_id, str(start), str(count), mode],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _stored(engine, run_id: str) -> dict[str, int]:
    with engine.connect() as connection:
        return dict(connection.execute(select(decisions.c.id, decisions.c.seq).where(decisions.c.run_id == run_id)).all())


def test_a_crawl_killed_with_sigkill_loses_no_committed_decision_and_resumes(db_url, policy):
    engine = connect(db_url)
    run_id = start_run(engine, policy, now=T0)
    worker = _worker(db_url, run_id, 0, 100_000, "flush-report")
    committed = []
    for line in worker.stdout:
        committed.append(line.split())
        if len(committed) == 8:  # 400 decisions confirmed committed, more in flight
            worker.send_signal(signal.SIGKILL)
            break
    worker.wait(timeout=30)
    assert worker.returncode == -signal.SIGKILL
    stored = _stored(engine, run_id)
    for _, seq, decision_id in committed:
        assert stored.get(decision_id) == int(seq), f"committed decision {decision_id} lost"
    [check] = verify(engine, run_id)
    assert check.ok and not check.finished and check.rows == len(stored)

    resumed = _worker(db_url, run_id, 100_000, 120, "finish")  # same run: the chain continues
    out, err = resumed.communicate(timeout=60)
    assert resumed.returncode == 0, err
    [check] = verify(engine, run_id)
    assert check.ok and check.finished and check.rows == len(stored) + 120
    engine.dispose()


def test_sigterm_flushes_what_was_submitted(sqlite_url, policy):
    engine = connect(sqlite_url)
    run_id = start_run(engine, policy, now=T0)
    worker = _worker(sqlite_url, run_id, 0, 500, "signals")
    assert worker.stdout.readline().strip() == "submitted 500"
    assert _stored(engine, run_id) == {}  # nothing committed yet: the latency is 30 s
    worker.send_signal(signal.SIGTERM)
    worker.wait(timeout=30)
    assert worker.returncode == -signal.SIGTERM  # the default action still ends the process
    assert len(_stored(engine, run_id)) == 500
    [check] = verify(engine, run_id)
    assert check.ok
    engine.dispose()


def test_several_crawler_processes_write_one_database_at_once(db_url, policy):
    engine = connect(db_url)
    run_ids = [start_run(engine, policy, now=T0) for _ in range(3)]
    workers = [_worker(db_url, run_id, 0, 1500, "finish") for run_id in run_ids]
    for worker in workers:
        _, err = worker.communicate(timeout=120)
        assert worker.returncode == 0, err
    checks = list(verify(engine))
    assert sorted(c.run_id for c in checks) == sorted(run_ids)
    assert all(c.ok and c.finished and c.rows == 1500 for c in checks)
    engine.dispose()
