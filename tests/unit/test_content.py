"""Content facts and the modality table (core/content.py), and what evaluate() says it consulted."""

from __future__ import annotations

import hashlib
from datetime import datetime, timezone

import pytest

from copyright_guard.core.content import content_facts, modality_of
from copyright_guard.core.evaluate import SiteView, evaluate
from copyright_guard.core.model import ResponseView
from copyright_guard.core.policy import load_policy
from optout_helpers import site_file

NOW = datetime(2026, 11, 23, 12, tzinfo=timezone.utc)


@pytest.mark.parametrize(("media_type", "modality"), [
    ("text/html", "text"), ("text/plain", "text"), ("application/pdf", "text"), ("application/epub+zip", "text"),
    ("application/xhtml+xml", "text"), ("application/vnd.api+json", "text"), ("image/jpeg", "image"),
    ("image/svg+xml", "image"), ("audio/mpeg", "audio"), ("video/mp4", "video"),
    ("application/octet-stream", "other"), ("application/zip", "other"), (None, "other"), ("", "other"),
])
def test_the_modality_table(media_type, modality):
    assert modality_of(media_type) == modality


def test_content_facts_fingerprint_the_body_as_received():
    body = b"<html>hello</html>"
    facts = content_facts(ResponseView("https://a.example/", 200, {"content-type": ["Text/HTML; charset=utf-8"]}, body))
    assert (facts.sha256, facts.media_type, facts.bytes, facts.status, facts.modality) == (
        hashlib.sha256(body).hexdigest(), "text/html", len(body), 200, "text")
    bare = content_facts(ResponseView("https://a.example/x", 203, {}, b""))
    assert (bare.media_type, bare.bytes, bare.modality) == (None, 0, "other")


def test_decisions_carry_the_site_files_and_the_sources_examined():
    policy = load_policy()
    site = SiteView(robots=site_file("robots.txt", b"User-agent: *\nAllow: /\n", NOW))
    pre = evaluate("https://example.com/a", policy, now=NOW, site=site)
    assert pre.consulted == (site.robots,) and pre.examined == () and pre.content is None
    assert pre.as_dict()["consulted"][0]["kind"] == "robots.txt"
    page = ResponseView("https://example.com/a", 200, {"content-type": ["text/html"]}, b"<html><head></head></html>")
    post = evaluate("https://example.com/a", policy, now=NOW, site=site, response=page)
    assert post.consulted is pre.consulted  # one tuple per site view, shared by its decisions
    assert post.examined == ("headers", "html-meta", "access-restrictions")
    jpeg = ResponseView("https://example.com/p.jpg", 200, {"content-type": ["image/jpeg"]}, b"\xff\xd8\xff\xe0rest")
    image = evaluate("https://example.com/p.jpg", policy, now=NOW, site=site, response=jpeg)
    assert image.examined == ("headers", "embedded-metadata:JPEG", "access-restrictions")
    assert image.content.modality == "image"


@pytest.mark.parametrize(("values", "etag"), [
    (['"abc"'], '"abc"'), (['W/"v-1"'], 'W/"v-1"'), ([' "x" '], '"x"'), (['""'], '""'),
    ([], None), (['"a"', '"b"'], None),  # absent, or several: nothing to send back
    (['abc'], None), (['"a", "b"'], None), (['"a\r\nX-Evil: 1"'], None), (['"caf\u00e9"'], None),
    (['"' + "x" * 300 + '"'], None), (['W/ "x"'], None),
])
def test_an_etag_is_recorded_only_when_well_formed_and_bounded(values, etag):
    from copyright_guard.core.content import etag_of

    assert etag_of(values) == etag


@pytest.mark.parametrize(("values", "recorded"), [
    (["Sun, 06 Nov 1994 08:49:37 GMT"], True),
    (["Sunday, 06-Nov-94 08:49:37 GMT"], False), (["Sun Nov  6 08:49:37 1994"], False),  # obsolete forms
    (["Sun, 31 Feb 1994 08:49:37 GMT"], False), (["Sun, 06 Nov 1994 25:49:37 GMT"], False),
    (["yesterday"], False), (["Sun, 06 Nov 1994 08:49:37 GMT\r\nX: y"], False), ([], False),
    (["Sun, 06 Nov 1994 08:49:37 GMT"] * 2, False),
])
def test_a_last_modified_is_recorded_only_as_one_real_imf_fixdate(values, recorded):
    from copyright_guard.core.content import last_modified_of

    assert (last_modified_of(values) is not None) is recorded


def test_content_facts_carry_the_validators():
    response = ResponseView("https://a.example/", 200, {"content-type": ["text/html"], "etag": ['"v1"'],
                                                        "last-modified": ["Sun, 06 Nov 1994 08:49:37 GMT"]}, b"x")
    facts = content_facts(response)
    assert (facts.etag, facts.last_modified) == ('"v1"', "Sun, 06 Nov 1994 08:49:37 GMT")


def test_a_304_re_decision_reads_the_recorded_reasons_back_or_refuses():
    from copyright_guard.core.content import ContentFacts
    from copyright_guard.core.model import Effect, Evidence, Reason, Stage, Verdict
    from copyright_guard.core.withdrawal import unchanged_page_decision

    policy = load_policy()
    pre = evaluate("https://a.example/p", policy, now=NOW)
    recorded = Reason("tdmrep.allowed", "headers", "tdm-reservation: 0", Effect.ALLOW,
                      Evidence("headers", "header tdm-reservation: 0", "https://a.example/p", status=200,
                               fetched_at=NOW, sha256="a" * 64))
    facts = ContentFacts("b" * 64, "text/html", 1, 200, "text", '"v1"')
    page = unchanged_page_decision(pre, [recorded.as_dict()], ["headers"], facts, sent='If-None-Match: "v1"', now=NOW)
    assert page.stage is Stage.POST_FETCH and page.verdict is Verdict.ALLOW and page.content == facts
    assert page.reasons[0] == recorded and page.reasons[-1].code == "page.not-modified"
    for broken in ([{"code": "x"}], ["not a record"], [{**recorded.as_dict(), "effect": "maybe"}],
                   [{**recorded.as_dict(), "evidence": {"source": "h", "fetched_at": "soon"}}]):
        assert unchanged_page_decision(pre, broken, ["headers"], facts, sent="", now=NOW) is None
