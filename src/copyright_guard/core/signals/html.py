"""A small, fast scanner for the parts of an HTML document the opt-out and access checks read.

``scan_html(body) -> HtmlHead`` runs on bytes with precompiled regexes (no DOM, no tree builder):
every page of a crawl goes through it, so it must cost microseconds. One pass over the head
(up to ``</head>`` or ``<body``, within the first ``WINDOW`` bytes) records where the ``<meta>``
and ``<link>`` tags are; their attributes are decoded only when asked for:

- ``metas``: ``(key, content)`` of each ``<meta>`` in the head, key = the ``name``, ``property``
  or ``http-equiv`` attribute lower-cased (HTML attribute names and these keywords are ASCII
  case-insensitive); ``meta_tags`` holds the same tags' exact source text, for evidence;
- ``select_metas(keys)``: ``(key, content, source text)`` of the metas whose key is in ``keys``
  (lower-case), decoding only those - what the opt-out checks use;
- ``links``: ``(rel, type, href)`` of each ``<link>`` in the head, rel and type lower-cased;
- ``scripts``: ``(type, text)`` of inline ``<script>`` blocks in the head with a JSON-LD or RSL
  type;
- ``json_ld`` (every ``<script type="application/ld+json">`` block in the window, not inside a
  comment) and ``itemprops`` (``(itemprop, content)`` of microdata in the window) for paywall
  markup (schema.org ``isAccessibleForFree``; core/signals/access.py), with ``contains_any(*spellings)`` as their
  cheap pre-check. These read past the head, so they cost a pass over the window; they are
  computed on first access only, and core/signals/access.py reads them only when ``mentions`` says the
  window has the property name at all.

Comments, ``<script>`` and ``<style>`` contents are skipped, so a commented-out
``<meta name="robots" content="noai">`` does not count; unterminated ones run to the end of the
window, as in a browser. Attribute values are decoded as UTF-8 (errors replaced) and HTML
character references unescaped. Nothing is memoised across calls: the one ``HtmlHead`` of a
response is built by core/evaluate.py and handed to access.py and assets.py.
"""

from __future__ import annotations

import html as _html
import re
from bisect import bisect_right
from typing import Collection

WINDOW = 256 * 1024
# Media types read as HTML by the post-fetch checks (access.py, assets.py).
HTML_TYPES = ("text/html", "application/xhtml+xml")


def is_html(content_type: str, body: bytes) -> bool:
    """Is a response HTML for the post-fetch checks? Its media type says; without one, sniff as a
    browser would (WHATWG MIME Sniffing §7.1: markup starts with "<" after white space), so a
    server that omits Content-Type cannot hide its meta tags."""
    if content_type:
        return content_type in HTML_TYPES
    return body[:512].lstrip()[:1] == b"<"
_INTERESTING_SCRIPTS = ("application/ld+json", "application/rsl+xml")

# A tag's attribute text, quotes respected, written as an unrolled loop: sre runs a
# character-class repeat as one opcode, while a per-character alternation costs ~50 ns a byte.
_ATTRS = rb"""([^>"']*(?:(?:"[^"]*"|'[^']*')[^>"']*)*)"""
# The head walk: comments and script/style blocks are consumed whole, meta and link tags are
# captured, the end of the head stops the walk. It runs on a lower-cased copy of the head only
# (positions are the same), so the pattern is case-sensitive and sre can skip ahead to each "<".
# Comment and block bodies are unrolled too: ``[^-]*(?:-(?!->)[^-]*)*`` is ``.*?`` up to the first
# ``-->`` (and ``[^<]*...`` up to the first ``</script``/``</style``) without a try per byte.
_COMMENT = rb"!--[^-]*(?:-(?!->)[^-]*)*(?:-->|\Z)"
_BLOCK_BODY = rb"([^<]*(?:<(?!/\1)[^<]*)*)(?:</\1|\Z)"
_HEAD_ITEM = re.compile(
    rb"<(?:" + _COMMENT +
    rb"|(script|style)(?=[\s>/])" + _ATTRS + rb">" + _BLOCK_BODY +
    rb"|(meta|link)(?=[\s>/])" + _ATTRS + rb">"
    rb"|(/head|body)(?=[\s>/]))",
    re.DOTALL,
)
_HEAD_END = re.compile(rb"</head|<body", re.IGNORECASE)
_ATTR = re.compile(rb"""([^\s"'>/=]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>"']+)))?""")
# The body walk of json_ld (on the lower-cased window): comments and script/style blocks whole.
_BLOCK = re.compile(rb"<(?:" + _COMMENT + rb"|(script|style)(?=[\s>/])" + _ATTRS + rb">" + _BLOCK_BODY + rb")", re.DOTALL)
_TAG_OPEN = re.compile(rb"<[A-Za-z][A-Za-z0-9-]*" + _ATTRS + rb">")


def _text(raw: bytes) -> str:
    value = raw.decode("utf-8", "replace")
    return _html.unescape(value) if "&" in value else value


def attributes(raw: bytes) -> dict[str, str]:
    """Attributes of a tag's source text (after the tag name); names lower-cased, first wins."""
    attrs: dict[str, str] = {}
    for name, double, single, bare in _ATTR.findall(raw):
        key = name.decode("ascii", "replace").lower()
        if key not in attrs:
            attrs[key] = _text(double or single or bare)
    return attrs


def _meta_key(attrs: dict[str, str]) -> str | None:
    key = attrs.get("name") or attrs.get("property") or attrs.get("http-equiv")
    return key.strip().lower() if key is not None and "content" in attrs else None


class HtmlHead:
    """What :func:`scan_html` found. Spans are ``(tag start, attributes start, attributes end,
    tag end)`` offsets into the body. The head walk runs on first use, so building one for a
    response that turns out not to need it costs nothing."""

    __slots__ = ("_body", "_scanned", "_scripts", "_lower", "_lower_window", "_meta_spans", "_link_spans", "_metas",
                 "_meta_keys", "_links", "_json_ld", "_itemprops")

    def __init__(self, body: bytes) -> None:
        self._body = body
        self._scanned = False
        self._scripts: tuple[tuple[str, str], ...] = ()
        self._lower = b""  # the head, lower-cased
        self._lower_window: bytes | None = None  # the whole window, lower-cased, when a body scan needs it
        self._meta_spans: list[tuple[int, int, int, int]] = []
        self._link_spans: list[tuple[int, int, int, int]] = []
        self._metas: tuple[tuple[str, str, str], ...] | None = None
        self._meta_keys: list[tuple[int, str, bool, bool]] | None = None
        self._links: tuple[tuple[str, str, str], ...] | None = None
        self._json_ld: tuple[str, ...] | None = None
        self._itemprops: tuple[tuple[str, str], ...] | None = None

    def _scan(self) -> None:
        if not self._scanned:
            self._lower, self._meta_spans, self._link_spans, self._scripts = _walk_head(self._body)
            self._scanned = True

    @property
    def scripts(self) -> tuple[tuple[str, str], ...]:
        """``(type, text)`` of the inline JSON-LD and RSL ``<script>`` blocks of the head."""
        self._scan()
        return self._scripts

    def _all_metas(self) -> tuple[tuple[str, str, str], ...]:
        if self._metas is None:
            self._scan()
            found = []
            for start, attrs_at, attrs_end, end in self._meta_spans:
                attrs = attributes(self._body[attrs_at:attrs_end])
                key = _meta_key(attrs)
                if key is not None:
                    found.append((key, attrs["content"], _text(self._body[start:end])))
            self._metas = tuple(found)
        return self._metas

    @property
    def metas(self) -> tuple[tuple[str, str], ...]:
        return tuple((key, content) for key, content, _ in self._all_metas())

    @property
    def meta_tags(self) -> tuple[str, ...]:
        return tuple(raw for _, _, raw in self._all_metas())

    def meta(self, key: str) -> list[str]:
        """Contents of every ``<meta>`` whose name/property/http-equiv is ``key`` (lower-case)."""
        return [content for name, content, _ in self.select_metas((key,))]

    def select_metas(self, keys: Collection[str]) -> list[tuple[str, str, str]]:
        """``(key, content, source text)`` of the metas whose key is in ``keys`` (lower-case).

        Only tags that name one of ``keys`` are decoded: the opt-out checks ask for a few names
        on every page and most pages carry a dozen unrelated metas."""
        if self._metas is not None:
            return [item for item in self._all_metas() if item[0] in keys]
        self._scan()
        found: list[tuple[str, str, str]] = []
        spans = self._meta_spans
        if not spans:
            return found
        # Which meta tags can name one of ``keys``: decided from the name/property/http-equiv
        # values found by one pass over the head (shared by every call), so only those tags are
        # decoded (a superset: the exact key is then read from the tag's attributes).
        wanted = keys if isinstance(keys, frozenset) else frozenset(keys)
        hits: list[int] = []
        for index, value, quoted, end_ok in self._key_values():
            if (hits and hits[-1] == index) or not _names_key(value, quoted, end_ok, wanted):
                continue
            hits.append(index)
        for index in hits:
            start, attrs_at, attrs_end, end = spans[index]
            attrs = attributes(self._body[attrs_at:attrs_end])
            key = _meta_key(attrs)
            if key is not None and key in keys:
                found.append((key, attrs["content"], _text(self._body[start:end])))
        return found

    def _key_values(self) -> list[tuple[int, str, bool, bool]]:
        """``(meta index, value, quoted, end_ok)`` of every name/property/http-equiv attribute
        in the head's meta tags (lower-case); ``end_ok``: an unquoted value is followed by white
        space, ``>`` or the end of the last meta's attributes."""
        if self._meta_keys is None:
            self._scan()
            found: list[tuple[int, str, bool, bool]] = []
            spans = self._meta_spans
            if spans:
                starts = [span[1] for span in spans]
                lower, region_end = self._lower, spans[-1][2]
                for match in _KEY_ATTR.finditer(lower, spans[0][1], region_end):
                    at = match.start()
                    index = bisect_right(starts, at) - 1
                    if index < 0 or at >= spans[index][2]:
                        continue
                    quoted = match.group(1)
                    if quoted is not None:
                        found.append((index, quoted[1:-1].strip().decode("utf-8", "replace"), True, True))
                    else:
                        end = match.end(2)
                        found.append((index, match.group(2).decode("utf-8", "replace"), False,
                                      end == region_end or lower[end:end + 1] in _END_OK))
            self._meta_keys = found
        return self._meta_keys

    @property
    def links(self) -> tuple[tuple[str, str, str], ...]:
        if self._links is None:
            self._scan()
            found = []
            for _, attrs_at, attrs_end, _ in self._link_spans:
                attrs = attributes(self._body[attrs_at:attrs_end])
                found.append((attrs.get("rel", "").strip().lower(), attrs.get("type", "").strip().lower(),
                              attrs.get("href", "").strip()))
            self._links = tuple(found)
        return self._links

    def has_link_rel(self, rel: str) -> bool:
        """A cheap pre-check: does any ``<link>`` mention ``rel`` (lower-case) at all?"""
        self._scan()
        needle, lower = rel.encode(), self._lower
        return any(lower.find(needle, a, e) >= 0 for _, a, e, _ in self._link_spans)

    def _window_lower(self) -> bytes:
        # Markup names are ASCII case-insensitive ("ITEMPROP", "LD+JSON"): search a lower-cased
        # copy (same offsets). Lower-casing plus one literal search is far cheaper than a
        # case-insensitive regex scan (sre gets no literal prefix with IGNORECASE).
        if self._lower_window is None:
            self._lower_window = self._body[:WINDOW].lower()
        return self._lower_window

    def contains_any(self, *spellings: bytes) -> bool:
        """Does the window contain one of ``spellings`` exactly as written?

        A pre-check for the body scans, with no per-tag work and no copy of the body (a bounded
        ``find`` each). Text the markup spells with character references or JSON ``\\u``
        escapes is not looked into."""
        body = self._body
        # rfind, not find: CPython's reverse search skips on the needle's first letter, which is
        # rarer in text than the last one ("e"): about 3x faster on a 100 KB page.
        return any(body.rfind(word, 0, WINDOW) >= 0 for word in spellings)

    @property
    def json_ld(self) -> tuple[str, ...]:
        """Every ``<script type="application/ld+json">`` block in the window (raw text), skipping
        comments and the text of other script and style blocks, as an HTML tokenizer does (a
        commented-out block is no markup)."""
        if self._json_ld is None:
            found: list[str] = []
            body, limit = self._body, min(len(self._body), WINDOW)
            lower = self._window_lower()
            if lower.find(b"ld+json", 0, limit) >= 0:  # else no block can have that type
                for match in _BLOCK.finditer(lower, 0, limit):
                    if match.group(1) == b"script" and b"ld+json" in match.group(2):
                        kind = attributes(body[match.start(2):match.end(2)]).get("type", "")
                        if kind.strip().lower() == "application/ld+json":
                            found.append(body[match.start(3):match.end(3)].decode("utf-8", "replace"))
            self._json_ld = tuple(found)
        return self._json_ld

    @property
    def itemprops(self) -> tuple[tuple[str, str], ...]:
        """``(itemprop, content)`` of microdata in the window: the ``content`` attribute, else
        the element's own text up to the next tag."""
        if self._itemprops is None:
            found: list[tuple[str, str]] = []
            body, limit = self._body, min(len(self._body), WINDOW)
            lower = self._window_lower()
            pos = lower.find(b"itemprop", 0, limit)
            while pos >= 0:
                start = body.rfind(b"<", 0, pos)
                tag = _TAG_OPEN.match(body, start, limit) if start >= 0 else None
                next_from = pos + 8
                if tag is not None and tag.end() > pos:
                    attrs = attributes(tag.group(1))
                    content = attrs.get("content")
                    if content is None:  # the element's own text, up to the next tag
                        end = body.find(b"<", tag.end(), limit)
                        content = _text(body[tag.end(): end if end >= 0 else limit]).strip()
                    for prop in attrs.get("itemprop", "").split():
                        found.append((prop, content))
                    next_from = tag.end()
                pos = lower.find(b"itemprop", next_from, limit)
            self._itemprops = tuple(found)
        return self._itemprops


# A name/property/http-equiv attribute and its value, read without consuming the value (the
# lookahead), so an attribute written inside another one's value never hides a real one.
_KEY_ATTR = re.compile(rb"""(?:name|property|http-equiv)\s*=\s*(?=("[^"]*"|'[^']*')|([^\s>"']*))""")
_END_OK = frozenset((b" ", b"\t", b"\n", b"\r", b"\x0b", b"\x0c", b">"))


def _names_key(text: str, quoted: bool, end_ok: bool, keys: frozenset[str]) -> bool:
    """Does an attribute value (lower-case) name one of ``keys``: quoted, the value between white
    space; unquoted, a key followed by white space, ``>``, ``/`` or the end."""
    if quoted or end_ok:
        if text in keys:
            return True
        if quoted:
            return False
    return any(text.startswith(key + "/") for key in keys if len(text) > len(key))


def scan_html(body: bytes) -> HtmlHead:
    """The head of an HTML document (first ``WINDOW`` bytes), scanned on first use. Never raises.

    Not memoised: a caller reading one response in several places builds one ``HtmlHead`` and
    hands it on (core/evaluate.py does, to access.py and assets.py)."""
    return HtmlHead(body)


def _maybe_in_block(lower: bytes, end: int) -> bool:
    """Might offset ``end`` lie inside a comment or a script/style block (HTML tokeniser states
    in which "</head" is text)? Errs towards yes: a wrong yes only costs the slow path."""
    comment = lower.rfind(b"<!--", 0, end)
    if comment >= 0 and lower.find(b"-->", comment + 4, end) < 0:
        return True
    for tag in (b"script", b"style"):
        opened = lower.rfind(b"<" + tag, 0, end)
        if opened >= 0 and lower.find(b"</" + tag, opened, end) < 0:
            return True
    return False


def _walk_head(body: bytes):
    """``(lower-cased head, meta spans, link spans, interesting scripts)`` of the head."""
    limit = min(len(body), WINDOW)
    # Fast path: a literal "</head" (case-insensitive search only when that fails).
    end = body.find(b"</head", 0, limit)
    if end < 0:
        end = body.find(b"</HEAD", 0, limit)
    if end < 0:
        found = _HEAD_END.search(body, 0, limit)
        end = found.start() if found is not None else limit
    lower = body[: end + 6].lower()  # + "</head" so the walk sees where the head ends
    if end < limit and _maybe_in_block(lower, end):
        # That "</head" may be text inside a comment or a script/style block, which the walk skips
        # whole: walk the whole window so a meta after it is not hidden (rare; costs a lower()).
        lower = body[:limit].lower()
    meta_spans: list[tuple[int, int, int, int]] = []
    link_spans: list[tuple[int, int, int, int]] = []
    scripts: list[tuple[str, str]] = []
    for match in _HEAD_ITEM.finditer(lower):
        # The last group that matched tells the alternative: 5 meta/link, 6 end of head, 3 a
        # script or style block, none a comment.
        last = match.lastindex
        if last == 5:
            start, end = match.span()
            attrs_at, attrs_end = match.span(5)
            (meta_spans if lower[start + 1] == 109 else link_spans).append((start, attrs_at, attrs_end, end))  # 109: "m"
        elif last == 6:
            break
        elif last == 3 and match.group(1) == b"script":
            block_attrs = match.group(2)
            if b"+" in block_attrs:  # "ld+json" / "rsl+xml" types only
                kind = attributes(block_attrs).get("type", "").strip()
                if kind in _INTERESTING_SCRIPTS:
                    scripts.append((kind, body[match.start(3):match.end(3)].decode("utf-8", "replace")))
    return lower, meta_spans, link_spans, tuple(scripts)
