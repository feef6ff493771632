"""Cloudflare Content-Signal robots.txt lines."""

from __future__ import annotations

from optout_helpers import decide, ev, policy, site_file

from copyright_guard.core.signals import content_signal
from copyright_guard.core.evaluate import SiteView
from copyright_guard.core.model import Value


class Line:
    def __init__(self, value):
        self.value = value

    def cite(self):
        return f"robots.txt line 3: Content-Signal: {self.value}"


def _signals(value, scope="group"):
    return content_signal.line_signals(Line(value), lambda line: ev(line.cite()), scope)


def test_pairs_case_insensitive_and_spaces():
    signals = _signals(" Search = YES ,AI-Train=No,ai-input=no ")
    assert {(s.category, s.value) for s in signals} == {
        ("search", Value.ALLOWED), ("ai-train", Value.RESERVED), ("ai-input", Value.RESERVED)}
    assert all(s.evidence.location == "robots.txt line 3: Content-Signal:  Search = YES ,AI-Train=No,ai-input=no "
               for s in signals)


def test_use_is_recorded_but_reserves_nothing():
    signals = _signals("search=yes,ai-train=no,use=reference")
    use = [s for s in signals if s.category == "use"]
    assert len(use) == 1 and use[0].value is Value.UNKNOWN and use[0].detail == ""


def test_unreadable_pairs_are_recorded_next_to_readable_ones():
    signals = _signals("ai-train=maybe, search, ai-input=no")
    (bad,) = [s for s in signals if s.value is Value.UNKNOWN]
    assert "ai-train='maybe'" in bad.detail and "'search' is not key=value" in bad.detail
    assert [(s.category, s.value) for s in signals if s.value is not Value.UNKNOWN] == [("ai-input", Value.RESERVED)]


def test_empty_and_garbage_never_raise():
    assert _signals("") == []
    assert _signals(",,,") == []
    assert _signals("=" * 10000)[0].value is Value.UNKNOWN


def test_evaluate_group_and_global_lines(now):
    robots = b"Content-Signal: ai-input=no\nUser-agent: *\nContent-signal: search=yes, ai-train=no\nAllow: /\n"
    site = SiteView(robots=site_file("robots.txt", robots, now))
    train = decide("/x", now, site)
    assert train.verdict.value == "deny"
    (reason,) = train.deny_reasons
    assert reason.code == "content-signal.reserved"
    assert reason.evidence.location == "robots.txt line 3: Content-signal: search=yes, ai-train=no"
    rag = decide("/x", now, site, purpose="ai-input")
    assert [r.evidence.location for r in rag.deny_reasons] == ["robots.txt line 1: Content-Signal: ai-input=no"]
    assert decide("/x", now, site, purpose="search").verdict.value == "allow"
    off = policy("[sources]\ncontent_signal = false\n")
    assert decide("/x", now, site, pol=off).verdict.value == "allow"


def test_the_star_groups_signal_applies_when_our_own_group_has_none(now):
    # Cloudflare's managed robots.txt writes its site-wide reservation in the "*" group; a file
    # that also names us for Disallow rules only must not hide it (found by a review: allowed).
    robots = (b"User-agent: *\nContent-Signal: search=yes, ai-train=no\nAllow: /\n\n"
              b"User-agent: CopyrightGuardBot\nDisallow: /admin/\n")
    site = SiteView(robots=site_file("robots.txt", robots, now))
    (reason,) = decide("/x", now, site).deny_reasons
    assert reason.code == "content-signal.reserved" and "in the * group" in reason.detail
    assert decide("/x", now, site, purpose="search").verdict.value == "allow"


def test_our_own_groups_signal_replaces_the_star_groups(now):
    # What the site tells us specifically is meant for us (crawler-commons' group-scoped reading).
    robots = (b"User-agent: *\nContent-Signal: ai-train=no\n\n"
              b"User-agent: CopyrightGuardBot\nContent-Signal: ai-train=yes\nDisallow: /admin/\n")
    site = SiteView(robots=site_file("robots.txt", robots, now))
    assert decide("/x", now, site).verdict.value == "allow"
