"""core/signals/html.py: the fast head scanner shared by the opt-out and paywall checks."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from copyright_guard.core.signals import html
from copyright_guard.core.evaluate import evaluate
from copyright_guard.core.signals.html import scan_html
from copyright_guard.core.model import ResponseView
from copyright_guard.core.policy import load_policy

PAGE = b"""<!DOCTYPE html><html><head>
<!-- <meta name="robots" content="noai"> commented out -->
<meta charset="utf-8">
<META Name=ROBOTS content='noai, noimageai'>
<meta property="og:title" content="Caf&eacute; &amp; more">
<meta http-equiv="Content-Type" content="text/html">
<script>document.write('<meta name="robots" content="nothing">')</script>
<style>/* <meta name="x" content="y"> */</style>
<script type="application/ld+json">{"@type": "NewsArticle", "isAccessibleForFree": false}</script>
<link rel="License" type="Application/RSL+XML" href="/license.xml">
<link rel=stylesheet href=/s.css>
<meta name="data" content="a > b">
</head><body>
<meta name="robots" content="after-head">
<div itemscope itemtype="https://schema.org/Article"><meta itemprop="isAccessibleForFree" content="False">
<span itemprop="headline">Title &amp; more</span></div>
<script type="application/ld+json">{"body": true}</script>
</body></html>"""


def test_metas_links_and_scripts_of_the_head():
    head = scan_html(PAGE)
    assert head.metas == (("robots", "noai, noimageai"), ("og:title", "Café & more"),
                          ("content-type", "text/html"), ("data", "a > b"))
    assert head.meta_tags[0] == "<META Name=ROBOTS content='noai, noimageai'>"
    assert head.links == (("license", "application/rsl+xml", "/license.xml"), ("stylesheet", "", "/s.css"))
    assert head.scripts == (("application/ld+json", '{"@type": "NewsArticle", "isAccessibleForFree": false}'),)
    assert head.meta("robots") == ["noai, noimageai"]


def test_json_ld_and_itemprops_cover_the_body():
    head = scan_html(PAGE)
    assert head.json_ld == ('{"@type": "NewsArticle", "isAccessibleForFree": false}', '{"body": true}')
    assert ("isAccessibleForFree", "False") in head.itemprops
    assert ("headline", "Title & more") in head.itemprops


def test_without_head_element_the_scan_stops_at_body():
    head = scan_html(b'<meta name="a" content="1"><body><meta name="b" content="2">')
    assert head.metas == (("a", "1"),)


@pytest.mark.parametrize("hiding", [
    b"<!-- </head> -->", b"<!-- <body> -->", b"<script>s='</head>'</script>", b"<SCRIPT>s='</HEAD>'</SCRIPT>",
    b"<style>/* </head> */</style>", b"<!-- a <!-- b </head> -->",
])
def test_a_head_end_inside_a_comment_or_script_does_not_end_the_head(hiding):
    # The fast path bounds the walk at the first "</head"; one that is text (inside a comment or
    # a script) once hid every meta after it, and a noai page was allowed.
    page = b"<html><head>" + hiding + b"<meta name='robots' content='noai'></head><body><meta name=x content=y>"
    assert scan_html(page).metas == (("robots", "noai"),)


def test_window_and_hostile_input():
    assert scan_html(b"").metas == ()
    assert scan_html(b"<meta name='a' content='unterminated").metas == ()
    assert scan_html(b"<!-- never closed <meta name=a content=b>").metas == ()
    assert scan_html(b"<script>never closed <meta name=a content=b>").metas == ()
    big = b"<head>" + b"<p>" * (html.WINDOW // 3) + b'<meta name="late" content="x"></head>'
    assert scan_html(big).metas == ()  # beyond the window
    assert scan_html(b'<meta name="\xff\xfe" content="\xc3(">').metas == (("\ufffd\ufffd", "\ufffd("),)


def test_one_head_walk_per_response_in_a_decision(monkeypatch):
    # Not memoised by identity (a reused body object must not answer for another page):
    # evaluate() builds one HtmlHead per response and hands it to access.py and assets.py.
    walks = []
    walk = html._walk_head
    monkeypatch.setattr(html, "_walk_head", lambda body: walks.append(body) or walk(body))
    response = ResponseView("https://news.example/a", 200, {"content-type": ["text/html"]}, PAGE)
    decision = evaluate(response.url, load_policy(), now=datetime(2026, 11, 23, tzinfo=timezone.utc), response=response)
    assert walks == [PAGE]
    assert {r.code for r in decision.reasons} >= {"access.restricted", "robots-meta.reserved"}


def test_a_commented_out_json_ld_block_is_no_markup():
    body = (b'<html><head><!-- <script type="application/ld+json">{"isAccessibleForFree": false}</script> -->'
            b"</head><body><!--\n"
            b'<script type="application/ld+json">{"old": true}</script>\n-->'
            b"<script>var s = '<!--';</script>"  # inside a script, "<!--" opens no comment
            b'<script type="application/ld+json">{"a": 1}</script>'
            b"<style>/* <script type=\"application/ld+json\">{}</script> */</style></body></html>")
    head = scan_html(body)
    assert head.json_ld == ('{"a": 1}',)
    assert head.contains_any(b"isAccessibleForFree") and not head.contains_any(b"paywall")


def test_the_head_is_walked_on_first_use_only(monkeypatch):
    walks = []
    monkeypatch.setattr(html, "_walk_head", lambda body: walks.append(body) or (b"", [], [], ()))
    head = scan_html(PAGE)
    assert walks == []
    assert head.metas == () and head.scripts == () and head.links == ()
    assert walks == [PAGE]


def test_body_scans_ignore_the_words_in_text_and_read_every_block():
    body = (b"<html><head></head><body><p>We use itemprop and application/ld+json here.</p>"
            b'<SCRIPT TYPE="APPLICATION/LD+JSON">{"a": 1}</SCRIPT><script type="text/plain">ld+json</script>'
            b'<div itemprop="author" itemscope><SPAN ITEMPROP="name">Ann</SPAN></div>'
            b'<script type="application/ld+json">{"b": 2}')
    head = scan_html(body)
    assert head.json_ld == ('{"a": 1}', '{"b": 2}')
    assert head.itemprops == (("author", ""), ("name", "Ann"))
    plain = scan_html(b"<html><head><title>t</title></head><body>nothing here</body></html>")
    assert plain.json_ld == () and plain.itemprops == ()


def test_select_metas_decodes_only_wanted_tags_and_never_misses_one():
    page = (b'<head><meta content="a > b" name=ROBOTS><meta property="og:x" name="tdm-reservation" content="1">'
            b'<meta name="description" content="name=robots"><meta name = \' robots \' content="noai">'
            b'<meta name=robots content=noimageai></head>')
    head = scan_html(page)
    wanted = frozenset({"robots", "tdm-reservation"})
    selected = [(k, c) for k, c, _ in head.select_metas(wanted)]
    assert selected == [("robots", "a > b"), ("tdm-reservation", "1"), ("robots", "noai"), ("robots", "noimageai")]
    assert selected == [(k, c) for k, c in head.metas if k in wanted]  # same answer as the full parse
    assert head.select_metas(frozenset({"googlebot"})) == []
    assert head.meta("description") == ["name=robots"]


def test_contains_any_finds_exact_spellings_within_the_window_only():
    filler = b"<p>Free for all: FORFREE forfree isAccessibleFor Free</p>" * 50
    for spelled in (b"isAccessibleForFree", b"isaccessibleforfree"):
        at = len(filler) // 2
        assert scan_html(filler[:at] + spelled + filler[at:]).contains_any(b"isAccessibleForFree", b"isaccessibleforfree")
    assert not scan_html(filler).contains_any(b"isAccessibleForFree", b"isaccessibleforfree")
    assert not scan_html(b"x" * html.WINDOW + b"isAccessibleForFree").contains_any(b"isAccessibleForFree")