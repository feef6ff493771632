"""IETF AIPREF: preference strings (vocab §6/§7), the Content-Usage header and robots.txt rule."""

from __future__ import annotations

import pytest
from optout_helpers import decide, ev, response, site_file

from copyright_guard.core.signals import aipref
from copyright_guard.core.evaluate import SiteView
from copyright_guard.core.model import Effect, Value
from copyright_guard.core.robots.rules import parse_robots

R, A, U = Value.RESERVED, Value.ALLOWED, Value.UNKNOWN


@pytest.mark.parametrize(("text", "expected"), [
    ("train-ai=n", {"train-ai": R}),
    ("train-ai=y,search=n", {"train-ai": A, "search": R}),
    ("train-ai=n, train-ai=y", {"train-ai": A}),  # duplicate: last wins (RFC 9651 §3.2)
    ("train-ai=n;reason=\"x\"", {"train-ai": R}),  # parameters ignored
    ("train-ai=maybe, search=?1", {"train-ai": U, "search": U}),  # other token / boolean: unknown
    ("train-ai=(n y)", {"train-ai": U}),  # inner list: unknown
    ("x-future=n, train-ai=y", {"x-future": R, "train-ai": A}),  # parsed; ignored later as unknown label
    ("", {}),
    ("   ", {}),
])
def test_parse(text, expected):
    prefs = aipref.parse_preferences(text)
    assert prefs.error == "" and prefs.values == expected


@pytest.mark.parametrize("text", ["Train-AI=n", "train-ai=n;", "train-ai=n,,", "train-ai=\"n", "tràin-ai=n",
                                  "train-ai=n\x00", "=n", "train ai=n"])
def test_failed_parse_means_everything_unknown(text):
    prefs = aipref.parse_preferences(text)
    assert prefs.values == {} and "Structured Field Dictionary" in prefs.error


def test_huge_value_is_unreadable_without_parsing():
    prefs = aipref.parse_preferences("train-ai=n, " * 5000)
    assert prefs.values == {} and "too long" in prefs.error


def test_header_lines_are_combined_and_unknown_labels_dropped():
    signals = aipref.header_signals(["train-ai=y", "search=n, x-new=n"], ev)
    assert {(s.category, s.value) for s in signals} == {("train-ai", A), ("search", R)}
    assert signals[0].evidence.location == "header Content-Usage: train-ai=y, search=n, x-new=n"


def test_header_combination_is_one_dictionary_so_last_line_wins():
    # RFC 9110 §5.3: field lines combine with ", " - a later duplicate key overrides (vocab §6).
    (signal,) = aipref.header_signals(["train-ai=n", "train-ai=y"], ev)
    assert signal.value is A


def test_invalid_header_is_one_unreadable_signal():
    (signal,) = aipref.header_signals(["train-ai=n", "SEARCH=n"], ev)
    assert signal.value is U and "all preferences unknown" in signal.detail


class Line:
    def __init__(self, number, value):
        self.number, self.value = number, value

    def cite(self):
        return f"robots.txt line {self.number}: Content-Usage: {self.value}"


def _rules(path, *values):
    lines = [Line(i + 1, v) for i, v in enumerate(values)]
    return {(s.category, s.value, s.evidence.location.split(":")[0]) for s in
            aipref.robots_signals(lines, path, lambda line: ev(line.cite()))}


def test_longest_path_wins_whole_rule():
    rules = ("train-ai=n", "/ai-ok/ train-ai=y", "/ai-ok/deep/ search=n")
    assert _rules("/x", *rules) == {("train-ai", R, "robots.txt line 1")}
    assert _rules("/ai-ok/x", *rules) == {("train-ai", A, "robots.txt line 2")}
    # the most specific rule says nothing about train-ai: unknown there (attach §4.1, like Allow)
    assert _rules("/ai-ok/deep/x", *rules) == {("search", R, "robots.txt line 3")}


def test_identical_paths_combine_most_restrictively():
    assert _rules("/a", "/a train-ai=y", "/a train-ai=n, search=y") == {
        ("train-ai", R, "robots.txt line 2"), ("search", A, "robots.txt line 2")}


def test_pathless_rule_equals_root_and_conflicts_combine():
    assert _rules("/a", "train-ai=y", "/ train-ai=n") == {("train-ai", R, "robots.txt line 2")}


def test_patterns_and_encoding():
    assert _rules("/img/a.png", "/*.png$ train-ai=n") == {("train-ai", R, "robots.txt line 1")}
    assert _rules("/img/a.png?x", "/*.png$ train-ai=n") == set()
    assert _rules("/caf%C3%A9/x", "/café/ train-ai=n") == {("train-ai", R, "robots.txt line 1")}
    assert _rules("/b", "/a train-ai=n") == set()


def test_unreadable_rule_is_recorded_and_others_still_count():
    signals = aipref.robots_signals([Line(1, "/ train-ai=n"), Line(2, "/ TRAIN-AI=y")], "/x", lambda l: ev(l.cite()))
    assert {(s.category, s.value) for s in signals} == {("*", U), ("train-ai", R)}


ROBOTS = b"""User-agent: *
Allow: /
Disallow: /private/
Content-Usage: train-ai=n
Content-Usage: /open/ train-ai=y, search=y
"""


def test_evaluate_denies_with_the_exact_line(now):
    site = SiteView(robots=site_file("robots.txt", ROBOTS, now))
    decision = decide("/article", now, site)
    (reason,) = [r for r in decision.reasons if r.code.startswith("aipref")]
    assert decision.verdict.value == "deny" and reason.code == "aipref.reserved"
    assert reason.evidence.location == "robots.txt line 4: Content-Usage: train-ai=n"
    assert reason.evidence.url == "https://example.com/robots.txt" and reason.evidence.body == ROBOTS
    open_decision = decide("/open/page", now, site)
    assert open_decision.verdict.value == "allow"
    assert [(r.code, r.effect) for r in open_decision.reasons] == [("aipref.allowed", Effect.ALLOW)]
    # search purpose: train-ai=n does not speak about search
    assert decide("/article", now, site, purpose="search").verdict.value == "allow"


def test_evaluate_ignores_preferences_of_uncrawlable_paths(now):
    site = SiteView(robots=site_file("robots.txt", ROBOTS, now))
    decision = decide("/private/x", now, site)
    assert [r.code for r in decision.reasons] == ["robots.disallowed"]


def test_group_scoping(now):
    robots = b"User-agent: *\nContent-Usage: train-ai=n\n\nUser-agent: CopyrightGuardBot\nAllow: /\n"
    assert parse_robots(robots).group_for("CopyrightGuardBot").records("content-usage") == []
    decision = decide("/x", now, SiteView(robots=site_file("robots.txt", robots, now)))
    assert decision.verdict.value == "allow"  # our own group replaces "*" wholesale (RFC 9309 §2.2.1)


def test_evaluate_header_post_fetch(now):
    decision = decide("/a", now, resp=response("/a", {"Content-Usage": ["train-ai=n"]}))
    (reason,) = decision.reasons
    assert (decision.stage.value, reason.code, reason.source) == ("post-fetch", "aipref.reserved", "headers")
    assert reason.evidence.location == "header Content-Usage: train-ai=n"
    assert b"content-usage: train-ai=n" in reason.evidence.body


def test_evaluate_invalid_header_is_a_note_or_a_deny(now):
    from optout_helpers import policy

    resp = response("/a", {"Content-Usage": ["Train-AI=n"]})
    note = decide("/a", now, resp=resp)
    assert note.verdict.value == "allow" and [(r.code, r.effect) for r in note.reasons] == [("aipref.unreadable", Effect.NOTE)]
    strict = decide("/a", now, resp=resp, pol=policy('[on_failure]\nunreadable_signal = "deny"\n'))
    assert strict.verdict.value == "deny"


def test_switched_off(now):
    from optout_helpers import policy

    pol = policy("[sources]\ncontent_usage = false\n")
    site = SiteView(robots=site_file("robots.txt", ROBOTS, now))
    assert decide("/article", now, site, pol=pol).verdict.value == "allow"
    assert decide("/a", now, resp=response("/a", {"Content-Usage": ["train-ai=n"]}), pol=pol).verdict.value == "allow"
