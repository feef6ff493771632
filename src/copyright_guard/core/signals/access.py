"""Access restrictions (post-fetch): what the crawler must not get around (Code of Practice 1.2(1)(a)).

``access_reasons(response)`` returns one ``access.restricted`` DENY reason per restriction found;
the response is then not collected. Exactly these count:

1. **Status** 401 (authentication required), 402 (payment required), 403 (forbidden), 407 (proxy
   authentication required) and 451 (unavailable for legal reasons; RFC 9110 §15.5, RFC 7725).
2. **Login wall**: the request was redirected (``final_url`` differs from ``url``) to a login page,
   or the page's ``<meta http-equiv="refresh">`` sends the reader to one; a login page is a URL
   whose host starts with ``login.``, ``signin.``, ``sso.`` or ``auth.``, or one of whose path
   segments (extension dropped) is a login word (:data:`LOGIN_SEGMENTS`). A request *for* a login
   page is not a wall, and a page that merely contains a sign-in form is not one either (every
   forum sidebar has one: a password field alone would be a false positive).
3. **Paywall markup**: schema.org ``isAccessibleForFree`` false - JSON-LD (top-level nodes,
   ``@graph`` members and what they reach through ``hasPart`` or ``mainEntity``, so a teaser list of
   other, paywalled articles does not restrict the page listing them) or microdata
   (``itemprop="isAccessibleForFree" content="False"``). False is ``false``, ``"false"`` in any
   case, ``{"@value": ...}`` of those, or ``schema:False`` / ``http(s)://schema.org/False``.

The crawler never answers a restriction: it sends no credentials, cookies or Authorization
headers, and never retries the URL with another identity (enforced by the Scrapy middleware; see
README "Exclusion lists, paywalls and licences"). Evidence of paywall markup keeps only the
markup itself, never the page: a restricted page's content is exactly what must not be stored.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from urllib.parse import urljoin, urlsplit

from .html import HtmlHead, is_html, scan_html
from ..model import Effect, Evidence, Reason, ResponseView, sha256_hex

RESTRICTED_STATUSES = {
    401: "Unauthorized (authentication required)",
    402: "Payment Required",
    403: "Forbidden",
    407: "Proxy Authentication Required",
    451: "Unavailable For Legal Reasons",
}
LOGIN_SEGMENTS = frozenset({
    "login", "log-in", "log_in", "signin", "sign-in", "sign_in", "logon", "log-on",
    "servicelogin", "authenticate", "sso",
})
LOGIN_HOST_PREFIXES = ("login.", "signin.", "sso.", "auth.")
# schema.org terms and JSON-LD keys are case-sensitive (JSON-LD 1.1 §1.4); we also accept the
# all-lower-case misspelling seen in the wild. Other mixed-case misspellings are not recognised:
# a case-insensitive scan of every page would cost several times the whole post-fetch budget.
_PROPERTY_SPELLINGS = (b"isAccessibleForFree", b"isaccessibleforfree")
_PROPERTY_NAMES = frozenset({
    "isaccessibleforfree", "schema:isaccessibleforfree",
    "http://schema.org/isaccessibleforfree", "https://schema.org/isaccessibleforfree",
})
_FALSE = frozenset({"false", "schema:false", "http://schema.org/false", "https://schema.org/false"})
_PAGE_LINKS = ("haspart", "mainentity", "schema:haspart", "schema:mainentity")
# HTML "refresh" pragma: "<seconds>; url=<URL>" (spaces around "=" allowed, quotes optional).
_REFRESH_URL = re.compile(r"^\s*[\d.]*\s*[;,]\s*(?:url\s*=\s*)?(.+)$", re.IGNORECASE | re.DOTALL)
_MAX_NODES = 10_000  # JSON-LD nodes visited per page: bounded work on hostile markup
_MAX_DEPTH = 32


def access_reasons(response: ResponseView, head: HtmlHead | None = None) -> list[Reason]:
    """Every access restriction the response shows (status, login wall, paywall markup).

    ``head``: the response's ``html.scan_html(body)``, when the caller shares one with assets.py."""
    reasons: list[Reason] = []
    if response.status in RESTRICTED_STATUSES:
        detail = (f"HTTP {response.status} {RESTRICTED_STATUSES[response.status]}: access is restricted; not collected, "
                  "and never retried with credentials, cookies or another identity")
        reasons.append(_reason(detail, _evidence(response, f"HTTP status {response.status}")))
    final = response.final_url or response.url
    if final != response.url and is_login_url(final) and not is_login_url(response.url):
        reasons.append(_reason(f"redirected to the login page {final}: access is restricted (login wall)",
                               _evidence(response, f"redirect to {final}")))
    if is_html(response.content_type, response.body):
        reasons.extend(_markup_reasons(response, head if head is not None else scan_html(response.body)))
    return reasons


def is_login_url(url: str) -> bool:
    try:
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
    except ValueError:
        return False
    if host.startswith(LOGIN_HOST_PREFIXES):
        return True
    segments = [s.lower() for s in parts.path.split("/") if s]
    names = {s.rsplit(".", 1)[0] if "." in s else s for s in segments}  # login.php, signin.aspx
    return bool(names & LOGIN_SEGMENTS)


def _markup_reasons(response: ResponseView, head: HtmlHead) -> list[Reason]:
    reasons: list[Reason] = []
    final = response.final_url or response.url
    for content in head.meta("refresh"):
        # <meta http-equiv="refresh" content="0; url=/login?next=...">: a client-side redirect.
        found = _REFRESH_URL.search(content)
        if found:
            absolute = urljoin(final, found.group(1).strip().strip("'\""))
            if is_login_url(absolute) and not is_login_url(final):
                reasons.append(_reason(f"the page refreshes to the login page {absolute}: access is restricted (login wall)",
                                       _evidence(response, f'<meta http-equiv="refresh" content="{content[:200]}">')))
    if not head.contains_any(*_PROPERTY_SPELLINGS):
        # Without the property name in the window there is no paywall markup to read, and neither
        # JSON-LD nor microdata is parsed (most pages: this keeps the post-fetch check cheap).
        return reasons
    for number, block in enumerate(head.json_ld, 1):
        try:
            document = json.loads(block, strict=False)
        except (ValueError, RecursionError):
            continue  # malformed JSON-LD says nothing we can rely on
        for path, value in _page_nodes_not_free(document):
            location = f"JSON-LD block {number}, {path}: isAccessibleForFree = {json.dumps(value)}"
            detail = (f"schema.org isAccessibleForFree = {json.dumps(value)} in JSON-LD ({path}): the publisher marks "
                      "this content as not free (paywall); not collected")
            reasons.append(_reason(detail, _evidence(response, location, block.encode("utf-8"))))
            break  # one reason per block is enough for a reviewer
    for prop, content in head.itemprops:
        if prop.lower() in _PROPERTY_NAMES and _is_false(content):
            markup = f'itemprop="{prop}" content="{content}"'
            reasons.append(_reason(f"schema.org microdata {markup}: the publisher marks this content as not free (paywall); not collected",
                                   _evidence(response, f"microdata {markup}", markup.encode("utf-8"))))
            break
    return reasons


def _page_nodes_not_free(document: object) -> Iterator[tuple[str, object]]:
    """``(path, value)`` of each isAccessibleForFree=false on a node describing this page."""
    budget = [_MAX_NODES]

    def visit(node: object, path: str, depth: int) -> Iterator[tuple[str, object]]:
        budget[0] -= 1
        if budget[0] < 0 or depth > _MAX_DEPTH:
            return
        if isinstance(node, list):
            for i, item in enumerate(node):
                yield from visit(item, f"{path}[{i}]", depth + 1)
            return
        if not isinstance(node, dict):
            return
        for key, value in node.items():
            if isinstance(key, str) and key.lower() in _PROPERTY_NAMES and _is_false(value):
                yield f"{path}.{key}" if path else key, value
        for key, value in node.items():
            lowered = key.lower() if isinstance(key, str) else ""
            if lowered == "@graph" or lowered in _PAGE_LINKS:
                yield from visit(value, f"{path}.{key}" if path else key, depth + 1)

    yield from visit(document, "", 0)


def _is_false(value: object) -> bool:
    if value is False:
        return True
    if isinstance(value, str):
        return value.strip().lower() in _FALSE
    if isinstance(value, dict):
        return _is_false(value.get("@value", value.get("@id")))
    if isinstance(value, list):
        return any(_is_false(item) for item in value[:16])
    return False


def _evidence(response: ResponseView, location: str, markup: bytes | None = None) -> Evidence:
    return Evidence(
        source="response",
        location=location,
        url=response.url,
        final_url=response.final_url,
        status=response.status,
        fetched_at=response.fetched_at,
        sha256=sha256_hex(markup) if markup is not None else None,
        body=markup,
    )


def _reason(detail: str, evidence: Evidence) -> Reason:
    return Reason("access.restricted", "response", detail, Effect.DENY, evidence)
