"""``copyright-guard check --urls FILE``: many URLs in one process, each decided exactly as
``check URL`` decides it, each origin's site-wide files fetched once, against real loopback origins."""

from __future__ import annotations

import json

import pytest

from copyright_guard.demo.server import Route
from copyright_guard.fetch.batch import URLListError, parse_url_list

PAGE = Route.html("<html><body>hello</body></html>")


@pytest.fixture
def site(serve):
    return serve({
        ("a", "/robots.txt"): Route.text("User-agent: *\nDisallow: /private/\n"),
        ("a", "/open"): PAGE, ("a", "/open2"): PAGE, ("a", "/private/x"): PAGE,
        ("b", "/robots.txt"): Route.text("User-agent: *\nAllow: /\n"),
        ("b", "/page"): PAGE,
        ("b", "/reserved"): Route.html("<html></html>", headers=[("tdm-reservation", "1")]),
        ("c", "/robots.txt"): Route.text("oops", 503),
        ("c", "/page"): PAGE,
    })


def _lines(output: str) -> dict[int, dict]:
    return {row["line"]: row for row in map(json.loads, output.splitlines())}


def test_every_url_gets_the_single_url_answer_and_site_files_are_fetched_once(site, run_cli, isolated_cwd):
    urls = [site.url("a", "/open"), site.url("a", "/open2"), site.url("a", "/private/x"),
            site.url("b", "/page"), site.url("b", "/reserved"), site.url("c", "/page"), "ftp://example.com/x"]
    listing = isolated_cwd / "urls.txt"
    listing.write_text("# to check\n\n" + "\n".join(urls) + "\n")
    result = run_cli("check", "--urls", str(listing), "--concurrency", "2")
    assert result.exit_code == 1  # something is denied
    rows = _lines(result.stdout)
    assert sorted(rows) == list(range(3, 3 + len(urls)))
    verdicts = {rows[n]["url"]: rows[n]["verdict"] for n in rows}
    assert verdicts == {urls[0]: "allow", urls[1]: "allow", urls[2]: "deny", urls[3]: "allow", urls[4]: "deny",
                        urls[5]: "deny", urls[6]: "deny"}
    codes = {rows[n]["url"]: sorted({r["code"] for r in rows[n]["reasons"] if r["effect"] == "deny"}) for n in rows}
    assert codes[urls[2]] == ["robots.disallowed"] and codes[urls[4]] == ["tdmrep.reserved"]
    assert codes[urls[5]] == ["robots.unreachable"] and codes[urls[6]] == ["url.invalid"]
    for origin in ("a", "b"):  # once per origin, however many of its URLs are listed
        assert site.paths(origin).count("/robots.txt") == 1
    assert "/private/x" not in site.paths("a")
    # The same answer as the single-URL command gives.
    single = run_cli("check", urls[4], "--json")

    def comparable(reasons):  # fetch times differ between the two runs
        return [{**r, "evidence": {k: v for k, v in r["evidence"].items() if k != "fetched_at"}} for r in reasons]

    assert comparable(json.loads(single.stdout)["reasons"]) == comparable(rows[7]["reasons"])


def test_stdin_no_fetch_and_all_allowed_exit_zero(site, run_cli):
    from click.testing import CliRunner

    from copyright_guard.cli import main

    urls = f"{site.url('a', '/open')}\n{site.url('b', '/page')}\n"
    result = CliRunner().invoke(main, ["check", "--urls", "-", "--no-fetch"], input=urls)
    assert result.exit_code == 0, result.output
    rows = _lines(result.stdout)
    assert [rows[n]["verdict"] for n in sorted(rows)] == ["allow", "allow"]
    assert "/open" not in site.paths("a")  # --no-fetch: only site-wide files were requested


@pytest.mark.parametrize(("args", "words"), [
    ([], "give one URL, or --urls FILE"),
    (["http://example.com/", "--urls", "x.txt"], "give one URL, or --urls FILE"),
    (["--urls", "missing.txt"], "missing.txt"),
])
def test_usage_errors_are_one_line(run_cli, args, words):
    result = run_cli("check", *args)
    assert result.exit_code == 2 and words in result.output and result.output.count("\n") == 1, result.output


def test_a_bad_list_is_one_line():
    with pytest.raises(URLListError, match="no URLs"):
        parse_url_list(b"# nothing\n\n", "l.txt")
    with pytest.raises(URLListError, match="not UTF-8"):
        parse_url_list(b"http://a.example/\xff\n", "l.txt")
    assert [u.line for u in parse_url_list("\ufeffhttp://a.example/\n\n http://b.example/ \n".encode(), "l")] == [1, 3]
