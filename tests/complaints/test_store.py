"""Complaint persistence: references, the append-only history, tokens, duplicates, attachments,
actions (exclusions, already-collected items from the audit log), figures."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from copyright_guard.core.complaints import workflow as wf
from copyright_guard.core.model import Decision, Stage, Verdict
from copyright_guard.core.policy import load_policy
from copyright_guard.store import complaints as store

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=timezone.utc)
RULES = load_policy().complaints


def lodge(engine, now=NOW, uploads=(), **changes):
    fields = {"name": "Ada", "email": "ada@example.org", "role": "representative", "type": "infringing-site-crawled",
              "description": "The site copies whole novels without a licence.", "domains": "pirate.example", **changes}
    submission, errors = wf.validate_submission(fields)
    assert not errors, errors
    return store.submit(engine, submission, now=now, rules=RULES, uploads=uploads)


def decide(engine, reference, outcome="upheld", now=NOW):
    for to in ("acknowledged", "under_review", outcome):
        store.transition(engine, reference, to, actor="rev1", why="w", now=now, rules=RULES)


def test_references_count_per_year(engine):
    assert [lodge(engine)[0].complaint.reference for _ in range(2)] == ["CG-2026-0001", "CG-2026-0002"]
    assert lodge(engine, now=datetime(2027, 1, 1, tzinfo=timezone.utc))[0].complaint.reference == "CG-2027-0001"


def test_round_trip_keeps_every_field(engine):
    record, _ = lodge(engine, organisation="Ada Books", works="Novel", urls="https://pirate.example/novel")
    loaded = store.load(engine, "cg-2026-0001")
    assert loaded.complaint == record.complaint
    assert loaded.complaint.complainant.organisation == "Ada Books"
    assert [t.kind.value for t in loaded.complaint.targets] == ["work", "url", "domain"]


def test_history_is_append_only_in_the_database(engine):
    lodge(engine)
    with pytest.raises(DBAPIError, match="append-only"):
        with engine.begin() as connection:
            connection.execute(text("UPDATE complaint_events SET why = 'edited'"))
    with pytest.raises(DBAPIError, match="append-only"):
        with engine.begin() as connection:
            connection.execute(text("DELETE FROM complaint_events"))


def test_token_opens_only_its_own_complaint(engine):
    _, token1 = lodge(engine)
    _, token2 = lodge(engine, email="bob@example.org")
    assert store.load_with_token(engine, "CG-2026-0001", token1).complaint.reference == "CG-2026-0001"
    assert store.load_with_token(engine, "CG-2026-0001", token2) is None
    assert store.load_with_token(engine, "CG-2026-0404", token1) is None
    assert store.load_with_token(engine, "CG-2026-0001", "") is None


def test_same_complainant_and_target_is_flagged_as_a_possible_duplicate(engine):
    lodge(engine)
    lodge(engine, email="other@example.org")
    record, _ = lodge(engine, email="ADA@example.org", domains="www.pirate.example\npirate.example")
    notes = [e for e in record.events if e.kind == "note"]
    assert [(n.actor, n.why) for n in notes] == [
        ("copyright-guard", "possible duplicate of CG-2026-0001 (same complainant and target)")]


def test_a_refused_attachment_stores_nothing(engine):
    with pytest.raises(wf.WorkflowError, match="not accepted|content is not"):
        lodge(engine, uploads=[store.Upload("a.pdf", "application/pdf", b"%PDF-1"),
                               store.Upload("b.pdf", "application/pdf", b"GIF89a")])
    assert store.list_complaints(engine) == []


def test_transitions_queue_emails_and_log_them(engine):
    lodge(engine)
    decide(engine, "CG-2026-0001", "rejected")
    record = store.load(engine, "CG-2026-0001")
    messages = [e for e in record.events if e.kind == "message"]
    assert [m.what for m in messages] == ["receipt email queued to the complainant",
                                          "acknowledgement email queued to the complainant",
                                          "decision email queued to the complainant"]
    with pytest.raises(wf.WorkflowError, match="it can move to closed, not upheld"):
        store.transition(engine, "CG-2026-0001", "upheld", actor="r", why="w", now=NOW, rules=RULES)
    with pytest.raises(store.ComplaintNotFound):
        store.transition(engine, "CG-2026-0002", "acknowledged", actor="r", why="w", now=NOW, rules=RULES)


def test_duplicate_must_point_at_an_existing_complaint(engine):
    lodge(engine)
    for to in ("acknowledged", "under_review"):
        store.transition(engine, "CG-2026-0001", to, actor="r", why="w", now=NOW, rules=RULES)
    with pytest.raises(wf.InputError, match="no complaint CG-2025-0001") as refused:
        store.transition(engine, "CG-2026-0001", "duplicate", actor="r", why="w", now=NOW, rules=RULES,
                         duplicate_of="CG-2025-0001")
    assert refused.value.field == "duplicate_of"  # a value as typed (422), not a missing page (404)


@pytest.mark.parametrize("reference", ["CG-2026-0001\x00", "\x00", "CG-2026-\u0660\u0660\u0660\u0661", "A" * 10_000])
def test_a_reference_that_cannot_be_one_is_not_found(engine, reference):
    _, token = lodge(engine)
    with pytest.raises(store.ComplaintNotFound):
        store.load(engine, reference)
    assert store.load_with_token(engine, reference, token) is None
    assert store.load_with_token(engine, "CG-2026-0001", token + "\x00") is None


@pytest.mark.parametrize("attachment_id", [2**63, 2**31, 10**20, 0, -1])
def test_an_attachment_id_out_of_range_is_not_found(engine, attachment_id):
    lodge(engine, uploads=[store.Upload("a.txt", "text/plain", b"proof")])
    with pytest.raises(store.ComplaintNotFound):
        store.attachment(engine, "CG-2026-0001", attachment_id)


def test_unknown_status_filter_is_an_input_error(engine):
    with pytest.raises(wf.InputError) as refused:
        store.list_complaints(engine, status="bogus")
    assert refused.value.field == "status"


def test_a_domain_exclusion_upgrades_the_same_name_listed_as_a_host_and_the_history_says_so(engine):
    from copyright_guard.core.urls import parse_target
    from copyright_guard.store.lists import entries, load_exclusion_index

    lodge(engine)
    decide(engine, "CG-2026-0001")

    def exclude(*pairs, **kwargs):
        return store.add_exclusions(engine, "CG-2026-0001", [wf.ProposedExclusion(k, v) for k, v in pairs],
                                    actor="rev1", why="upheld", now=NOW, **kwargs)

    with pytest.raises(wf.InputError, match="wildcard.*add it as a domain"):
        exclude(("host", "*.example.com"))  # never stored as the host example.com
    exclude(("host", "example.com"))
    record = exclude(("domain", "example.com"), ("domain", "example.org"))
    assert record.events[-1].what == ("exclusion list complaint-CG-2026-0001 version 2: added domain example.org; "
                                      "host example.com is now a domain entry (with every name under it)")
    _, listed = entries(engine, "complaint-CG-2026-0001")
    assert sorted((e.entry, e.kind) for e in listed) == [("example.com", "domain"), ("example.org", "domain")]
    assert load_exclusion_index(engine).match(parse_target("https://www.example.com/"), NOW + timedelta(hours=1))
    with pytest.raises(wf.WorkflowError, match="nothing to add: example.com already on exclusion list"):
        exclude(("host", "example.com"))  # the domain covers it
    assert len(store.load(engine, "CG-2026-0001").events) == len(record.events)  # nothing logged


def test_exclusions_are_checked_before_anything_is_stored(engine):
    from copyright_guard.store.lists import ListError, snapshots

    lodge(engine)
    decide(engine, "CG-2026-0001")
    with pytest.raises(wf.InputError, match="at most 100"):
        store.add_exclusions(engine, "CG-2026-0001", [wf.ProposedExclusion("domain", f"d{i}.example") for i in range(101)],
                             actor="rev1", why="w", now=NOW)
    with pytest.raises(wf.InputError, match="reason is empty"):
        store.add_exclusions(engine, "CG-2026-0001", [wf.ProposedExclusion("domain", "pirate.example")],
                             actor="rev1", why=" ", now=NOW)
    with pytest.raises(ListError):
        snapshots(engine, "complaint-CG-2026-0001")


def test_overdue_most_urgent_first(engine):
    lodge(engine)
    lodge(engine, now=NOW - timedelta(days=40), email="old@example.org")
    late = store.overdue(engine, NOW + timedelta(days=3))
    assert [(c.reference, len(why)) for c, why in late] == [("CG-2026-0002", 2), ("CG-2026-0001", 1)]


def test_exclusions_need_an_upheld_complaint_and_make_a_new_list_version_each_time(engine):
    from copyright_guard.store.lists import snapshots

    lodge(engine)
    entry = [wf.ProposedExclusion("domain", "pirate.example")]
    with pytest.raises(wf.WorkflowError, match="not upheld"):
        store.add_exclusions(engine, "CG-2026-0001", entry, actor="r", why="w", now=NOW)
    decide(engine, "CG-2026-0001")
    store.add_exclusions(engine, "CG-2026-0001", entry, actor="r", why="w", now=NOW)
    store.add_exclusions(engine, "CG-2026-0001", [wf.ProposedExclusion("host", "mirror.pirate2.example")],
                         actor="r", why="mirror found", now=NOW + timedelta(hours=1))
    assert [(s.version, s.entry_count) for s in snapshots(engine, "complaint-CG-2026-0001")] == [(1, 1), (2, 2)]
    with pytest.raises(wf.WorkflowError, match="unknown exclusion kind"):
        store.add_exclusions(engine, "CG-2026-0001", [wf.ProposedExclusion("url", "x")], actor="r", why="w", now=NOW)


def _collect(engine, urls, now):
    from copyright_guard.core.urls import parse_target
    from copyright_guard.store.runs import start_run
    from copyright_guard.store.writer import DecisionWriter

    policy = load_policy()
    run = start_run(engine, policy, now=now)
    with DecisionWriter(engine, run) as writer:
        for url, verdict in urls:
            target = parse_target(url)
            writer.submit(Decision(url, target.origin, target.registered_domain, Stage.POST_FETCH, "train-ai",
                                   Verdict(verdict), (), policy.hash, now))


def test_affected_items_come_from_the_audit_log_and_the_listing_is_logged(engine):
    _collect(engine, [("https://pirate.example/a", "allow"), ("https://www.pirate.example/b", "allow"),
                      ("https://pirate.example/denied", "deny"), ("https://elsewhere.example/c", "allow"),
                      ("https://site.example/page", "allow"), ("https://site.example/page2", "allow")], NOW)
    lodge(engine, urls="https://site.example/page")
    decide(engine, "CG-2026-0001")
    items = store.affected_items(engine, "CG-2026-0001", actor="rev1", now=NOW)
    assert [item["url"] for item in items] == ["https://pirate.example/a", "https://site.example/page",
                                               "https://www.pirate.example/b"]
    event = store.load(engine, "CG-2026-0001").events[-1]
    assert (event.actor, event.kind, event.what) == ("rev1", "action", "listed 3 already-collected item(s) for purging")


def test_figures_from_the_store(engine):
    lodge(engine)
    lodge(engine, email="b@example.org")
    for to in ("acknowledged", "under_review", "rejected"):
        store.transition(engine, "CG-2026-0001", to, actor="r", why="w", now=NOW + timedelta(days=3), rules=RULES)
    (row,) = store.figures(engine, "month")
    assert row.as_dict() == {"period": "2026-11", "received": 2, "decided": 1, "median_days_to_decision": 3.0,
                             "by_outcome": {"upheld": 0, "rejected": 1, "manifestly_unfounded": 0, "duplicate": 0}}


def test_export_rows(engine):
    lodge(engine, urls="https://site.example/page")
    (row,) = store.export_rows(engine)
    assert row["reference"] == "CG-2026-0001" and row["targets"] == "url: https://site.example/page\ndomain: pirate.example"


def test_migration_0003_creates_exactly_the_complaint_tables_of_the_schema(engine):
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from copyright_guard.store.schema_complaints import COMPLAINT_TABLES
    from copyright_guard.store.tables import metadata

    names = {table.name for table in COMPLAINT_TABLES}
    with engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), metadata)
    assert [d for d in differences if any(name in repr(d) for name in names)] == []


def test_concurrent_submissions_get_distinct_consecutive_references(engine):
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=6) as pool:
        references = list(pool.map(lambda i: lodge(engine, email=f"p{i}@example.org")[0].complaint.reference, range(24)))
    assert sorted(references) == [f"CG-2026-{n:04d}" for n in range(1, 25)]


def test_two_reviewers_taking_the_same_step_at_once_record_it_once(engine):
    import threading

    lodge(engine)
    results, barrier = [], threading.Barrier(4)

    def acknowledge(who: str) -> None:
        barrier.wait()
        try:
            store.transition(engine, "CG-2026-0001", "acknowledged", actor=who, why="w", now=NOW, rules=RULES)
            results.append("ok")
        except wf.WorkflowError as exc:
            results.append(str(exc))

    threads = [threading.Thread(target=acknowledge, args=(f"rev{i}",)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results.count("ok") == 1, results
    steps = [e for e in store.load(engine, "CG-2026-0001").events if e.what == "received -> acknowledged"]
    assert len(steps) == 1
