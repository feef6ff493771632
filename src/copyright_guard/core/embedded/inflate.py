"""XMP that its container stores deflate-compressed, where byte scanning cannot see it.

- PDF: a metadata stream (``/Type /Metadata``, ISO 32000-1 §14.3.2) with ``/Filter /FlateDecode``.
  The standard recommends leaving metadata unfiltered, but many producers compress it.
- PNG: an ``iTXt`` chunk with keyword ``XML:com.adobe.xmp`` and compression flag 1 (PNG 3rd ed.
  §11.3.3.4; XMP Part 3 asks for uncompressed, some writers ignore that).

Each stream is inflated to at most ``xmp.MAX_PACKET_BYTES`` (a deflate bomb stops there) and at
most ``xmp.MAX_PACKETS`` streams are read. The inflated bytes then go through the same packet
scanner as everything else.
"""

from __future__ import annotations

import struct
import zlib

from . import xmp

MAX_DICT_BYTES = 1024  # how far around "/Metadata" a stream dictionary may reach
MAX_CHUNKS = 4096


def compressed_xmp(kind: str, data: bytes) -> list[tuple[str, bytes]]:
    """``[(where, inflated bytes)]`` for each compressed XMP stream of a PDF or PNG."""
    if kind == "PDF":
        return _pdf_streams(data)
    if kind == "PNG":
        return _png_chunks(data)
    return []


def _inflate(raw: bytes) -> bytes | None:
    try:
        return zlib.decompressobj().decompress(raw, xmp.MAX_PACKET_BYTES)
    except zlib.error:
        return None


def _pdf_streams(data: bytes) -> list[tuple[str, bytes]]:
    found: list[tuple[str, bytes]] = []
    limit = min(len(data), xmp.MAX_SCAN_BYTES)
    at = data.find(b"/Metadata", 0, limit)
    while at >= 0 and len(found) < xmp.MAX_PACKETS:
        start = data.rfind(b"<<", max(0, at - MAX_DICT_BYTES), at)
        close = data.find(b">>", at, at + MAX_DICT_BYTES)
        if start >= 0 and close >= 0:
            dictionary = data[start:close]
            after = data[close + 2 : close + 2 + 16].lstrip()
            # "/Type /Metadata" (not the catalog's "/Metadata 4 0 R") followed by its stream
            if after.startswith(b"stream") and b"/FlateDecode" in dictionary and _is_metadata_type(dictionary):
                body = close + 2 + data[close + 2 :].find(b"stream") + 6
                body += 2 if data[body : body + 2] == b"\r\n" else 1  # §7.3.8.1: EOL after "stream"
                inflated = _inflate(data[body : body + xmp.MAX_PACKET_BYTES])
                if inflated:
                    found.append((f"FlateDecode metadata stream at byte {start}", inflated))
        at = data.find(b"/Metadata", at + 9, limit)
    return found


def _is_metadata_type(dictionary: bytes) -> bool:
    at = dictionary.find(b"/Type")
    return at >= 0 and dictionary[at + 5 :].lstrip().startswith(b"/Metadata")


def _png_chunks(data: bytes) -> list[tuple[str, bytes]]:
    found: list[tuple[str, bytes]] = []
    pos, count = 8, 0
    while pos + 8 <= min(len(data), xmp.MAX_SCAN_BYTES) and count < MAX_CHUNKS and len(found) < xmp.MAX_PACKETS:
        length, kind = struct.unpack_from(">I4s", data, pos)
        if kind == b"iTXt" and data[pos + 8 : pos + 8 + 18] == b"XML:com.adobe.xmp\x00":
            chunk = data[pos + 8 + 18 : pos + 8 + length]
            if chunk[:1] == b"\x01":  # compressed; chunk = flag, method, language\0, translated\0, text
                language_end = chunk.find(b"\x00", 2)
                translated_end = chunk.find(b"\x00", language_end + 1) if language_end >= 0 else -1
                inflated = _inflate(chunk[translated_end + 1 :]) if translated_end >= 0 else None
                if inflated:
                    found.append((f"compressed iTXt chunk at byte {pos}", inflated))
        if kind == b"IEND":
            break
        pos += 12 + length
        count += 1
    return found
