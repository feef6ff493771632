"""Locate a C2PA manifest store (a JUMBF superbox) inside an asset, and walk its boxes.

ISO/IEC 19566-5 (JUMBF): a box is ``LBox`` (u32 length, 1 = a u64 ``XLBox`` follows, 0 = to the
end) + ``TBox`` (4 ASCII bytes) + payload; a superbox ``jumb`` starts with a description box
``jumd``: a 16-byte type UUID, a toggles byte and, when toggle bit 0x02 is set, a NUL-terminated
UTF-8 label. C2PA 2.x §11.1 names the boxes: the manifest store (type ``c2pa``, label ``c2pa``)
holds manifests (``c2ma``, or ``c2um`` for update manifests) in order, the last being the active
one; each manifest holds an assertion store (``c2as``, label ``c2pa.assertions``) of assertion
superboxes whose content box is ``cbor`` or ``json``.

Embedding (C2PA 2.x Annex A): JPEG splits the store over APP11 segments (JPEG XT "JP" header,
box instance ``En``, sequence ``Z``; continuation segments repeat the box header), which
:func:`manifest_store` reassembles; PNG (``caBX``), WebP (``C2PA``), TIFF, PDF and BMFF carry it
contiguously, so a bounded search for a ``jumb`` box whose description says ``c2pa`` finds it.
Nothing here verifies hashes or signatures: that is c2pa-python's job (see core/embedded/c2pa.py).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from . import jpeg

MAX_SCAN_BYTES = 16 * 1024 * 1024
MAX_STORE_BYTES = 8 * 1024 * 1024  # thumbnails make stores of some 100 KiB; this is generous
MAX_BOXES = 4096

# The C2PA type UUIDs share the suffix 0011-0010-8000-00AA00389B71 after a 4-character code.
_C2PA_UUID_SUFFIX = bytes.fromhex("00110010800000aa00389b71")
STORE, MANIFEST, UPDATE_MANIFEST, ASSERTION_STORE = b"c2pa", b"c2ma", b"c2um", b"c2as"


class JumbfError(ValueError):
    """The JUMBF structure is malformed; ``str()`` is one line."""


@dataclass(frozen=True, slots=True)
class Box:
    kind: bytes  # TBox
    payload: bytes


@dataclass(frozen=True, slots=True)
class Superbox:
    type_code: bytes  # the first 4 bytes of the description's UUID, e.g. b"c2ma", or b"" if not C2PA
    label: str
    children: tuple[Box, ...]  # the boxes after the description box

    def superboxes(self) -> list[Superbox]:
        return [parse_superbox(child.payload) for child in self.children if child.kind == b"jumb"]


def might_carry_manifest(data: bytes, limit: int | None = None) -> bool:
    """A cheap test (two substring searches) that lets plain images skip the C2PA readers."""
    limit = min(len(data), MAX_SCAN_BYTES, limit if limit is not None else len(data))
    at = data.find(b"jumb", 0, limit)
    return at >= 0 and data.find(b"c2pa", max(0, at - 64), limit) >= 0


def manifest_store(data: bytes) -> bytes | None:
    """The bytes of the C2PA manifest store superbox (its payload), or ``None`` when there is none."""
    if data.startswith(b"\xff\xd8"):
        return _jpeg_store(data)
    limit = min(len(data), MAX_SCAN_BYTES)
    at = data.find(b"jumb", 4, limit)
    while at >= 0:
        box = _box_at(data, at - 4)
        if box is not None and _is_store(box.payload):
            return box.payload
        at = data.find(b"jumb", at + 4, limit)
    return None


def _jpeg_store(data: bytes) -> bytes | None:
    pieces: dict[int, list[tuple[int, bytes, bytes]]] = {}  # En -> [(Z, box header, payload)]
    for marker, segment in jpeg.segments(data):
        if marker == 0xEB and segment[:2] == b"JP" and len(segment) >= 16:
            instance, sequence = struct.unpack_from(">HI", segment, 2)
            header_size = 16 if struct.unpack_from(">I", segment, 8)[0] == 1 else 8
            header = segment[8 : 8 + header_size]
            pieces.setdefault(instance, []).append((sequence, header, segment[8 + header_size :]))
    for parts in pieces.values():
        parts.sort(key=lambda part: part[0])
        header = parts[0][1]
        if header[4:8] != b"jumb":
            continue
        payload = b"".join(part[2] for part in parts)
        if _is_store(payload):
            return payload[:MAX_STORE_BYTES]
    return None


def _box_at(data: bytes, pos: int) -> Box | None:
    if pos < 0 or pos + 8 > len(data):
        return None
    length, kind = struct.unpack_from(">I4s", data, pos)
    header = 8
    if length == 1:
        if pos + 16 > len(data):
            return None
        length, header = struct.unpack_from(">Q", data, pos + 8)[0], 16
    elif length == 0:
        length = len(data) - pos
    if length < header or length > MAX_STORE_BYTES:
        return None
    return Box(kind, data[pos + header : pos + length])  # a truncated box keeps what is there


def _is_store(payload: bytes) -> bool:
    description = _box_at(payload, 0)
    return description is not None and description.kind == b"jumd" and description.payload[:4] == STORE


def boxes(buf: bytes) -> tuple[Box, ...]:
    """The boxes in ``buf``, in order. Raises :class:`JumbfError` on a length that does not fit."""
    found: list[Box] = []
    pos = 0
    while pos < len(buf):
        if len(found) >= MAX_BOXES:
            raise JumbfError(f"more than {MAX_BOXES} JUMBF boxes")
        if pos + 8 > len(buf):
            raise JumbfError(f"JUMBF box header cut off at byte {pos}")
        length, kind = struct.unpack_from(">I4s", buf, pos)
        header = 8
        if length == 1:
            if pos + 16 > len(buf):
                raise JumbfError(f"JUMBF box header cut off at byte {pos}")
            length, header = struct.unpack_from(">Q", buf, pos + 8)[0], 16
        elif length == 0:
            length = len(buf) - pos
        if length < header or pos + length > len(buf):
            raise JumbfError(f"JUMBF box {kind!r} at byte {pos} claims {length} bytes, {len(buf) - pos} left")
        found.append(Box(kind, buf[pos + header : pos + length]))
        pos += length
    return tuple(found)


def parse_superbox(payload: bytes) -> Superbox:
    """A ``jumb`` payload: its description (type code, label) and its other boxes."""
    contents = boxes(payload)
    if not contents or contents[0].kind != b"jumd" or len(contents[0].payload) < 17:
        raise JumbfError("JUMBF superbox without a description box")
    description = contents[0].payload
    uuid, toggles = description[:16], description[16]
    type_code = uuid[:4] if uuid[4:] == _C2PA_UUID_SUFFIX else b""
    label = ""
    if toggles & 0x02:
        end = description.find(b"\x00", 17)
        if end < 0:
            raise JumbfError("JUMBF description label is not NUL-terminated")
        label = description[17:end].decode("utf-8", "replace")
    return Superbox(type_code, label, contents[1:])
