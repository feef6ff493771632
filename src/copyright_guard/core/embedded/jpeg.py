"""JPEG marker segments (ITU-T T.81 Annex B), walked only as far as metadata can be.

Metadata segments (APP1 XMP, APP11 JUMBF) precede the first scan (SOS): an XMP packet or C2PA
store of a JPEG lies in ``data[:header_end(data)]``, usually a few KiB of a large photo, so
scanning only that prefix keeps the per-image cost independent of the image size.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator

MAX_SEGMENTS = 4096


def segments(data: bytes) -> Iterator[tuple[int, bytes]]:
    """``(marker, payload)`` for each segment before SOS/EOI; stops quietly at broken structure."""
    if not data.startswith(b"\xff\xd8"):
        return
    pos, count = 2, 0
    while pos + 4 <= len(data) and count < MAX_SEGMENTS:
        if data[pos] != 0xFF:
            return
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte (T.81 §B.1.1.2)
            pos += 1
            continue
        if marker in (0xD9, 0xDA):  # EOI, SOS
            return
        if 0xD0 <= marker <= 0xD7 or marker == 0x01:  # standalone markers, no length
            pos += 2
            continue
        length = struct.unpack_from(">H", data, pos + 2)[0]
        yield marker, data[pos + 4 : pos + 2 + length]
        pos += 2 + length
        count += 1


def header_end(data: bytes) -> int:
    """Offset of the first SOS marker, or ``len(data)`` when the structure cannot be walked to it."""
    pos, count = 2, 0
    while pos + 4 <= len(data) and count < MAX_SEGMENTS:
        if data[pos] != 0xFF:
            return len(data)
        marker = data[pos + 1]
        if marker == 0xFF:
            pos += 1
            continue
        if marker == 0xDA:
            return pos
        if marker == 0xD9:
            return len(data)
        if 0xD0 <= marker <= 0xD7 or marker == 0x01:
            pos += 2
            continue
        pos += 2 + struct.unpack_from(">H", data, pos + 2)[0]
        count += 1
    return len(data)
