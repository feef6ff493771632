"""Every example and vector of the opt-out conformance data (tests/data/{tdmrep,aipref,
spawning_datadiligence,ai_txt} and crawler-commons' Content-Signal robots.txt files), data-driven.

Deliberate deviations from a vector are asserted as such here and listed in docs/conformance-overview.md.
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest

from copyright_guard.core.signals import ai_txt, aipref, content_signal, robots_meta, tdmrep
from copyright_guard.core.signals.location import content_signal_lines
from copyright_guard.core.evaluate import SiteView, evaluate
from copyright_guard.core.signals.html import scan_html
from copyright_guard.core.model import Evidence, SiteFile, SiteFileStatus, Value, sha256_hex
from copyright_guard.core.signals.parsers import parser_for
from copyright_guard.core.policy import load_policy
from copyright_guard.core.robots.rules import parse_robots

DATA = Path(__file__).resolve().parents[1] / "data"
TDMREP = json.loads((DATA / "tdmrep" / "derived_cases.json").read_text())
AIPREF = json.loads((DATA / "aipref" / "examples.json").read_text())
DILIGENCE = json.loads((DATA / "spawning_datadiligence" / "header_cases.json").read_text())
SPAWNING = json.loads((DATA / "ai_txt" / "Spawning-Inc__spawning-wp-plugin__ai_txt_options.json").read_text())
ROBOTS_RESOURCES = DATA / "crawler_commons" / "robots_resources"


def ev(location: str) -> Evidence:
    return Evidence("test", location=location)


def policy_for(token: str):
    text = f'[crawler]\nproduct_token = "{token}"\nuser_agent = "{token}/1.0"\n'
    from copyright_guard.core.policy import parse_policy

    return parse_policy(text, "test.toml")


def site_file(kind: str, body: bytes, now) -> SiteFile:
    url = f"https://example.com/{kind}"
    evidence = Evidence(kind, url=url, final_url=url, status=200, fetched_at=now, sha256=sha256_hex(body), body=body)
    return SiteFile(kind, "https://example.com", SiteFileStatus.PARSED, evidence, now, now + timedelta(hours=24),
                    parsed=parser_for(kind)(body), body=body)


# --- TDMRep -------------------------------------------------------------------------------------


@pytest.mark.parametrize("case", TDMREP["cases"], ids=lambda c: f"{c['path']}<-{len(c['tdmrep_json'])}")
def test_tdmrep_file_first_match(case):
    parsed = tdmrep.parse_tdmrep_file(json.dumps(case["tdmrep_json"]).encode())
    assert parsed.problems == ()
    rule = parsed.match(case["path"])
    if case["expected_reservation"] == "unset":
        assert rule is None
        return
    assert rule.reservation == case["expected_reservation"]
    assert rule.policy == case["expected_policy"]


@pytest.mark.parametrize("case", TDMREP["header_examples"], ids=lambda c: ",".join(c["headers"]))
def test_tdmrep_header_examples(case):
    headers = case["headers"]
    signal = tdmrep.header_signal([headers["tdm-reservation"]], [headers.get("tdm-policy", "")], ev("h"))
    assert signal.value is (Value.RESERVED if case["expected_reservation"] == 1 else Value.ALLOWED)
    if case["expected_policy"]:
        assert case["expected_policy"] in signal.detail


def test_tdmrep_html_meta_example():
    example = TDMREP["html_meta_example"]
    head = scan_html((DATA / "tdmrep" / example["file"]).read_bytes())
    signal = tdmrep.meta_signal(list(head.metas), ev)
    assert signal.value is Value.RESERVED and example["expected_reservation"] == 1
    assert example["expected_policy"] in signal.detail
    assert '<meta name="tdm-reservation" content="1">' in signal.evidence.location


@pytest.mark.parametrize("name", ["01_sec-tdm-file-example.tdmrep.json", "02_sec-tdm-file-example.tdmrep.json"])
def test_tdmrep_spec_files_parse_cleanly(name):
    parsed = tdmrep.parse_tdmrep_file((DATA / "tdmrep" / "w3c_spec_examples" / name).read_bytes())
    assert parsed.problems == () and parsed.rules and all(r.reservation in (0, 1) for r in parsed.rules)


@pytest.mark.parametrize("name", ["03_sec-tdm-header.http.txt", "04_sec-tdm-header.http.txt"])
def test_tdmrep_spec_http_examples(name):
    lines = (DATA / "tdmrep" / "w3c_spec_examples" / name).read_text().splitlines()[1:]
    headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines if ":" in line)}
    signal = tdmrep.header_signal([headers["tdm-reservation"]], [headers.get("tdm-policy", "")], ev("h"))
    assert signal.value is Value.RESERVED
    assert ("tdm-policy" in headers) == ("provider.com/policies/policy.json" in signal.detail)


# --- AIPREF -------------------------------------------------------------------------------------

_WORDS = {Value.ALLOWED: "allow", Value.RESERVED: "disallow", Value.UNKNOWN: "unknown"}


@pytest.mark.parametrize("case", AIPREF["vocab_parse_examples"], ids=lambda c: c["value"])
def test_aipref_vocab_examples(case):
    prefs = aipref.parse_preferences(case["value"])
    for label, expected in case["expected"].items():
        assert _WORDS[prefs.values.get(label, Value.UNKNOWN)] == expected, label


def test_aipref_http_example():
    head = AIPREF["attach_http_example"]["response"].split("\r\n\r\n", 1)[0].split("\r\n")[1:]
    values = [v.strip() for k, _, v in (line.partition(":") for line in head) if k.lower() == "content-usage"]
    signals = aipref.header_signals(values, ev)
    assert {(s.category, _WORDS[s.value]) for s in signals} == set(AIPREF["attach_http_example"]["expected"].items())


def _usage_for(robots_txt: str, token: str, path: str, now) -> tuple[bool, set[tuple[str, str]]]:
    """(crawlable, usage preferences) as evaluate() sees them for ``token`` and ``path``."""
    site = SiteView(robots=site_file("robots.txt", robots_txt.encode(), now))
    decision = evaluate(f"https://example.com{path}", policy_for(token), now=now, site=site, purpose="train-ai")
    crawlable = not any(r.code == "robots.disallowed" for r in decision.reasons)
    usage = {(r.code, r.evidence.location) for r in decision.reasons if r.code.startswith("aipref.")}
    return crawlable, usage


def test_aipref_robots_intro_example(now):
    example = AIPREF["attach_robots_intro_example"]
    for path in ("/", "/any/path", "/x?y=1"):
        crawlable, usage = _usage_for(example["robots_txt"], "AnyBot", path, now)
        assert crawlable is example["expected_any_path"]["crawl"]
        assert usage == {("aipref.reserved", "robots.txt line 3: Content-Usage: train-ai=n")}


@pytest.mark.parametrize("case", AIPREF["attach_robots_example"]["cases"], ids=lambda c: f"{c['user_agent']}{c['path']}")
def test_aipref_robots_example(case, now):
    crawlable, usage = _usage_for(AIPREF["attach_robots_example"]["robots_txt"], case["user_agent"], case["path"], now)
    assert crawlable is case["crawl"]
    if case["usage"] is None:
        assert usage == set()  # attach §4.1: no preferences for paths that cannot be crawled
    else:
        label, value = case["usage"].split("=")
        code = "aipref.reserved" if value == "n" else "aipref.allowed"
        assert [c for c, _ in usage] == [code]
        assert case["usage"] in next(iter(usage))[1]


# --- Cloudflare Content-Signal (crawler-commons robots resources) ------------------------------

CONTENT_SIGNAL_CASES = [
    # file, product token, {category: value} from the group and global lines, unreadable?
    ("content-signal-groups.txt", "mybot", {"search": "allowed", "ai-train": "allowed", "ai-input": "allowed"}, True),
    ("content-signal-groups.txt", "yourbot", {"ai-input": "allowed"}, True),
    ("content-signal-groups.txt", "otherbot", {"search": "reserved", "ai-train": "reserved"}, True),
    ("content-signal-groups.txt", "anybot", {"search": "allowed", "ai-train": "reserved"}, True),
    ("extensions-group-merging.txt", "mybot", {"search": "allowed", "ai-train": "allowed", "ai-input": "allowed"}, False),
]


@pytest.mark.parametrize(("name", "token", "expected", "unreadable"), CONTENT_SIGNAL_CASES,
                         ids=[f"{c[0]}:{c[1]}" for c in CONTENT_SIGNAL_CASES])
def test_content_signal_groups(name, token, expected, unreadable):
    robots = parse_robots((ROBOTS_RESOURCES / name).read_bytes())
    group_lines, scope = content_signal_lines(robots, token)  # the rule location_signals applies
    lines = [(line, scope) for line in group_lines]
    lines += [(line, "global") for line in robots.global_records("content-signal")]
    signals = [s for line, scope in lines for s in content_signal.line_signals(line, lambda l: ev(l.cite()), scope)]
    assert {s.category: s.value.value for s in signals if s.value is not Value.UNKNOWN} == expected
    # "ai-train=maybe" outside any group is recorded as unreadable, never guessed.
    assert any(s.value is Value.UNKNOWN and "maybe" in s.detail for s in signals) is unreadable


# --- Spawning datadiligence X-Robots-Tag and tdm-reservation vectors ----------------------------


def _xrobots_allowed(value: str | None, token: str | None) -> bool:
    values = [] if value is None else [value]
    statements = robots_meta.header_statements(values, ev)
    # The vectors carry no Content-Type; datadiligence applies noimageai to any response, so they are
    # checked as image responses here (on other responses we ignore noimageai, tested in unit tests).
    return not robots_meta.directive_signals(statements, token, frozenset(), is_image=True)


@pytest.mark.parametrize("case", DILIGENCE["x_robots_tag"], ids=lambda c: repr(c["header_value"]))
def test_datadiligence_x_robots_tag(case):
    assert _xrobots_allowed(case["header_value"], "spawningbot") is case["allowed_for_user_agent_spawningbot"]
    if "allowed_for_user_agent_none" in case:
        assert _xrobots_allowed(case["header_value"], None) is case["allowed_for_user_agent_none"]
    if "allowed_if_respect_noindex" in case:
        # Deviation: noindex/none are about search indexing, not AI use; we have no respect_noindex.
        assert _xrobots_allowed(case["header_value"], "spawningbot") is True


def test_datadiligence_bot_names_are_case_insensitive():
    # Deviation: datadiligence compares "SpawningBot: noai" case-sensitively and so misses it.
    assert _xrobots_allowed("SpawningBot: NOAI", "spawningbot") is False


@pytest.mark.parametrize("case", DILIGENCE["tdm_reservation"], ids=lambda c: repr(c.get("header_value", c.get("headers"))))
def test_datadiligence_tdm_reservation(case):
    headers = case.get("headers") or {"tdm-reservation": case["header_value"]}
    reservation = headers.get("tdm-reservation")
    signal = tdmrep.header_signal([] if reservation is None else [reservation],
                                  [headers["tdm-policy"]] if "tdm-policy" in headers else [], ev("h"))
    reserved = signal is not None and signal.value is Value.RESERVED
    assert reserved is (not case["allowed"])
    if reservation == "other":  # a protocol error: unset, and recorded as such
        assert signal.value is Value.UNKNOWN and "must be 0 or 1" in signal.detail


# --- Spawning ai.txt ----------------------------------------------------------------------------


def test_ai_robots_txt_block_everything():
    parsed = ai_txt.parse_ai_txt((DATA / "ai_txt" / "ai-robots-txt__ai.robots.txt__ai.txt").read_bytes())
    for path in ("/", "/index.html", "/img/a.jpg", "/x?y"):
        rule = parsed.decide(path)
        assert rule is not None and not rule.allow


def _generated(options: list[dict], global_flag: bool) -> bytes:
    """An ai.txt as the Spawning WordPress plugin writes it from its option template."""
    text = SPAWNING["pre"] + SPAWNING["userAgent"]
    for option in options:
        for glob in option["value"].split(","):
            text += SPAWNING["disallow"] + glob.strip() + "\n"
    if global_flag:
        text += SPAWNING["globalDisallow"]
    return text.encode()


@pytest.mark.parametrize("option", SPAWNING["options"], ids=lambda o: o["label"])
def test_spawning_generator_globs(option):
    parsed = ai_txt.parse_ai_txt(_generated([option], global_flag=False))
    assert parsed.problems == ()
    for glob in option["value"].split(","):
        extension = glob.strip().lstrip("*")
        assert not parsed.decide(f"/media/file{extension}").allow
        assert not parsed.decide(f"/media/file{extension}?v=2").allow
    others = [o for o in SPAWNING["options"] if o is not option]
    foreign = {g.strip().lstrip("*") for o in others for g in o["value"].split(",")}
    own = {g.strip().lstrip("*") for g in option["value"].split(",")}
    for extension in sorted(foreign - own):
        # ".ts" also matches ".tsx"-style names (prefix rule): only assert on clean misses
        if not any(extension.startswith(e) for e in own):
            assert parsed.decide(f"/media/file{extension}") is None


def test_spawning_generator_global_opt_out():
    parsed = ai_txt.parse_ai_txt(_generated([], global_flag=True))
    for path in ("/", "/a/b", "/x.unknown"):
        assert not parsed.decide(path).allow


def test_spawning_site_wide_file_through_evaluate(now):
    site = SiteView(ai_txt=site_file("ai.txt", _generated(SPAWNING["options"][:1], False), now))
    decision = evaluate("https://example.com/gallery/cat.webp", load_policy(), now=now, site=site)
    reason = next(r for r in decision.reasons if r.code == "ai-txt.reserved")
    assert reason.evidence.location == "ai.txt line 13: Disallow: *.webp"
    assert decision.verdict.value == "deny"
    allowed = evaluate("https://example.com/about.html", load_policy(), now=now, site=site)
    assert allowed.verdict.value == "allow"
