"""`copyright-guard crawl --set` and the rest of the crawl's start-up are checked before anything
starts (scrapy/settings.py command_line_settings, scrapy/runner.py crawl_settings): a bad value is
one line naming it (exit 2), never a traceback inside Scrapy, and no value can take the add-on or
its components out of the crawl."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from copyright_guard.cli import main
from copyright_guard.demo.server import MultiOriginServer, Route
from copyright_guard.scrapy import SettingsError
from copyright_guard.scrapy.runner import ADDON, crawl_settings
from copyright_guard.scrapy.settings import command_line_settings
from copyright_guard.store.audit import Filters, search
from copyright_guard.store.db import StoreError, connect

TEST_POLICY = str(Path(__file__).resolve().parents[1] / "data" / "policies" / "identity.toml")  # a concrete identity

CLI = [str(Path(sys.executable).with_name("copyright-guard"))]
OURS = "copyright_guard.scrapy.middleware.CopyrightGuardMiddleware"


@pytest.fixture
def db(tmp_path):
    return f"sqlite:///{tmp_path / 'audit.db'}"


@pytest.mark.parametrize(("name", "value", "words"), [
    ("CONCURRENT_REQUESTS", "abc", ["CONCURRENT_REQUESTS: expected an integer, got 'abc'"]),
    ("DOWNLOAD_TIMEOUT", "abc", ["DOWNLOAD_TIMEOUT: expected a number, got 'abc'"]),
    ("DOWNLOAD_TIMEOUT", "nan", ["DOWNLOAD_TIMEOUT: expected a finite number"]),
    ("DOWNLOAD_TIMEOUT", "0", ["DOWNLOAD_TIMEOUT: must be more than 0"]),
    ("CONCURRENT_REQUESTS", "0", ["CONCURRENT_REQUESTS: must be at least 1"]),  # would never download: a hang
    ("DOWNLOAD_DELAY", "-1", ["DOWNLOAD_DELAY: must be at least 0"]),
    ("CLOSESPIDER_TIMEOUT", "1e300", ["CLOSESPIDER_TIMEOUT", "out of range"]),
    ("RETRY_HTTP_CODES", "500,abc", ["RETRY_HTTP_CODES: expected an integer, got 'abc'"]),
    ("ROBOTSTXT_OBEY", "perhaps", ["ROBOTSTXT_OBEY: expected True or False"]),
    ("DEFAULT_REQUEST_HEADERS", "[1]", ["DEFAULT_REQUEST_HEADERS: expected a JSON object"]),
    ("SCHEDULER", "nope.Scheduler", ["SCHEDULER: cannot load 'nope.Scheduler'"]),
    ("ITEM_PIPELINES", '{"nope.Pipeline": 300}', ["ITEM_PIPELINES: cannot load 'nope.Pipeline'"]),
    ("ITEM_PIPELINES", '{"copyright_guard.scrapy.Addon": "first"}', ["must be an integer or null"]),
    ("LOG_LEVEL", "LOUD", ["LOG_LEVEL: expected one of"]),
    ("CONCURENT_REQUESTS", "8", ["CONCURENT_REQUESTS: not a Scrapy setting"]),  # a typo is never ignored
    ("COPYRIGHT_GUARD_POLCY", "p.toml", ["COPYRIGHT_GUARD_POLCY: not a copyright-guard setting"]),
])
def test_a_bad_value_is_one_line_naming_the_setting(name, value, words):
    with pytest.raises(SettingsError) as caught:
        command_line_settings({name: value})
    assert "\n" not in str(caught.value)
    for word in words:
        assert word in str(caught.value)


def test_values_are_read_as_the_type_scrapy_expects():
    assert command_line_settings({
        "CONCURRENT_REQUESTS": "32", "DOWNLOAD_DELAY": "0.25", "ROBOTSTXT_OBEY": "true", "RETRY_HTTP_CODES": "500, 503",
        "DEFAULT_REQUEST_HEADERS": '{"Accept-Language": "fr"}', "USER_AGENT": "CopyrightGuardBot/2", "DEPTH_PRIORITY": "-1",
    }) == {"CONCURRENT_REQUESTS": 32, "DOWNLOAD_DELAY": 0.25, "ROBOTSTXT_OBEY": True, "RETRY_HTTP_CODES": [500, 503],
           "DEFAULT_REQUEST_HEADERS": {"Accept-Language": "fr"}, "USER_AGENT": "CopyrightGuardBot/2", "DEPTH_PRIORITY": -1}


@pytest.mark.parametrize(("name", "value"), [
    ("ADDONS", '{"copyright_guard.scrapy.Addon": null}'),
    ("DOWNLOADER_MIDDLEWARES", json.dumps({OURS: None})),
    ("DOWNLOADER_MIDDLEWARES", '{"copyright_guard.scrapy.middleware.IdentityGuardMiddleware": null}'),
    ("SPIDER_MIDDLEWARES", '{"copyright_guard.scrapy.provenance.ProvenanceMiddleware": null}'),
    ("EXTENSIONS", '{"copyright_guard.scrapy.extension.AuditExtension": null}'),
])
def test_no_setting_disables_a_component_of_copyright_guard(name, value):
    with pytest.raises(SettingsError, match=f"^{name}: .* is part of copyright-guard and cannot be disabled"):
        command_line_settings({name: value})


@pytest.mark.parametrize("value", ["false", "0", "False"])
def test_copyright_guard_enabled_false_is_refused(value):
    with pytest.raises(SettingsError, match="COPYRIGHT_GUARD_ENABLED: copyright-guard crawl always runs with the checks on"):
        command_line_settings({"COPYRIGHT_GUARD_ENABLED": value})


def test_addons_from_the_command_line_are_added_to_the_addon_never_instead_of_it(db):
    # Before the fix, --set ADDONS={} replaced the add-on: no robots.txt, no decisions, no audit log.
    settings = crawl_settings(policy=TEST_POLICY, db=db, extra={"ADDONS": "{}"})
    assert settings.getdict("ADDONS") == {ADDON: 100}
    settings = crawl_settings(policy=TEST_POLICY, db=db, extra={"ADDONS": json.dumps({ADDON: 7})})
    assert settings.getdict("ADDONS") == {ADDON: 7}


@pytest.mark.parametrize(("db_url", "words"), [
    ("postgresql://u@h:port/db", ["'postgresql://u@h:port/db': not a database URL"]),
    ("{tmp}/notadb.db", ["notadb.db: not an SQLite database"]),  # a plain path means SQLite
    ("sqlite:///{tmp}/notadb.db", ["notadb.db: not an SQLite database"]),
    ("sqlite:///{tmp}/missing-dir/audit.db", ["does not exist"]),
])
def test_the_audit_database_is_opened_before_the_crawl(tmp_path, db_url, words):
    (tmp_path / "notadb.db").write_text("not a database\n")
    with pytest.raises(StoreError) as caught:
        crawl_settings(policy=TEST_POLICY, db=db_url.format(tmp=tmp_path))
    for word in words:
        assert word in str(caught.value)
    result = CliRunner().invoke(main, ["crawl", "--policy", TEST_POLICY, "--url", "http://127.0.0.1:9/", "--db", db_url.format(tmp=tmp_path)])
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: ") and words[0] in lines[0]
    assert "Where to look next" not in result.output and "--run RUN" not in result.output


def test_a_missing_list_the_policy_names_stops_the_crawl_before_it_starts(tmp_path, db):
    policy = tmp_path / "p.toml"
    policy.write_text(Path(TEST_POLICY).read_text() + '\n[exclusions]\nlists = ["court-orders"]\n')
    result = CliRunner().invoke(main, ["crawl", "--url", "http://127.0.0.1:9/", "--db", db, "--policy", str(policy)])
    assert result.exit_code == 2, result.output
    assert result.output.strip().splitlines() == [
        "Error: the policy names exclusion list 'court-orders', which is not in the database (import it with: "
        "copyright-guard lists import FILE --name court-orders) (hint: see docs/scrapy.md)"]


@pytest.mark.parametrize("kind", ["directory", "fifo"])
def test_an_output_that_is_no_file_is_refused_before_the_crawl(tmp_path, db, kind):
    out = tmp_path / "out"
    out.mkdir() if kind == "directory" else os.mkfifo(out)  # a FIFO without a reader: the crawl's start hung
    with pytest.raises(SettingsError, match=f"--out {out}: "):
        crawl_settings(policy=TEST_POLICY, db=db, output=str(out))


def test_an_output_in_a_missing_directory_is_refused_like_the_database(tmp_path, db):
    out = tmp_path / "no" / "such" / "items.jsonl"
    with pytest.raises(SettingsError, match=f"--out {out}: directory {out.parent} does not exist"):
        crawl_settings(policy=TEST_POLICY, db=db, output=str(out))
    assert not (tmp_path / "no").exists()  # never created


ROUTES = {
    ("site", "/robots.txt"): Route.text("User-agent: *\nDisallow: /private/\n"),
    ("site", "/"): Route.html('<html><head><title>t</title></head><body><a href="/private/p">p</a></body></html>'),
    ("site", "/private/p"): Route.html("<p>private</p>"),
}


@pytest.mark.slow
def test_a_crawl_with_addons_emptied_is_still_guarded_and_recorded(tmp_path, db):
    with MultiOriginServer(ROUTES) as server:
        items = tmp_path / "items.jsonl"
        done = subprocess.run([*CLI, "crawl", "--policy", TEST_POLICY, "--url", server.url("site", "/"), "--db", db, "--depth", "1",
                               "-o", str(items), "--set", "ADDONS={}", "--json", "--log-level", "ERROR"],
                              capture_output=True, text=True, timeout=120, cwd=tmp_path)
        assert done.returncode == 0, done.stderr[-3000:]
        assert ("site", "/robots.txt") in {(r.origin, r.path) for r in server.requests}
        assert ("site", "/private/p") not in {(r.origin, r.path) for r in server.requests}
    [item] = [json.loads(line) for line in items.read_text().splitlines()]
    assert item["copyright_guard_decision_id"]
    engine = connect(db)
    try:
        assert any(d["id"] == item["copyright_guard_decision_id"] for d in search(engine, Filters()))
    finally:
        engine.dispose()


@pytest.mark.slow
@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
def test_items_that_cannot_be_written_fail_the_crawl_in_one_line(tmp_path, db):
    with MultiOriginServer(ROUTES) as server:
        done = subprocess.run([*CLI, "crawl", "--policy", TEST_POLICY, "--url", server.url("site", "/"), "--db", db, "--depth", "0",
                               "-o", "/dev/full", "--progress", "0"],
                              capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert done.returncode == 1, done.stderr[-3000:]
    assert "Traceback" not in done.stderr
    assert done.stderr.strip().splitlines()[-1].startswith("Error: items were not saved: ")
    assert "/dev/full" in done.stderr.strip().splitlines()[-1]
    assert "No space left on device" in done.stderr.strip().splitlines()[-1]


@pytest.mark.parametrize("command", [["crawl", "--url", "http://127.0.0.1:9/"], ["demo"]])
@pytest.mark.parametrize("seconds", ["nan", "inf", "1e308", "-1"])
def test_a_progress_interval_that_is_no_number_of_seconds_is_a_usage_error(command, seconds):
    # click's FloatRange(min=0) let nan through, and the progress timer then never let the crawl end.
    result = CliRunner().invoke(main, [*command, "--progress", seconds])
    assert result.exit_code == 2
    assert "Invalid value for '--progress'" in result.output
