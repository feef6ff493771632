"""robots.txt conformance, data-driven: Google's robots_test.cc cases, Google's robotstxt-spec-test
suite, the RFC 9309 examples and crawler-commons' resource and pattern cases (tests/data/, each
with its licence).

Every case passes, except the ones listed in THE deviation table in docs/conformance.md; a listed
case must really deviate (a stale row fails too), so the table is always the truth.
"""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path

import pytest

from copyright_guard.core.robots.rules import parse_robots
from copyright_guard.core.urls import URLError, parse_target

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "tests" / "data"
TABLE = ROOT / "docs" / "conformance.md"


def allowed(robots: bytes, token: str, url: str) -> bool:
    """What a decision says for ``token`` fetching ``url``: the path as core.urls computes it,
    decided by the group RFC 9309 §2.2.1 selects. An unusable URL is never fetched."""
    try:
        path = parse_target(url).path
    except URLError:
        return False
    return parse_robots(robots).group_for(token).allowed(path)[0]


def _body(case: dict) -> bytes:
    if case.get("robots_txt_b64") is not None:
        return base64.b64decode(case["robots_txt_b64"])
    return case["robots_txt"].encode("utf-8")


def _load(name: str):
    return json.loads((DATA / name).read_text("utf-8"))


def _cases() -> list[tuple[str, str, bytes, str, str, bool]]:
    cases = []
    for c in _load("google_robotstxt/cases.json"):
        cases.append(("google_robotstxt", c["name"], _body(c), c["user_agent"], c["url"], c["allowed"]))
    for c in _load("google_robotstxt_spec_test/cases.json"):
        cases.append(("google_robotstxt_spec_test", c["name"], _body(c), c["user_agent"], c["url"], c["allowed"]))
    for c in _load("rfc9309/examples.json")["cases"]:
        cases.append(("rfc9309", c["name"], _body(c), c["user_agent"], c["url"], c["allowed"]))
    for c in _load("crawler_commons/escaped_paths_and_pattern_cases.json"):
        cases.append(("crawler_commons", c["name"], _body(c), c["user_agent"], c["url"], c["allowed"]))
    for c in _load("crawler_commons/resource_file_cases.json")["cases"]:
        body = (DATA / "crawler_commons" / c["robots_file"]).read_bytes()
        case_id = f"{Path(c['robots_file']).name} {c['user_agent']} {c['url']}"
        cases.append(("crawler_commons", case_id, body, c["user_agent"], c["url"], c["allowed"]))
    return cases


CASES = _cases()
_ROW = re.compile(r"^\|\s*(?P<suite>[a-z0-9_]+)\s*\|\s*`(?P<case>[^`]+)`\s*\|\s*(?P<expected>allow|disallow)\s*\|\s*(?P<ours>allow|disallow)\s*\|")


def _deviations() -> dict[tuple[str, str], tuple[bool, bool]]:
    """(suite, case id) -> (what the suite expects, what we do), from docs/conformance.md."""
    table = {}
    for line in TABLE.read_text("utf-8").splitlines():
        row = _ROW.match(line)
        if row:
            key = (row["suite"], row["case"])
            assert key not in table, f"deviation listed twice: {key}"
            table[key] = (row["expected"] == "allow", row["ours"] == "allow")
    return table


DEVIATIONS = _deviations()


def _id(case) -> str:
    return f"{case[0]}:{case[1][:80]}"


@pytest.mark.parametrize("case", CASES, ids=[_id(c) for c in CASES])
def test_case(case):
    suite, case_id, body, token, url, expected = case
    got = allowed(body, token, url)
    deviation = DEVIATIONS.get((suite, case_id))
    if deviation is None:
        assert got == expected, f"{suite} {case_id}: expected {'allow' if expected else 'disallow'}; not in docs/conformance.md"
    else:
        assert deviation == (expected, got), f"{suite} {case_id}: the table row does not match the data or our result"


def test_every_deviation_names_a_real_case():
    known = {(c[0], c[1]) for c in CASES}
    assert DEVIATIONS, "docs/conformance.md lists no deviations: the table was not found"
    assert set(DEVIATIONS) <= known, sorted(set(DEVIATIONS) - known)


def test_no_rfc9309_example_deviates():
    # RFC 9309's own examples decide these cases: none may be in the table.
    assert not [key for key in DEVIATIONS if key[0] == "rfc9309"]


# --- the other assertions of robots_test.cc (aux_cases.json) ---------------------------------

AUX = _load("google_robotstxt/aux_cases.json")


@pytest.mark.parametrize("case", AUX["line_counting"]["cases"], ids=lambda c: c["name"])
def test_line_endings_and_numbers(case):
    robots = parse_robots(base64.b64decode(case["robots_txt_b64"]))
    assert len(robots.records) == case["expected_valid_directives"]
    assert robots.records[-1].number == case["expected_last_line"]
    assert not robots.problems


@pytest.mark.parametrize("case", AUX["utf8_bom"]["cases"], ids=lambda c: c["name"])
def test_byte_order_mark(case):
    robots = parse_robots(base64.b64decode(case["robots_txt_b64"]))
    assert len(robots.records) == case["expected_valid_directives"]
    unreadable = [p for p in robots.problems if "not a robots.txt record" in p]
    assert len(unreadable) == case["expected_unknown_directives"]


@pytest.mark.parametrize("case", AUX["sitemap"]["cases"], ids=lambda c: c["name"])
def test_sitemap_lines(case):
    assert parse_robots(case["robots_txt"].encode()).sitemaps == case["expected_sitemaps"]


@pytest.mark.parametrize("case", AUX["is_valid_user_agent_to_obey"]["cases"], ids=lambda c: repr(c["user_agent"]))
def test_valid_product_tokens_match_the_policy_rule(case):
    from copyright_guard.core.policy import PRODUCT_TOKEN_RE

    assert bool(PRODUCT_TOKEN_RE.fullmatch(case["user_agent"])) == case["valid"]


@pytest.mark.parametrize("case", AUX["maybe_escape_pattern"]["cases"], ids=lambda c: c["pattern"])
def test_pattern_escaping(case):
    from copyright_guard.core.robots.match import canonical

    assert canonical(case["pattern"]) == case["expected"]


_ABSOLUTE = [c for c in AUX["get_path_params_query"]["cases"] if c["url"].startswith("http")]


@pytest.mark.parametrize("case", _ABSOLUTE, ids=lambda c: c["url"])
def test_match_path_of_absolute_urls(case):
    # Google's helper also guesses paths for scheme-less strings ("a/b" -> "/b"); for us those
    # are not URLs (url.invalid), so only the absolute URLs are compared.
    assert parse_target(case["url"]).path == case["expected_path"]


# --- crawler-commons: sitemaps and crawl-delay ----------------------------------------------

CC_OTHER = _load("crawler_commons/resource_file_cases.json")["other"]


@pytest.mark.parametrize("case", CC_OTHER["sitemaps"], ids=lambda c: c["robots_file"])
def test_sitemap_counts(case):
    robots = parse_robots((DATA / "crawler_commons" / case["robots_file"]).read_bytes())
    expected = case["expected_sitemap_count"]
    if case["robots_file"].endswith("/sitemap-robots.txt"):
        # crawler-commons also takes a bare URL line as a sitemap; we do not (docs/conformance.md).
        expected -= 1
        assert "http://domain.com/dir/my-sitemap.xml" not in robots.sitemaps
    assert len(robots.sitemaps) == expected


@pytest.mark.parametrize("case", CC_OTHER["crawl_delay_ms"], ids=lambda c: f"{c.get('robots_file', 'inline')} {c['user_agent']}")
def test_crawl_delay(case):
    if "robots_file" in case:
        body = (DATA / "crawler_commons" / case["robots_file"]).read_bytes()
    else:
        body = case["robots_txt"].encode()
    delay = parse_robots(body).crawl_delay(case["user_agent"])
    expected = case["expected_ms"]
    assert delay == (None if expected is None else expected / 1000)
