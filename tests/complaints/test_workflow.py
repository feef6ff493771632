"""The pure complaint workflow: intake validation, transitions, deadlines, duplicates, figures."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from copyright_guard.core.complaints import workflow as wf
from copyright_guard.core.complaints.workflow import Status, WorkflowError

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=timezone.utc)

FORM = {
    "name": "Ada Author",
    "organisation": "",
    "email": "ada@example.org",
    "role": "rightsholder",
    "type": "opt-out-not-honoured",
    "description": "My site reserves TDM rights in tdmrep.json but was crawled anyway.",
    "urls": "https://Books.Example.org/novel/chapter-1\n",
    "domains": "",
    "works": "The Long Novel (ISBN 978-3-16-148410-0)",
}


def submission(**changes):
    sub, errors = wf.validate_submission({**FORM, **changes})
    assert errors == {}
    return sub


def received(**changes):
    complaint, _ = wf.receive(submission(**changes), reference="CG-2026-0001", now=NOW,
                              acknowledge_within_days=2, decide_within_days=30)
    return complaint


def test_valid_submission_normalises_targets():
    sub = submission(domains="www.Pirate.example.com\n")
    assert [(t.kind.value, t.value) for t in sub.targets] == [
        ("work", "The Long Novel (ISBN 978-3-16-148410-0)"),
        ("url", "https://books.example.org/novel/chapter-1"),
        ("domain", "www.pirate.example.com"),
    ]
    assert sub.complainant.role is wf.Role.RIGHTSHOLDER


@pytest.mark.parametrize(("change", "field", "words"), [
    ({"name": " "}, "name", "Enter your name"),
    ({"name": "Ada\r\nBcc: x@y.z"}, "name", "one line"),
    ({"organisation": "Org\x00"}, "organisation", "one line"),
    ({"email": "not-an-address"}, "email", "name@example.com"),
    ({"email": "a@b.example\r\nBcc: x@y.z"}, "email", "name@example.com"),
    ({"role": "publisher"}, "role", "rightsholder"),
    ({"type": ""}, "type", "Choose what"),
    ({"description": "too short"}, "description", "at least 20"),
    ({"urls": "ftp://example.org/x", "works": ""}, "urls", "not a usable URL"),
    ({"domains": "https://example.org/path"}, "domains", "without https://"),
    ({"urls": "", "works": "", "domains": ""}, "urls", "at least one work, URL or domain"),
])
def test_each_invalid_field_gets_one_clear_message(change, field, words):
    sub, errors = wf.validate_submission({**FORM, **change})
    assert sub is None
    assert words in errors[field]


@pytest.mark.parametrize(("change", "field"), [
    ({"description": "x" * 25 + "\x00"}, "description"),
    ({"description": "x" * 25 + "\x1b[31m"}, "description"),
    ({"description": "x" * 25 + "\ud800"}, "description"),  # a lone surrogate (JSON "\ud800")
    ({"works": "a\x00b"}, "works"),
    ({"works": ["fine", "a\x00b"]}, "works"),
    ({"urls": "https://example.org/\x00"}, "urls"),
    ({"domains": "pirate\x00.example"}, "domains"),
])
def test_control_characters_are_refused_in_every_text(change, field):
    sub, errors = wf.validate_submission({**FORM, **change})
    assert sub is None and set(errors) == {field}
    assert "must not contain control characters" in errors[field]


@pytest.mark.parametrize("email", ["a\x00b@example.com", "ab@exa\x00mple.com", "ab@example.c\x7fom", "ab\x9b@example.com"])
def test_email_with_control_characters_is_refused(email):
    assert "email" in wf.validate_submission({**FORM, "email": email})[1]


@pytest.mark.parametrize(("domain", "words"), [
    ("127.0.0.1", "IP address"), ("co.uk", "public suffix"), ("com", "single label"),
    ("ada@pirate.example", "without https://"), ("pirate.example?x", "without https://"),
    ("a*b.example", "wildcard"),
])
def test_domains_are_checked_at_intake_as_exclusion_entries_are(domain, words):
    errors = wf.validate_submission({**FORM, "domains": domain})[1]
    assert words in errors["domains"]
    with pytest.raises(wf.WorkflowError, match=words):  # the exclusion it would become is refused alike
        wf.exclusion_entries([wf.ProposedExclusion("domain", domain)])


def test_exclusion_entries_are_normalised_once_each_at_most_100():
    assert wf.exclusion_entries([wf.ProposedExclusion("host", "WWW.Pirate.example."),
                                 wf.ProposedExclusion("host", "pirate.example"),
                                 wf.ProposedExclusion("domain", "*.pirate.example")]) == [
        wf.ProposedExclusion("host", "www.pirate.example"), wf.ProposedExclusion("domain", "pirate.example")]
    with pytest.raises(wf.InputError, match="at most 100"):
        wf.exclusion_entries([wf.ProposedExclusion("domain", f"d{i}.example") for i in range(101)])
    with pytest.raises(wf.InputError, match="wildcard"):
        wf.exclusion_entries([wf.ProposedExclusion("host", "*.pirate.example")])
    assert submission(domains="*.Pirate.example").targets[-1].value == "pirate.example"


def test_multi_line_text_keeps_tabs_and_line_breaks():
    sub = submission(description="First line.\r\n\tSecond line, indented.\nThird.")
    assert sub.description == "First line.\r\n\tSecond line, indented.\nThird."


def test_target_count_messages_name_the_field_that_caused_them():
    errors = wf.validate_submission({**FORM, "urls": "", "works": "\n".join(f"w{i}" for i in range(101))})[1]
    assert set(errors) == {"works"} and "at most 100" in errors["works"]
    errors = wf.validate_submission({**FORM, "works": "", "domains": "\n".join(f"d{i}.example" for i in range(100))})[1]
    assert set(errors) == {"domains"}  # the URL came first: the 101st target is a domain
    errors = wf.validate_submission({**FORM, "urls": [], "works": [" ", ""]})[1]
    assert set(errors) == {"works"} and "at least one" in errors["works"]


def test_reasons_and_notes_refuse_control_characters():
    c = received()
    with pytest.raises(wf.InputError, match="control characters") as refused:
        wf.transition(c, "acknowledged", actor="r", why="a\x00b", now=NOW)
    assert refused.value.field == "why"
    with pytest.raises(wf.InputError, match="control characters") as refused:
        wf.note(actor="r", text="a\x00b", now=NOW)
    assert refused.value.field == "text"
    assert wf.note(actor="r", text="line one\n\tline two", now=NOW).why == "line one\n\tline two"


def test_duplicate_of_only_with_a_duplicate_decision():
    c = received()
    with pytest.raises(wf.InputError, match="only when the complaint moves to duplicate") as refused:
        wf.transition(c, "acknowledged", actor="r", why="w", now=NOW, duplicate_of="nope")
    assert refused.value.field == "duplicate_of"
    for to in ("acknowledged", "under_review"):
        c, _ = wf.transition(c, to, actor="r", why="w", now=NOW)
    for bad in ("nope", "CG-2026-\u0660\u0660\u0660\u0661"):  # Arabic-Indic digits are not a reference
        with pytest.raises(wf.InputError, match="not a complaint reference"):
            wf.transition(c, "duplicate", actor="r", why="w", now=NOW, duplicate_of=bad)


def test_receive_sets_due_dates_from_policy_rules():
    complaint, event = wf.receive(submission(), reference="CG-2026-0007", now=NOW,
                                  acknowledge_within_days=2, decide_within_days=30, channel="api")
    assert complaint.status is Status.RECEIVED
    assert complaint.acknowledge_due == NOW + timedelta(days=2)
    assert complaint.decide_due == NOW + timedelta(days=30)
    assert (event.what, event.why, event.public) == ("received", "submitted via api", True)
    assert complaint.exclusion_list == "complaint-CG-2026-0007"


def test_full_path_to_closed_records_who_and_why():
    c = received()
    steps = [("acknowledged", "receipt confirmed"), ("under_review", "checking tdmrep.json"),
             ("upheld", "reservation was present"), ("closed", "exclusion added")]
    events = []
    for i, (to, why) in enumerate(steps, start=1):
        c, event = wf.transition(c, to, actor="rev1", why=why, now=NOW + timedelta(hours=i))
        events.append(event)
    assert c.status is Status.CLOSED and c.outcome is Status.UPHELD
    assert c.acknowledged_at == NOW + timedelta(hours=1)
    assert c.decided_at == NOW + timedelta(hours=3)
    assert c.closed_at == NOW + timedelta(hours=4)
    assert [e.what for e in events] == ["received -> acknowledged", "acknowledged -> under_review",
                                        "under_review -> upheld", "upheld -> closed"]
    assert all(e.actor == "rev1" and e.why for e in events)


@pytest.mark.parametrize("outcome", ["upheld", "rejected", "manifestly_unfounded"])
def test_every_outcome_is_reachable_from_review_and_closes(outcome):
    c = received()
    for to in ("acknowledged", "under_review", outcome, "closed"):
        c, _ = wf.transition(c, to, actor="r", why="because", now=NOW)
    assert c.outcome.value == outcome and c.status is Status.CLOSED


def test_duplicate_needs_the_original_reference():
    c = received()
    for to in ("acknowledged", "under_review"):
        c, _ = wf.transition(c, to, actor="r", why="w", now=NOW)
    with pytest.raises(WorkflowError, match="must name the complaint"):
        wf.transition(c, "duplicate", actor="r", why="same as before", now=NOW)
    with pytest.raises(WorkflowError, match="cannot duplicate itself"):
        wf.transition(c, "duplicate", actor="r", why="w", now=NOW, duplicate_of="CG-2026-0001")
    c, event = wf.transition(c, "duplicate", actor="r", why="w", now=NOW, duplicate_of="cg-2025-0042")
    assert c.duplicate_of == "CG-2025-0042" and "duplicate of CG-2025-0042" in event.what


@pytest.mark.parametrize(("path", "bad"), [
    ((), "under_review"), ((), "upheld"), ((), "closed"),
    (("acknowledged",), "rejected"), (("acknowledged", "under_review"), "received"),
    (("acknowledged", "under_review", "rejected", "closed"), "under_review"),
])
def test_illegal_transitions_are_refused_with_the_allowed_ones_named(path, bad):
    c = received()
    for to in path:
        c, _ = wf.transition(c, to, actor="r", why="w", now=NOW)
    with pytest.raises(WorkflowError, match=f"it can move to .*not {bad}"):
        wf.transition(c, bad, actor="r", why="w", now=NOW)


def test_transition_without_actor_or_reason_or_with_unknown_status_is_refused():
    c = received()
    with pytest.raises(WorkflowError, match="who"):
        wf.transition(c, "acknowledged", actor=" ", why="w", now=NOW)
    with pytest.raises(WorkflowError, match="why"):
        wf.transition(c, "acknowledged", actor="r", why="", now=NOW)
    with pytest.raises(WorkflowError, match="unknown status"):
        wf.transition(c, "approved", actor="r", why="w", now=NOW)


def test_overdue_uses_the_given_now():
    c = received()
    assert wf.overdue(c, NOW + timedelta(days=1)) == []
    assert wf.overdue(c, NOW + timedelta(days=3)) == [f"acknowledgement due {c.acknowledge_due.isoformat()}"]
    c, _ = wf.transition(c, "acknowledged", actor="r", why="w", now=NOW + timedelta(days=1))
    assert wf.overdue(c, NOW + timedelta(days=3)) == []
    assert wf.overdue(c, NOW + timedelta(days=31)) == [f"decision due {c.decide_due.isoformat()}"]
    c, _ = wf.transition(c, "under_review", actor="r", why="w", now=NOW + timedelta(days=2))
    c, _ = wf.transition(c, "rejected", actor="r", why="w", now=NOW + timedelta(days=3))
    assert wf.overdue(c, NOW + timedelta(days=60)) == []


def test_duplicates_need_same_email_and_a_shared_target():
    first = received()
    later = submission(email="ADA@example.org", works="", urls="https://books.example.org/novel/chapter-1")
    assert wf.find_duplicates(later, [first]) == ["CG-2026-0001"]
    other_person = submission(email="bob@example.org")
    assert wf.find_duplicates(other_person, [first]) == []
    other_target = submission(works="", urls="https://books.example.org/other")
    assert wf.find_duplicates(other_target, [first]) == []


def test_references_are_formatted_and_parsed():
    assert wf.format_reference(2026, 1) == "CG-2026-0001"
    assert wf.format_reference(2026, 12345) == "CG-2026-12345"
    assert wf.parse_reference(" cg-2026-0042 ") == (2026, 42)
    with pytest.raises(WorkflowError, match="not a complaint reference"):
        wf.parse_reference("CG-26-1")


@pytest.mark.parametrize(("name", "ctype", "data", "words"), [
    ("a.pdf", "application/pdf", b"%PDF-1.7 ...", None),
    ("a.png", "image/png", b"\x89PNG\r\n\x1a\n....", None),
    ("a.txt", "text/plain; charset=utf-8", "café".encode(), None),
    ("a.pdf", "application/pdf", b"<script>alert(1)</script>", "content is not"),
    ("a.html", "text/html", b"<p>x</p>", "accepted types"),
    ("a.txt", "text/plain", b"\xff\xfe\x00", "not UTF-8"),
    ("a.txt", "text/plain", b"", "empty"),
    ("big.txt", "text/plain", b"a" * (wf.MAX_ATTACHMENT_BYTES + 1), "larger than"),
])
def test_attachment_checks(name, ctype, data, words):
    result = wf.check_attachment(name, ctype, data)
    assert result is None if words is None else words in result


def test_attachment_count_limit():
    assert "At most 5" in wf.check_attachment("f.txt", "text/plain", b"x", already=wf.MAX_ATTACHMENTS)


def test_safe_filename_strips_paths_and_quotes():
    assert wf.safe_filename('../../etc/pa"ss\r\nwd.txt') == "pa_ss__wd.txt"
    assert wf.safe_filename("") == "attachment"


@pytest.mark.parametrize(("name", "ctype", "expected"), [
    ("evil.html", "text/plain", "evil.html.txt"),  # saved as what its bytes were checked to be
    ("evil.svg", "image/png", "evil.svg.png"),
    ("scan", "application/pdf", "scan.pdf"),
    ("Photo.JPEG", "image/jpeg", "Photo.JPEG"),
    ("photo.jpg", "image/jpeg", "photo.jpg"),
    ("notes.txt", "text/plain; charset=utf-8", "notes.txt"),
    ("...", "text/plain", "attachment.txt"),
])
def test_safe_filename_extension_matches_the_accepted_type(name, ctype, expected):
    assert wf.safe_filename(name, ctype) == expected


@pytest.mark.parametrize(("name", "fallback"), [
    ("证据.txt", "__.txt"), ("café.pdf", "cafe.pdf"), ("ﬁle.txt", "file.txt"), ("plain.txt", "plain.txt"),
])
def test_ascii_filename_fallback(name, fallback):
    assert wf.ascii_filename(wf.safe_filename(name)) == fallback


def test_proposed_exclusions_from_targets():
    c = received(domains="www.pirate.example.com")
    assert [(p.kind, p.value) for p in wf.proposed_exclusions(c)] == [
        ("host", "books.example.org"), ("domain", "example.com")]


def test_figures_per_period_with_median_time_to_decision():
    def decided(ref, received_at, days, outcome="rejected"):
        c, _ = wf.receive(submission(), reference=ref, now=received_at, acknowledge_within_days=2, decide_within_days=30)
        if days is None:
            return c
        for to in ("acknowledged", "under_review", outcome):
            c, _ = wf.transition(c, to, actor="r", why="w", now=received_at + timedelta(days=days))
        return c

    jan = datetime(2026, 1, 10, tzinfo=timezone.utc)
    rows = wf.figures([decided("CG-2026-0001", jan, 2, "upheld"), decided("CG-2026-0002", jan, 4),
                       decided("CG-2026-0003", jan, 9, "manifestly_unfounded"), decided("CG-2026-0004", jan, None),
                       decided("CG-2026-0005", jan, 30)])
    assert [r.as_dict() for r in rows] == [
        {"period": "2026-01", "received": 5, "decided": 3, "median_days_to_decision": 4.0,
         "by_outcome": {"upheld": 1, "rejected": 1, "manifestly_unfounded": 1, "duplicate": 0}},
        {"period": "2026-02", "received": 0, "decided": 1, "median_days_to_decision": 30.0,
         "by_outcome": {"upheld": 0, "rejected": 1, "manifestly_unfounded": 0, "duplicate": 0}},
    ]
    assert [r.period for r in wf.figures([decided("CG-2026-0001", jan, 1)], "quarter")] == ["2026-Q1"]
    with pytest.raises(WorkflowError, match="unknown period"):
        wf.figures([], "week")


def test_emails_owed_at_each_status():
    from copyright_guard.core.complaints.messages import message_for

    c = received()
    assert message_for(c, "", operator_name="Lab", contact_email="c@lab.example") is None
    c, _ = wf.transition(c, "acknowledged", actor="r", why="ok", now=NOW)
    kind, subject, body = message_for(c, "ok", operator_name="Lab", contact_email="c@lab.example")
    assert (kind, subject) == ("acknowledgement", "[CG-2026-0001] We have received your copyright complaint")
    assert "by 2026-12-23" in body and "c@lab.example" in body
    c, _ = wf.transition(c, "under_review", actor="r", why="w", now=NOW)
    assert message_for(c, "w", operator_name="Lab", contact_email="c@lab.example") is None
    c, _ = wf.transition(c, "duplicate", actor="r", why="Answered in March.", now=NOW, duplicate_of="CG-2026-0002")
    kind, subject, body = message_for(c, "Answered in March.", operator_name="Lab", contact_email="c@lab.example")
    assert kind == "decision" and subject.endswith("Duplicate")
    assert "Answered in March." in body and "duplicates complaint CG-2026-0002" in body
