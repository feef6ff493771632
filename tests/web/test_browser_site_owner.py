"""The site owner's and the rightsholder's pages in a real browser (Playwright driving Debian's
Chromium) against a real server: the crawler page with its snippets and key directory, the
complaint form's privacy notice, the receipt email through a local SMTP server, the plain-words
status page, and the reviewer's audit view and exclusion form."""

from __future__ import annotations

import json
import socket
import threading
import time
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller

from test_browser import browser, cli  # noqa: F401 - the shared Chromium fixture

HOST = "127.0.0.33"
SMTP_HOST = "127.0.0.28"
TEST_POLICY = Path(__file__).resolve().parents[1] / "data" / "policies" / "identity.toml"
pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture
def portal(tmp_path):
    """`serve --policy` with a signing key, in a thread: (base URL, db URL, policy, signer)."""
    import uvicorn

    from copyright_guard.core.policy import load_policy
    from copyright_guard.store.db import connect
    from copyright_guard.web.app import create_app
    from copyright_guard.webbotauth import generate_key_file, signer_for_policy

    generate_key_file(tmp_path / "key.pem")
    policy_path = tmp_path / "policy.toml"
    policy_path.write_text(TEST_POLICY.read_text().replace("[complaints]", (
        'signing_key = "key.pem"\nkey_directory = '
        '"https://crawler.test-operator.example/.well-known/http-message-signatures-directory"\n\n[complaints]')))
    policy = load_policy(policy_path)
    signer = signer_for_policy(policy)
    db_url = f"sqlite:///{tmp_path / 'portal.db'}"
    engine = connect(db_url)
    server = uvicorn.Server(uvicorn.Config(create_app(engine, policy, signer=signer), host=HOST, port=0,
                                           log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    yield f"http://{HOST}:{port}", db_url, policy, signer
    server.should_exit = True
    thread.join(timeout=10)
    engine.dispose()


def test_the_crawler_page_gives_a_site_owner_what_to_paste_and_how_to_verify(browser, portal):  # noqa: F811
    base, _, policy, signer = portal
    page = browser.new_context().new_page()
    page.goto(f"{base}/")
    page.get_by_role("link", name="Our crawler", exact=True).click()
    assert page.locator("#product-token").inner_text() == policy.crawler.product_token
    assert page.locator("#user-agent").inner_text() == policy.crawler.user_agent
    info = json.loads(page.request.get(f"{base}/crawler.json").text())
    # What a site owner copies from the page is exactly the generated snippet, for every purpose.
    for purpose, group in info["opt_out"].items():
        blocks = page.locator(f'#opt-out-{purpose} .snippet pre')
        assert blocks.count() == len(group["snippets"]) > 0
        for index, snippet in enumerate(group["snippets"]):
            assert blocks.nth(index).inner_text().strip() == snippet["text"].strip()
    assert page.locator("#key-id").inner_text() == signer.key_id
    page.locator("#key-directory").click()
    directory = json.loads(page.locator("body").inner_text())
    assert [k["kid"] for k in directory["keys"]] == [signer.key_id]


def test_a_rightsholder_sees_the_privacy_notice_gets_a_receipt_and_reads_plain_words(browser, portal):  # noqa: F811
    base, db_url, policy, _ = portal
    page = browser.new_context().new_page()
    page.goto(f"{base}/")
    assert "the button just below" in page.locator("main").inner_text()
    page.get_by_role("link", name="Lodge a complaint").first.click()
    notice = page.get_by_role("region", name="Your personal data")
    assert notice.is_visible() and policy.complaints.contact_email in notice.inner_text()
    page.get_by_label("Your name").fill("Ada Author")
    page.get_by_label("Email address").fill("ada@example.org")
    page.get_by_label("Rightsholder", exact=True).check()
    page.get_by_label("An infringing site was crawled").check()
    page.get_by_label("Whole sites (domain names)").fill("pirate-books.example")
    page.get_by_label("Describe the complaint").fill("pirate-books.example republishes my novels without permission.")
    page.get_by_role("button", name="Send complaint").click()
    reference = page.locator("#reference").inner_text()

    # The receipt, delivered through a real (local) SMTP server.
    received = []

    class Inbox:
        async def handle_DATA(self, server, session, envelope):
            received.append((envelope.rcpt_tos, envelope.content.decode("utf-8", "replace")))
            return "250 OK"

    from copyright_guard.notify import SMTPSettings, deliver_due
    from copyright_guard.store.db import connect

    with socket.socket() as probe:
        probe.bind((SMTP_HOST, 0))
        port = probe.getsockname()[1]
    controller = Controller(Inbox(), hostname=SMTP_HOST, port=port)
    controller.start()
    try:
        engine = connect(db_url)
        from datetime import datetime, timezone

        report = deliver_due(engine, SMTPSettings(host=SMTP_HOST, port=port, security="none",
                                                  sender=policy.complaints.contact_email),
                             datetime.now(timezone.utc))
        engine.dispose()
    finally:
        controller.stop()
    assert report.sent == 1
    ((to, message),) = received
    assert to == ["ada@example.org"] and f"[{reference}] Receipt of your copyright complaint" in message

    # The reviewer acknowledges it; the rightsholder reads the history in plain words.
    added = cli("reviewers", "add", "rev1", "--password-stdin", "--db", db_url, input="a very long password\n")
    assert added.returncode == 0, added.stderr
    reviewer = browser.new_context().new_page()
    reviewer.goto(f"{base}/login")
    reviewer.get_by_label("User name").fill("rev1")
    reviewer.get_by_label("Password").fill("a very long password")
    reviewer.get_by_role("button", name="Log in").click()
    reviewer.get_by_role("link", name=reference).click()
    assert "pirate-books.example" in reviewer.locator("table.audit-targets").inner_text()
    assert "Nothing recorded" in reviewer.locator("table.audit-targets").inner_text()
    for choice in ("Acknowledged", "Under review", "Upheld"):
        reviewer.get_by_label(choice, exact=True).check()
        reviewer.locator("#field-why").fill(f"Step to {choice}.")
        reviewer.get_by_role("button", name="Record step").click()
    # A refused exclusion keeps what was typed.
    reviewer.get_by_label("Single hosts").check()
    reviewer.get_by_label("Domains or hosts, one per line").fill("*.pirate-books.example")
    reviewer.locator("#field-exclusion-why").fill("Exclude the mirrors.")
    reviewer.get_by_role("button", name="Add to exclusion list").click()
    assert "add it as a domain" in reviewer.locator("#action-error").inner_text()
    assert reviewer.get_by_label("Domains or hosts, one per line").input_value() == "*.pirate-books.example"
    assert reviewer.locator("#field-exclusion-why").input_value() == "Exclude the mirrors."
    assert reviewer.get_by_label("Single hosts").is_checked()

    page.get_by_role("link", name=f"Follow complaint {reference}").click()
    history = page.locator("ol.history").inner_text()
    assert "We started reviewing your complaint" in history and "We upheld your complaint" in history
    assert "under_review" not in history

    page.get_by_role("link", name="Figures").click()
    page.get_by_label("Per").select_option("year")
    page.get_by_role("button", name="Show").click()
    assert page.locator('td[data-outcome="upheld"]').first.inner_text() == "1"
