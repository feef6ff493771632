"""DecisionWriter: ids at once, batching, evidence once per hash, durability, back-pressure, failures."""

from __future__ import annotations

import json
import logging
import threading
import time

import pytest
from sqlalchemy import func, select, text

from copyright_guard.core.model import Stage, Verdict
from copyright_guard.store import DecisionWriter, StoreError, allowed_decisions_matching, connect, finish_run, start_run
from copyright_guard.store.schema import decision_reasons, decisions, evidence, policies, runs
from copyright_guard.store.verify import verify
from store_helpers import ROBOTS, T0, make_decision, record_run, robots_evidence


def _count(engine, table, *where) -> int:
    with engine.connect() as connection:
        return connection.execute(select(func.count()).select_from(table).where(*where)).scalar_one()


def test_submit_returns_the_id_at_once_and_flush_makes_it_durable(engine, policy):
    run_id = start_run(engine, policy, now=T0)
    writer = DecisionWriter(engine, run_id, max_latency=60)
    ids = [writer.submit(make_decision(n, policy)) for n in range(10)]
    assert len(set(ids)) == 10 and all(len(i) == 32 for i in ids)
    assert [i[:12] for i in ids] == sorted(i[:12] for i in ids)  # millisecond-time prefix
    writer.flush()
    with engine.connect() as connection:
        stored = connection.execute(select(decisions.c.id, decisions.c.seq).where(decisions.c.run_id == run_id)
                                    .order_by(decisions.c.seq)).all()
    assert [(i, n + 1) for n, i in enumerate(ids)] == [tuple(r) for r in stored]
    writer.close()


def test_decisions_are_committed_within_one_second_without_a_flush(engine, policy):
    run_id = start_run(engine, policy, now=T0)
    writer = DecisionWriter(engine, run_id)
    decision_id = writer.submit(make_decision(1, policy))
    deadline = time.monotonic() + 1.0
    while _count(engine, decisions, decisions.c.id == decision_id) == 0:
        assert time.monotonic() < deadline, "not committed within one second"
        time.sleep(0.05)
    writer.close()


def test_rows_hold_every_field_and_evidence_is_stored_once_per_hash(engine, policy):
    other_body = b"User-agent: *\nDisallow: /\n"
    run_id = start_run(engine, policy, now=T0)
    with DecisionWriter(engine, run_id) as writer:
        for number in range(1, 40, 2):  # 20 denials citing the same robots.txt bytes
            writer.submit(make_decision(number, policy))
        writer.submit(make_decision(101, policy, domain="other.org", evidence=robots_evidence(other_body, "https://other.org/robots.txt")))
    with engine.connect() as connection:
        stored = {row.sha256: row for row in connection.execute(select(evidence))}
        row = connection.execute(select(decisions).where(decisions.c.seq == 1, decisions.c.run_id == run_id)).one()
        codes = connection.execute(select(decision_reasons.c.code).where(decision_reasons.c.decision_id == row.id)).scalars().all()
        policy_text = connection.execute(select(policies.c.text).where(policies.c.hash == policy.hash)).scalar_one()
    assert len(stored) == 2
    assert bytes(stored[robots_evidence().sha256].body) == ROBOTS
    assert stored[robots_evidence().sha256].url == "https://example.com/robots.txt"
    assert (row.url, row.origin, row.registered_domain, row.stage, row.purpose, row.verdict) == (
        "https://example.com/private/1", "https://example.com", "example.com", "post-fetch", "train-ai", "deny")
    assert row.decided_at == "2026-11-23T12:00:01.000000Z" and row.policy_hash == policy.hash
    reason = json.loads(row.reasons)[0]
    assert reason["code"] == "robots.disallowed" and reason["evidence"]["sha256"] == robots_evidence().sha256
    assert reason["evidence"]["location"] == "robots.txt line 2: Disallow: /private/"
    assert codes == ["robots.disallowed"]
    assert policy_text == policy.source_text


def test_evidence_bytes_that_do_not_match_their_claimed_hash_are_stored_under_their_real_hash(engine, policy, caplog):
    lying = robots_evidence()
    from dataclasses import replace

    lying = replace(lying, sha256="0" * 64)
    run_id = start_run(engine, policy, now=T0)
    with caplog.at_level(logging.WARNING, "copyright_guard.store"), DecisionWriter(engine, run_id) as writer:
        writer.submit(make_decision(1, policy, evidence=lying))
    with engine.connect() as connection:
        assert connection.execute(select(evidence.c.sha256)).scalars().all() == [robots_evidence().sha256]
        reason = json.loads(connection.execute(select(decisions.c.reasons)).scalar_one())[0]
    assert reason["evidence"]["sha256"] == robots_evidence().sha256
    assert "claims sha256" in caplog.text


def test_a_resumed_run_extends_its_chain(engine, policy):
    run_id = start_run(engine, policy, now=T0)
    with DecisionWriter(engine, run_id) as writer:
        for number in range(5):
            writer.submit(make_decision(number, policy))
    with DecisionWriter(engine, run_id) as writer:  # e.g. the crawl restarted from its JOBDIR
        for number in range(5, 8):
            writer.submit(make_decision(number, policy))
    finish_run(engine, run_id, None, T0)
    [check] = verify(engine, run_id)
    assert check.ok and check.rows == 8 and check.finished


def test_finish_run_records_counts_length_and_head(engine, policy):
    run_id = record_run(engine, policy, 6)
    with engine.connect() as connection:
        run = connection.execute(select(runs).where(runs.c.id == run_id)).one()
        head = connection.execute(select(decisions.c.row_hash).where(decisions.c.seq == 6)).scalar_one()
    assert json.loads(run.counts) == {"allow": 3, "deny": 3, "requests": 6}
    assert run.decision_count == 6 and run.head_hash == head and run.finished_at


def test_concurrent_writers_in_threads_keep_separate_chains(engine, policy):
    def crawl(index: int) -> None:
        record_run(engine, policy, 300, domain=f"site{index}.example")

    threads = [threading.Thread(target=crawl, args=(i,)) for i in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    checks = list(verify(engine))
    assert len(checks) == 3 and all(c.ok and c.rows == 300 for c in checks)


def _locked_sqlite(sqlite_url):
    """A second connection holding SQLite's write lock, as another process in a long transaction."""
    import sqlite3

    holder = sqlite3.connect(sqlite_url.removeprefix("sqlite:///"), isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    return holder


def test_back_pressure_blocks_submit_then_stops_when_the_database_stays_locked(sqlite_url, policy):
    engine = connect(sqlite_url)
    run_id = start_run(engine, policy, now=T0)
    failures = []
    writer = DecisionWriter(engine, run_id, max_pending=20, batch_size=10, max_latency=0.05,
                            submit_timeout=0.5, on_error=failures.append)
    holder = _locked_sqlite(sqlite_url)  # the writer's inserts now wait (SQLite busy timeout)
    try:
        started = time.monotonic()
        with pytest.raises(StoreError, match="has not kept up for 0.5 s") as caught:
            for number in range(1000):
                writer.submit(make_decision(number, policy))
        assert time.monotonic() - started >= 0.5  # submit blocked (back-pressure) before failing
        assert writer.stats["submitted"] == 20  # memory stayed bounded
        assert "\n" not in str(caught.value)
        assert failures == [caught.value]
        with pytest.raises(StoreError):  # every later call says so too
            writer.submit(make_decision(2000, policy))
    finally:
        holder.rollback()
        holder.close()
    with pytest.raises(StoreError):
        writer.close()


def test_a_failed_database_stops_the_writer_by_default(engine, policy):
    run_id = start_run(engine, policy, now=T0)
    failures = []
    writer = DecisionWriter(engine, run_id, on_error=failures.append, retry_delays=(0.05,))
    writer.submit(make_decision(1, policy))
    writer.flush()
    with engine.begin() as connection:  # the database "goes away" under the crawl
        connection.execute(text("DROP TABLE decision_reasons"))
    writer.submit(make_decision(3, policy))
    with pytest.raises(StoreError, match="cannot write to the audit database"):
        writer.flush()
    assert len(failures) == 1
    with pytest.raises(StoreError):
        writer.submit(make_decision(5, policy))
    with pytest.raises(StoreError):
        writer.close()


def test_continue_mode_logs_counts_and_keeps_going(engine, policy, caplog):
    run_id = start_run(engine, policy, now=T0)
    writer = DecisionWriter(engine, run_id, on_failure="continue", retry_delays=(0.05,))
    writer.submit(make_decision(1, policy))
    writer.flush()
    with engine.begin() as connection:
        connection.execute(text("DROP TABLE decision_reasons"))
    with caplog.at_level(logging.WARNING, "copyright_guard.store"):
        writer.submit(make_decision(3, policy))
        writer.flush()
        writer.submit(make_decision(4, policy, verdict=Verdict.ALLOW))  # no reasons: no reason rows needed
        writer.close()
    assert writer.stats["dropped"] == 1 and writer.stats["written"] == 2
    assert "continuing without recording" in caplog.text
    [check] = verify(engine, run_id)
    assert not check.ok and check.broken.kind == "deleted"  # the unrecorded decision shows as a gap


def test_allowed_decisions_matching_by_domain_host_and_pattern(engine, policy):
    run_id = start_run(engine, policy, now=T0)
    with DecisionWriter(engine, run_id) as writer:
        for number in range(6):
            writer.submit(make_decision(number, policy, url=f"https://www.example.com/a/{number}.html"))
        writer.submit(make_decision(10, policy, url="http://shop.example.com:8080/a/x.html"))
        writer.submit(make_decision(12, policy, domain="other.org"))
        writer.submit(make_decision(14, policy, url="https://www.example.com/pre", stage=Stage.PRE_FETCH))
    by_domain = list(allowed_decisions_matching(engine, domain="example.com"))
    assert [d.url for d in by_domain] == [f"https://www.example.com/a/{n}.html" for n in (0, 2, 4)] + ["http://shop.example.com:8080/a/x.html"]
    assert all(d.run_id == run_id and d.decided_at.startswith("2026-11-23T12:00") for d in by_domain)
    assert [d.url for d in allowed_decisions_matching(engine, host="shop.example.com")] == ["http://shop.example.com:8080/a/x.html"]
    assert [d.url for d in allowed_decisions_matching(engine, url_pattern="https://www.example.com/*/2.html$")] == [
        "https://www.example.com/a/2.html"]
    assert len(list(allowed_decisions_matching(engine, domain="example.com", stage=None))) == 5
    with pytest.raises(ValueError):
        list(allowed_decisions_matching(engine))


def test_evidence_without_a_claimed_hash_is_hashed_per_body(engine, policy):
    """Two bodies with identical metadata and no sha256 given must both be stored and cited."""
    from dataclasses import replace

    first = replace(robots_evidence(b"User-agent: *\nDisallow: /a\n"), sha256=None)
    second = replace(robots_evidence(b"User-agent: *\nDisallow: /b\n"), sha256=None)
    run_id = start_run(engine, policy, now=T0)
    with DecisionWriter(engine, run_id) as writer:
        writer.submit(make_decision(1, policy, url="https://example.com/1", evidence=first))
        writer.submit(make_decision(1, policy, url="https://example.com/2", evidence=second))
    with engine.connect() as connection:
        cited = [json.loads(r)[0]["evidence"]["sha256"] for r in connection.execute(
            select(decisions.c.reasons).order_by(decisions.c.seq)).scalars()]
        stored = set(connection.execute(select(evidence.c.sha256)).scalars())
    assert len(set(cited)) == 2 and set(cited) == stored


def test_after_commit_fires_once_the_decisions_are_durable_within_the_short_interval(engine, policy):
    run_id = start_run(engine, policy, now=T0)
    writer = DecisionWriter(engine, run_id, max_latency=60, durable_latency=0.01)
    released = threading.Event()
    results = []
    decision_id = writer.submit(make_decision(1, policy))

    def done(error):
        # Called on the writer's thread after the commit: the row is visible to another connection.
        results.append((error, _count(engine, decisions, decisions.c.id == decision_id)))
        released.set()

    started = time.monotonic()
    writer.after_commit(done)
    assert released.wait(5), "after_commit never fired"
    assert time.monotonic() - started < 2  # not max_latency (60 s): the short interval applies
    assert results == [(None, 1)]
    called = []
    writer.after_commit(called.append)  # nothing left to wait for: called at once
    assert called == [None]
    writer.close()


def test_a_request_that_is_not_urgent_rides_on_the_regular_commit(engine, policy):
    # A recheck asks after every origin's decisions: were each request urgent, the writer would
    # commit every few milliseconds, in small batches. Not urgent: the next regular commit answers.
    run_id = start_run(engine, policy, now=T0)
    writer = DecisionWriter(engine, run_id, max_latency=0.6, durable_latency=0.01)
    order = []
    released = threading.Event()
    writer.submit(make_decision(1, policy))
    started = time.monotonic()
    writer.after_commit(lambda error: order.append(("first", error)), urgent=False)
    writer.submit(make_decision(2, policy))
    writer.after_commit(lambda error: (order.append(("second", error)), released.set()), urgent=False)
    assert released.wait(5)
    assert time.monotonic() - started >= 0.5  # waited for max_latency, not durable_latency
    assert order == [("first", None), ("second", None)]  # in order, after the rows are durable
    assert _count(engine, decisions, decisions.c.run_id == run_id) == 2
    assert writer.stats["batches"] == 1
    writer.close()


def test_a_failure_inside_the_writer_never_releases_held_responses_as_committed(engine, policy):
    # Not the database refusing a batch but a bug while signing the checkpoint: the batch is lost,
    # and whoever waits for it (a held response, log first) must hear so, never "committed".
    class BrokenSigner:
        def sign(self, text):
            raise RuntimeError("signer bug")

    run_id = start_run(engine, policy, now=T0)
    writer = DecisionWriter(engine, run_id, signer=BrokenSigner(), checkpoint_every=1, durable_latency=0.01)
    writer.submit(make_decision(1, policy))
    released = threading.Event()
    errors = []
    writer.after_commit(lambda error: (errors.append(error), released.set()))
    assert released.wait(5)
    assert isinstance(errors[0], StoreError) and "signer bug" in str(errors[0])
    assert _count(engine, decisions, decisions.c.run_id == run_id) == 0
    with pytest.raises(StoreError):
        writer.close()


def test_after_commit_reports_decisions_that_were_not_recorded(engine, policy):
    run_id = start_run(engine, policy, now=T0)
    writer = DecisionWriter(engine, run_id, retry_delays=(0.05,), durable_latency=0.01)
    with engine.begin() as connection:
        connection.execute(text("DROP TABLE decision_reasons"))
    writer.submit(make_decision(1, policy))  # a denial with a reason: its batch fails
    released = threading.Event()
    errors = []
    writer.after_commit(lambda error: (errors.append(error), released.set()))
    assert released.wait(5)
    assert isinstance(errors[0], StoreError) and "cannot write to the audit database" in str(errors[0])
    with pytest.raises(StoreError):
        writer.close()
