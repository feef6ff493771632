"""The rightsholder's side of the complaint desk: privacy notice, plain-words history, figures by
outcome, the reviewer's view of the audit log per target, forms that keep their input."""

from __future__ import annotations

import hashlib
import re
from datetime import timedelta

from fastapi.testclient import TestClient
from portal_helpers import START, submit_form

from copyright_guard.core.model import Decision, Effect, Evidence, Reason, Stage, Verdict
from copyright_guard.core.policy import parse_policy
from copyright_guard.core.urls import parse_target
from copyright_guard.store import complaints as store
from copyright_guard.store.runs import start_run
from copyright_guard.store.writer import DecisionWriter
from copyright_guard.web.app import create_app

ROBOTS = b"User-agent: GPTBot\nDisallow: /\n"


def advance(client, reference, *steps, why="checked"):
    for to in steps:
        response = client.post(f"/review/complaints/{reference}/transition",
                                data={"csrf_token": client.csrf, "to": to, "why": why}, follow_redirects=False)
        assert response.status_code == 303, response.text


def record_decisions(engine, policy, now):
    """A crawl's worth of audit records: a collected page, a denied one with evidence, elsewhere."""
    sha = hashlib.sha256(ROBOTS).hexdigest()
    evidence = Evidence("robots.txt", "robots.txt line 2: Disallow: /", "https://books.example.org/robots.txt",
                        sha256=sha, body=ROBOTS)
    reason = Reason("robots.peer-disallowed", "robots.txt", "robots.txt blocks GPTBot", Effect.DENY, evidence)
    run = start_run(engine, policy, now=now)
    with DecisionWriter(engine, run) as writer:
        for url, verdict, reasons, at in (
                ("https://books.example.org/novel/chapter-1", "allow", (), now),
                ("https://books.example.org/novel/chapter-1", "allow", (), now + timedelta(days=1)),
                ("https://books.example.org/novel/chapter-2", "deny", (reason,), now),
                ("https://other.example/x", "allow", (), now)):
            target = parse_target(url)
            writer.submit(Decision(url, target.origin, target.registered_domain, Stage.POST_FETCH, "train-ai",
                                   Verdict(verdict), reasons, policy.hash, at))
    return sha


def test_the_reviewer_sees_what_the_audit_log_holds_per_target_with_evidence(reviewer_client, engine, policy):
    sha = record_decisions(engine, policy, START - timedelta(days=10))
    submit_form(reviewer_client, domains="books.example.org")
    page = reviewer_client.get("/review/complaints/CG-2026-0001").text
    row = re.search(r'<tr data-target="https://books.example.org/novel/chapter-1">(.*?)</tr>', page, re.S).group(1)
    assert '<td class="decisions">2 (2 allow)</td>' in row and '<td class="collected">1</td>' in row
    domain = re.search(r'<tr data-target="books.example.org">(.*?)</tr>', page, re.S).group(1)
    assert '<td class="decisions">3 (2 allow, 1 deny)</td>' in domain and '<td class="collected">1</td>' in domain
    assert "<code>robots.peer-disallowed</code> × 1" in domain
    assert "A work has no address to look up" in page
    link = re.search(r'href="(/review/evidence\?url=[^"]*chapter-2)"', domain).group(1)
    evidence = reviewer_client.get(link.replace("&amp;", "&")).text
    assert "robots.txt line 2: Disallow: /" in evidence and f'href="/review/evidence/{sha}"' in evidence
    download = reviewer_client.get(f"/review/evidence/{sha}")
    assert download.content == ROBOTS and download.headers["content-disposition"].startswith("attachment")
    assert reviewer_client.get("/review/evidence/" + "0" * 64).status_code == 404


def test_the_exclusion_form_keeps_what_the_reviewer_typed_after_an_error(reviewer_client):
    submit_form(reviewer_client)
    advance(reviewer_client, "CG-2026-0001", "acknowledged", "under_review", "upheld")
    typed = "pirate.example\n*.mirror.example"
    response = reviewer_client.post("/review/complaints/CG-2026-0001/exclusions", data={
        "csrf_token": reviewer_client.csrf, "kind": "host", "values": typed, "why": "copies whole novels"})
    assert response.status_code == 422
    html = response.text
    assert f'name="values" rows="3" spellcheck="false">{typed}</textarea>' in html
    assert 'value="host" checked' in html and ">copies whole novels</textarea>" in html
    # And a refused step keeps its reason.
    bad = reviewer_client.post("/review/complaints/CG-2026-0001/transition",
                               data={"csrf_token": reviewer_client.csrf, "to": "upheld", "why": "a long reason kept"})
    assert bad.status_code == 409 and ">a long reason kept</textarea>" in bad.text


def test_the_status_page_tells_the_history_in_plain_words(reviewer_client, client):
    submit_form(client)
    page = client.get("/complaints/submitted").text
    link = re.search(r'id="status-link" href="([^"]+)"', page).group(1).replace("&amp;", "&")
    advance(reviewer_client, "CG-2026-0001", "acknowledged", "under_review")
    history = client.get(link).text
    assert "We received your complaint" in history and "We acknowledged your complaint" in history
    assert "We started reviewing your complaint" in history
    entries = re.search(r'<ol class="history">(.*?)</ol>', history, re.S).group(1)
    assert not re.search(r"\w+ -> \w+", entries) and "under_review" not in entries


def test_figures_break_decisions_down_by_outcome(reviewer_client, client):
    submit_form(client)
    submit_form(client, email="bob@example.org")
    advance(reviewer_client, "CG-2026-0001", "acknowledged", "under_review", "upheld")
    advance(reviewer_client, "CG-2026-0002", "acknowledged", "under_review", "rejected")
    html = client.get("/figures", params={"period": "year"}).text
    for outcome, count in (("upheld", 1), ("rejected", 1), ("manifestly_unfounded", 0), ("duplicate", 0)):
        assert f'<td data-outcome="{outcome}">{count}</td>' in html
    assert "Manifestly unfounded</th>" in html


def test_the_form_shows_a_privacy_notice_default_or_configured(client, engine, policy):
    html = client.get("/complaints/new").text
    notice = re.search(r'<section class="privacy" id="privacy-notice".*?</section>', html, re.S).group(0)
    assert policy.complaints.operator_name in notice and policy.complaints.contact_email in notice
    assert "only to handle your complaint" in notice
    custom = parse_policy(policy.source_text.replace('operator_name = "Example AI Lab"',
                                                     'operator_name = "Example AI Lab"\nprivacy_notice = """'
                                                     'We keep it five years.\n\nWrite to dpo@lab.example."""'), "p.toml")
    with TestClient(create_app(engine, custom)) as other:
        html = other.get("/complaints/new").text
    assert "<p>We keep it five years.</p>" in html and "<p>Write to dpo@lab.example.</p>" in html
    assert "only to handle your complaint" not in html


def test_a_receipt_is_queued_at_submission(client, engine):
    from copyright_guard.store import outbox

    submit_form(client)
    (message,) = outbox.messages(engine)
    assert message.kind == "receipt" and message.subject == "[CG-2026-0001] Receipt of your copyright complaint"
    assert "https://books.example.org/novel/chapter-1" in message.body
    assert store.load(engine, "CG-2026-0001").events[-1].what == "receipt email queued to the complainant"


def test_the_home_page_says_where_the_form_is(client):
    html = client.get("/").text
    assert "form below" not in html and "the button just below" in html
    main = html[html.index('<main id="main">'):]  # the navigation also links the form
    assert main.index("the button just below") < main.index('class="button" href="/complaints/new"')
