"""Embedded asset metadata: dispatch, policy switches, never-crash, and the post-fetch decision."""

from __future__ import annotations

import random
from datetime import datetime, timezone
from pathlib import Path

import pytest

from copyright_guard.core.embedded import c2pa, jpeg, scan as embedded
from copyright_guard.core.embedded.scan import asset_kind, embedded_signals
from copyright_guard.core.evaluate import evaluate
from copyright_guard.core.model import Effect, ResponseView, Signal, Stage, Value, Verdict
from copyright_guard.core.policy import load_policy, parse_policy

ASSETS = Path(__file__).resolve().parents[1] / "data" / "assets"
FIXTURES = sorted(p for p in ASSETS.iterdir() if p.suffix not in {".py", ".txt", ".md"} and p.is_file())
NOW = datetime(2026, 11, 23, 12, 0, tzinfo=timezone.utc)
POLICY = load_policy()


def response(name: str, content_type: str | None = None, body: bytes | None = None) -> ResponseView:
    headers = {"content-type": [content_type]} if content_type else {}
    data = (ASSETS / name).read_bytes() if body is None else body
    return ResponseView(f"https://example.com/{name}", 200, headers, data, final_url=f"https://cdn.example.com/{name}", fetched_at=NOW)


@pytest.mark.parametrize(
    ("content_type", "body", "kind"),
    [
        ("text/html", b"\xff\xd8\xff <html>", None),  # a declared text type is never scanned
        ("application/xhtml+xml", b"<html/>", None),
        ("application/json", b"{}", None),
        ("image/jpeg", b"", "JPEG"),
        ("image/svg+xml", b"<svg/>", "SVG"),
        ("application/octet-stream", b"\x89PNG\r\n\x1a\n....", "PNG"),
        ("", b"GIF89a....", "GIF"),
        ("", b"RIFF\x00\x00\x00\x00WEBPVP8 ", "WEBP"),
        ("", b"MM\x00*\x00\x00\x00\x08", "TIFF"),
        ("", b"junk\n%PDF-1.7\n", "PDF"),
        ("", b"\x00\x00\x00\x1cftypavif", "AVIF"),
        ("image/jpeg", b"\x89PNG\r\n\x1a\n", "PNG"),  # the bytes say what it really is
        ("video/x-unusual", b"\x00" * 16, "video/x-unusual"),
        ("application/octet-stream", b"just bytes", None),
    ],
)
def test_asset_kind(content_type, body, kind):
    assert asset_kind(content_type, body) == kind


def test_epub_is_known_by_type_or_by_its_mimetype_entry():
    data = (ASSETS / "epub3_tdm_reserved.epub").read_bytes()
    assert asset_kind("application/epub+zip", data) == "EPUB"
    assert asset_kind("application/zip", data) == "EPUB"
    assert asset_kind("", data) == "EPUB"


@pytest.mark.parametrize(
    ("name", "content_type", "expected"),
    [
        ("jpeg_dmi_prohibited_aiml.jpg", "image/jpeg", [("iptc", "DMI-PROHIBITED-AIMLTRAINING", Value.RESERVED)]),
        ("png_dmi_allowed.png", "application/octet-stream", [("iptc", "DMI-ALLOWED", Value.ALLOWED)]),
        ("pdf_xmp_tdm_reserved.pdf", "application/pdf", [("tdmrep", "tdm-reservation", Value.RESERVED)]),
        ("epub2_tdm_reserved.epub", "application/epub+zip", [("tdmrep", "tdm-reservation", Value.RESERVED)]),
        ("epub3_tdm_reserved.epub", None, [("tdmrep", "tdm-reservation", Value.RESERVED)]),
        ("jpeg_plain.jpg", "image/jpeg", []),
        ("pdf_plain.pdf", "application/pdf", []),
    ],
)
def test_dispatch_by_kind(name, content_type, expected):
    found = embedded_signals(response(name, content_type), POLICY)
    assert [(s.vocabulary, s.category, s.value) for s in found] == expected


@pytest.mark.parametrize(
    ("name", "expected", "container"),
    [
        ("pdf_xmp_flate_tdm_reserved.pdf", ("tdmrep", "tdm-reservation", Value.RESERVED), "in FlateDecode metadata stream at byte"),
        ("png_compressed_itxt_dmi_prohibited.png", ("iptc", "DMI-PROHIBITED", Value.RESERVED), "in compressed iTXt chunk at byte"),
    ],
)
def test_compressed_metadata_streams_are_inflated(name, expected, container):
    (found,) = embedded_signals(response(name), POLICY)
    assert (found.vocabulary, found.category, found.value) == expected
    assert container in found.evidence.location


def test_a_deflate_bomb_stops_at_the_packet_bound():
    (found,) = embedded_signals(response("malformed_pdf_deflate_bomb.pdf"), POLICY)
    assert found.value is Value.UNKNOWN
    assert "has no end marker before 1048576 bytes in FlateDecode metadata stream" in found.detail


def test_images_are_checked_for_xmp_and_c2pa_together():
    data = (ASSETS / "c2pa_cawg_signed.jpg").read_bytes()
    xmp = (ASSETS / "jpeg_dmi_prohibited_aiml.jpg").read_bytes()
    packet = xmp[xmp.find(b"<?xpacket begin"): xmp.find(b"<?xpacket end")] + b'<?xpacket end="w"?>'
    app1 = b"\xff\xe1" + (len(packet) + 31).to_bytes(2, "big") + b"http://ns.adobe.com/xap/1.0/\x00" + packet
    found = embedded_signals(response("both.jpg", "image/jpeg", data[:2] + app1 + data[2:]), POLICY)
    assert {s.vocabulary for s in found} == {"iptc", "c2pa"}


def test_a_jpeg_is_scanned_up_to_its_first_scan_only():
    # T.81: metadata segments precede SOS; what trails the image data is not the image's metadata.
    data = (ASSETS / "jpeg_plain.jpg").read_bytes()
    xmp = (ASSETS / "jpeg_dmi_prohibited_aiml.jpg").read_bytes()
    assert embedded_signals(response("trailing.jpg", "image/jpeg", data + xmp[2:]), POLICY) == []
    assert jpeg.header_end(data) == data.find(b"\xff\xda")
    assert jpeg.header_end(b"\xff\xd8\x00 broken") == len(b"\xff\xd8\x00 broken")


def test_evidence_points_at_the_response():
    (found,) = embedded_signals(response("jpeg_dmi_prohibited_aiml.jpg", "image/jpeg"), POLICY)
    assert found.source == "embedded metadata"
    evidence = found.evidence
    assert (evidence.url, evidence.final_url, evidence.status, evidence.fetched_at) == (
        "https://example.com/jpeg_dmi_prohibited_aiml.jpg", "https://cdn.example.com/jpeg_dmi_prohibited_aiml.jpg", 200, NOW)


def test_switched_off_by_the_policy():
    policy = parse_policy("[sources]\nembedded_metadata = false\n")
    assert embedded_signals(response("jpeg_dmi_prohibited_aiml.jpg", "image/jpeg"), policy) == []


def test_tdmrep_switched_off_drops_only_tdmrep():
    policy = parse_policy("[sources]\ntdmrep = false\n")
    assert embedded_signals(response("epub2_tdm_reserved.epub", "application/epub+zip"), policy) == []
    assert embedded_signals(response("jpeg_dmi_prohibited_aiml.jpg", "image/jpeg"), policy) != []


def test_empty_body_states_nothing():
    assert embedded_signals(response("x.jpg", "image/jpeg", b""), POLICY) == []


def test_a_parser_bug_becomes_an_unreadable_signal(monkeypatch):
    def broken(*args):
        raise IndexError("index out of range")

    monkeypatch.setattr(embedded, "xmp_signals", broken)
    (found,) = embedded_signals(response("jpeg_plain.jpg", "image/jpeg"), POLICY)
    assert found.value is Value.UNKNOWN
    assert "embedded metadata parser failed: IndexError: index out of range" in found.detail


# --- malformed input: never an exception -----------------------------------------------------


CONTENT_TYPES = ["image/jpeg", "image/png", "image/webp", "image/tiff", "image/gif", "application/pdf",
                 "application/epub+zip", "application/octet-stream", ""]


@pytest.mark.parametrize("native", [True, False], ids=["c2pa-python", "built-in"])
def test_truncated_and_corrupted_fixtures_never_raise(native, monkeypatch):
    if native and c2pa.native_reader() is None:
        pytest.skip("c2pa-python not installed (extra 'c2pa')")
    if not native:
        monkeypatch.setattr(c2pa, "native_reader", lambda: None)
    rng = random.Random(20261123)
    checked = 0
    for path in FIXTURES:
        data = path.read_bytes()
        variants = [data[:cut] for cut in sorted({1, 7, len(data) // 3, len(data) // 2, len(data) - 1})]
        for _ in range(5):
            flipped = bytearray(data)
            for _ in range(8):
                flipped[rng.randrange(len(flipped))] = rng.randrange(256)
            variants.append(bytes(flipped))
        for variant in variants:
            found = embedded_signals(response(path.name, None, variant), POLICY)
            assert all(isinstance(s, Signal) and (s.value is not Value.UNKNOWN or s.detail or s.category == "DMI-UNSPECIFIED")
                       for s in found), (path.name, found)
            checked += 1
    assert checked == len(FIXTURES) * 10


def test_random_bytes_under_every_content_type_never_raise():
    rng = random.Random(7)
    for content_type in CONTENT_TYPES:
        for size in (1, 17, 4096):
            body = bytes(rng.randrange(256) for _ in range(size))
            found = embedded_signals(response("r", content_type, body), POLICY)
            if content_type == "application/epub+zip":  # declared a book, but is no ZIP: say so
                assert [s.detail for s in found] == ["EPUB: EPUB unreadable: not a ZIP archive (File is not a zip file)"]
            else:  # no metadata to find, and no noise
                assert found == []


def test_every_malformed_fixture_is_unreadable_with_a_reason():
    for path in (p for p in FIXTURES if p.name.startswith("malformed_")):
        found = embedded_signals(response(path.name), POLICY)
        assert found and all(s.value is Value.UNKNOWN and s.detail for s in found), path.name


# --- through the one decision entry point -----------------------------------------------------


def test_post_fetch_decision_denies_a_prohibited_image():
    decision = evaluate("https://example.com/photo.jpg", POLICY, now=NOW,
                        response=response("jpeg_dmi_prohibited_aiml.jpg", "image/jpeg"))
    assert decision.stage is Stage.POST_FETCH and decision.verdict is Verdict.DENY
    (reason,) = [r for r in decision.reasons if r.code == "iptc.reserved"]
    assert reason.evidence.location.startswith("JPEG XMP plus:DataMining = http://ns.useplus.org/ldf/vocab/DMI-PROHIBITED-AIMLTRAINING")


def test_post_fetch_purpose_decides_what_a_label_covers():
    # DMI-PROHIBITED-EXCEPTSEARCHENGINEINDEXING leaves search open.
    gif = response("gif_dmi_except_search.gif", "image/gif")
    assert evaluate("https://example.com/a.gif", POLICY, now=NOW, response=gif).verdict is Verdict.DENY
    assert evaluate("https://example.com/a.gif", POLICY, now=NOW, response=gif, purpose="search").verdict is Verdict.ALLOW


def test_post_fetch_c2pa_reservation_denies_training():
    decision = evaluate("https://example.com/c.jpg", POLICY, now=NOW, response=response("c2pa_cawg_signed.jpg", "image/jpeg"))
    assert decision.verdict is Verdict.DENY
    assert {r.code for r in decision.reasons} >= {"c2pa.reserved"}


def test_embedded_tdmrep_overrides_an_allowing_header():
    # TDMRep "Processing priority": EPUB/PDF metadata supersedes the tdm-reservation header.
    view = response("epub3_tdm_reserved.epub", "application/epub+zip")
    view = ResponseView(view.url, 200, {**view.headers, "tdm-reservation": ["0"]}, view.body)
    decision = evaluate("https://example.com/book.epub", POLICY, now=NOW, response=view)
    (reason,) = [r for r in decision.reasons if r.code.startswith("tdmrep.")]
    assert reason.code == "tdmrep.reserved" and reason.effect is Effect.DENY
    assert reason.source == "embedded metadata"


def test_unreadable_metadata_is_a_note_by_default_and_a_deny_when_the_policy_says():
    view = response("malformed_jpeg_xml_bomb.jpg", "image/jpeg")
    decision = evaluate("https://example.com/b.jpg", POLICY, now=NOW, response=view)
    (reason,) = [r for r in decision.reasons if r.code == "iptc.unreadable"]
    assert reason.effect is Effect.NOTE and decision.verdict is Verdict.ALLOW
    strict = parse_policy('[on_failure]\nunreadable_signal = "deny"\n')
    assert evaluate("https://example.com/b.jpg", strict, now=NOW, response=view).verdict is Verdict.DENY


def test_every_category_emitted_is_in_the_purpose_table():
    # The contract with core/purposes.py: a category it does not know would silently cover nothing.
    from copyright_guard.core import purposes
    from copyright_guard.core.embedded import xmp

    emitted = [("iptc", key) for key, value in xmp.DMI_VALUES.items() if value is not Value.UNKNOWN]
    emitted += [("c2pa", entry) for entry in c2pa.ENTRIES] + [("tdmrep", "tdm-reservation")]
    assert [pair for pair in emitted if not purposes.known(*pair)] == []
    assert purposes.covers("iptc", "DMI-PROHIBITED-AIMLTRAINING", "train-ai")
    assert purposes.covers("c2pa", "ai_generative_training", "train-genai")
