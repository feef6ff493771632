"""location_signals: which site-wide sources apply, and the evidence they carry."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import timedelta

from optout_helpers import decide, policy, site_file

from copyright_guard.core.evaluate import SiteView
from copyright_guard.core.signals.location import location_signals
from copyright_guard.core.model import Evidence, SiteFile, SiteFileStatus, sha256_hex
from copyright_guard.core.urls import parse_target

ROBOTS = b"User-agent: *\nContent-Usage: train-ai=n\nContent-Signal: ai-train=no\n"
TDM = json.dumps([{"location": "/", "tdm-reservation": 1}]).encode()
AI_TXT = b"User-agent: *\nDisallow: /\n"


def _site(now):
    return SiteView(robots=site_file("robots.txt", ROBOTS, now), tdmrep=site_file("tdmrep.json", TDM, now),
                    ai_txt=site_file("ai.txt", AI_TXT, now))


def test_every_source_lists_its_reason_with_exact_evidence(now):
    decision = decide("/x", now, _site(now))
    assert sorted((r.code, r.evidence.location) for r in decision.reasons) == [
        ("ai-txt.reserved", "ai.txt line 2: Disallow: /"),
        ("aipref.reserved", "robots.txt line 2: Content-Usage: train-ai=n"),
        ("content-signal.reserved", "robots.txt line 3: Content-Signal: ai-train=no"),
        ("tdmrep.reserved", 'tdmrep.json entry 1: {"location":"/","tdm-reservation":1}'),
    ]
    for reason in decision.reasons:
        assert reason.evidence.sha256 == sha256_hex(reason.evidence.body)
        assert reason.evidence.status == 200 and reason.evidence.fetched_at == now


def test_each_source_can_be_switched_off(now):
    off = policy("[sources]\ncontent_usage = false\ncontent_signal = false\ntdmrep = false\nai_txt = false\n")
    assert location_signals(parse_target("https://example.com/x"), _site(now), off) == []


def test_last_good_copy_of_an_unreachable_file_cites_its_own_fetch(now):
    good = site_file("tdmrep.json", TDM, now - timedelta(days=40))
    unreachable = SiteFile("tdmrep.json", good.origin, SiteFileStatus.UNREACHABLE,
                           Evidence("tdmrep.json", url=good.evidence.url, status=503, fetched_at=now), now,
                           now + timedelta(hours=1), parsed=good.parsed, last_good=good, error="HTTP 503")
    decision = decide("/x", now, SiteView(tdmrep=unreachable))
    (reason,) = decision.reasons
    assert reason.code == "tdmrep.reserved" and reason.evidence.status == 200
    assert reason.evidence.fetched_at == now - timedelta(days=40) and reason.evidence.body == TDM


def test_unavailable_files_say_nothing(now):
    missing = replace(site_file("ai.txt", b"", now), status=SiteFileStatus.UNAVAILABLE, parsed=None)
    assert decide("/x", now, SiteView(ai_txt=missing)).reasons == ()


def test_a_site_file_left_unparsed_is_parsed_here(now):
    unparsed = replace(site_file("ai.txt", AI_TXT, now), parsed=None)
    assert [r.code for r in decide("/x", now, SiteView(ai_txt=unparsed)).reasons] == ["ai-txt.reserved"]
