"""`audit report`: a self-contained HTML file, checked in a real Chromium (sorting, filtering, inert text)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from copyright_guard.cli import main
from copyright_guard.core.model import Verdict
from copyright_guard.store import DecisionWriter, start_run
from copyright_guard.store.audit import Filters
from copyright_guard.store.report import write_report
from store_helpers import T0, make_decision, record_run, robots_evidence, skip_or_fail

HOSTILE_URL = 'https://evil.example/<script>window.__pwned=1</script><img src=x onerror="window.__pwned=2">'
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--no-first-run"]


@pytest.fixture
def report(tmp_path, sqlite_url, policy) -> Path:
    from copyright_guard.store import connect

    engine = connect(sqlite_url)
    record_run(engine, policy, 10)
    run_id = start_run(engine, policy, now=T0)
    hostile_robots = b"User-agent: *\nDisallow: /</pre><script>window.__pwned=3</script>\n"
    with DecisionWriter(engine, run_id) as writer:
        writer.submit(make_decision(1, policy, url=HOSTILE_URL, domain="evil.example",
                                    evidence=robots_evidence(hostile_robots, "https://evil.example/robots.txt")))
        writer.submit(make_decision(2, policy, url="https://zz.example/last", domain="zz.example", verdict=Verdict.ALLOW))
    path = tmp_path / "report.html"
    result = CliRunner().invoke(main, ["audit", "report", "--out", str(path), "--db", sqlite_url])
    assert result.exit_code == 0, result.output
    engine.dispose()
    return path


def test_the_report_is_self_contained_and_escapes_recorded_text(report):
    html = report.read_text()
    assert not re.search(r'(src|href)="(https?:)?//', html)  # nothing fetched from elsewhere
    # URLs carry line-break opportunities (<wbr>) after / ? = &: the escaped text is intact between them.
    assert "<script>window.__pwned" not in html
    assert "&lt;script&gt;window.__pwned=1&lt;/script&gt;" in html.replace("<wbr>", "")
    assert html.count("<script>") == 1  # only the report's own
    assert "Content-Security-Policy" in html


def test_the_report_counts_and_charts(report, sqlite_url):
    from copyright_guard.store import connect

    engine = connect(sqlite_url)
    import io

    summary = write_report(engine, io.StringIO(), Filters(domain="example.com"))
    assert (summary["decisions"], summary["allow"], summary["deny"]) == (10, 5, 5)
    html = report.read_text()
    assert "<svg" in html and "robots.disallowed" in html and "evil.example" in html
    engine.dispose()


@pytest.fixture
def page():
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        skip_or_fail("playwright is not installed")
    if not Path(CHROMIUM).exists():
        skip_or_fail(f"no Chromium at {CHROMIUM}")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            yield browser.new_page()
        finally:
            browser.close()


@pytest.mark.browser
def test_the_report_works_in_a_real_browser(report, page):
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.goto(report.as_uri())
    rows = page.locator("#decisions tbody tr")
    assert rows.count() == 12
    assert page.locator("#fig-decisions").inner_text() == "12"

    # Nothing recorded ran: not the URL's script, not its onerror handler, not the evidence's script.
    assert page.evaluate("window.__pwned") is None
    assert errors == []
    assert HOSTILE_URL in page.locator("#decisions td.url").all_inner_texts()
    assert any("</pre><script>window.__pwned=3</script>" in text for text in page.locator("section pre").all_inner_texts())

    # Sorting: the URL column, ascending then descending.
    page.get_by_role("button", name="URL").click()
    urls = page.locator("#decisions tbody tr td.url").all_inner_texts()
    assert urls == sorted(urls)
    page.get_by_role("button", name="URL").click()
    assert page.locator("#decisions tbody tr td.url").all_inner_texts() == sorted(urls, reverse=True)

    # Filtering: by verdict, then by text.
    page.select_option("#filter-verdict", "deny")
    visible = page.locator("#decisions tbody tr:not([hidden])")
    assert visible.count() == 6 and page.locator("#shown-count").inner_text() == "6"
    page.fill("#filter-text", "evil.example")
    assert visible.count() == 1
    page.select_option("#filter-verdict", "")
    page.fill("#filter-text", "zz.example")
    assert visible.count() == 1 and "zz.example/last" in visible.inner_text()

    # Each decision links to its evidence, which holds the exact bytes.
    page.fill("#filter-text", "")
    link = page.locator("#decisions a[href^='#ev-']").first
    target = link.get_attribute("href")
    link.click()
    assert page.locator(f"section{target} pre").inner_text().startswith("User-agent: *")


LONG_URL = "https://collected.example/" + "/".join(f"section{n}averylongpathsegment" for n in range(12)) + "?query=value&other=thing"


@pytest.fixture
def collected_report(tmp_path, sqlite_url, policy) -> Path:
    from datetime import timedelta

    from copyright_guard.core.content import ContentFacts
    from copyright_guard.core.model import Decision, Stage
    from copyright_guard.store import connect, finish_run

    engine = connect(sqlite_url)
    run_id = start_run(engine, policy, now=T0)
    with DecisionWriter(engine, run_id) as writer:
        for number, url in enumerate((LONG_URL, "https://collected.example/b", "https://other.example/pic.jpg")):
            media, modality = ("image/jpeg", "image") if url.endswith(".jpg") else ("text/html", "text")
            writer.submit(Decision(url, url.split("/", 3)[0] + "//" + url.split("/")[2], url.split("/")[2],
                                   Stage.POST_FETCH, "train-ai", Verdict.ALLOW, (), policy.hash,
                                   T0 + timedelta(seconds=number), (), ("headers",),
                                   ContentFacts(f"{number:064x}", media, 1000 * (number + 1), 200, modality)))
    finish_run(engine, run_id, {}, T0 + timedelta(seconds=3))
    path = tmp_path / "collected.html"
    assert CliRunner().invoke(main, ["audit", "report", "--out", str(path), "--db", sqlite_url]).exit_code == 0
    engine.dispose()
    return path


def test_the_report_separates_pages_collected_and_shows_policy_summary_and_seconds(collected_report):
    html = collected_report.read_text()
    assert "Decisions per second" in html  # a 3-second crawl: one bar per second, not one per hour
    assert 'id="policy-' in html and "[crawler]" in html  # the policy's full text
    assert "2.3 Data crawled and scraped from online sources" in html
    assert html.count("exclusion lists: see") == 0  # said once, above the table


@pytest.mark.browser
def test_the_new_sections_render_and_urls_wrap_between_parts(collected_report, page):
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.set_viewport_size({"width": 1000, "height": 800})
    page.goto(collected_report.as_uri())
    assert page.locator("#fig-collected").inner_text() == "3"
    assert page.locator("#collected tbody tr").count() == 2
    assert page.locator("#collected tbody tr").first.inner_text().split("\t")[:3] == ["collected.example", "text", "2"]
    assert page.locator("#public-summary table.top-domains[data-modality=text] td").first.inner_text() == "collected.example"
    assert page.locator("section.policy pre").first.is_visible()
    assert page.locator("svg[aria-label^='decisions per second'] rect").count() == 6  # 3 buckets, allow + deny each
    cell = page.locator("#decisions td.url", has_text="section0")
    assert cell.inner_text() == LONG_URL  # <wbr> adds no characters
    # Where the browser broke the long URL across lines, the character before each break is / ? = or &.
    breaks = page.evaluate("""(cell) => {
        const found = []; let top = null, previous = "";
        const walker = document.createTreeWalker(cell, NodeFilter.SHOW_TEXT);
        for (let node = walker.nextNode(); node; node = walker.nextNode()) {
            for (let i = 0; i < node.length; i++) {
                const range = document.createRange(); range.setStart(node, i); range.setEnd(node, i + 1);
                const rect = range.getClientRects()[0];
                if (!rect) continue;
                if (top !== null && rect.top > top + 2) found.push(previous);
                top = rect.top; previous = node.data[i];
            }
        }
        return found;
    }""", cell.element_handle())
    assert breaks and set(breaks) <= {"/", "?", "=", "&"}
    assert errors == []
