"""RSL licences: discovery (robots.txt, Link header, HTML) and permits/prohibits usage."""

from __future__ import annotations

import pytest
from optout_helpers import decide, ev, policy, response, site_file

from copyright_guard.core.signals import rsl
from copyright_guard.core.evaluate import SiteView
from copyright_guard.core.model import Effect, Value

LICENCE = b"""<?xml version="1.0" encoding="UTF-8"?>
<rsl xmlns="https://rslstandard.org/rsl">
  <content url="/news/*" server="https://licensing.example/api">
    <license>
      <permits type="usage">search, ai-input</permits>
      <prohibits type="usage">ai-train</prohibits>
      <payment type="crawl"><amount currency="USD">0.01</amount></payment>
    </license>
  </content>
  <content url="https://other.example/">
    <license><prohibits type="usage">all</prohibits></license>
  </content>
  <content url="/open/">
    <license><permits type="usage">train-ai</permits><prohibits type="user">commercial</prohibits></license>
  </content>
</rsl>"""


def _signals(origin, path, data=LICENCE):
    return {(s.category, s.value) for s in
            rsl.document_signals(rsl.parse_rsl(data), origin, path, "https://example.com/license.xml", ev, "rsl", "path")}


def test_usage_terms_for_matching_content_only():
    assert _signals("https://example.com", "/news/1") == {
        # permitted only through the licence server and for a payment: not ours until obtained
        ("search", Value.RESERVED), ("ai-input", Value.RESERVED), ("ai-train", Value.RESERVED)}
    assert _signals("https://example.com", "/open/x") == {("train-ai", Value.ALLOWED)}  # user terms ignored
    assert _signals("https://example.com", "/") == set()  # the absolute URL names another origin
    assert _signals("https://other.example", "/x") == {("all", Value.RESERVED)}


@pytest.mark.parametrize("written", ["https://Other.Example.:443/", "https://OTHER.example/", "https://u@other.example/"])
def test_an_absolute_content_url_names_its_origin_normalised(written):
    data = f'<rsl><content url="{written}"><license><prohibits type="usage">all</prohibits></license></content></rsl>'
    assert _signals("https://other.example", "/x", data.encode()) == {("all", Value.RESERVED)}


def test_an_international_content_url_matches_its_punycode_origin():
    data = '<rsl><content url="https://bücher.example/"><license><prohibits type="usage">all</prohibits></license></content></rsl>'
    assert _signals("https://xn--bcher-kva.example", "/x", data.encode()) == {("all", Value.RESERVED)}
    assert _signals("https://example.com", "/x", data.encode()) == set()


def test_conditions_are_in_the_detail():
    (reserved,) = [s for s in rsl.document_signals(rsl.parse_rsl(LICENCE), "https://example.com", "/news/1",
                                                   "L", ev, "rsl", "path") if s.category == "ai-train"]
    assert "licence server https://licensing.example/api" in reserved.detail and "payment crawl" in reserved.detail
    assert reserved.evidence.location == 'RSL licence L <content url="/news/*">: prohibits usage ai-train'


@pytest.mark.parametrize(("data", "problem"), [
    (b"not xml", "not well-formed"),
    (b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;">]><rsl>&b;</rsl>', "forbidden"),
    (b'<!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]><rsl>&x;</rsl>', "forbidden"),
    (b"<html><body/></html>", "expected <rsl>"),
    (b"<rsl><content/></rsl>", "no url attribute"),
    (b"<rsl/>", "no <content> element"),
    (b"<rsl><content url='/'><license>" + b"<x>" * 5000, "not well-formed"),
])
def test_malformed_licences(data, problem):
    doc = rsl.parse_rsl(data)
    assert doc.unreadable and problem in " ".join(doc.problems)
    (signal,) = rsl.document_signals(doc, "https://example.com", "/", "L", ev, "rsl", "path")
    assert signal.value is Value.UNKNOWN and "unreadable" in signal.detail


def test_link_header_discovery():
    values = ['<https://a.example/l.xml>; rel="license"; type="application/rsl+xml", <https://cc.example/by>; rel=license',
              "<https://b.example/x.xml>;type=application/rsl+xml;rel=\"alternate license\"", "garbage<<>>;;"]
    assert rsl.link_header_licences(values) == ["https://a.example/l.xml", "https://b.example/x.xml"]


def test_evaluate_robots_named_licence(now):
    robots = b"License: https://example.com/license.xml\nUser-agent: *\nAllow: /\n"
    licence = site_file("rsl", LICENCE, now, url="https://example.com/license.xml")
    site = SiteView(robots=site_file("robots.txt", robots, now), rsl=(licence,))
    decision = decide("/news/today", now, site)
    (deny,) = decision.deny_reasons
    assert deny.code == "rsl.reserved" and deny.evidence.url == "https://example.com/license.xml"
    assert deny.evidence.body == LICENCE
    # search is permitted only through the licence server, for a payment: reserved until obtained
    (search,) = decide("/news/today", now, site, purpose="search").deny_reasons
    assert "permits usage search only under a licence we must obtain" in search.detail
    assert "licence server https://licensing.example/api" in search.detail
    assert decide("/open/page", now, site, purpose="train-ai").verdict.value == "allow"  # free, no server


def test_a_contract_in_the_policy_lifts_a_licence_server_condition(now):
    robots = b"License: https://example.com/license.xml\nUser-agent: *\nAllow: /\n"
    licence = site_file("rsl", LICENCE, now, url="https://example.com/license.xml")
    site = SiteView(robots=site_file("robots.txt", robots, now), rsl=(licence,))
    contracted = policy('[[licences]]\nsource = "https://example.com/news/"\ncontract = "RSL-2026-7"\n'
                        'purposes = ["search"]\n')
    decision = decide("/news/today", now, site, purpose="search", pol=contracted)
    assert decision.verdict.value == "allow" and "RSL-2026-7" in " ".join(r.detail for r in decision.reasons)


def test_evaluate_linked_licence_post_fetch(now):
    licence = site_file("rsl", LICENCE, now, url="https://example.com/license.xml")
    known = response("/news/a", {"Link": ['<https://example.com/license.xml>; rel="license"; type="application/rsl+xml"']})
    decision = decide("/news/a", now, SiteView(rsl=(licence,)), resp=known)
    assert "rsl.reserved" in [r.code for r in decision.deny_reasons]
    unknown = response("/x", {"Link": ['<https://elsewhere.example/l.xml>; rel="license"; type="application/rsl+xml"']})
    (note,) = decide("/x", now, resp=unknown).reasons
    assert (note.code, note.effect) == ("rsl.unreadable", Effect.NOTE)
    assert "https://elsewhere.example/l.xml" in note.evidence.location and "not retrieved" in note.detail


def test_evaluate_html_link_and_inline_licence(now):
    page = (b'<html><head><link rel="License" type="application/rsl+xml" href="/l.xml">'
            b'<script type="application/rsl+xml"><rsl><content url="/"><license>'
            b'<prohibits type="usage">train-ai</prohibits></license></content></rsl></script></head></html>')
    decision = decide("/p", now, resp=response("/p", body=page))
    assert sorted((r.code, r.source) for r in decision.reasons) == [("rsl.reserved", "html"), ("rsl.unreadable", "html")]


def test_relative_links_resolve_against_the_page(now):
    licence = site_file("rsl", LICENCE, now, url="https://example.com/license.xml")
    page = b'<head><link rel="license" type="application/rsl+xml" href="../license.xml"></head>'
    decision = decide("/news/a", now, SiteView(rsl=(licence,)), resp=response("/news/a", body=page))
    assert [r.code for r in decision.deny_reasons] == ["rsl.reserved"]
