"""W3C TDMRep: tdmrep.json, headers, HTML meta, and the protocol's precedence."""

from __future__ import annotations

import json

import pytest
from optout_helpers import decide, ev, response, site_file

from copyright_guard.core.signals import tdmrep
from copyright_guard.core.evaluate import SiteView
from copyright_guard.core.model import Effect, Signal, Value


def parse(entries) -> tdmrep.TdmrepFile:
    return tdmrep.parse_tdmrep_file(json.dumps(entries).encode())


def test_first_match_in_array_order_not_longest():
    tdm = parse([{"location": "/", "tdm-reservation": 0}, {"location": "/books/", "tdm-reservation": 1}])
    assert tdm.match("/books/x").number == 1  # "the most specific match is the first in sequence"


def test_patterns_and_no_match():
    tdm = parse([{"location": "/a/*.pdf$", "tdm-reservation": 1}, {"location": "b/", "tdm-reservation": 1}])
    assert tdm.match("/a/x/y.pdf").number == 1
    assert tdm.match("/a/y.pdf?download=1") is None
    assert tdm.match("/b/page").number == 2  # a location without "/" is read from the root
    assert tdm.match("/c") is None


def test_a_slash_in_the_query_of_a_location_still_matches():
    # FirstMatch indexes patterns by their first path segment; a "/" in the query once gave the
    # pattern a key its URLs (whose query "/" is "%2F") never had, so it never matched.
    tdm = parse([{"location": "/page?id=1/", "tdm-reservation": 1}, {"location": "/a[1]/", "tdm-reservation": 1}])
    assert tdm.match("/page?id=1/2").number == 1
    assert tdm.match("/a%5B1%5D/x").number == 2


def test_absolute_url_location_uses_its_path():
    tdm = parse([{"location": "https://example.com/news/", "tdm-reservation": 1}])
    assert tdm.match("/news/1").number == 1


@pytest.mark.parametrize(("data", "problem"), [
    (b"{not json", "not valid JSON"),
    (b"\xff\xfe[]", "not UTF-8"),
    (b'{"location": "/", "tdm-reservation": 1}', "must be a JSON array, got dict"),
    (b"[" * 100000 + b"]" * 100000, "not valid JSON"),
    (b'[{"location": "/", "tdm-reservation": 1', "not valid JSON"),  # truncated at max_bytes
    (b"", "not valid JSON"),
])
def test_unreadable_files(data, problem):
    tdm = tdmrep.parse_tdmrep_file(data)
    assert tdm.unreadable and problem in tdm.problems[0] and tdm.rules == ()
    (signal,) = tdmrep.file_signals(tdm, "/x", ev)
    assert signal.value is Value.UNKNOWN and problem in signal.detail


def test_bom_is_accepted():
    assert tdmrep.parse_tdmrep_file(b'\xef\xbb\xbf[{"location": "/", "tdm-reservation": 1}]').rules[0].reservation == 1


@pytest.mark.parametrize(("entry", "reservation", "error"), [
    ({"location": "/", "tdm-reservation": 1}, 1, ""),
    ({"location": "/", "tdm-reservation": 1.0}, 1, ""),
    ({"location": "/", "tdm-reservation": "1"}, 1, ""),  # lenient: the string reads as the number
    ({"location": "/", "tdm-reservation": True}, None, "must be 0 or 1, got true"),
    ({"location": "/", "tdm-reservation": 2}, None, "must be 0 or 1, got 2"),
    ({"location": "/", "tdm-reservation": "yes"}, None, 'got "yes"'),
    ({"location": "/"}, None, "missing"),
    ({"location": "/", "tdm-reservation": 1, "tdm-policy": ["x"]}, 1, "tdm-policy must be a URL string"),
])
def test_entry_values(entry, reservation, error):
    (rule,) = parse([entry]).rules
    assert rule.reservation == reservation and error in rule.error


def test_invalid_entries_are_recorded_and_skipped():
    tdm = parse([17, {"tdm-reservation": 1}, {"location": 5, "tdm-reservation": 1},
                 {"location": "/", "tdm-reservation": 1}])
    assert [r.number for r in tdm.rules] == [4]
    assert tdm.problems == ("entry 1 is not an object: 17",
                            'entry 2 has no location string: {"tdm-reservation":1}',
                            'entry 3 has no location string: {"location":5,"tdm-reservation":1}')
    signals = tdmrep.file_signals(tdm, "/x", ev)
    assert [s.value for s in signals] == [Value.UNKNOWN, Value.RESERVED]


def test_a_broken_first_match_means_unset_not_the_next_entry():
    tdm = parse([{"location": "/", "tdm-reservation": 7}, {"location": "/", "tdm-reservation": 1}])
    signals = tdmrep.file_signals(tdm, "/x", ev)
    assert [s.value for s in signals] == [Value.UNKNOWN]


def test_huge_file_parses_quickly():
    entries = [{"location": f"/d{i}/", "tdm-reservation": i % 2} for i in range(20000)]
    tdm = parse(entries)
    assert tdm.match("/d19999/x").reservation == 1 and tdm.match("/nope") is None


def test_header_values():
    assert tdmrep.header_signal([], [], ev()) is None
    assert tdmrep.header_signal(["  "], [], ev()) is None
    assert tdmrep.header_signal(["1", "1"], [], ev()).value is Value.RESERVED
    assert tdmrep.header_signal(["1, 1"], [], ev()).value is Value.RESERVED  # lines joined by a transport
    conflict = tdmrep.header_signal(["1", "0"], [], ev())
    assert conflict.value is Value.UNKNOWN and "conflicting" in conflict.detail
    zero = tdmrep.header_signal(["0"], ["https://p.example/policy.json"], ev())
    assert zero.value is Value.ALLOWED and "p.example" not in zero.detail  # policy irrelevant when 0


def _layer(source, value):
    return Signal(source, "tdmrep", "tdm-reservation", value, ev(source))


def test_precedence_most_specific_wins_absence_never_resets():
    file, header, meta, embedded = (_layer(s, v) for s, v in (
        ("tdmrep.json", Value.RESERVED), ("headers", Value.ALLOWED), ("html", Value.RESERVED),
        ("embedded metadata", Value.ALLOWED)))
    assert tdmrep.resolve([file, header, meta, embedded]).effective.source == "embedded metadata"
    assert tdmrep.resolve([file, header, None]).effective.value is Value.ALLOWED
    broken = _layer("html", Value.UNKNOWN)
    resolution = tdmrep.resolve([file, None, broken])
    assert resolution.effective.source == "tdmrep.json" and resolution.errors == (broken,)
    assert tdmrep.resolve([None, None]).effective is None
    assert "supersedes tdmrep.json said reserved" in tdmrep.resolve([file, header]).effective.detail


FILE = json.dumps([{"location": "/public/", "tdm-reservation": 0},
                   {"location": "/", "tdm-reservation": 1, "tdm-policy": "https://example.com/policy.json"}]).encode()


def test_evaluate_file_reservation_cites_the_entry(now):
    site = SiteView(tdmrep=site_file("tdmrep.json", FILE, now))
    decision = decide("/books/1", now, site)
    (reason,) = decision.reasons
    assert (decision.verdict.value, reason.code) == ("deny", "tdmrep.reserved")
    assert reason.evidence.location == ('tdmrep.json entry 2: {"location":"/","tdm-reservation":1,'
                                        '"tdm-policy":"https://example.com/policy.json"}')
    assert "tdm-policy https://example.com/policy.json" in reason.detail
    assert reason.evidence.url == "https://example.com/.well-known/tdmrep.json" and reason.evidence.body == FILE
    assert decide("/public/x", now, site).verdict.value == "allow"
    # TDM reservations cover AI training and mining, not search
    assert decide("/books/1", now, site, purpose="search").verdict.value == "allow"


def test_evaluate_post_fetch_header_overrides_file_zero(now):
    site = SiteView(tdmrep=site_file("tdmrep.json", FILE, now))
    resp = response("/public/x", {"tdm-reservation": ["1"], "tdm-policy": ["https://example.com/p.json"]},
                    content_type="image/png")
    decision = decide("/public/x", now, site, resp=resp)
    (reason,) = decision.reasons
    assert (reason.code, reason.source) == ("tdmrep.reserved", "headers")
    assert "supersedes tdmrep.json said allowed" in reason.detail and "tdm-policy https://example.com/p.json" in reason.detail


def test_evaluate_meta_overrides_header(now):
    html = b'<html><head><meta name="TDM-Reservation" content="0"></head><body></body></html>'
    decision = decide("/a", now, resp=response("/a", {"tdm-reservation": ["1"]}, html))
    assert decision.verdict.value == "allow"
    assert [(r.code, r.effect, r.source) for r in decision.reasons] == [("tdmrep.allowed", Effect.ALLOW, "html")]


def test_evaluate_invalid_header_does_not_reset_the_file(now):
    site = SiteView(tdmrep=site_file("tdmrep.json", FILE, now))
    decision = decide("/public/a", now, site, resp=response("/public/a", {"tdm-reservation": ["true"]}, content_type="text/plain"))
    assert [(r.code, r.effect) for r in decision.reasons] == [("tdmrep.unreadable", Effect.NOTE)]
    assert "got 'true'" in decision.reasons[0].detail


def test_first_match_across_segments_keeps_array_order():
    tdm = parse([{"location": "*.pdf", "tdm-reservation": 1}, {"location": "/books/", "tdm-reservation": 0},
                 {"location": "/bo", "tdm-reservation": 1}, {"location": "/books/x", "tdm-reservation": 1},
                 {"location": "/caf\u00e9/", "tdm-reservation": 1}])
    assert tdm.match("/books/a.pdf").number == 1  # the generic glob comes first
    assert tdm.match("/books/x").number == 2
    assert tdm.match("/bottle/").number == 3  # "/bo" reaches no second "/": tried for every path
    assert tdm.match("/caf%C3%A9/menu").number == 5
    assert tdm.match("/other/") is None
