"""Spawning ai.txt: robots.txt syntax evaluated for user agent "*", file-type globs."""

from __future__ import annotations

from optout_helpers import decide, ev, policy, site_file

from copyright_guard.core.signals import ai_txt
from copyright_guard.core.evaluate import SiteView
from copyright_guard.core.model import Effect, Value


def test_globs_match_anywhere_and_longest_rule_wins():
    parsed = ai_txt.parse_ai_txt(b"User-agent: *\nDisallow: *.jpg\nAllow: /press/*.jpg\n")
    assert not parsed.decide("/a/b/photo.jpg").allow
    assert parsed.decide("/press/kit/photo.jpg").allow  # 13 octets beat 5
    assert parsed.decide("/a.png") is None


def test_only_the_star_group_applies_and_rules_before_any_group_count():
    parsed = ai_txt.parse_ai_txt(b"Disallow: /early/\nUser-agent: GPTBot\nDisallow: /\n\nUser-agent: Foo\nUser-agent: *\nDisallow: /both/\n")
    assert parsed.decide("/x") is None  # the GPTBot group is not for "*"
    assert not parsed.decide("/early/x").allow and not parsed.decide("/both/x").allow


def test_real_world_garbage_never_raises():
    data = (b"\xef\xbb\xbf# Spawning AI\nWe do not consent to AI training!!!\nUser-agent: *\n"
            b"Disallow: *.mp3\nNoai: true\n\xff\xfe\x00garbage\n" + b"x" * 100000)
    parsed = ai_txt.parse_ai_txt(data)
    assert [r.raw for r in parsed.rules] == ["Disallow: *.mp3"]
    assert any("not a 'field: value' line" in p for p in parsed.problems)
    assert any("unknown field 'noai'" in p for p in parsed.problems)


def test_prose_without_rules_is_unreadable():
    parsed = ai_txt.parse_ai_txt(b"<html><body>Not found</body></html>\n")
    (signal,) = ai_txt.file_signals(parsed, "/x", ev)
    assert signal.value is Value.UNKNOWN and "no readable rule" in signal.detail
    assert ai_txt.file_signals(ai_txt.parse_ai_txt(b"# only a comment\n\n"), "/x", ev) == []


def test_evaluate_allow_and_deny(now):
    body = b"User-agent: *\nDisallow: /\nAllow: /blog/\n"
    site = SiteView(ai_txt=site_file("ai.txt", body, now))
    denied = decide("/shop", now, site)
    (reason,) = denied.reasons
    assert (reason.code, reason.evidence.location) == ("ai-txt.reserved", "ai.txt line 2: Disallow: /")
    assert reason.evidence.sha256 and reason.evidence.body == body
    allowed = decide("/blog/post", now, site)
    assert [(r.code, r.effect) for r in allowed.reasons] == [("ai-txt.allowed", Effect.ALLOW)]
    assert decide("/shop", now, site, purpose="search").verdict.value == "allow"
    assert decide("/shop", now, site, pol=policy("[sources]\nai_txt = false\n")).verdict.value == "allow"
