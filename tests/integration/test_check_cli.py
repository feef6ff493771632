"""``copyright-guard check`` as a user meets it: bad input, bad policy, the text report, exit
statuses, exclusion lists (no request to a listed origin), and one run as a real subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

import pytest

from copyright_guard.core.lists.exclusions import ExclusionEntry, ExclusionIndex
from copyright_guard.core.policy import Policy
from copyright_guard.demo.server import Route
from copyright_guard.fetch.http import HttpxTransport
from copyright_guard.fetch.page import check_url

PAGE = Route.html("<html><body>hello</body></html>")
ROBOTS = Route.text("# site rules\nUser-agent: *\nDisallow: /private/\n")


def _one_line_error(result, *words):
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1, result.output
    assert lines[0].startswith("Error: ")
    for word in words:
        assert word in lines[0]


@pytest.mark.parametrize("url, words", [
    ("not a url", ["unsupported scheme"]),
    ("ftp://example.com/file", ["'ftp'", "only http and https"]),
    ("javascript:alert(1)", ["'javascript'"]),
    ("", ["empty URL"]),
    ("http://", ["no host"]),
    ("http://[::1/", ["malformed URL"]),
    ("http://example.com:99999/", ["malformed URL"]),
    ("http://exa\x00mple.com/", ["control characters"]),
    ("https://" + "a" * 9000 + ".example/", ["too long"]),
    ("http://a..b.example/", ["invalid host"]),
    ("http://xn--a/", ["'xn--a' is not valid Punycode"]),  # was a deny: "robots.txt unreachable InvalidCodepoint"
])
def test_bad_urls_are_one_line_errors_with_exit_2(run_cli, url, words):
    _one_line_error(run_cli("check", url), *words)


def test_bad_policy_is_a_one_line_error_naming_the_key(run_cli, policy_file):
    path = policy_file("[cache]\nmax_age_hourz = 3\n")
    _one_line_error(run_cli("check", "http://127.0.0.9/", "--policy", path), "max_age_hourz", path)


def test_missing_policy_file_is_a_one_line_error(run_cli, tmp_path):
    _one_line_error(run_cli("check", "http://127.0.0.9/", "--policy", str(tmp_path / "nope.toml")), "nope.toml")


def test_unknown_purpose_is_a_usage_error(run_cli):
    result = run_cli("check", "http://127.0.0.9/", "--purpose", "world-domination")
    assert result.exit_code == 2 and "Traceback" not in result.output


def test_help_has_an_example(run_cli):
    result = run_cli("check", "--help")
    assert result.exit_code == 0
    assert "Example:" in result.output and "copyright-guard check https://" in result.output


def test_text_report_shows_verdict_line_status_time_and_hash(serve, run_cli):
    server = serve({("site", "/robots.txt"): ROBOTS})
    result = run_cli("check", server.url("site", "/private/x"))
    assert result.exit_code == 1
    out = result.output
    assert out.startswith(f"DENY  {server.url('site', '/private/x')}")
    assert "robots.disallowed" in out and "robots.txt line 3: Disallow: /private/" in out
    assert f"{server.url('site', '/robots.txt')}, HTTP 200, fetched 20" in out
    assert "sha256 " in out and "pre-fetch" in out


def test_text_report_of_an_allowed_page(serve, run_cli):
    server = serve({("site", "/robots.txt"): ROBOTS, ("site", "/public"): PAGE})
    result = run_cli("check", server.url("site", "/public"))
    assert result.exit_code == 0
    assert result.output.startswith("ALLOW")
    assert "post-fetch allow" in result.output and "page: HTTP 200" in result.output


def test_json_has_the_documented_shape(serve, check_json):
    server = serve({("site", "/robots.txt"): ROBOTS, ("site", "/public"): PAGE})
    code, data = check_json(server.url("site", "/public"), "--purpose", "search")
    assert code == 0
    assert {"url", "verdict", "stage", "purpose", "policy_hash", "reasons", "decisions", "site_files",
            "requests", "fetch_error", "exclusion_lists"} <= set(data)
    assert data["purpose"] == "search" and len(data["policy_hash"]) == 64
    assert all({"code", "source", "detail", "effect", "evidence"} <= set(r) for r in data["reasons"])


def test_page_that_cannot_be_fetched_keeps_the_pre_fetch_verdict_and_says_why(serve, check_json, policy_file):
    server = serve({("site", "/robots.txt"): Route.text(""), ("site", "/slow"): Route.html("late", delay=5)})
    policy = policy_file("[cache]\ntimeout_seconds = 0.3\n")
    code, data = check_json(server.url("site", "/slow"), "--policy", policy)
    assert code == 0 and data["stage"] == "pre-fetch"
    assert data["fetch_error"] == f"GET {server.url('site', '/slow')}: timeout after 0.3s"


# -- exclusion lists ----------------------------------------------------------------------------------


def test_listed_origin_gets_no_request_at_all(serve):
    server = serve({("bad", "/robots.txt"): Route.text(""), ("bad", "/a"): PAGE})
    host = server.origin("bad").split("//")[1].split(":")[0]
    index = ExclusionIndex([ExclusionEntry("court-orders", 1, host, "ip", "Tribunal judiciaire de Paris",
                                           reference="RG 24/01234")])
    with HttpxTransport() as transport:
        result = check_url(server.url("bad", "/a"), Policy(), transport, now=datetime.now(timezone.utc),
                           exclusions=index)
    assert result.verdict.value == "deny"
    assert [r.code for r in result.reasons] == ["exclusion.listed"]
    assert server.requests == []


def test_page_redirect_to_a_listed_origin_is_not_followed(serve):
    server = serve({("good", "/robots.txt"): Route.text(""), ("bad", "/landing"): PAGE}, origins=["good", "bad"])
    server.set("good", "/go", Route.redirect(server.url("bad", "/landing"), 302))
    host = server.origin("bad").split("//")[1].split(":")[0]
    index = ExclusionIndex([ExclusionEntry("court-orders", 1, host, "ip", "Court")])
    with HttpxTransport() as transport:
        result = check_url(server.url("good", "/go"), Policy(), transport, now=datetime.now(timezone.utc),
                           exclusions=index)
    assert [d.verdict.value for d in result.decisions] == ["allow", "deny"]
    assert server.requests_to("bad") == []


def test_site_files_never_lead_to_a_listed_origin(serve):
    # robots.txt redirecting into a listed origin, and an RSL licence hosted there: neither is
    # requested (the crawl's transport refuses the same way, tests/scrapy/test_transport.py).
    server = serve({("good", "/a"): PAGE, ("other", "/robots.txt"): Route.text(""), ("bad", "/robots.txt"): ROBOTS},
                   origins=["good", "other", "bad"])
    server.set("good", "/robots.txt", Route.redirect(server.url("bad", "/robots.txt"), 302))
    server.set("other", "/robots.txt", Route.text(f"License: {server.url('bad', '/licence.xml')}\nUser-agent: *\nAllow: /\n"))
    host = server.origin("bad").split("//")[1].split(":")[0]
    index = ExclusionIndex([ExclusionEntry("court-orders", 1, host, "ip", "Court")])
    with HttpxTransport() as transport:
        redirected = check_url(server.url("good", "/a"), Policy(), transport, now=datetime.now(timezone.utc),
                               exclusions=index)
        licensed = check_url(server.url("other", "/"), Policy(), transport, now=datetime.now(timezone.utc),
                             exclusions=index)
    assert server.requests_to("bad") == []
    robots = redirected.sites[server.origin("good")].robots
    assert robots.status.value == "unreachable" and "is on an exclusion list" in robots.error
    assert redirected.verdict.value == "deny"  # unreachable robots.txt: complete disallow
    [licence] = licensed.sites[server.origin("other")].rsl
    assert licence.status.value == "unreachable" and "is on an exclusion list" in licence.error


def test_explicit_database_that_cannot_be_opened_is_a_configuration_error(run_cli, tmp_path):
    broken = tmp_path / "broken.db"
    broken.write_bytes(b"this is not a database" * 100)
    result = run_cli("check", "http://127.0.0.9/", "--db", f"sqlite:///{broken}")
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert len([line for line in result.output.splitlines() if line.strip()]) == 1


@pytest.mark.parametrize("how", ["--db", "env"])
def test_explicit_database_that_does_not_exist_is_a_configuration_error(run_cli, isolated_cwd, monkeypatch, how):
    # A typo (reall.db for real.db) used to create an empty database and answer "none in force", exit 0.
    url = f"sqlite:///{isolated_cwd / 'reall.db'}"
    if how == "env":
        monkeypatch.setenv("COPYRIGHT_GUARD_DB", url)
    result = run_cli("check", "http://127.0.0.9/", "--no-fetch", *(["--db", url] if how == "--db" else []))
    _one_line_error(result, "reall.db: no audit database here")
    assert not (isolated_cwd / "reall.db").exists()


# -- a real process ----------------------------------------------------------------------------------


def _cli() -> list[str]:
    script = Path(sys.executable).with_name("copyright-guard")
    return [str(script)] if script.exists() else [sys.executable, "-m", "copyright_guard.cli"]


@pytest.mark.slow  # two interpreter starts; importing the whole CLI takes 1-3 s each on a busy machine
def test_real_subprocess_json_and_exit_status(serve, tmp_path):
    server = serve({("site", "/robots.txt"): ROBOTS, ("site", "/public"): PAGE})
    env = {k: v for k, v in os.environ.items() if k not in ("COPYRIGHT_GUARD_DB", "COPYRIGHT_GUARD_DEBUG")}
    denied = subprocess.run([*_cli(), "check", server.url("site", "/private/1"), "--json"], cwd=tmp_path,
                            env=env, capture_output=True, text=True, timeout=60)
    assert denied.returncode == 1, denied.stderr
    assert json.loads(denied.stdout)["verdict"] == "deny"
    bad = subprocess.run([*_cli(), "check", "ftp://example.com/"], cwd=tmp_path, env=env,
                         capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2 and bad.stdout == ""
    assert bad.stderr.count("\n") == 1 and "Traceback" not in bad.stderr


# -- exclusion lists from the database ------------------------------------------------------------


def _listed_database(path: Path, host: str) -> str:
    from copyright_guard.store.db import connect
    from copyright_guard.store.lists import add_entries

    url = f"sqlite:///{path}"
    engine = connect(url)
    add_entries(engine, "court-orders", [{"entry": host, "authority": "Tribunal judiciaire de Paris",
                                          "reference": "RG 24/01234"}],
                now=datetime(2026, 1, 1, tzinfo=timezone.utc), source="test")
    engine.dispose()
    return url


@pytest.mark.parametrize("how", ["--db", "env", "default-file"])
def test_listed_origin_from_the_database_gets_no_request(serve, run_cli, isolated_cwd, monkeypatch, how):
    server = serve({("bad", "/robots.txt"): Route.text(""), ("bad", "/a"): PAGE})
    host = server.origin("bad").split("//")[1].split(":")[0]
    path = isolated_cwd / ("copyright-guard.db" if how == "default-file" else "lists.db")
    url = _listed_database(path, host)
    args = ["check", server.url("bad", "/a"), "--json"]
    if how == "--db":
        args += ["--db", url]
    elif how == "env":
        monkeypatch.setenv("COPYRIGHT_GUARD_DB", url)
    result = run_cli(*args)
    assert result.exit_code == 1, result.output
    data = json.loads(result.stdout)
    assert [r["code"] for r in data["reasons"]] == ["exclusion.listed"]
    assert "RG 24/01234" in data["reasons"][0]["detail"]
    assert data["exclusion_lists"].startswith("every active list from sqlite:///")
    assert server.requests == []


def test_policy_naming_a_missing_list_is_a_configuration_error(run_cli, isolated_cwd, policy_file):
    url = _listed_database(isolated_cwd / "lists.db", "bad.example")
    policy = policy_file('[exclusions]\nlists = ["no-such-list"]\n')
    result = run_cli("check", "http://127.0.0.9/", "--db", url, "--policy", policy)
    _one_line_error(result, "no-such-list")


def test_policy_naming_lists_without_any_database_is_a_configuration_error(run_cli, isolated_cwd, policy_file):
    # It used to allow the URL with "exclusion lists: none (no database)", while a crawl with the
    # same policy stops: the lists the policy relies on are missing either way.
    policy = policy_file('[exclusions]\nlists = ["court-orders"]\n')
    result = run_cli("check", "http://127.0.0.9/", "--no-fetch", "--policy", policy)
    _one_line_error(result, "the policy names exclusion lists (court-orders) but there is no database")
