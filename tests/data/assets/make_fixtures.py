"""Build the small asset fixtures in this folder (run: .venv/bin/python tests/data/assets/make_fixtures.py).

Every file is a real, structurally valid asset made here (Pillow for the images, hand-written
bytes for GIF's XMP extension, PDF, EPUB and JUMBF), except the deliberately broken ones listed
under "malformed". The C2PA fixtures are signed by c2pa-python with a throw-away test CA made on
the fly, so they are real manifests (the signer is, rightly, untrusted). The fixtures are
committed; this script documents exactly how each was made and rebuilds them (the C2PA ones change
on every run: fresh keys, UUIDs and signing times).

Needs the dev extra (Pillow, c2pa-python).
"""

from __future__ import annotations

import datetime
import io
import json
import struct
import zipfile
import zlib
from pathlib import Path

import cbor2
from PIL import Image
from PIL.PngImagePlugin import PngInfo

HERE = Path(__file__).resolve().parent
W3C = HERE / "w3c_tdmrep"
VOCAB = "http://ns.useplus.org/ldf/vocab/"


def xmp_packet(description: str, namespaces: str = 'xmlns:plus="http://ns.useplus.org/ldf/xmp/1.0/"') -> bytes:
    """An XMP packet with the wrapper of XMP Part 3 §1.1 and writable padding, as Adobe writes it."""
    return (
        '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>\n'
        '<x:xmpmeta xmlns:x="adobe:ns:meta/">\n'
        ' <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">\n'
        f'  <rdf:Description rdf:about="" {namespaces}{description}\n'
        " </rdf:RDF>\n"
        "</x:xmpmeta>\n" + " " * 200 + '\n<?xpacket end="w"?>'
    ).encode("utf-8")


# The forms XMP allows for a simple URI property (XMP Part 1 §7.9.2): attribute, rdf:resource, text.
XMP_AIML_ATTRIBUTE = xmp_packet(f' plus:DataMining="{VOCAB}DMI-PROHIBITED-AIMLTRAINING"/>')
XMP_ALLOWED_RESOURCE = xmp_packet(f'>\n   <plus:DataMining rdf:resource="{VOCAB}DMI-ALLOWED"/>\n  </rdf:Description>')
XMP_PROHIBITED_TEXT = xmp_packet(
    f">\n   <plus:DataMining>{VOCAB}DMI-PROHIBITED</plus:DataMining>\n"
    '   <plus:OtherConstraints><rdf:Alt><rdf:li xml:lang="x-default">Licence at https://example.com/licence</rdf:li></rdf:Alt></plus:OtherConstraints>\n'
    "  </rdf:Description>"
)
XMP_GENAI_BARE_KEY = xmp_packet(">\n   <plus:DataMining>DMI-PROHIBITED-GENAIMLTRAINING</plus:DataMining>\n  </rdf:Description>")
XMP_EXCEPT_SEARCH = xmp_packet(f' plus:DataMining="{VOCAB}DMI-PROHIBITED-EXCEPTSEARCHENGINEINDEXING"/>')
XMP_UNRELATED = xmp_packet(' xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:format>image/jpeg</dc:format></rdf:Description>', "")


def image(fmt: str, **options) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (8, 8), (180, 40, 40)).save(buf, fmt, **options)
    return buf.getvalue()


def png_with_xmp(xmp: bytes, *, compressed: bool = False) -> bytes:
    info = PngInfo()
    # XMP Part 3 asks for an uncompressed iTXt; some writers compress it anyway.
    info.add_itxt("XML:com.adobe.xmp", xmp.decode("utf-8"), zip=compressed)
    return image("PNG", pnginfo=info)


def gif_with_xmp(xmp: bytes) -> bytes:
    """XMP Part 3 §1.1.4: an application extension "XMP DataXMP" + the packet + a 258-byte magic trailer."""
    gif = image("GIF")
    trailer = b"\x01" + bytes(range(255, -1, -1)) + b"\x00"
    extension = b"\x21\xff\x0bXMP DataXMP" + xmp + trailer
    # Insert before the first image descriptor (0x2C), after the header and colour table.
    palette = 3 * 2 ** ((gif[10] & 0x07) + 1) if gif[10] & 0x80 else 0
    at = 13 + palette
    while gif[at] == 0x21:  # skip Pillow's own extensions (graphic control, comment)
        at += 2
        while gif[at]:
            at += gif[at] + 1
        at += 1
    return gif[:at] + extension + gif[at:]


def pdf_with_xmp(xmp: bytes | None, *, compressed: bool = False) -> bytes:
    """A one-page PDF whose catalog points at an XMP metadata stream (ISO 32000-1 §14.3.2),
    uncompressed as the standard recommends, or FlateDecode as many producers write it."""
    objects = [b"<< /Type /Catalog /Pages 2 0 R" + (b" /Metadata 4 0 R" if xmp else b"") + b" >>",
               b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
               b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] >>"]
    if xmp:
        data, flate = (zlib.compress(xmp), b" /Filter /FlateDecode") if compressed else (xmp, b"")
        objects.append(b"<< /Type /Metadata /Subtype /XML /Length %d%s >>\nstream\n" % (len(data), flate) + data + b"\nendstream")
    out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


CONTAINER = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<container version="1.0" xmlns="urn:oasis:names:tc:opendocument:xmlns:container">\n'
    '  <rootfiles><rootfile full-path="OEBPS/content.opf" media-type="application/oebps-package+xml"/></rootfiles>\n'
    "</container>\n"
)


def epub(opf: str, *, container: str | None = CONTAINER, extra: dict[str, bytes] | None = None) -> bytes:
    """OCF 3.3 §4: "mimetype" first and stored, then the container and the package document."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as archive:
        archive.writestr(zipfile.ZipInfo("mimetype", (2024, 1, 1, 0, 0, 0)), "application/epub+zip", zipfile.ZIP_STORED)
        if container is not None:
            archive.writestr(zipfile.ZipInfo("META-INF/container.xml", (2024, 1, 1, 0, 0, 0)), container, zipfile.ZIP_DEFLATED)
        archive.writestr(zipfile.ZipInfo("OEBPS/content.opf", (2024, 1, 1, 0, 0, 0)), opf, zipfile.ZIP_DEFLATED)
        for name, data in (extra or {}).items():
            archive.writestr(zipfile.ZipInfo(name, (2024, 1, 1, 0, 0, 0)), data, zipfile.ZIP_DEFLATED)
    return buf.getvalue()


def w3c_epub2_opf() -> str:
    # Complete the spec fragment: "..." -> the OPF and Dublin Core namespace declarations.
    text = (W3C / "06_sec-epub2.opf.xml.txt").read_text()
    text = text.replace('<package version="2.0" ...>', '<package version="2.0" xmlns="http://www.idpf.org/2007/opf" unique-identifier="id">')
    return text.replace("<metadata ...>", '<metadata xmlns:dc="http://purl.org/dc/elements/1.1/">')


def w3c_epub3_opf() -> str:
    text = (W3C / "07_sec-epub3.opf.xml.txt").read_text()
    text = text.replace(
        '<package prefix="tdm: http://www.w3.org/ns/tdmrep#" ...>',
        '<package prefix="tdm: http://www.w3.org/ns/tdmrep#" version="3.0" xmlns="http://www.idpf.org/2007/opf" unique-identifier="id">',
    )
    return text.replace("<metadata ...>", '<metadata xmlns:dc="http://purl.org/dc/elements/1.1/">')


def w3c_pdf_xmp() -> bytes:
    # Complete the spec fragment: quote the rdf namespace, drop the "..." and wrap it in a packet.
    text = (W3C / "08_sec-pdf.xmp.xml.txt").read_text()
    text = text.replace("xmlns:rdf=http://www.w3.org/1999/02/22-rdf-syntax-ns#>", 'xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">')
    text = text.replace('rdf:about=""\n  ...\n', 'rdf:about=""\n')
    return ('<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>\n<x:xmpmeta xmlns:x="adobe:ns:meta/">\n'
            + text + '</x:xmpmeta>\n<?xpacket end="w"?>').encode("utf-8")


EPUB3_ALLOWED_CUSTOM_PREFIX = """<?xml version="1.0" encoding="UTF-8"?>
<package xmlns="http://www.idpf.org/2007/opf" version="3.0" unique-identifier="id" prefix="rsv: http://www.w3.org/ns/tdmrep#">
  <metadata xmlns:dc="http://purl.org/dc/elements/1.1/">
    <dc:title>Open for mining</dc:title>
    <meta property="rsv:reservation">0</meta>
  </metadata>
</package>
"""
EPUB3_NO_TDM = """<?xml version="1.0" encoding="UTF-8"?>
<package xmlns="http://www.idpf.org/2007/opf" version="3.0" unique-identifier="id">
  <metadata xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:title>No reservation</dc:title>
    <meta property="dcterms:modified">2024-01-01T00:00:00Z</meta></metadata>
</package>
"""
EPUB3_ENTITY_BOMB = """<?xml version="1.0"?>
<!DOCTYPE package [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">]>
<package xmlns="http://www.idpf.org/2007/opf" version="3.0"><metadata><meta property="tdm:reservation">&c;</meta></metadata></package>
"""

XML_BOMB_XMP = (
    b'<?xpacket begin="" id="W5M0MpCehiHzreSzNTczkc9d"?>'
    b'<!DOCTYPE x:xmpmeta [<!ENTITY l0 "lol"><!ENTITY l1 "&l0;&l0;&l0;&l0;&l0;&l0;&l0;&l0;&l0;&l0;">'
    b'<!ENTITY l2 "&l1;&l1;&l1;&l1;&l1;&l1;&l1;&l1;&l1;&l1;"><!ENTITY l3 "&l2;&l2;&l2;&l2;&l2;&l2;&l2;&l2;&l2;&l2;">]>'
    b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
    b'<rdf:Description xmlns:plus="http://ns.useplus.org/ldf/xmp/1.0/"><plus:DataMining>&l3;</plus:DataMining>'
    b'</rdf:Description></rdf:RDF></x:xmpmeta><?xpacket end="w"?>'
)


# --- JUMBF / C2PA ---------------------------------------------------------------------------------


def box(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I4s", 8 + len(payload), kind) + payload


def superbox(type_code: bytes, label: str, *children: bytes) -> bytes:
    description = type_code + bytes.fromhex("00110010800000aa00389b71") + b"\x03" + label.encode() + b"\x00"
    return box(b"jumb", box(b"jumd", description) + b"".join(children))


def handbuilt_store(assertion_label: str, content: dict, *, content_kind: bytes = b"cbor") -> bytes:
    """A C2PA manifest store with one manifest holding one assertion, and no claim or signature:
    what the built-in reader reads; c2pa-python rightly refuses it (no claim)."""
    payload = cbor2.dumps(content) if content_kind == b"cbor" else json.dumps(content).encode()
    assertion = superbox(b"cbor" if content_kind == b"cbor" else b"json", assertion_label, box(content_kind, payload))
    manifest = superbox(b"c2ma", "urn:c2pa:00000000-0000-4000-8000-000000000001", superbox(b"c2as", "c2pa.assertions", assertion))
    return superbox(b"c2pa", "c2pa", manifest)


def png_with_chunk(kind: bytes, data: bytes) -> bytes:
    """Insert a chunk right after IHDR (C2PA Annex A.3.3 puts caBX before IDAT)."""
    png = image("PNG")
    chunk = struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    at = 8 + 25  # signature + IHDR chunk
    return png[:at] + chunk + png[at:]


def signed_c2pa(fmt: str, mime: str, assertions: list[dict]) -> bytes:
    """A real manifest signed by c2pa-python with a test CA made here (ES256)."""
    import c2pa
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    def name(common_name: str) -> x509.Name:
        return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name),
                          x509.NameAttribute(NameOID.ORGANIZATION_NAME, "copyright-guard test fixtures")])

    start = datetime.datetime(2025, 1, 1, tzinfo=datetime.timezone.utc)
    end = datetime.datetime(2045, 1, 1, tzinfo=datetime.timezone.utc)
    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca = (x509.CertificateBuilder().subject_name(name("test CA")).issuer_name(name("test CA"))
          .public_key(ca_key.public_key()).serial_number(1).not_valid_before(start).not_valid_after(end)
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
          .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
          .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
          .sign(ca_key, hashes.SHA256()))
    leaf = (x509.CertificateBuilder().subject_name(name("test signer")).issuer_name(ca.subject)
            .public_key(key.public_key()).serial_number(2).not_valid_before(start).not_valid_after(end)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(True, False, False, False, False, False, False, False, False), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
            .sign(ca_key, hashes.SHA256()))
    chain = leaf.public_bytes(serialization.Encoding.PEM) + ca.public_bytes(serialization.Encoding.PEM)
    private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    signer = c2pa.Signer.from_info(c2pa.C2paSignerInfo(c2pa.C2paSigningAlg.ES256, chain, private, None))
    context = c2pa.Context(c2pa.Settings.from_json(json.dumps({"builder": {"thumbnail": {"enabled": False}}})))
    created = {"label": "c2pa.actions", "data": {"actions": [
        {"action": "c2pa.created", "digitalSourceType": "http://cv.iptc.org/newscodes/digitalsourcetype/digitalCapture"}]}}
    manifest = {"claim_generator_info": [{"name": "copyright-guard test fixtures", "version": "1"}],
                "title": f"fixture.{fmt.lower()}", "assertions": [created, *assertions]}
    source, out = io.BytesIO(image(fmt)), io.BytesIO()
    c2pa.Builder(manifest, context).sign(signer, mime, source, out)
    return out.getvalue()


CAWG_MIXED = {"label": "cawg.training-mining", "data": {"entries": {
    "cawg.ai_training": {"use": "notAllowed"},
    "cawg.ai_generative_training": {"use": "constrained", "constraint_info": "licence required: https://example.com/licence"},
    "cawg.ai_inference": {"use": "allowed"},
    "cawg.data_mining": {"use": "allowed"}}}}
C2PA_V1_ALL_NOT_ALLOWED = {"label": "c2pa.training-mining", "data": {"entries": {
    "c2pa.ai_training": {"use": "notAllowed"}, "c2pa.ai_generative_training": {"use": "notAllowed"},
    "c2pa.ai_inference": {"use": "notAllowed"}, "c2pa.data_mining": {"use": "notAllowed"}}}}


def fixtures() -> dict[str, bytes]:
    jpeg_aiml = image("JPEG", xmp=XMP_AIML_ATTRIBUTE)
    c2pa_jpeg = signed_c2pa("JPEG", "image/jpeg", [CAWG_MIXED])
    return {
        # XMP plus:DataMining in every image format, in the three RDF forms
        "jpeg_dmi_prohibited_aiml.jpg": jpeg_aiml,
        "png_dmi_allowed.png": png_with_xmp(XMP_ALLOWED_RESOURCE),
        "webp_dmi_prohibited.webp": image("WEBP", xmp=XMP_PROHIBITED_TEXT),
        "tiff_dmi_prohibited_genai.tif": image("TIFF", tiffinfo={700: XMP_GENAI_BARE_KEY}),
        "gif_dmi_except_search.gif": gif_with_xmp(XMP_EXCEPT_SEARCH),
        "jpeg_xmp_without_dmi.jpg": image("JPEG", xmp=XMP_UNRELATED),
        "jpeg_plain.jpg": image("JPEG"),
        # TDMRep: the W3C examples, completed
        "pdf_xmp_tdm_reserved.pdf": pdf_with_xmp(w3c_pdf_xmp()),
        "pdf_plain.pdf": pdf_with_xmp(None),
        "pdf_xmp_flate_tdm_reserved.pdf": pdf_with_xmp(w3c_pdf_xmp(), compressed=True),
        "png_compressed_itxt_dmi_prohibited.png": png_with_xmp(XMP_PROHIBITED_TEXT, compressed=True),
        "epub2_tdm_reserved.epub": epub(w3c_epub2_opf()),
        "epub3_tdm_reserved.epub": epub(w3c_epub3_opf()),
        "epub3_tdm_allowed_custom_prefix.epub": epub(EPUB3_ALLOWED_CUSTOM_PREFIX),
        "epub3_no_tdm.epub": epub(EPUB3_NO_TDM),
        # C2PA / CAWG
        "c2pa_cawg_signed.jpg": c2pa_jpeg,
        "c2pa_v1_signed.png": signed_c2pa("PNG", "image/png", [C2PA_V1_ALL_NOT_ALLOWED]),
        "jumbf_handbuilt_cawg.png": png_with_chunk(b"caBX", handbuilt_store(
            "cawg.training-mining", {"entries": {"cawg.ai_training": {"use": "constrained", "constraints_info": "ask first"},
                                                 "cawg.data_mining": {"use": "allowed"}}})),
        "jumbf_handbuilt_json.png": png_with_chunk(b"caBX", handbuilt_store(
            "c2pa.training-mining__1", {"entries": {"c2pa.ai_inference": {"use": "notAllowed"}}}, content_kind=b"json")),
        # malformed: each must give an unreadable signal or nothing - never an exception
        "malformed_jpeg_truncated_in_xmp.jpg": jpeg_aiml[: jpeg_aiml.find(b"DataMining") + 40],
        "malformed_jpeg_broken_xmp.jpg": image("JPEG", xmp=XMP_AIML_ATTRIBUTE.replace(b"/>\n </rdf:RDF>", b">\n </rdf:RDF>")),
        "malformed_jpeg_xml_bomb.jpg": image("JPEG", xmp=XML_BOMB_XMP),
        "malformed_pdf_truncated.pdf": pdf_with_xmp(w3c_pdf_xmp())[:300],
        "malformed_pdf_deflate_bomb.pdf": pdf_with_xmp(w3c_pdf_xmp().replace(b'<?xpacket end="w"?>', b" " * (64 * 1024 * 1024)), compressed=True),
        "malformed_epub_zip_bomb.epub": epub(w3c_epub3_opf().replace("</metadata>", "<!--" + " " * (8 * 1024 * 1024) + "--></metadata>")),
        "malformed_epub_no_container.epub": epub(w3c_epub3_opf(), container=None),
        "malformed_epub_entity_bomb.epub": epub(EPUB3_ENTITY_BOMB),
        "malformed_epub_truncated.epub": epub(w3c_epub3_opf())[:200],
        "malformed_c2pa_truncated.jpg": c2pa_jpeg[: len(c2pa_jpeg) * 2 // 3],
        "malformed_jumbf_bad_lengths.png": png_with_chunk(b"caBX", superbox(b"c2pa", "c2pa", b"\x00\x00\xff\xffjumb" + b"\x00" * 32)),
    }


def main() -> None:
    for name, data in fixtures().items():
        (HERE / name).write_bytes(data)
        print(f"{len(data):>8}  {name}")


if __name__ == "__main__":
    main()
