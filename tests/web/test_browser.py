"""End to end in a real browser (Playwright driving Debian's Chromium) against a real server:
a rightsholder lodges a complaint and follows it; a reviewer logs in, upholds it and excludes the
site; afterwards ``copyright-guard check`` on a URL of that site denies, citing the complaint."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from portal_helpers import skip_or_fail

CHROMIUM = "/usr/bin/chromium"
HOST = "127.0.0.31"
CLI = str(Path(sys.executable).with_name("copyright-guard"))
pytestmark = [pytest.mark.browser, pytest.mark.slow]  # ~15 s: a browser and two CLI processes


@pytest.fixture
def browser():
    if not Path(CHROMIUM).exists():
        skip_or_fail(f"no Chromium at {CHROMIUM}")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        skip_or_fail("python playwright is not installed")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                  "--no-first-run"])
        yield browser
        browser.close()


@pytest.fixture
def portal(tmp_path):
    """The portal served by uvicorn in a thread on a free port of HOST; yields (base URL, db URL)."""
    import uvicorn

    from copyright_guard.core.policy import load_policy
    from copyright_guard.store.db import connect
    from copyright_guard.web.app import create_app

    db_url = f"sqlite:///{tmp_path / 'portal.db'}"
    engine = connect(db_url)
    config = uvicorn.Config(create_app(engine, load_policy()), host=HOST, port=0, log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    yield f"http://{HOST}:{port}", db_url
    server.should_exit = True
    thread.join(timeout=10)
    engine.dispose()


def cli(*args: str, input: str | None = None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("COPYRIGHT_GUARD_")}
    return subprocess.run([CLI, *args], input=input, capture_output=True, text=True, env=env, timeout=60)


def test_complaint_from_form_to_exclusion_that_check_cites(browser, portal):
    base, db_url = portal

    # A rightsholder lodges a complaint through the form.
    rightsholder = browser.new_context().new_page()
    rightsholder.goto(f"{base}/")
    rightsholder.get_by_role("link", name="Lodge a complaint").first.click()
    rightsholder.get_by_role("button", name="Send complaint").click()  # empty: the error summary lists problems
    summary = rightsholder.get_by_role("alert")
    assert "Enter your name." in summary.inner_text() and rightsholder.title().startswith("Error:")
    rightsholder.get_by_label("Your name").fill("Ada Author")
    rightsholder.get_by_label("Email address").fill("ada@example.org")
    rightsholder.get_by_label("Rightsholder", exact=True).check()
    rightsholder.get_by_label("An infringing site was crawled").check()
    rightsholder.get_by_label("Whole sites (domain names)").fill("www.pirate-books.example")
    rightsholder.get_by_label("Describe the complaint").fill(
        "pirate-books.example republishes my novels without permission; your crawler collected them.")
    rightsholder.get_by_role("button", name="Send complaint").click()
    reference = rightsholder.locator("#reference").inner_text()
    assert reference.startswith("CG-") and rightsholder.locator("#token").inner_text()
    rightsholder.get_by_role("link", name=f"Follow complaint {reference}").click()
    assert rightsholder.locator("#status").inner_text() == "Received"
    status_url = rightsholder.url

    # A reviewer account, created with the CLI; the reviewer logs in and works the complaint.
    added = cli("reviewers", "add", "rev1", "--password-stdin", "--db", db_url, input="a very long password\n")
    assert added.returncode == 0, added.stderr
    reviewer = browser.new_context().new_page()
    reviewer.goto(f"{base}/review")  # not logged in: sent to the login page
    assert "/login" in reviewer.url
    reviewer.get_by_label("User name").fill("rev1")
    reviewer.get_by_label("Password").fill("a very long password")
    reviewer.get_by_role("button", name="Log in").click()
    reviewer.get_by_role("link", name=reference).click()
    for choice, why in (("Acknowledged", "Receipt confirmed."), ("Under review", "Checking the site."),
                        ("Upheld", "The site is a pirate copy of the complainant's books.")):
        reviewer.get_by_label(choice, exact=True).check()
        reviewer.locator("#field-why").fill(why)
        reviewer.get_by_role("button", name="Record step").click()
        assert reviewer.locator("#status").inner_text() == choice
    assert reviewer.get_by_label("Domains or hosts, one per line").input_value().strip() == "pirate-books.example"
    reviewer.locator("#field-exclusion-why").fill("Upheld: exclude the whole site.")
    reviewer.get_by_role("button", name="Add to exclusion list").click()
    history = reviewer.locator("table.history").inner_text()
    assert f"exclusion list complaint-{reference} version 1: added domain pirate-books.example" in history
    assert "rev1" in history

    # The rightsholder sees the decision on the status page.
    rightsholder.goto(status_url)
    assert rightsholder.locator("#status").inner_text() == "Upheld"
    assert "pirate copy" in rightsholder.locator("ol.history").inner_text()

    # The crawler's own check now denies any URL on that site, citing the complaint; no request is sent.
    checked = cli("check", "https://cdn.pirate-books.example/novels/1.html", "--db", db_url, "--json")
    assert checked.returncode == 1, checked.stdout + checked.stderr
    import json

    reasons = json.loads(checked.stdout)["reasons"]
    cited = [r for r in reasons if r["code"] == "exclusion.listed"]
    assert cited and f"complaint {reference}" in cited[0]["detail"]
