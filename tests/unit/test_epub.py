"""TDMRep in EPUB 2 / EPUB 3 package metadata (core/embedded/epub.py), from the W3C spec examples."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest

from copyright_guard.core.embedded import epub
from copyright_guard.core.embedded.evidence import AssetEvidence
from copyright_guard.core.model import ResponseView, Value, sha256_hex

ASSETS = Path(__file__).resolve().parents[1] / "data" / "assets"
CONTAINER = (
    '<container version="1.0" xmlns="urn:oasis:names:tc:opendocument:xmlns:container"><rootfiles>'
    '<rootfile full-path="book.opf" media-type="application/oebps-package+xml"/></rootfiles></container>'
)


def signals(data: bytes):
    return epub.epub_signals(data, AssetEvidence(ResponseView("https://example.com/book.epub", 200, {}, data), "EPUB"))


def make_epub(opf: str, container: str = CONTAINER) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as archive:
        archive.writestr("mimetype", "application/epub+zip", zipfile.ZIP_STORED)
        archive.writestr("META-INF/container.xml", container, zipfile.ZIP_DEFLATED)
        archive.writestr("book.opf", opf, zipfile.ZIP_DEFLATED)
    return buf.getvalue()


def opf3(metadata: str, prefix: str = 'prefix="tdm: http://www.w3.org/ns/tdmrep#"') -> str:
    return f'<package xmlns="http://www.idpf.org/2007/opf" version="3.0" {prefix}><metadata>{metadata}</metadata></package>'


@pytest.mark.parametrize(
    ("name", "how"),
    [("epub2_tdm_reserved.epub", '<meta name="tdm:reservation">'), ("epub3_tdm_reserved.epub", '<meta property="tdm:reservation">')],
)
def test_w3c_examples_reserve_and_keep_the_policy(name, how):
    data = (ASSETS / name).read_bytes()
    (found,) = signals(data)
    assert (found.vocabulary, found.category, found.value) == ("tdmrep", "tdm-reservation", Value.RESERVED)
    assert found.evidence.location.startswith(f"EPUB OPF OEBPS/content.opf: {how} = 1; tdm:policy = https://provider.com/policies/policy.json")
    assert how in found.detail and "tdm:policy https://provider.com/policies/policy.json" in found.detail
    # The evidence keeps the package document (what the reviewer needs), not the whole book.
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        opf = archive.read("OEBPS/content.opf")
    assert found.evidence.body == opf and found.evidence.sha256 == sha256_hex(opf)


def test_any_prefix_bound_to_the_tdmrep_iri_counts():
    (found,) = signals((ASSETS / "epub3_tdm_allowed_custom_prefix.epub").read_bytes())
    assert found.value is Value.ALLOWED and '<meta property="rsv:reservation">' in found.detail


def test_an_undeclared_tdm_prefix_is_honoured_and_said():
    (found,) = signals(make_epub(opf3('<meta property="tdm:reservation">1</meta>', prefix="")))
    assert found.value is Value.RESERVED and "(tdm prefix not declared)" in found.detail


def test_a_tdm_prefix_bound_elsewhere_is_not_tdmrep():
    data = make_epub(opf3('<meta property="tdm:reservation">1</meta>', prefix='prefix="tdm: http://example.com/other#"'))
    assert signals(data) == []


def test_refining_metas_describe_something_else():
    data = make_epub(opf3('<meta refines="#creator" property="tdm:reservation">1</meta>'))
    assert signals(data) == []


def test_no_tdm_metadata_states_nothing():
    assert signals((ASSETS / "epub3_no_tdm.epub").read_bytes()) == []


def test_an_invalid_value_is_unset_and_recorded():
    (found,) = signals(make_epub(opf3('<meta property="tdm:reservation">true</meta>')))
    assert found.value is Value.UNKNOWN and "treated as unset" in found.detail


def test_the_first_rootfile_is_the_default_rendition():
    container = CONTAINER.replace("</rootfiles>", '<rootfile full-path="other.opf" media-type="application/oebps-package+xml"/></rootfiles>')
    (found,) = signals(make_epub(opf3('<meta property="tdm:reservation">1</meta>'), container))
    assert "OPF book.opf" in found.evidence.location


@pytest.mark.parametrize(
    ("name", "problem"),
    [
        ("malformed_epub_zip_bomb.epub", "OEBPS/content.opf inflates beyond 1048576 bytes (zip bomb guard)"),
        ("malformed_epub_entity_bomb.epub", "package document refused: EntitiesForbidden"),
        ("malformed_epub_no_container.epub", "META-INF/container.xml is missing"),
        ("malformed_epub_truncated.epub", "not a ZIP archive"),
    ],
)
def test_malformed_books_are_unreadable_with_the_reason(name, problem):
    (found,) = signals((ASSETS / name).read_bytes())
    assert (found.vocabulary, found.value) == ("tdmrep", Value.UNKNOWN)
    assert problem in found.detail


def test_a_zip_header_that_lies_about_sizes_is_unreadable():
    # zipfile stops inflating at the declared size, so the lie shows up as a CRC mismatch
    big = opf3('<meta property="tdm:reservation">1</meta>' + "<!--" + "x" * 5000 + "-->")
    data = bytearray(make_epub(big))
    # Rewrite the declared uncompressed size of book.opf (local header and central directory) to 10.
    for signature, offset in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):
        at = data.find(signature)
        while at >= 0:
            if b"book.opf" in data[at: at + 80]:
                data[at + offset: at + offset + 4] = (10).to_bytes(4, "little")
            at = data.find(signature, at + 4)
    (found,) = signals(bytes(data))
    assert found.value is Value.UNKNOWN and "book.opf cannot be inflated (Bad CRC-32" in found.detail


def test_container_without_rootfile():
    data = make_epub(opf3(""), container='<container xmlns="urn:oasis:names:tc:opendocument:xmlns:container"/>')
    (found,) = signals(data)
    assert "names no rootfile full-path" in found.detail


def test_is_epub_reads_the_ocf_mimetype_entry():
    assert epub.is_epub((ASSETS / "epub3_tdm_reserved.epub").read_bytes())
    assert not epub.is_epub(b"PK\x03\x04" + b"\x00" * 100)
