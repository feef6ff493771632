"""XMP packets inside any file: IPTC/PLUS ``plus:DataMining`` and TDMRep ``tdm:reservation``.

XMP Specification Part 3 §1.1 (packet wrapper) makes an XMP packet findable by byte scanning,
without understanding the host format: that is how this module reads JPEG (APP1), PNG (iTXt
``XML:com.adobe.xmp``), WebP (``XMP `` chunk), TIFF (tag 700), GIF ("XMP DataXMP" application
extension) and the uncompressed metadata streams of PDF (ISO 32000-1 §14.3.2 recommends that
metadata streams stay unfiltered so such scanners find them). Packets are located by
``<?xpacket begin=`` .. ``<?xpacket end=...?>``, or, for writers that omit the wrapper, by
``<x:xmpmeta`` .. ``</x:xmpmeta>`` or a bare ``<rdf:RDF`` .. ``</rdf:RDF>``.

Everything is bounded: at most :data:`MAX_SCAN_BYTES` of the asset are scanned, at most
:data:`MAX_PACKETS` packets read, each at most :data:`MAX_PACKET_BYTES`. XML is parsed with
defusedxml, so a DTD or entity declaration (an XML bomb) is refused and recorded as unreadable.

Properties read (protocols.md §7 and §2e):
- ``plus:DataMining`` (``http://ns.useplus.org/ldf/xmp/1.0/``; IPTC Photo Metadata 2023.1), as an
  attribute, an element's text, ``rdf:resource`` or the first ``rdf:li``; the value is the full
  URI ``http://ns.useplus.org/ldf/vocab/DMI-...`` or, leniently, a bare ``DMI-...`` key;
  ``plus:OtherConstraints`` is quoted in the detail.
- TDMRep ``tdm:reservation`` / ``tdm:policy`` (``http://www.w3.org/ns/tdmrep/``, trailing slash as
  the spec's PDF section says; the EPUB 3 ``#`` form is accepted too, as the meaning is the same).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from xml.etree.ElementTree import Element, ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring

from .evidence import AssetEvidence
from ..model import Signal, Value, sha256_hex

MAX_SCAN_BYTES = 16 * 1024 * 1024  # XMP sits in the first few KiB of most images; PDFs vary
MAX_PACKETS = 4  # e.g. a JPEG's APP1 packet plus a PDF's document and page packets
MAX_PACKET_BYTES = 1024 * 1024  # Adobe's own writers pad packets to a few KiB

RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
PLUS = "http://ns.useplus.org/ldf/xmp/1.0/"
TDMREP_NAMESPACES = ("http://www.w3.org/ns/tdmrep/", "http://www.w3.org/ns/tdmrep#")

# IPTC Photo Metadata 2023.1 "Data Mining" controlled values (PLUS LDF vocabulary) -> Value.
# The SEE* values prohibit mining unless a constraint or rights expression we cannot evaluate
# says otherwise, so they count as reservations.
DMI_VALUES: dict[str, Value] = {
    "DMI-UNSPECIFIED": Value.UNKNOWN,
    "DMI-ALLOWED": Value.ALLOWED,
    "DMI-PROHIBITED-AIMLTRAINING": Value.RESERVED,
    "DMI-PROHIBITED-GENAIMLTRAINING": Value.RESERVED,
    "DMI-PROHIBITED-EXCEPTSEARCHENGINEINDEXING": Value.RESERVED,
    "DMI-PROHIBITED": Value.RESERVED,
    "DMI-PROHIBITED-SEECONSTRAINT": Value.RESERVED,
    "DMI-PROHIBITED-SEEEMBEDDEDRIGHTSEXPR": Value.RESERVED,
    "DMI-PROHIBITED-SEELINKEDRIGHTSEXPR": Value.RESERVED,
}

# (start marker, end marker); the end marker of an xpacket is followed by "?>".
_WRAPPERS = (
    (b"<?xpacket begin=", b"<?xpacket end="),
    (b"<x:xmpmeta", b"</x:xmpmeta>"),
    (b"<x:xapmeta", b"</x:xapmeta>"),  # pre-2002 Adobe writers
    (b"<rdf:RDF", b"</rdf:RDF>"),
)


@dataclass(frozen=True, slots=True)
class Packet:
    offset: int
    data: bytes


@dataclass(frozen=True, slots=True)
class ScanResult:
    packets: tuple[Packet, ...]
    problem: str = ""  # one line, e.g. a packet whose end marker never comes (truncated file)


def find_packets(data: bytes, limit: int | None = None) -> ScanResult:
    """Locate XMP packets by their wrappers (XMP Part 3 §1.1), within the module's bounds.

    A packet must start before ``limit`` (e.g. a JPEG's first scan) and may run past it."""
    limit = min(len(data), MAX_SCAN_BYTES, limit if limit is not None else len(data))
    packets: list[Packet] = []
    seen: set[bytes] = set()
    pos = 0
    while len(packets) < MAX_PACKETS:
        start, wrapper = _earliest_start(data, pos, limit)
        if wrapper is None:
            break
        end = data.find(wrapper[1], start, start + MAX_PACKET_BYTES)
        if end < 0:
            cut = "the file ends" if len(data) - start < MAX_PACKET_BYTES else f"{MAX_PACKET_BYTES} bytes"
            return ScanResult(tuple(packets), f"XMP packet at byte {start} has no end marker before {cut}")
        end += len(wrapper[1])
        if wrapper[0] == b"<?xpacket begin=":
            close = data.find(b"?>", end, end + 64)
            end = close + 2 if close >= 0 else end
        packet = data[start:end]
        if packet not in seen:  # e.g. the same packet in a JPEG's APP1 and a sidecar copy
            seen.add(packet)
            packets.append(Packet(start, packet))
        pos = end
    return ScanResult(tuple(packets))


def _earliest_start(data: bytes, pos: int, limit: int) -> tuple[int, tuple[bytes, bytes] | None]:
    best, found = limit, None
    for wrapper in _WRAPPERS:
        at = data.find(wrapper[0], pos, best)  # only look before the best match so far
        if at >= 0:
            best, found = at, wrapper
    return best, found


def xmp_signals(data: bytes, asset: AssetEvidence, limit: int | None = None, container: str = "") -> list[Signal]:
    """Signals from every XMP packet in ``data``; malformed packets become unreadable signals.

    ``container`` names where ``data`` came from when it is not the asset itself (an inflated
    PDF stream, see core/embedded/inflate.py); it is appended to every location."""
    scan = find_packets(data, limit)
    inside = f" in {container}" if container else ""
    signals: list[Signal] = []
    for packet in scan.packets:
        signals.extend(_packet_signals(packet, asset, inside))
    if scan.problem:
        signals.append(asset.unreadable(*_unreadable_as(asset), scan.problem + inside))
    return signals


def _packet_signals(packet: Packet, asset: AssetEvidence, inside: str) -> list[Signal]:
    where = f"XMP packet at byte {packet.offset}{inside} (sha256 {sha256_hex(packet.data)[:16]})"
    if b"DataMining" not in packet.data and b"tdmrep" not in packet.data:
        return []  # fast path: the packet carries neither property (most camera/editor packets)
    try:
        root = fromstring(packet.data, forbid_dtd=True)
    except DefusedXmlException as exc:
        return [asset.unreadable(*_unreadable_as(asset), f"{where} refused: {type(exc).__name__} (DTD/entities, a possible XML bomb)", packet.data)]
    except (ParseError, ValueError) as exc:
        return [asset.unreadable(*_unreadable_as(asset), f"{where} is not well-formed XML: {exc}", packet.data)]
    return _data_mining_signals(root, packet, asset, inside) + _tdmrep_signals(root, packet, asset, inside)


def _unreadable_as(asset: AssetEvidence) -> tuple[str, str]:
    # A broken packet could have held either property; name the one the format is known for.
    return ("tdmrep", "tdm-reservation") if asset.kind == "PDF" else ("iptc", "plus:DataMining")


def dmi_key(raw: str) -> str:
    """``http://ns.useplus.org/ldf/vocab/DMI-ALLOWED`` -> ``DMI-ALLOWED`` (bare keys accepted)."""
    return re.split(r"[/#:]", raw.strip())[-1].upper()


def _data_mining_signals(root: Element, packet: Packet, asset: AssetEvidence, inside: str) -> list[Signal]:
    values = property_values(root, PLUS, "DataMining")
    if not values:
        return []
    constraints = [v for v in property_values(root, PLUS, "OtherConstraints") if v]
    note = f"; plus:OtherConstraints: {constraints[0][:200]!r}" if constraints else ""
    signals = []
    for raw in values:
        key = dmi_key(raw)
        value = DMI_VALUES.get(key)
        location = f"XMP plus:DataMining = {raw[:200]}{inside}"
        if value is None:
            signals.append(asset.unreadable("iptc", "plus:DataMining", f"unrecognised XMP plus:DataMining value {raw[:200]!r}", packet.data))
        elif value is Value.UNKNOWN:
            # DMI-UNSPECIFIED states nothing: a signal without detail, so evaluate() records nothing.
            signals.append(asset.signal("iptc", key, value, location, packet.data))
        else:
            detail = f"IPTC plus:DataMining {key} in {asset.kind} XMP{note}"
            signals.append(asset.signal("iptc", key, value, location, packet.data, detail))
    return signals


def _tdmrep_signals(root: Element, packet: Packet, asset: AssetEvidence, inside: str) -> list[Signal]:
    for namespace in TDMREP_NAMESPACES:
        reservations = property_values(root, namespace, "reservation")
        if reservations:
            break
    else:
        return []
    policies = [p for p in property_values(root, namespace, "policy") if p]
    policy = policies[0][:500] if policies else ""
    signals = []
    for raw in reservations:
        location = f"XMP tdm:reservation = {raw[:50]}" + (f"; tdm:policy = {policy}" if policy else "") + inside
        value = {"1": Value.RESERVED, "0": Value.ALLOWED}.get(raw.strip())
        if value is None:
            # TDMRep §3: other values are protocol errors; the property is then unset.
            signals.append(asset.unreadable("tdmrep", "tdm-reservation", f"invalid {location} (TDMRep: treated as unset)", packet.data))
            continue
        detail = f"TDMRep tdm:reservation={raw.strip()} in {asset.kind} XMP" + (f" (tdm:policy {policy})" if policy else "")
        signals.append(asset.signal("tdmrep", "tdm-reservation", value, location, packet.data, detail))
    return signals


def property_values(root: Element, namespace: str, name: str) -> list[str]:
    """Every value of a simple XMP property, in the RDF forms XMP allows (XMP Part 1 §7.9.2)."""
    tag = f"{{{namespace}}}{name}"
    values: list[str] = []
    for description in root.iter(f"{{{RDF}}}Description"):
        attribute = description.get(tag)
        if attribute is not None:
            values.append(attribute.strip())
        for element in description.findall(tag):  # direct children: nested Descriptions come next
            values.append(_element_value(element))
    return values


def _element_value(element: Element) -> str:
    resource = element.get(f"{{{RDF}}}resource")
    if resource is not None:
        return resource.strip()
    for item in element.iter(f"{{{RDF}}}li"):  # an rdf:Alt/Bag/Seq: the first item (x-default first)
        resource = item.get(f"{{{RDF}}}resource")
        return (resource if resource is not None else item.text or "").strip()
    value = element.find(f".//{{{RDF}}}value")  # rdf:parseType="Resource" with rdf:value
    if value is not None:
        return (value.text or "").strip()
    return (element.text or "").strip()
