"""asset_signals: headers, HTML head, embedded metadata, TDMRep precedence, hostile input."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from optout_helpers import decide, policy, response

from copyright_guard.core.signals import assets
from copyright_guard.core.model import Effect, Evidence
from copyright_guard.core.urls import parse_target

ASSETS = Path(__file__).resolve().parents[1] / "data" / "assets"


def test_header_evidence_is_a_canonical_block(now):
    resp = response("/a", {"X-Robots-Tag": ["noai"], "Content-Usage": ["train-ai=n"], "Set-Cookie": ["s=1"],
                           "Tdm-Reservation": ["1"]}, content_type="text/plain")
    decision = decide("/a", now, resp=resp)
    block = b"content-type: text/plain\ncontent-usage: train-ai=n\ntdm-reservation: 1\nx-robots-tag: noai\n"
    assert {r.evidence.body for r in decision.reasons} == {block}
    assert {r.evidence.sha256 for r in decision.reasons} == {hashlib.sha256(block).hexdigest()}
    assert sorted(r.code for r in decision.reasons) == ["aipref.reserved", "robots-meta.reserved", "tdmrep.reserved"]
    assert all(r.evidence.url == "https://example.com/a" and r.evidence.status == 200 for r in decision.reasons)


@pytest.mark.parametrize(("name", "value"), [
    ("content-usage", "train-ai=n" + " " * 9000),
    ("tdm-reservation", "1\x00"),
    ("link", "<https://x.example/l.xml>; rel=license\x1b[31m"),
])
def test_hostile_headers_are_unreadable(now, name, value):
    decision = decide("/a", now, resp=response("/a", {name: [value]}, content_type="image/png"))
    (reason,) = decision.reasons
    assert reason.code.endswith(".unreadable") and reason.effect is Effect.NOTE
    assert len(reason.detail) < 200


def test_html_only_for_html(now):
    body = b'<head><meta name="tdm-reservation" content="1"></head>'
    assert decide("/a", now, resp=response("/a", body=body)).verdict.value == "deny"
    assert decide("/a", now, resp=response("/a", body=body, content_type="application/json")).verdict.value == "allow"
    assert decide("/a", now, resp=response("/a", body=body, content_type="application/xhtml+xml")).verdict.value == "deny"


def test_embedded_metadata_through_core_embedded(now):
    jpeg = (ASSETS / "jpeg_dmi_prohibited_aiml.jpg").read_bytes()
    decision = decide("/p.jpg", now, resp=response("/p.jpg", body=jpeg, content_type="image/jpeg"))
    assert [r.code for r in decision.deny_reasons] == ["iptc.reserved"]
    off = policy("[sources]\nembedded_metadata = false\n")
    assert decide("/p.jpg", now, resp=response("/p.jpg", body=jpeg, content_type="image/jpeg"), pol=off).verdict.value == "allow"


def test_embedded_tdmrep_is_the_most_specific_layer(now):
    epub = (ASSETS / "epub3_tdm_reserved.epub").read_bytes()
    resp = response("/b.epub", {"tdm-reservation": ["0"]}, epub, content_type="application/epub+zip")
    decision = decide("/b.epub", now, resp=resp)
    (reason,) = decision.reasons
    assert reason.code == "tdmrep.reserved" and reason.source == "embedded metadata"
    assert "supersedes headers said allowed" in reason.detail


def test_a_failing_embedded_reader_is_recorded(now, monkeypatch):
    def broken(response, policy):
        raise RuntimeError("boom")

    monkeypatch.setattr(assets, "_EMBEDDED", [broken])
    (reason,) = decide("/p.jpg", now, resp=response("/p.jpg", body=b"x", content_type="image/jpeg")).reasons
    assert reason.code == "embedded.unreadable" and "RuntimeError: boom" in reason.detail


def test_nothing_relevant_means_no_signals_and_no_hashing():
    resp = response("/a", {"Cache-Control": ["no-store"]}, b"<html><head><title>x</title></head></html>")
    from optout_helpers import policy as make

    assert assets.asset_signals(parse_target("https://example.com/a"), resp, None, make()) == []


def test_random_input_never_raises(now):
    """Every opt-out parser on random bytes and mutated real inputs: a result, never an exception."""
    import random

    from copyright_guard.core.signals import ai_txt, aipref, content_signal, html, robots_meta, rsl, tdmrep

    rng = random.Random(20261123)
    seeds = [b'[{"location": "/", "tdm-reservation": 1}]', b"User-agent: *\nDisallow: *.jpg\n",
             b'<rsl><content url="/"><license><prohibits type="usage">ai-train</prohibits></license></content></rsl>',
             b'<html><head><meta name="robots" content="noai"><link rel=license type=application/rsl+xml href=/l>'
             b'<script type="application/ld+json">{}</script></head><body itemprop=x></body></html>']
    for _ in range(400):
        seed = bytearray(rng.choice(seeds))
        for _ in range(rng.randint(1, 8)):
            seed[rng.randrange(len(seed))] = rng.randrange(256)
        data = bytes(seed) if rng.random() < 0.8 else rng.randbytes(rng.randint(0, 300))
        text = data.decode("latin-1")
        tdmrep.file_signals(tdmrep.parse_tdmrep_file(data), "/x", lambda loc: Evidence("t", loc))
        ai_txt.file_signals(ai_txt.parse_ai_txt(data), "/x", lambda loc: Evidence("t", loc))
        rsl.document_signals(rsl.parse_rsl(data), "https://example.com", "/x", "L", lambda loc: Evidence("t", loc), "rsl", "path")
        head = html.scan_html(data)
        head.json_ld, head.itemprops, head.metas, head.links  # noqa: B018 - force the lazy parts
        aipref.parse_preferences(text)
        content_signal.parse_line(text)
        robots_meta.parse_directives(text)
        rsl.link_header_licences([text])
        resp = response("/x", {"Content-Usage": [text], "X-Robots-Tag": [text], "tdm-reservation": [text],
                               "Link": [text]}, data, content_type=rng.choice(["text/html", "image/png", ""]))
        decide("/x", now, resp=resp)
