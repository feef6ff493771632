"""RSL 1.0 (Really Simple Licensing): licence discovery and ``permits``/``prohibits`` usage terms.

Discovery (reference/protocols.md §6): ``License: <url>`` lines in robots.txt, global (not tied to
a user agent, RSL §4.4.2); ``Link: <url>; rel="license"; type="application/rsl+xml"`` response
headers; HTML ``<link rel="license" type="application/rsl+xml" href>`` and inline
``<script type="application/rsl+xml">``. The fetch layer retrieves robots.txt-named licences
(kind ``rsl``); a licence named only by a response cannot be fetched post-fetch, so it is recorded
(URL in the evidence) as "terms not checked" - an unreadable note, or a deny under
``on_failure.unreadable_signal = "deny"`` (RSL: retrieve and comply before use).

Document: ``<rsl><content url=".." [server=".."]><license><permits type="usage">search</permits>
<prohibits type="usage">ai-train</prohibits><payment type=".."/></license></content></rsl>``.
``content@url`` is a full URL or a path, matched with RFC 9309 rules (``*``, ``$``). Usage tokens:
``all``, ``ai-all``, ``ai-train`` (also the IETF spelling ``train-ai``), ``ai-input``,
``ai-index``, ``search``. A ``server`` attribute or a non-free ``payment`` means the permission
exists only under a licence we must obtain; both are noted in the detail. XML is parsed with
defusedxml (no entity expansion, no external entities).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable
from xml.etree.ElementTree import Element

from defusedxml import ElementTree as SafeET

from ..model import Evidence, Signal, Value
from ..robots.patterns import PathPattern, compile_pattern, origin_of_pattern, path_of

VOCABULARY = "rsl"
RSL_TYPE = "application/rsl+xml"
_FREE = {"", "free", "attribution"}


@dataclass(frozen=True, slots=True)
class RslTerms:
    permits: tuple[str, ...]  # usage tokens, lower-case
    prohibits: tuple[str, ...]
    payment: str  # payment type ("" when none)


@dataclass(frozen=True, slots=True)
class RslContent:
    url: str
    pattern: PathPattern
    origin: str | None  # for absolute content@url: only that origin matches
    server: str
    licences: tuple[RslTerms, ...]

    def matches(self, origin: str, path: str) -> bool:
        return (self.origin is None or self.origin == origin) and self.pattern.matches(path)


@dataclass(frozen=True, slots=True)
class RslDocument:
    contents: tuple[RslContent, ...] = ()
    problems: tuple[str, ...] = ()
    unreadable: bool = False


def parse_rsl(data: bytes) -> RslDocument:
    """Parse an RSL licence document. Never raises; problems are recorded."""
    try:
        root = SafeET.fromstring(data)
    except Exception as exc:  # ParseError, defusedxml's EntitiesForbidden/DTDForbidden, ...
        return RslDocument(problems=(f"not well-formed or forbidden XML: {str(exc)[:200]}",), unreadable=True)
    if _local(root.tag) != "rsl":
        return RslDocument(problems=(f"root element is <{_local(root.tag)[:40]}>, expected <rsl>",), unreadable=True)
    contents: list[RslContent] = []
    problems: list[str] = []
    for number, element in enumerate(_children(root, "content"), start=1):
        url = (element.get("url") or "").strip()
        if not url:
            problems.append(f"content {number} has no url attribute")
            continue
        licences = tuple(_terms(lic) for lic in _children(element, "license"))
        contents.append(RslContent(url, compile_pattern(path_of(url)), origin_of_pattern(url),
                                   (element.get("server") or "").strip(), licences))
    if not contents and not problems:
        problems.append("no <content> element")
    return RslDocument(tuple(contents), tuple(problems), unreadable=not contents)


def _terms(licence: Element) -> RslTerms:
    permits: list[str] = []
    prohibits: list[str] = []
    for child in licence:
        kind = _local(child.tag)
        if kind in ("permits", "prohibits") and (child.get("type") or "usage").strip().lower() == "usage":
            tokens = [t.lower() for t in re.split(r"[\s,]+", child.text or "") if t]
            (permits if kind == "permits" else prohibits).extend(tokens)
    payment = next((str(p.get("type") or "").strip().lower() for p in _children(licence, "payment")), "")
    return RslTerms(tuple(permits), tuple(prohibits), payment)


def document_signals(doc: RslDocument, origin: str, path: str, licence_url: str,
                     make_evidence: Callable[[str], Evidence], source: str, scope: str) -> list[Signal]:
    """Signals of one licence document for the URL ``origin`` + ``path``."""
    if doc.unreadable:
        return [Signal(source, VOCABULARY, "*", Value.UNKNOWN, make_evidence(f"RSL licence {licence_url}"),
                       scope=scope, detail=f"RSL licence {licence_url} unreadable: {'; '.join(doc.problems)}")]
    signals: list[Signal] = []
    for content in doc.contents:
        if not content.matches(origin, path):
            continue
        for terms in content.licences:
            conditions = _conditions(content, terms)
            # A permission under conditions - a licence server ("clients must obtain a license for
            # this asset, even if the license is free", protocols.md §6) or a payment - is one we
            # hold only once the licence is obtained: until then that use stays reserved. A
            # [[licences]] entry in the policy (the contract) lifts it like any reservation.
            permitted = Value.RESERVED if conditions else Value.ALLOWED
            for values, value, verb in ((terms.prohibits, Value.RESERVED, "prohibits"),
                                        (terms.permits, permitted, "permits")):
                for token in values:
                    location = f'RSL licence {licence_url} <content url="{content.url}">: {verb} usage {token}'
                    only = " only under a licence we must obtain" if verb == "permits" and conditions else ""
                    signals.append(Signal(source, VOCABULARY, token, value, make_evidence(location), scope=scope,
                                          detail=f"RSL licence {licence_url} {verb} usage {token}{only} for "
                                                 f"{content.url}{conditions}"))
    return signals


def _conditions(content: RslContent, terms: RslTerms) -> str:
    notes = []
    if content.server:
        notes.append(f"licence server {content.server} (a licence must be obtained)")
    if terms.payment not in _FREE:
        notes.append(f"payment {terms.payment}")
    return f" ({'; '.join(notes)})" if notes else ""


_LINK = re.compile(r'<([^>]*)>((?:\s*;\s*[^;,]*(?:"[^"]*")?[^;,]*)*)')
_PARAM = re.compile(r';\s*([A-Za-z*-]+)\s*=\s*(?:"([^"]*)"|([^;,\s]*))')


def link_header_licences(values: list[str]) -> list[str]:
    """RSL licence URLs named by ``Link`` headers (RFC 8288) with rel=license, type rsl+xml."""
    urls: list[str] = []
    for value in values:
        for match in _LINK.finditer(value):
            params = {m.group(1).lower(): (m.group(2) if m.group(2) is not None else m.group(3))
                      for m in _PARAM.finditer(match.group(2))}
            rels = (params.get("rel") or "").lower().split()
            if "license" in rels and (params.get("type") or "").strip().lower() == RSL_TYPE:
                urls.append(match.group(1).strip())
    return urls


def _local(tag: object) -> str:
    return str(tag).rsplit("}", 1)[-1].lower()


def _children(element: Element, name: str) -> list[Element]:
    return [child for child in element if _local(child.tag) == name]
