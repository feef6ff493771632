"""XMP packets in any file: IPTC/PLUS plus:DataMining and TDMRep tdm:reservation (core/embedded/xmp.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from copyright_guard.core.embedded import xmp
from copyright_guard.core.embedded.evidence import AssetEvidence
from copyright_guard.core.model import ResponseView, Value, sha256_hex

ASSETS = Path(__file__).resolve().parents[1] / "data" / "assets"
VOCAB = "http://ns.useplus.org/ldf/vocab/"


def packet(description: str, namespaces: str = 'xmlns:plus="http://ns.useplus.org/ldf/xmp/1.0/"') -> bytes:
    return (
        '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?><x:xmpmeta xmlns:x="adobe:ns:meta/">'
        '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        f'<rdf:Description rdf:about="" {namespaces}{description}</rdf:RDF></x:xmpmeta><?xpacket end="w"?>'
    ).encode()


def signals(data: bytes, kind: str = "JPEG"):
    response = ResponseView("https://example.com/asset", 200, {}, data)
    return xmp.xmp_signals(data, AssetEvidence(response, kind))


def summary(found) -> list[tuple[str, str, Value]]:
    return [(s.vocabulary, s.category, s.value) for s in found]


@pytest.mark.parametrize(
    ("name", "kind", "category", "value"),
    [
        ("jpeg_dmi_prohibited_aiml.jpg", "JPEG", "DMI-PROHIBITED-AIMLTRAINING", Value.RESERVED),
        ("png_dmi_allowed.png", "PNG", "DMI-ALLOWED", Value.ALLOWED),
        ("webp_dmi_prohibited.webp", "WEBP", "DMI-PROHIBITED", Value.RESERVED),
        ("tiff_dmi_prohibited_genai.tif", "TIFF", "DMI-PROHIBITED-GENAIMLTRAINING", Value.RESERVED),
        ("gif_dmi_except_search.gif", "GIF", "DMI-PROHIBITED-EXCEPTSEARCHENGINEINDEXING", Value.RESERVED),
    ],
)
def test_data_mining_is_found_in_every_image_format(name, kind, category, value):
    assert summary(signals((ASSETS / name).read_bytes(), kind)) == [("iptc", category, value)]


def test_images_without_data_mining_give_nothing():
    assert signals((ASSETS / "jpeg_plain.jpg").read_bytes()) == []
    assert signals((ASSETS / "jpeg_xmp_without_dmi.jpg").read_bytes()) == []


@pytest.mark.parametrize(
    "description",
    [
        f' plus:DataMining="{VOCAB}DMI-PROHIBITED-AIMLTRAINING"/>',  # attribute
        f'><plus:DataMining rdf:resource="{VOCAB}DMI-PROHIBITED-AIMLTRAINING"/></rdf:Description>',
        f"><plus:DataMining>{VOCAB}DMI-PROHIBITED-AIMLTRAINING</plus:DataMining></rdf:Description>",
        "><plus:DataMining>DMI-PROHIBITED-AIMLTRAINING</plus:DataMining></rdf:Description>",  # bare key
        "><plus:DataMining> dmi-prohibited-aimltraining </plus:DataMining></rdf:Description>",  # lenient case
        "><plus:DataMining><rdf:Bag><rdf:li>DMI-PROHIBITED-AIMLTRAINING</rdf:li></rdf:Bag></plus:DataMining></rdf:Description>",
        '><plus:DataMining rdf:parseType="Resource"><rdf:value>DMI-PROHIBITED-AIMLTRAINING</rdf:value></plus:DataMining></rdf:Description>',
    ],
    ids=["attribute", "rdf-resource", "uri-text", "bare-key", "lower-case", "rdf-bag", "rdf-value"],
)
def test_every_rdf_form_of_the_property_is_read(description):
    assert summary(signals(packet(description))) == [("iptc", "DMI-PROHIBITED-AIMLTRAINING", Value.RESERVED)]


def test_every_iptc_value_maps_to_a_value():
    for key, expected in xmp.DMI_VALUES.items():
        found = signals(packet(f' plus:DataMining="{VOCAB}{key}"/>'))
        assert summary(found) == [("iptc", key, expected)], key


def test_unspecified_states_nothing_so_it_carries_no_detail():
    # evaluate() records an UNKNOWN signal only when it has a detail (an unreadable source)
    (found,) = signals(packet(f' plus:DataMining="{VOCAB}DMI-UNSPECIFIED"/>'))
    assert found.value is Value.UNKNOWN and found.detail == ""


def test_an_unrecognised_value_is_unreadable_and_quoted():
    (found,) = signals(packet(' plus:DataMining="maybe-later"/>'))
    assert found.value is Value.UNKNOWN
    assert "unrecognised XMP plus:DataMining value 'maybe-later'" in found.detail


def test_other_constraints_are_quoted_in_the_detail():
    (found,) = signals((ASSETS / "webp_dmi_prohibited.webp").read_bytes(), "WEBP")
    assert "plus:OtherConstraints: 'Licence at https://example.com/licence'" in found.detail


def test_pdf_tdmrep_reservation_keeps_the_policy_url():
    (found,) = signals((ASSETS / "pdf_xmp_tdm_reserved.pdf").read_bytes(), "PDF")
    assert (found.vocabulary, found.category, found.value) == ("tdmrep", "tdm-reservation", Value.RESERVED)
    assert "tdm:policy = https://publisher.com/policies/policy.json" in found.evidence.location


@pytest.mark.parametrize(
    ("raw", "expected"), [("1", Value.RESERVED), ("0", Value.ALLOWED), (" 1 ", Value.RESERVED), ("yes", Value.UNKNOWN)]
)
def test_tdm_reservation_values(raw, expected):
    data = packet(f"><tdm:reservation>{raw}</tdm:reservation></rdf:Description>", 'xmlns:tdm="http://www.w3.org/ns/tdmrep/"')
    (found,) = signals(data, "PDF")
    assert found.value is expected
    if expected is Value.UNKNOWN:  # TDMRep: other values are protocol errors, the property is unset
        assert "treated as unset" in found.detail


def test_tdmrep_hash_namespace_is_accepted_too():
    data = packet(' tdm:reservation="1"/>', 'xmlns:tdm="http://www.w3.org/ns/tdmrep#"')
    assert summary(signals(data, "PDF")) == [("tdmrep", "tdm-reservation", Value.RESERVED)]


def test_a_policy_without_a_reservation_states_nothing():
    data = packet(' tdm:policy="https://example.com/p.json"/>', 'xmlns:tdm="http://www.w3.org/ns/tdmrep/"')
    assert signals(data, "PDF") == []


def test_evidence_keeps_the_packet_not_the_asset():
    data = (ASSETS / "jpeg_dmi_prohibited_aiml.jpg").read_bytes()
    (found,) = signals(data)
    (located,) = xmp.find_packets(data).packets
    assert found.evidence.body == located.data and found.evidence.sha256 == sha256_hex(located.data)
    assert f"asset sha256 {sha256_hex(data)}" in found.evidence.location
    assert found.evidence.location.startswith(f"JPEG XMP plus:DataMining = {VOCAB}DMI-PROHIBITED-AIMLTRAINING")
    assert found.source == "embedded metadata" and found.scope == "asset"


def test_unwrapped_packets_are_found():
    bare_meta = packet(' plus:DataMining="DMI-PROHIBITED"/>').split(b"?>", 1)[1].rsplit(b"<?xpacket", 1)[0]
    bare_rdf = bare_meta.split(b">", 1)[1].rsplit(b"</x:xmpmeta>", 1)[0]
    assert bare_meta.startswith(b"<x:xmpmeta") and bare_rdf.startswith(b"<rdf:RDF")
    for data in (b"\x00junk" + bare_meta + b"junk", b"junk" + bare_rdf):
        assert summary(signals(data)) == [("iptc", "DMI-PROHIBITED", Value.RESERVED)]


def test_identical_packets_count_once_and_different_ones_each():
    one = packet(' plus:DataMining="DMI-PROHIBITED"/>')
    two = packet(' plus:DataMining="DMI-ALLOWED"/>')
    assert len(xmp.find_packets(one + b"pad" + one).packets) == 1
    assert [s.category for s in signals(one + two)] == ["DMI-PROHIBITED", "DMI-ALLOWED"]


def test_packet_count_is_bounded():
    many = b"".join(packet(f' plus:DataMining="DMI-PROHIBITED" n="{i}"/>') for i in range(10))
    assert len(xmp.find_packets(many).packets) == xmp.MAX_PACKETS


def test_scan_is_bounded(monkeypatch):
    monkeypatch.setattr(xmp, "MAX_SCAN_BYTES", 1000)
    late = b"\x00" * 2000 + packet(' plus:DataMining="DMI-PROHIBITED"/>')
    assert signals(late) == []


def test_an_oversized_packet_is_unreadable(monkeypatch):
    monkeypatch.setattr(xmp, "MAX_PACKET_BYTES", 200)
    (found,) = signals(packet(' plus:DataMining="DMI-PROHIBITED"/>' + " " * 300))
    assert found.value is Value.UNKNOWN and "no end marker before 200 bytes" in found.detail


@pytest.mark.parametrize(
    ("name", "problem"),
    [
        ("malformed_jpeg_truncated_in_xmp.jpg", "has no end marker before the file ends"),
        ("malformed_jpeg_broken_xmp.jpg", "is not well-formed XML: mismatched tag"),
        ("malformed_jpeg_xml_bomb.jpg", "refused: DTDForbidden"),
    ],
)
def test_malformed_packets_are_unreadable_with_the_reason(name, problem):
    (found,) = signals((ASSETS / name).read_bytes())
    assert (found.vocabulary, found.value) == ("iptc", Value.UNKNOWN)
    assert problem in found.detail


def test_a_broken_pdf_packet_is_a_tdmrep_problem():
    (found,) = signals((ASSETS / "malformed_pdf_truncated.pdf").read_bytes(), "PDF")
    assert (found.vocabulary, found.category, found.value) == ("tdmrep", "tdm-reservation", Value.UNKNOWN)
