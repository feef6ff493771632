"""`recheck --pages` with conditional requests: the ETag / Last-Modified recorded at collection go
back as If-None-Match / If-Modified-Since. A 304 re-decides on the recorded page evidence and the
fresh site files; a 200 re-checks the page as it is now; a server that ignores validators is
simply re-checked; a hostile validator is never recorded, so never sent."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import select

from copyright_guard import recheck
from copyright_guard.demo.server import MultiOriginServer, Route
from copyright_guard.store.db import connect
from copyright_guard.store.schema import decisions
from copyright_guard.store.verify import verify

pytestmark = pytest.mark.slow  # one real crawl in a subprocess, then re-checks in process

CLI = [str(Path(sys.executable).with_name("copyright-guard"))]
TEST_POLICY = str(Path(__file__).resolve().parents[1] / "data" / "policies" / "identity.toml")
LAST_MODIFIED = "Sun, 01 Nov 2026 08:49:37 GMT"
PAGE = "<html><head><title>t</title></head><body>a page</body></html>"
HOSTILE_ETAG = '"' + "x" * 300 + '"'  # longer than any real one: not recorded


def _conditional(etag: str | None, last_modified: str | None, extra=()):
    """A page that honours If-None-Match / If-Modified-Since (RFC 9110 §13.1.2, §13.1.3)."""
    headers = [h for h in (("ETag", etag), ("Last-Modified", last_modified)) if h[1]]

    def answer(request) -> Route:
        if etag and request.header("if-none-match") == [etag]:
            return Route(304, tuple(headers))
        if not etag and last_modified and request.header("if-modified-since") == [last_modified]:
            return Route(304, tuple(headers))
        return Route.html(PAGE, headers=[*headers, *extra])

    return answer


# origin -> the page's route at collection
COLLECTED = {
    "same": _conditional('"v1"', LAST_MODIFIED),
    "changed": _conditional('"v1"', LAST_MODIFIED),
    "dated": _conditional(None, LAST_MODIFIED),
    "ignores": Route.html(PAGE, headers=[("ETag", '"v1"')]),  # never answers 304
    "hostile": Route.html(PAGE, headers=[("ETag", HOSTILE_ETAG), ("Last-Modified", "yesterday\r\nX-Evil: 1")]),
}


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def site(request, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("conditional")
    db = f"sqlite:///{tmp / 'audit.db'}" if request.param == "sqlite" else request.getfixturevalue("pg_module_url")
    routes = {}
    for name, route in COLLECTED.items():
        routes[(name, "/robots.txt")] = Route.text("User-agent: *\nAllow: /\n")
        routes[(name, "/")] = route
    with MultiOriginServer(routes) as server:
        seeds = tmp / "seeds.txt"
        seeds.write_text("".join(server.url(name, "/") + "\n" for name in COLLECTED))
        done = subprocess.run([*CLI, "crawl", "seeds", "--seeds", str(seeds), "--db", db, "--depth", "1",
                               "--policy", TEST_POLICY, "-o", str(tmp / "items.jsonl"), "--json", "--log-level", "ERROR"],
                              capture_output=True, text=True, timeout=120, cwd=tmp)
        assert done.returncode == 0, done.stderr[-3000:]
        engine = connect(db)
        # After the crawl: one page now says noai (and has a new ETag), one server still ignores validators.
        server.set("changed", "/", _conditional('"v2"', LAST_MODIFIED, extra=[("X-Robots-Tag", "noai")]))
        server.set("ignores", "/", Route.html(PAGE, headers=[("ETag", '"v1"'), ("X-Robots-Tag", "noai")]))
        server.clear_log()
        results = {server.name_of(r.item.url): r for r in recheck(engine, fetch=True, pages=True)}
        yield {"server": server, "engine": engine, "results": results, "db": db}
        engine.dispose()


def _page_requests(site, name):
    return [r for r in site["server"].requests_to(name) if r.path == "/"]


def test_the_crawl_records_the_validators_and_the_chain_covers_them(site):
    with site["engine"].connect() as connection:
        rows = connection.execute(select(decisions.c.url, decisions.c.row_format, decisions.c.etag,
                                         decisions.c.last_modified).where(decisions.c.stage == "post-fetch")).all()
    by_name = {site["server"].name_of(row.url): row for row in rows}
    assert (by_name["same"].etag, by_name["same"].last_modified, by_name["same"].row_format) == ('"v1"', LAST_MODIFIED, 3)
    assert (by_name["dated"].etag, by_name["dated"].last_modified) == (None, LAST_MODIFIED)
    assert all(report.ok for report in verify(site["engine"]))


def test_a_304_re_decides_on_the_recorded_page_evidence_and_the_fresh_site_files(site):
    for name, sent in (("same", ("If-None-Match", '"v1"')), ("dated", ("If-Modified-Since", LAST_MODIFIED))):
        result = site["results"][name]
        assert not result.withdrawn
        [request] = _page_requests(site, name)
        assert request.header(sent[0]) == [sent[1]]
        note = next(r for r in result.decision.reasons if r.code == "page.not-modified")
        assert note.evidence.status == 304 and sent[1] in note.evidence.location
        assert "headers" in result.decision.examined  # what the collection examined
        assert {f.kind for f in result.decision.consulted} >= {"robots.txt"}  # fetched again now
        assert result.decision.content.sha256 == result.item.content_sha256


def test_a_changed_page_answers_200_and_is_checked_again(site):
    result = site["results"]["changed"]
    [request] = _page_requests(site, "changed")
    assert request.header("If-None-Match") == ['"v1"']
    assert result.withdrawn and "robots-meta.reserved" in result.reason_codes
    assert not any(r.code == "page.not-modified" for r in result.decision.reasons)


def test_a_server_ignoring_validators_is_checked_as_without_them(site):
    result = site["results"]["ignores"]
    [request] = _page_requests(site, "ignores")
    assert request.header("If-None-Match") == ['"v1"']  # sent; the server answered 200 anyway
    assert result.withdrawn and "robots-meta.reserved" in result.reason_codes


def test_a_hostile_validator_is_never_recorded_nor_sent(site):
    with site["engine"].connect() as connection:
        row = connection.execute(select(decisions.c.etag, decisions.c.last_modified, decisions.c.row_format)
                                 .where(decisions.c.stage == "post-fetch",
                                        decisions.c.url == site["server"].url("hostile", "/"))).one()
    assert tuple(row) == (None, None, 2)
    [request] = _page_requests(site, "hostile")
    assert not request.header("If-None-Match") and not request.header("If-Modified-Since")
    assert not site["results"]["hostile"].withdrawn


def test_the_recorded_re_decision_says_the_page_was_not_modified(site):
    # The recorded re-decision carries the note: `audit explain` shows it to a reviewer.
    with site["engine"].connect() as connection:
        reasons = connection.execute(select(decisions.c.reasons).where(
            decisions.c.stage == "recheck", decisions.c.url == site["server"].url("same", "/"))).scalars().all()
    assert reasons and json.loads(reasons[-1])[-1]["code"] == "page.not-modified"


def test_audit_explain_shows_the_validators_it_verifies(site):
    done = subprocess.run([*CLI, "audit", "explain", site["server"].url("same", "/"), "--db", site["db"]],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert f'validators: ETag "v1", Last-Modified {LAST_MODIFIED}' in done.stdout
    assert "page.not-modified" in done.stdout


@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_an_export_with_validators_verifies_and_an_edited_etag_does_not(site, fmt, tmp_path):
    out = tmp_path / f"export.{fmt}"
    done = subprocess.run([*CLI, "audit", "export", "--db", site["db"], "--format", fmt, "--out", str(out)],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    text = out.read_text()
    assert ('\\"v1\\"' if fmt == "jsonl" else '""v1""') in text  # JSON's escaped quotes, CSV's doubled ones
    ok = subprocess.run([*CLI, "audit", "verify", "--file", str(out)], capture_output=True, text=True, timeout=60)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    edited = (text.replace('"etag": "\\"v1\\""', '"etag": "\\"v9\\""', 1) if fmt == "jsonl"
              else text.replace(',"""v1""",', ',"""v9""",', 1))  # the etag column itself
    assert edited != text
    out.write_text(edited)
    bad = subprocess.run([*CLI, "audit", "verify", "--file", str(out)], capture_output=True, text=True, timeout=60)
    assert bad.returncode != 0, bad.stdout
