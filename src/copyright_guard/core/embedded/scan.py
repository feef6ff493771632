"""Rights reservations embedded in a fetched asset (post-fetch; README "Embedded asset metadata").

:func:`embedded_signals` is called by core/signals/assets.py for every response, which applies TDMRep
precedence (file < header < HTML meta < embedded metadata) to the ``tdmrep`` signals made here.

- images (JPEG, PNG, WebP, TIFF, GIF, AVIF/HEIF, SVG), video and audio: XMP ``plus:DataMining``
  (core/embedded/xmp.py) and C2PA/CAWG training-mining assertions (core/embedded/c2pa.py);
- PDF: XMP ``tdm:reservation`` / ``tdm:policy`` and ``plus:DataMining`` (uncompressed or
  FlateDecode metadata streams, core/embedded/inflate.py), and C2PA;
- EPUB: ``tdm:reservation`` / ``tdm:policy`` in the package metadata (core/embedded/epub.py).

HTML and other text answers return at once: this runs on every page of a crawl. The kind of an
asset comes from its Content-Type; an unhelpful type (``application/octet-stream``, none) is
settled by magic bytes. Nothing escapes as an exception: a parser failure becomes an unreadable
signal naming the problem.
"""

from __future__ import annotations

from . import jpeg
from .evidence import AssetEvidence
from .c2pa import c2pa_signals
from .epub import epub_signals, is_epub
from .inflate import compressed_xmp
from ..model import ResponseView, Signal
from ..policy import Policy
from .xmp import xmp_signals

_TEXT_TYPES = frozenset({
    "application/xhtml+xml", "application/json", "application/ld+json", "application/javascript",
    "application/xml", "application/rss+xml", "application/atom+xml", "application/manifest+json",
})
_DECLARED = {
    "image/jpeg": "JPEG", "image/jpg": "JPEG", "image/pjpeg": "JPEG", "image/png": "PNG", "image/apng": "PNG",
    "image/webp": "WEBP", "image/tiff": "TIFF", "image/gif": "GIF", "image/avif": "AVIF", "image/heif": "HEIF",
    "image/heic": "HEIF", "image/svg+xml": "SVG", "application/pdf": "PDF", "application/epub+zip": "EPUB",
}


def embedded_signals(response: ResponseView, policy: Policy) -> list[Signal]:
    """Signals embedded in ``response.body``; ``[]`` for text, empty bodies, or when switched off."""
    if not policy.sources.embedded_metadata or not response.body:
        return []
    kind = asset_kind(response.content_type, response.body)
    if kind is None:
        return []
    asset = AssetEvidence(response, kind)
    try:
        if kind == "EPUB":
            signals = epub_signals(response.body, asset)
        else:
            # A JPEG's metadata precedes its first scan: scan that prefix only (core/embedded/jpeg.py).
            limit = jpeg.header_end(response.body) if kind == "JPEG" else None
            signals = xmp_signals(response.body, asset, limit)
            for container, inflated in compressed_xmp(kind, response.body):  # PDF FlateDecode streams, compressed PNG iTXt
                signals.extend(xmp_signals(inflated, asset, container=container))
            signals.extend(c2pa_signals(response.body, asset, limit))
    except Exception as exc:  # noqa: BLE001 - the last guard: a parser bug must not stop a crawl
        vocabulary = "tdmrep" if kind in ("PDF", "EPUB") else "iptc"
        signals = [asset.unreadable(vocabulary, "embedded-metadata", f"embedded metadata parser failed: {type(exc).__name__}: {exc}"[:300])]
    if not policy.sources.tdmrep:
        signals = [s for s in signals if s.vocabulary != "tdmrep"]
    return signals


def asset_kind(content_type: str, body: bytes) -> str | None:
    """``"JPEG"``, ``"PDF"``, ``"EPUB"``, ... or ``None`` for text and unknown binaries."""
    if (content_type.startswith("text/") or content_type in _TEXT_TYPES
            or (content_type.endswith(("+json", "+xml")) and content_type != "image/svg+xml")):
        return None  # the fast path: HTML pages never pay for the scans below
    declared = _DECLARED.get(content_type)
    sniffed = sniff(body)
    if declared == "EPUB" or sniffed == "EPUB":
        return "EPUB"
    if declared or sniffed:
        return sniffed or declared
    if content_type.startswith(("image/", "video/", "audio/")):
        return content_type  # an unusual media type: XMP scanning still applies
    return None


def sniff(body: bytes) -> str | None:
    """The asset kind from its magic bytes (WHATWG MIME Sniffing §6 signatures, plus TIFF and PDF)."""
    head = body[:16]
    if head.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "PNG"
    if head.startswith((b"GIF87a", b"GIF89a")):
        return "GIF"
    if head.startswith(b"RIFF") and head[8:12] == b"WEBP":
        return "WEBP"
    if head.startswith((b"II*\x00", b"MM\x00*")):
        return "TIFF"
    if b"%PDF-" in body[:1024]:  # ISO 32000-1 §7.5.2; readers accept leading junk
        return "PDF"
    if head[4:8] == b"ftyp":  # ISO BMFF: AVIF, HEIF, MP4, MOV
        brand = head[8:12]
        return "AVIF" if brand in (b"avif", b"avis") else "HEIF" if brand.startswith((b"hei", b"mif1", b"msf1")) else "BMFF"
    if is_epub(body):
        return "EPUB"
    return None
