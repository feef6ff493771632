"""TDMRep in EPUB package metadata (TDMRep §"EPUB", protocols.md §2d).

An EPUB is a ZIP (OCF 3.3 §4): ``META-INF/container.xml`` names the package document (OPF) of
the default rendition (the first ``rootfile``). TDMRep reads, in the OPF ``<metadata>``:

- EPUB 2: ``<meta name="tdm:reservation" content="1"/>`` and ``<meta name="tdm:policy" content="…"/>``
- EPUB 3: ``<meta property="tdm:reservation">1</meta>`` (and ``tdm:policy``) where the package
  declares ``prefix="tdm: http://www.w3.org/ns/tdmrep#"``. Any prefix bound to the TDMRep IRI is
  honoured; an undeclared ``tdm:`` prefix is honoured too (a reservation is not ignored over a
  missing declaration) and the detail says so.

The reservation applies to the whole package. Zip bombs are guarded: only the two small XML files
are inflated, each cut at :data:`MAX_XML_BYTES` of *uncompressed* data whatever the ZIP headers
claim; XML goes through defusedxml.
"""

from __future__ import annotations

import io
import zipfile
import zlib
from xml.etree.ElementTree import Element, ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring

from .evidence import AssetEvidence
from ..model import Signal, Value

MAX_XML_BYTES = 1024 * 1024
MAX_ENTRIES = 100_000  # a ZIP central directory is parsed whole: refuse absurd archives
CONTAINER = "META-INF/container.xml"
OCF_NS = "urn:oasis:names:tc:opendocument:xmlns:container"
TDMREP_IRIS = ("http://www.w3.org/ns/tdmrep#", "http://www.w3.org/ns/tdmrep/")


class EpubError(ValueError):
    """The EPUB cannot be read; ``str()`` is one line."""


def is_epub(data: bytes) -> bool:
    # OCF 3.3 §4.3: the first entry is an uncompressed "mimetype" file reading application/epub+zip.
    return data[:4] == b"PK\x03\x04" and data[30:38] == b"mimetype" and b"application/epub+zip" in data[38:90]


def epub_signals(data: bytes, asset: AssetEvidence) -> list[Signal]:
    try:
        opf_path, opf = package_document(data)
        metas = tdm_metas(opf)
    except EpubError as exc:
        return [asset.unreadable("tdmrep", "tdm-reservation", f"EPUB unreadable: {exc}")]
    reservations = metas.get("reservation", [])
    if not reservations:
        return []
    policy = next((value for value, _ in metas.get("policy", []) if value), "")
    signals = []
    for value, how in reservations:
        location = f"OPF {opf_path}: {how} = {value[:50]}" + (f"; tdm:policy = {policy[:500]}" if policy else "")
        parsed = {"1": Value.RESERVED, "0": Value.ALLOWED}.get(value)
        if parsed is None:
            # TDMRep §3: other values are protocol errors; the property is then unset.
            signals.append(asset.unreadable("tdmrep", "tdm-reservation", f"invalid {location} (TDMRep: treated as unset)", opf))
            continue
        detail = f"TDMRep tdm:reservation={value} in EPUB package metadata ({how})" + (f" (tdm:policy {policy[:500]})" if policy else "")
        signals.append(asset.signal("tdmrep", "tdm-reservation", parsed, location, opf, detail))
    return signals


def package_document(data: bytes) -> tuple[str, bytes]:
    """(path, bytes) of the default rendition's package document."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, ValueError, EOFError) as exc:
        raise EpubError(f"not a ZIP archive ({exc})") from None
    with archive:
        if len(archive.infolist()) > MAX_ENTRIES:
            raise EpubError(f"more than {MAX_ENTRIES} ZIP entries")
        container = _parse(_read(archive, CONTAINER), CONTAINER)
        rootfile = next(iter(container.iter(f"{{{OCF_NS}}}rootfile")), None)
        path = rootfile.get("full-path", "") if rootfile is not None else ""
        if not path:
            raise EpubError(f"{CONTAINER} names no rootfile full-path")
        return path, _read(archive, path)


def _read(archive: zipfile.ZipFile, name: str) -> bytes:
    try:
        with archive.open(name) as member:
            data = member.read(MAX_XML_BYTES + 1)  # inflates at most this much, whatever the header says
    except KeyError:
        raise EpubError(f"{name} is missing") from None
    except (zipfile.BadZipFile, zlib.error, NotImplementedError, RuntimeError, ValueError, EOFError, OSError) as exc:
        # corrupt deflate data, an unsupported method, an encrypted member, a CRC mismatch
        raise EpubError(f"{name} cannot be inflated ({exc})") from None
    if len(data) > MAX_XML_BYTES:
        raise EpubError(f"{name} inflates beyond {MAX_XML_BYTES} bytes (zip bomb guard)")
    return data


def _parse(data: bytes, name: str) -> Element:
    try:
        return fromstring(data, forbid_dtd=False)  # EPUB 2 OPFs may carry a DOCTYPE; entities stay forbidden
    except DefusedXmlException as exc:
        raise EpubError(f"{name} refused: {type(exc).__name__} (entities, a possible XML bomb)") from None
    except (ParseError, ValueError) as exc:
        raise EpubError(f"{name} is not well-formed XML: {exc}") from None


def tdm_metas(opf: bytes) -> dict[str, list[tuple[str, str]]]:
    """``{"reservation": [(value, how)], "policy": [...]}`` from the package metadata."""
    package = _parse(opf, "package document")
    prefixes = _declared_prefixes(package.get("prefix", ""))
    found: dict[str, list[tuple[str, str]]] = {}
    for meta in package.iter():
        if not isinstance(meta.tag, str) or meta.tag.rsplit("}", 1)[-1] != "meta" or meta.get("refines"):
            continue  # refining metas describe another element, not the package
        name, prop = meta.get("name"), meta.get("property")
        if name and name.startswith("tdm:"):  # EPUB 2
            found.setdefault(name[4:], []).append(((meta.get("content") or "").strip(), f'<meta name="{name}">'))
        elif prop and ":" in prop:  # EPUB 3
            prefix, term = prop.split(":", 1)
            iri = prefixes.get(prefix)
            if iri in TDMREP_IRIS or (iri is None and prefix == "tdm"):
                how = f'<meta property="{prop}">' + ("" if iri else " (tdm prefix not declared)")
                found.setdefault(term, []).append(((meta.text or "").strip(), how))
    return found


def _declared_prefixes(attribute: str) -> dict[str, str]:
    # EPUB 3.3 §D.1: prefix = "tdm: http://… dc: http://…" (whitespace-separated pairs)
    words = attribute.split()
    return {words[i].rstrip(":"): words[i + 1] for i in range(0, len(words) - 1, 2) if words[i].endswith(":")}
