"""C2PA / CAWG training-and-data-mining assertions (core/embedded/c2pa.py, core/embedded/jumbf.py).

Each behaviour is checked with both readers: c2pa-python (the ``c2pa`` extra; installed with the
dev extra, skipped if absent) and the built-in JUMBF + CBOR reader used when it is not installed.
"""

from __future__ import annotations

import json
import struct
from pathlib import Path

import cbor2
import pytest

from copyright_guard.core.embedded import c2pa, jumbf
from copyright_guard.core.embedded.evidence import AssetEvidence
from copyright_guard.core.model import ResponseView, Value, sha256_hex

ASSETS = Path(__file__).resolve().parents[1] / "data" / "assets"
HAS_NATIVE = c2pa.native_reader() is not None


@pytest.fixture(params=["built-in", "c2pa-python"])
def reader(request, monkeypatch):
    """Run the test with each reader; the built-in one is what users without the extra get."""
    if request.param == "built-in":
        monkeypatch.setattr(c2pa, "native_reader", lambda: None)
    elif not HAS_NATIVE:
        pytest.skip("c2pa-python not installed (extra 'c2pa')")
    return request.param


@pytest.fixture
def builtin_only(monkeypatch):
    monkeypatch.setattr(c2pa, "native_reader", lambda: None)


def signals(data: bytes, kind: str):
    return c2pa.c2pa_signals(data, AssetEvidence(ResponseView("https://example.com/a", 200, {}, data), kind))


def summary(found):
    return sorted((s.category, s.value) for s in found)


def test_cawg_assertion_in_a_signed_jpeg(reader):
    found = signals((ASSETS / "c2pa_cawg_signed.jpg").read_bytes(), "JPEG")
    assert summary(found) == [
        ("ai_generative_training", Value.RESERVED),  # constrained counts as notAllowed (CAWG 1.1)
        ("ai_inference", Value.ALLOWED),
        ("ai_training", Value.RESERVED),
        ("data_mining", Value.ALLOWED),
    ]
    constrained = next(s for s in found if s.category == "ai_generative_training")
    assert "constraint: 'licence required: https://example.com/licence'" in constrained.detail
    assert all(s.vocabulary == "c2pa" and s.source == "embedded metadata" for s in found)


def test_c2pa_v1_label_and_prefix_in_a_signed_png(reader):
    found = signals((ASSETS / "c2pa_v1_signed.png").read_bytes(), "PNG")
    assert summary(found) == [(entry, Value.RESERVED) for entry in sorted(c2pa.ENTRIES)]
    assert all("C2PA c2pa.training-mining: c2pa." in s.detail for s in found)


def test_the_detail_says_how_far_the_manifest_was_checked(reader):
    (first, *_) = signals((ASSETS / "c2pa_cawg_signed.jpg").read_bytes(), "JPEG")
    if reader == "built-in":
        assert "(signature not validated: c2pa-python not installed)" in first.detail
    else:
        # The fixture's signer is a throw-away test CA: valid signature, untrusted signer.
        assert "(c2pa-python validation state: Valid)" in first.detail


def test_plain_images_get_no_c2pa_signal(reader):
    for name, kind in (("jpeg_plain.jpg", "JPEG"), ("png_dmi_allowed.png", "PNG"), ("jpeg_dmi_prohibited_aiml.jpg", "JPEG")):
        assert signals((ASSETS / name).read_bytes(), kind) == []


def test_the_markers_alone_are_a_false_alarm(reader):
    assert signals(b"\xff\xd8\xff\xe0 text that says jumb and c2pa, but holds no JUMBF box", "JPEG") == []


def test_unsigned_stores_are_read_by_the_built_in_reader_even_with_c2pa_python(reader):
    # c2pa-python refuses a store without a claim; the reservation in it is still read.
    found = signals((ASSETS / "jumbf_handbuilt_cawg.png").read_bytes(), "PNG")
    assert summary(found) == [("ai_training", Value.RESERVED), ("data_mining", Value.ALLOWED)]
    # CAWG's prose spells it constraints_info, its CDDL constraint_info: both are quoted.
    assert "constraint: 'ask first'" in found[0].detail
    if reader == "c2pa-python":
        assert "c2pa-python could not read the manifest" in found[0].detail


def test_json_content_box_and_instance_suffix(builtin_only):
    (found,) = signals((ASSETS / "jumbf_handbuilt_json.png").read_bytes(), "PNG")
    assert (found.category, found.value) == ("ai_inference", Value.RESERVED)
    assert "assertion c2pa.training-mining__1" in found.evidence.location


def test_evidence_keeps_the_assertion_payload(builtin_only):
    data = (ASSETS / "jumbf_handbuilt_cawg.png").read_bytes()
    found = signals(data, "PNG")
    payload = cbor2.dumps({"entries": {"cawg.ai_training": {"use": "constrained", "constraints_info": "ask first"},
                                       "cawg.data_mining": {"use": "allowed"}}})
    assert {s.evidence.body for s in found} == {payload}
    assert {s.evidence.sha256 for s in found} == {sha256_hex(payload)}
    assert f"asset sha256 {sha256_hex(data)}" in found[0].evidence.location


def test_a_malformed_store_without_c2pa_python_says_not_checked(builtin_only):
    for name, kind in (("malformed_jumbf_bad_lengths.png", "PNG"), ("malformed_c2pa_truncated.jpg", "JPEG")):
        (found,) = signals((ASSETS / name).read_bytes(), kind)
        assert (found.vocabulary, found.value) == ("c2pa", Value.UNKNOWN)
        assert "c2pa-python not installed: C2PA manifests not checked; built-in reader: JUMBF box" in found.detail


@pytest.mark.skipif(not HAS_NATIVE, reason="c2pa-python not installed (extra 'c2pa')")
def test_a_malformed_store_with_c2pa_python_quotes_both_readers():
    (found,) = signals((ASSETS / "malformed_c2pa_truncated.jpg").read_bytes(), "JPEG")
    assert found.value is Value.UNKNOWN
    assert "C2PA manifest unreadable: c2pa-python:" in found.detail and "built-in reader: JUMBF box" in found.detail


# --- the JUMBF structure, built by hand -----------------------------------------------------


def box(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I4s", 8 + len(payload), kind) + payload


def superbox(type_code: bytes, label: str, *children: bytes) -> bytes:
    description = type_code + bytes.fromhex("00110010800000aa00389b71") + b"\x03" + label.encode() + b"\x00"
    return box(b"jumb", box(b"jumd", description) + b"".join(children))


def store(*manifests: bytes) -> bytes:
    return superbox(b"c2pa", "c2pa", *manifests)


def manifest(label: str, entries: dict, assertion_label: str = "cawg.training-mining") -> bytes:
    assertion = superbox(b"cbor", assertion_label, box(b"cbor", cbor2.dumps({"entries": entries})))
    return superbox(b"c2ma", label, superbox(b"c2as", "c2pa.assertions", assertion))


def jpeg_with_store(data: bytes, segment_payload: int) -> bytes:
    """C2PA Annex A.3.1: APP11 segments "JP" + En + Z, each continuation repeating the box header."""
    header, payload = data[:8], data[8:]
    out = b"\xff\xd8"
    for z, start in enumerate(range(0, len(payload), segment_payload), 1):
        body = b"JP" + struct.pack(">HI", 1, z) + header + payload[start : start + segment_payload]
        out += b"\xff\xeb" + struct.pack(">H", len(body) + 2) + body
    return out + b"\xff\xda\x00\x02" + b"\x00" * 10 + b"\xff\xd9"


def test_a_store_split_over_jpeg_app11_segments_is_reassembled(builtin_only):
    data = store(manifest("urn:c2pa:one", {"cawg.ai_training": {"use": "notAllowed"}}))
    jpeg = jpeg_with_store(data, segment_payload=40)
    assert jpeg.count(b"\xff\xeb") > 3
    assert summary(signals(jpeg, "JPEG")) == [("ai_training", Value.RESERVED)]


def test_only_the_active_manifest_counts(builtin_only):
    data = store(
        manifest("urn:c2pa:ingredient", {"cawg.ai_training": {"use": "notAllowed"}}),
        manifest("urn:c2pa:active", {"cawg.ai_training": {"use": "allowed"}}),
    )
    (found,) = signals(b"RIFF" + data, "WEBP")
    assert found.value is Value.ALLOWED and "C2PA manifest urn:c2pa:active" in found.evidence.location


@pytest.mark.parametrize(
    ("entries", "problem"),
    [
        ({"cawg.ai_training": {"use": "maybe"}}, "cawg.ai_training has no valid 'use' ('maybe')"),
        ({"cawg.ai_training": "notAllowed"}, "cawg.ai_training has no valid 'use' (None)"),
    ],
)
def test_an_entry_without_a_valid_use_is_unreadable(builtin_only, entries, problem):
    (found,) = signals(store(manifest("urn:c2pa:m", entries)), "PNG")
    assert found.value is Value.UNKNOWN and problem in found.detail


def test_unknown_entries_and_other_assertions_are_ignored(builtin_only):
    data = store(manifest("urn:c2pa:m", {"cawg.future_use": {"use": "notAllowed"}}),)
    assert signals(data, "PNG") == []
    data = store(manifest("urn:c2pa:m", {"cawg.ai_training": {"use": "notAllowed"}}, assertion_label="c2pa.actions"))
    assert signals(data, "PNG") == []


def test_an_assertion_without_entries_is_unreadable(builtin_only):
    assertion = superbox(b"cbor", "cawg.training-mining", box(b"cbor", cbor2.dumps(["not", "a", "map"])))
    data = store(superbox(b"c2ma", "urn:c2pa:m", superbox(b"c2as", "c2pa.assertions", assertion)))
    (found,) = signals(data, "PNG")
    assert found.value is Value.UNKNOWN and "no 'entries' map" in found.detail


def test_undecodable_cbor_is_unreadable(builtin_only):
    deep = b"\x81" * 100 + b"\x00"  # nested deeper than the decoder allows
    for payload in (b"\xbb\xff\xff\xff\xff\xff\xff\xff\xff", deep):
        assertion = superbox(b"cbor", "cawg.training-mining", box(b"cbor", payload))
        data = store(superbox(b"c2ma", "urn:c2pa:m", superbox(b"c2as", "c2pa.assertions", assertion)))
        (found,) = signals(data, "PNG")
        assert found.value is Value.UNKNOWN and "payload does not decode" in found.detail


def test_a_store_without_manifests_is_unreadable(builtin_only):
    (found,) = signals(store(), "PNG")
    assert "C2PA manifest store holds no manifest" in found.detail


def test_box_walker_refuses_lengths_that_do_not_fit():
    with pytest.raises(jumbf.JumbfError, match="claims 4096 bytes"):
        jumbf.boxes(struct.pack(">I4s", 4096, b"jumb") + b"\x00" * 10)
    with pytest.raises(jumbf.JumbfError, match="without a description box"):
        jumbf.parse_superbox(box(b"cbor", b"\x00"))
    assert jumbf.boxes(struct.pack(">I4s", 0, b"cbor") + b"rest")[0].payload == b"rest"  # LBox 0: to the end
    extended = struct.pack(">I4sQ", 1, b"json", 16 + 2) + b"{}"
    assert json.loads(jumbf.boxes(extended)[0].payload) == {}
