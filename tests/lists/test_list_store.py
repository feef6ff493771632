"""Exclusion lists in the database: versions, diffs, removal with history, the index the crawl uses,
and the retroactive impact on content already collected (allowed decisions written by the
store's DecisionWriter)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DatabaseError

from copyright_guard.core.evaluate import evaluate
from copyright_guard.core.lists.files import ListDefaults, ListFileError, parse_list_file
from copyright_guard.core.model import Decision, Reason, Stage, Verdict
from copyright_guard.core.policy import load_policy, parse_policy
from copyright_guard.core.urls import parse_target
from copyright_guard.store import lists
from copyright_guard.store.audit import evidence_row
from copyright_guard.store.db import connect
from copyright_guard.store.runs import start_run
from copyright_guard.store.writer import DecisionWriter

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=timezone.utc)
HEADER = b"domain,authority,jurisdiction,reference,listed_at,delisted_at\n"
V1 = HEADER + b"bad.example,Arcom,FR,2025-17,2025-03-01,\nmirror.example,Arcom,FR,2025-18,2025-03-01,\n"
V2 = HEADER + b"bad.example,Arcom,FR,2025-17,2025-03-01,\nnew-pirate.example,Arcom,FR,2026-02,2026-11-01,\nmirror.example,Arcom,FR,2025-18 (appeal dismissed),2025-03-01,\n"


@pytest.fixture
def engine(db_url):
    engine = connect(db_url)
    yield engine
    engine.dispose()


def store(engine, data: bytes, name: str = "arcom", now: datetime = NOW, filename: str = "arcom.csv"):
    parsed = parse_list_file(data, filename)
    return lists.import_list(engine, name, parsed, data, source=filename, now=now)


def test_each_import_is_a_versioned_snapshot_with_hash_time_and_count(engine):
    first = store(engine, V1)
    second = store(engine, V2, now=NOW + timedelta(hours=1))
    assert (first.snapshot.version, second.snapshot.version) == (1, 2)
    assert second.snapshot.entry_count == 3 and second.snapshot.source == "arcom.csv" and second.snapshot.format == "csv"
    assert second.snapshot.imported_at == NOW + timedelta(hours=1)
    assert [s.version for s in lists.snapshots(engine, "arcom")] == [1, 2]
    # The imported bytes are kept as evidence under the hash every citation carries.
    assert evidence_row(engine, second.snapshot.sha256)["body"] == V2
    snapshot, entries = lists.entries(engine, "arcom", 1)
    assert snapshot.version == 1 and [e.entry for e in entries] == ["bad.example", "mirror.example"]


def test_an_unchanged_reimport_makes_no_new_version(engine):
    store(engine, V1)
    reordered = HEADER + b"mirror.example,Arcom,FR,2025-18,2025-03-01,\nbad.example,Arcom,FR,2025-17,2025-03-01,\n"
    again = store(engine, reordered)
    assert again.unchanged and again.snapshot.version == 1
    assert len(lists.snapshots(engine, "arcom")) == 1


def test_diff_between_versions(engine):
    store(engine, V1)
    result = store(engine, V2)
    assert result.diff.summary() == "+1 -0 ~1"
    change = lists.diff(engine, "arcom")  # default: the last two versions
    assert [e.entry for e in change.added] == ["new-pirate.example"]
    assert [(old.reference, new.reference) for old, new in change.changed] == [("2025-18", "2025-18 (appeal dismissed)")]
    back = lists.diff(engine, "arcom", 2, 1)
    assert [e.entry for e in back.removed] == ["new-pirate.example"]
    first = lists.diff(engine, "arcom", None, 1)
    assert first.old is None and len(first.added) == 2


def test_unknown_lists_and_versions_are_one_line_errors(engine):
    with pytest.raises(lists.ListError, match=r"no exclusion list named 'nope' \(no lists imported yet\)"):
        lists.entries(engine, "nope")
    store(engine, V1)
    with pytest.raises(lists.ListError, match=r"has no version 7 \(versions 1..1\)"):
        lists.diff(engine, "arcom", 1, 7)
    with pytest.raises(lists.ListError, match="list name"):
        lists.import_list(engine, "bad name!", parse_list_file(V1, "a.csv"), V1, source="a.csv", now=NOW)


def test_the_index_uses_the_latest_version_of_every_active_list(engine):
    store(engine, V1)
    store(engine, V2)
    store(engine, HEADER + b"other-bad.example,Tribunal,DE,12 O 345/25,2025-06-01,\n", name="court")
    index = lists.load_exclusion_index(engine)
    assert index.versions == {"arcom": 2, "court": 1}
    (reason,) = index.match(parse_target("https://www.new-pirate.example/film"), NOW)
    assert "'arcom' version 2" in reason.detail and reason.evidence.sha256 == lists.snapshots(engine, "arcom")[1].sha256
    assert lists.load_exclusion_index(engine, ["court"]).versions == {"court": 1}


def test_remove_deactivates_but_keeps_the_history(engine):
    store(engine, V1)
    lists.remove(engine, "arcom", now=NOW, reason="authority withdrew the list")
    assert len(lists.load_exclusion_index(engine)) == 0
    summary = lists.summary(engine, "arcom")
    assert not summary.active and summary.latest.version == 1
    assert [e["action"] for e in summary.events] == ["import", "remove"]
    assert lists.entries(engine, "arcom")[1]  # the entries are still there for an audit
    with pytest.raises(lists.ListError, match="already removed"):
        lists.remove(engine, "arcom", now=NOW)
    with pytest.raises(lists.ListError, match="which was removed"):
        lists.load_exclusion_index(engine, ["arcom"])
    restored = store(engine, V1)  # importing again makes it active again, same version
    assert restored.restored and restored.unchanged and lists.summary(engine, "arcom").active


def test_a_policy_naming_an_unknown_list_fails_closed(engine):
    with pytest.raises(lists.ListError, match="not in the database"):
        lists.load_exclusion_index(engine, ["arcom"])


def test_snapshots_and_entries_are_append_only_in_the_database(engine):
    store(engine, V1)
    for statement in ("UPDATE exclusion_list_entries SET authority = 'x'", "DELETE FROM exclusion_list_versions",
                      "DELETE FROM exclusion_list_events"):
        with pytest.raises(DatabaseError, match="append-only"):
            with engine.begin() as connection:
                connection.execute(text(statement))


def test_add_entries_makes_a_new_version_for_a_complaint(engine):
    entry = {"entry": "Infringing.Example", "kind": "domain", "authority": "complaint",
             "reference": "complaint CG-2026-0001"}
    first = lists.add_entries(engine, "complaint-CG-2026-0001", [entry], now=NOW, source="complaint CG-2026-0001")
    second = lists.add_entries(engine, "complaint-CG-2026-0001", [entry, {**entry, "entry": "www.other.example", "kind": "host"}],
                               now=NOW + timedelta(days=1), source="complaint CG-2026-0001")
    assert (first.version, first.entry_count, second.version, second.entry_count) == (1, 1, 2, 2)
    _, entries = lists.entries(engine, "complaint-CG-2026-0001")
    assert {(e.entry, e.kind, e.listed_at) for e in entries} == {
        ("infringing.example", "domain", NOW), ("www.other.example", "host", NOW + timedelta(days=1))}
    index = lists.load_exclusion_index(engine)
    assert index.match(parse_target("https://a.infringing.example/"), NOW + timedelta(days=2))
    with pytest.raises(ListFileError, match="entry 1: 'co.uk' is a public suffix"):
        lists.add_entries(engine, "complaint-CG-2026-0001", [{**entry, "entry": "co.uk"}], now=NOW, source="complaint CG-2026-0001")


def test_extend_upgrades_a_host_to_a_domain_and_reports_what_changed(engine):
    entry = {"entry": "example.com", "kind": "host", "authority": "complaint", "reference": "complaint CG-2026-0001"}
    lists.extend(engine, "complaint-CG-2026-0001", [entry], now=NOW, source="complaint CG-2026-0001")
    result = lists.extend(engine, "complaint-CG-2026-0001",
                          [{**entry, "kind": "domain"}, {**entry, "entry": "example.org", "kind": "domain"}],
                          now=NOW, source="complaint CG-2026-0001")
    assert [e.entry for e in result.diff.added] == ["example.org"]
    assert [(old.kind, new.kind) for old, new in result.diff.changed] == [("host", "domain")]
    assert lists.load_exclusion_index(engine).match(parse_target("https://sub.example.com/"), NOW + timedelta(days=1))
    again = lists.extend(engine, "complaint-CG-2026-0001", [entry], now=NOW, source="complaint CG-2026-0001")
    assert again.unchanged and again.snapshot.version == 2  # a host adds nothing to the domain


def _collect(engine, urls: list[str], verdict=Verdict.ALLOW, stage=Stage.POST_FETCH) -> None:
    policy = load_policy()
    run = start_run(engine, policy, now=NOW - timedelta(days=30))
    writer = DecisionWriter(engine, run)
    for url in urls:
        target = parse_target(url)
        reasons = () if verdict is Verdict.ALLOW else (Reason("robots.disallowed", "robots.txt", "x"),)
        writer.submit(Decision(url, target.origin, target.registered_domain, stage, "train-ai", verdict, reasons,
                               policy.hash, NOW - timedelta(days=30)))
    writer.close()


def test_impact_lists_collected_urls_the_new_version_excludes(engine):
    _collect(engine, [
        "https://www.new-pirate.example/film/1",
        "https://new-pirate.example/film/2",
        "https://bad.example/x",
        "https://good.example/y",
        "https://new-pirate.example.good.example/z",
        "http://[::ffff:192.0.2.7]/a",
    ])
    _collect(engine, ["https://new-pirate.example/denied"], verdict=Verdict.DENY)
    _collect(engine, ["https://new-pirate.example/pre-fetch-only"], stage=Stage.PRE_FETCH)
    store(engine, V1)
    store(engine, V2 + b"192.0.2.7,Arcom,FR,2026-03,2026-11-01,\n")
    rows = list(lists.impact(engine, "arcom", now=NOW))
    assert sorted(r.url for r in rows) == [
        "http://[::ffff:192.0.2.7]/a", "https://bad.example/x", "https://new-pirate.example/film/2",
        "https://www.new-pirate.example/film/1"]
    row = next(r for r in rows if r.url.endswith("/film/1"))
    assert (row.list_name, row.version, row.entry, row.authority, row.reference) == ("arcom", 2, "new-pirate.example", "Arcom", "2026-02")
    added = sorted(r.url for r in lists.impact(engine, "arcom", now=NOW, added_only=True))
    assert "https://bad.example/x" not in added and "https://www.new-pirate.example/film/1" in added
    assert sorted(r.url for r in lists.impact(engine, "arcom", 1, now=NOW)) == ["https://bad.example/x"]
    # Before new-pirate.example was listed (2026-11-01) the entry did not exclude anything yet.
    assert "https://new-pirate.example/film/2" not in {r.url for r in lists.impact(engine, "arcom", now=datetime(2026, 10, 1, tzinfo=timezone.utc))}


def test_evaluate_denies_a_listed_origin_and_cites_the_list(engine):
    store(engine, V1)
    index = lists.load_exclusion_index(engine)
    policy = parse_policy("", "empty.toml")
    decision = evaluate("https://cdn.bad.example/video.mp4", policy, now=NOW, exclusions=index)
    assert decision.verdict is Verdict.DENY
    listed = [r for r in decision.reasons if r.code == "exclusion.listed"]
    assert len(listed) == 1
    for cited in ("'arcom' version 1", "bad.example", "authority Arcom (FR)", "reference 2025-17"):
        assert cited in listed[0].detail
    # A licence never lifts an exclusion.
    licensed = parse_policy('[[licences]]\nsource = "https://cdn.bad.example"\ncontract = "C-1"\n', "licensed.toml")
    assert evaluate("https://cdn.bad.example/video.mp4", licensed, now=NOW, exclusions=index).verdict is Verdict.DENY
    unlisted = evaluate("https://good.example/", policy, now=NOW, exclusions=index)
    assert all(r.code != "exclusion.listed" for r in unlisted.reasons)


def test_the_plain_text_defaults_reach_the_database(engine):
    data = b"bad.example\n"
    parsed = parse_list_file(data, "order.txt", defaults=ListDefaults("Tribunal judiciaire de Paris", "FR", "RG 25/01234"))
    lists.import_list(engine, "order", parsed, data, source="order.txt", now=NOW)
    _, (entry,) = lists.entries(engine, "order")
    assert (entry.authority, entry.jurisdiction, entry.reference, entry.listed_at) == ("Tribunal judiciaire de Paris", "FR", "RG 25/01234", None)


def test_concurrent_additions_are_never_lost(engine):
    from concurrent.futures import ThreadPoolExecutor

    def add(i: int):
        entry = {"entry": f"site{i}.example", "authority": "complaint", "reference": f"complaint {i}"}
        return lists.add_entries(engine, "complaints", [entry], now=NOW, source=f"complaint {i}")

    with ThreadPoolExecutor(4) as pool:
        versions = sorted(s.version for s in pool.map(add, range(8)))
    assert versions == list(range(1, 9))
    _, entries = lists.entries(engine, "complaints")
    assert sorted(e.entry for e in entries) == sorted(f"site{i}.example" for i in range(8))
