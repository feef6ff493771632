"""Asset-based reservations (post-fetch): what the response itself says about its content.

``asset_signals(target, response, site, policy) -> list[Signal]`` reads, for the sources the
policy honours:

- headers ``tdm-reservation`` / ``tdm-policy`` (TDMRep), ``Content-Usage`` (AIPREF),
  ``X-Robots-Tag`` and ``Robots-Tag`` (draft-illyes-repext) ``noai``/``noimageai``, and ``Link``
  naming an RSL licence;
- for ``text/html`` only, the head: ``<meta name="tdm-reservation">``, ``<meta name="robots">``
  (or our token, or a peer token), ``<link rel="license" type="application/rsl+xml">`` and inline
  RSL (core/signals/html.py);
- metadata embedded in the asset (IPTC/PLUS DataMining, C2PA/CAWG, EPUB/PDF TDMRep) through
  ``core.embedded.embedded_signals(response, policy)`` when that module is present.

TDMRep's own precedence applies across its layers: tdmrep.json < header < HTML meta < embedded
metadata, the most specific present layer wins and absence never resets (core/signals/tdmrep.py). The
tdmrep.json layer was already decided before the fetch, so it appears here only when a more
specific layer supersedes it.

Evidence for headers is a canonical header block - only the relevant headers, names lower-case,
sorted, one ``name: value`` line each - hashed and kept as bytes, so the store holds exactly what
the decision read; for HTML it is the relevant tags' exact source text. Hostile header values
(over ``MAX_HEADER_BYTES``, control characters) become unreadable signals, never exceptions.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Callable
from urllib.parse import urljoin

from . import aipref, robots_meta, rsl, tdmrep
from .html import HtmlHead, is_html, scan_html
from .location import site_evidence, site_parsed
from ..model import Evidence, ResponseView, Signal, Value, sha256_hex

RELEVANT_HEADERS = ("content-type", "content-usage", "link", "robots-tag", "tdm-policy", "tdm-reservation",
                    "x-robots-tag")
MAX_HEADER_BYTES = 8192
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".gif", ".webp", ".tif", ".tiff", ".bmp", ".svg", ".avif",
                    ".heic", ".heif")
_TDM_METAS = frozenset({"tdm-reservation", "tdm-policy"})
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")
_VOCABULARY_OF = {"content-usage": "aipref", "tdm-reservation": "tdmrep", "tdm-policy": "tdmrep",
                  "x-robots-tag": "robots-meta", "robots-tag": "robots-meta", "link": "rsl"}


class _Evidence:
    """Builds evidence lazily: nothing is hashed for a response without relevant statements."""

    def __init__(self, response: ResponseView, source: str, block: Callable[[], bytes]) -> None:
        self._response, self._source, self._block = response, source, block
        self._cached: tuple[str, bytes] | None = None

    def __call__(self, location: str) -> Evidence:
        if self._cached is None:
            body = self._block()
            self._cached = (sha256_hex(body), body)
        r = self._response
        return Evidence(self._source, location=location, url=r.url, final_url=r.final_url, status=r.status,
                        fetched_at=r.fetched_at, sha256=self._cached[0], body=self._cached[1])


def canonical_headers(response: ResponseView) -> bytes:
    """The relevant headers as a canonical block: lower-case names, sorted, values as received."""
    lines = [f"{name}: {value}" for name in RELEVANT_HEADERS for value in response.header(name)]
    return ("\n".join(lines) + "\n").encode("utf-8", "backslashreplace")


def is_image(target, response: ResponseView) -> bool:
    """Image-ness for ``noimageai``: the Content-Type, or the URL's extension when it has none."""
    kind = response.content_type
    if kind:
        return kind.startswith("image/")
    return target.path.split("?", 1)[0].lower().endswith(IMAGE_EXTENSIONS)


def asset_signals(target, response: ResponseView, site, policy, head: HtmlHead | None = None) -> list[Signal]:
    """``head``: the response's ``html.scan_html(body)``, when the caller shares one with access.py."""
    sources = policy.sources
    header_evidence = _Evidence(response, "headers", lambda: canonical_headers(response))
    signals: list[Signal] = []
    headers: dict[str, list[str]] = {}
    present = response.headers
    for name in _VOCABULARY_OF:  # a fixed order: reasons must come out the same in every run
        values = present.get(name)
        if not values:
            continue
        bad = next((v for v in values if len(v) > MAX_HEADER_BYTES or _CONTROL.search(v)), None)
        if bad is not None:
            why = f"over {MAX_HEADER_BYTES} bytes" if len(bad) > MAX_HEADER_BYTES else "control characters"
            signals.append(Signal("headers", _VOCABULARY_OF[name], "*", Value.UNKNOWN,
                                  header_evidence(f"header {name} ({why})"),
                                  detail=f"{name} header unreadable: {why} ({len(bad)} bytes)"))
            continue
        headers[name] = values

    content_type = response.content_type
    relevant: list[tuple[str, str, str]] = []  # (key, content, source text) of the metas we read
    token, peers = policy.crawler.product_token, policy.peer_tokens
    if response.body and is_html(content_type, response.body):
        if head is None:
            head = scan_html(response.body)
        relevant = head.select_metas(_meta_names(token, peers))
    else:
        head = None
    html_evidence = _Evidence(response, "html", lambda: _html_block(head, relevant))

    embedded: list[Signal] = []
    if sources.embedded_metadata:
        embedded = _embedded(response, policy, header_evidence)

    if sources.tdmrep:
        signals.extend(_tdmrep(target, site, headers, relevant, html_evidence, header_evidence, embedded))
    if sources.content_usage and "content-usage" in headers:
        signals.extend(aipref.header_signals(headers["content-usage"], header_evidence))
    if sources.robots_meta and (relevant or "x-robots-tag" in headers or "robots-tag" in headers):
        statements = robots_meta.header_statements(headers.get("x-robots-tag", []) + headers.get("robots-tag", []),
                                                   header_evidence)
        statements += robots_meta.meta_statements(relevant, token, peers, html_evidence)
        signals.extend(robots_meta.directive_signals(statements, token, peers, is_image(target, response)))
    if sources.rsl and ("link" in headers or (head is not None and (
            any(kind == rsl.RSL_TYPE for kind, _ in head.scripts) or head.has_link_rel("license")))):
        signals.extend(_rsl(target, response, site, headers.get("link", []), head, header_evidence, html_evidence))
    signals.extend(s for s in embedded if s.vocabulary != "tdmrep")
    return signals


@lru_cache(maxsize=64)
def _meta_names(token: str, peers: frozenset[str]) -> frozenset[str]:
    """The meta names the checks read: TDMRep's, ``robots``, our token and the peer tokens."""
    return _TDM_METAS | {"robots", token.lower()} | peers


def _tdmrep(target, site, headers, metas, html_evidence, header_evidence, embedded) -> list[Signal]:
    reservations = headers.get("tdm-reservation", [])
    tdm_metas = [(k, c) for k, c, _ in metas if k in _TDM_METAS]
    embedded_layers = [s for s in embedded if s.vocabulary == "tdmrep"]
    if not (reservations or tdm_metas or embedded_layers):
        return []  # the tdmrep.json layer alone was decided before the fetch
    parsed = site_parsed(site.tdmrep) if site is not None else None
    file_layer = None
    if isinstance(parsed, tdmrep.TdmrepFile):
        file_layer = tdmrep.file_layer(parsed, target.path, site_evidence(site.tdmrep))
    header_layer = None
    if reservations:
        shown = "; ".join(f"tdm-reservation: {v.strip()}" for v in reservations)
        header_layer = tdmrep.header_signal(reservations, headers.get("tdm-policy", []),
                                            header_evidence(f"header {shown[:200]}"))
    meta_layer = tdmrep.meta_signal(tdm_metas, html_evidence)
    resolution = tdmrep.resolve([file_layer, header_layer, meta_layer, *embedded_layers])
    signals = list(resolution.errors)
    effective = resolution.effective
    if effective is not None and effective is not file_layer:
        signals.append(effective)
    return signals


def _rsl(target, response, site, links: list[str], head, header_evidence, html_evidence) -> list[Signal]:
    known = {}
    for licence in getattr(site, "rsl", ()) or ():
        doc = site_parsed(licence)
        for url in (licence.evidence.url, licence.evidence.final_url):
            if url and isinstance(doc, rsl.RslDocument):
                known[url] = (doc, licence)
    page = response.final_url or response.url
    # RFC 8288 §3.1 / HTML: a relative reference resolves against the response's URL.
    named: list[tuple[str, Callable[[str], Evidence], str]] = [
        (urljoin(page, url), header_evidence, "headers") for url in rsl.link_header_licences(links)]
    signals: list[Signal] = []
    if head is not None:
        if head.has_link_rel("license"):
            named += [(urljoin(page, href), html_evidence, "html") for rel, kind, href in head.links
                      if "license" in rel.split() and kind == rsl.RSL_TYPE and href]
        for kind, text in head.scripts:
            if kind == rsl.RSL_TYPE:
                doc = rsl.parse_rsl(text.encode("utf-8"))
                signals.extend(rsl.document_signals(doc, target.origin, target.path, "inline <script> in the page",
                                                    html_evidence, "html", "asset"))
    for url, make, source in named:
        if url in known:
            doc, licence = known[url]
            signals.extend(rsl.document_signals(doc, target.origin, target.path, url, site_evidence(licence),
                                                source, "asset"))
        else:
            where = "Link header" if source == "headers" else "HTML <link>"
            signals.append(Signal(source, rsl.VOCABULARY, "*", Value.UNKNOWN, make(f"{where} RSL licence {url[:300]}"),
                                  detail=f"RSL licence {url[:300]} named by the {where} was not retrieved; "
                                         f"its terms are not checked"))
    return signals


_EMBEDDED: list = []  # core.embedded.embedded_signals once imported (an import per call costs µs)


def _embedded(response: ResponseView, policy, evidence: _Evidence) -> list[Signal]:
    """Signals from core.embedded; a reader failure is recorded, never raised."""
    if not _EMBEDDED:
        from ..embedded.scan import embedded_signals

        _EMBEDDED.append(embedded_signals)
    try:
        return list(_EMBEDDED[0](response, policy))
    except Exception as exc:  # a reader bug must not crash the crawl: record it instead
        return [Signal("embedded", "embedded", "*", Value.UNKNOWN, evidence("embedded metadata"),
                       detail=f"embedded metadata reader failed: {type(exc).__name__}: {str(exc)[:200]}")]


def _html_block(head, metas: list[tuple[str, str, str]]) -> bytes:
    """The page's source text a decision read, for the evidence store: the relevant meta tags
    and inline RSL documents (a licence named by ``<link>`` is cited by its URL)."""
    parts = [raw for _, _, raw in metas] + [text for kind, text in head.scripts if kind == rsl.RSL_TYPE]
    return "\n".join(parts).encode("utf-8", "backslashreplace")
