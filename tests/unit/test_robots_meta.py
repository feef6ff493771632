"""noai / noimageai in X-Robots-Tag and robots meta tags."""

from __future__ import annotations

import pytest
from optout_helpers import codes, decide, ev, policy, response

from copyright_guard.core.signals import robots_meta


@pytest.mark.parametrize(("value", "expected"), [
    ("noai", [(None, "noai")]),
    ("NoAI, NOIMAGEAI", [(None, "noai"), (None, "noimageai")]),
    ("otherbot: noai, noimageai", [("otherbot", "noai"), ("otherbot", "noimageai")]),  # prefix carries on
    ("noindex, mybot: noai, yourbot:noimageai", [(None, "noindex"), ("mybot", "noai"), ("yourbot", "noimageai")]),
    ("max-snippet: 20, noai", [(None, "max-snippet: 20"), (None, "noai")]),  # valued directive, not a bot
    (":,", []),
    ("", []),
])
def test_parse_directives(value, expected):
    assert robots_meta.parse_directives(value) == expected


def _signals(values, token="CopyrightGuardBot", peers=frozenset({"gptbot"}), image=False):
    statements = robots_meta.header_statements(values, ev)
    return [(s.category, s.addressees) for s in robots_meta.directive_signals(statements, token, peers, image)]


def test_scoping_to_us_peers_and_everyone():
    assert _signals(["copyrightguardbot: noai"]) == [("noai", ("CopyrightGuardBot",))]
    assert _signals(["GPTBot: noai"]) == [("noai", ("gptbot",))]
    assert _signals(["otherbot: noai"]) == []
    assert _signals(["GPTBot: noai"], peers=frozenset()) == []  # sources.peer_tokens = false
    assert _signals(["noai", "noai, otherbot: noai"]) == [("noai", ("*",))]  # combined, deduplicated


def test_noimageai_only_for_images():
    assert _signals(["noimageai"]) == []
    assert _signals(["noimageai"], image=True) == [("noimageai", ("*",))]


def test_meta_statements_by_name():
    metas = [("robots", "noai", '<meta name="robots" content="noai">'),
             ("copyrightguardbot", "noimageai, noai", "<meta ...>"),
             ("googlebot", "noai", "<meta ...>")]
    statements = robots_meta.meta_statements(metas, "CopyrightGuardBot", frozenset(), ev)
    signals = robots_meta.directive_signals(statements, "CopyrightGuardBot", frozenset(), False)
    assert [(s.category, s.addressees) for s in signals] == [("noai", ("*",)), ("noai", ("CopyrightGuardBot",))]
    assert signals[0].evidence.location == 'html <meta name="robots" content="noai">'


def test_evaluate_header_and_meta(now):
    page = b'<html><head><META NAME="Robots" CONTENT="noai"></head><body>x</body></html>'
    decision = decide("/a", now, resp=response("/a", {"X-Robots-Tag": ["noindex", "copyrightguardbot: noai"]}, page))
    assert decision.verdict.value == "deny"
    assert sorted((r.code, r.source, r.evidence.location) for r in decision.reasons) == [
        ("robots-meta.reserved", "headers", "header X-Robots-Tag: copyrightguardbot: noai"),
        ("robots-meta.reserved", "html", 'html <META NAME="Robots" CONTENT="noai">')]
    html_reason = next(r for r in decision.reasons if r.source == "html")
    assert html_reason.evidence.body == b'<META NAME="Robots" CONTENT="noai">'
    assert decide("/a", now, resp=response("/a", {"X-Robots-Tag": ["noai"]}), purpose="search").verdict.value == "allow"


def test_evaluate_noimageai_on_images_and_pages(now):
    image = response("/i.png", {"X-Robots-Tag": ["noimageai"]}, b"\x89PNG\r\n\x1a\n", content_type="image/png")
    assert decide("/i.png", now, resp=image).verdict.value == "deny"
    page = response("/p", {"X-Robots-Tag": ["noimageai"]}, b"<html></html>")
    assert decide("/p", now, resp=page).verdict.value == "allow"
    untyped = response("/photo.JPG", {"X-Robots-Tag": ["noimageai"]}, b"", content_type="")
    assert decide("/photo.JPG", now, resp=untyped).verdict.value == "deny"


def test_evaluate_switched_off(now):
    resp = response("/a", {"X-Robots-Tag": ["noai"]})
    assert decide("/a", now, resp=resp, pol=policy("[sources]\nrobots_meta = false\n")).verdict.value == "allow"


def test_meta_ignored_outside_html(now):
    body = b'<meta name="robots" content="noai">'
    assert decide("/a.txt", now, resp=response("/a.txt", body=body, content_type="text/plain")).verdict.value == "allow"


def test_hostile_header_is_unreadable_not_a_crash(now):
    for value in ["noai\x00", "noai\r\nSet-Cookie: x", "x" * 20000]:
        decision = decide("/a", now, resp=response("/a", {"X-Robots-Tag": [value]}))
        (reason,) = decision.reasons
        assert reason.code == "robots-meta.unreadable"
    signals = robots_meta.directive_signals(robots_meta.header_statements(["\x00:,:" * 1000], ev),
                                            "CopyrightGuardBot", frozenset(), True)
    assert signals == []  # parsing garbage directly never raises either


def test_meta_of_a_page_without_content_type_is_read(now):
    # Without a Content-Type the page is sniffed as a browser would (access.py already did): a
    # server that omits the header cannot hide a noai meta tag.
    page = b"\n  <!doctype html><html><head><meta name='robots' content='noai'></head></html>"
    assert codes(decide("/p", now, resp=response("/p", body=page, content_type=""))) == ["robots-meta.reserved"]
    assert codes(decide("/p", now, resp=response("/p", body=b"plain noai text", content_type=""))) == []
