"""RFC 9309 §2.2.2-2.2.3 path matching: one compiled matcher per robots.txt group.

Both sides are brought to one canonical form before they are compared:

* non-ASCII and other octets a URI cannot carry are %-encoded as UTF-8 (§2.2.2: "the octets ...
  MUST be percent-encoded"; Figure 4 row 3: ``/foo/bar/ツ`` matches ``/foo/bar/%E3%83%84``);
* %-escapes get upper-case hex, and escapes of unreserved characters are decoded (Figure 4 row 5:
  ``/foo/bar/%62%61%7A`` matches ``/foo/bar/baz``);
* ``%2A`` and ``%24`` mean a literal ``*`` and ``$`` (§2.2.3, Figure 6), so a URL's ``*``/``$``
  and its ``%2A``/``%24`` are the same character, and neither is special in a rule when escaped;
* in the query (after the first ``?``) ``:`` and ``/`` are %-encoded (Figure 4 row 2:
  ``?baz=https://foo.bar`` matches ``?baz=https%3A%2F%2Ffoo.bar``). ``%2F`` in the *path* stays
  distinct from ``/`` (it is a different resource there).

Precedence (§2.2.2): the longest pattern in octets wins (wildcards and ``$`` count, as in
Google's and crawler-commons' implementations); on a tie ``allow`` wins. All rules of a group are
compiled into ONE regular expression whose alternatives are ordered by that precedence, so the
first alternative that matches is the deciding rule; ``Match.lastindex`` names it. Every
alternative is built from atomic groups (``(?>.*?literal)``), which take the earliest occurrence of
each literal and never backtrack into it: matching stays linear in the path length even for
hostile patterns like ``/*a*a*a*a*b``.
"""

from __future__ import annotations

import re
from typing import Sequence
from urllib.parse import quote

from ..urls import resolve_dots

# Characters a match path keeps as they are (urls.match_path encodes everything else).
_SAFE = "/%:@!$&'()*+,;=-._~?"
_UNRESERVED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
# Decoded back to the character itself: unreserved (RFC 3986 §6.2.2.2) plus "*" and "$" (§2.2.3).
_DECODED = _UNRESERVED | {"*", "$"}
_ESCAPE = re.compile(r"%([0-9A-Fa-f]{2})")
# Octets a match path never carries raw: controls, space, non-ASCII, the RFC 3986 "unwise" set and
# "[" "]" (gen-delims that may only appear raw in an IP-literal host, RFC 3986 §3.2.2; a path
# carries them percent-encoded, as urls.match_path and Scrapy's Request.url give them).
_UNSAFE = re.compile(r'[^!#-;=?-Z_a-z~]')


def _normalise_escape(match: re.Match[str]) -> str:
    char = chr(int(match.group(1), 16))
    return char if char in _DECODED else "%" + match.group(1).upper()


def canonical(text: str, in_query: bool = False) -> str:
    """The canonical form of a literal piece of a rule, or of a whole match path (``in_query``:
    the piece lies after the first ``?``)."""
    if _UNSAFE.search(text):
        text = quote(text, safe=_SAFE)
    if "%" in text:
        text = _ESCAPE.sub(_normalise_escape, text)
    if in_query:
        text = text.replace(":", "%3A").replace("/", "%2F")
    return text


def canonical_path(path: str) -> str:
    """The canonical form of a target's match path (``urls.Target.path``)."""
    if "%" not in path and "?" not in path and path.isascii():
        return path  # the common case: nothing to do
    head, sep, query = path.partition("?")
    return canonical(head) + (sep + canonical(query, True) if sep else "")


def pattern_regex(pattern: str) -> tuple[str, int]:
    """A rule pattern as a regex (no capturing groups) and its precedence length in octets."""
    anchored = pattern.endswith("$")
    if anchored:
        pattern = pattern[:-1]
    head, sep, tail = pattern.partition("?")
    if "/." in head or "%2" in head:
        # Dot segments are resolved in URLs (urls.resolve_dots: the server serves /a/b for
        # /a/./b), so a rule is read the same way; written as is, "Disallow: /a/./b" could match
        # no URL at all (issue 13; docs/conformance.md "Dot segments in rules").
        pattern = resolve_dots(head) + sep + tail
    pieces: list[str] = []
    in_query = False
    for raw in pattern.split("*"):
        if not in_query and "?" in raw:
            head, _, tail = raw.partition("?")
            piece = canonical(head) + "?" + canonical(tail, True)
            in_query = True
        else:
            piece = canonical(raw, in_query)
        pieces.append(piece)
    length = sum(len(p) for p in pieces) + len(pieces) - 1 + anchored
    parts = [re.escape(pieces[0])]
    middle, last = pieces[1:-1], pieces[-1] if len(pieces) > 1 else None
    parts.extend(f"(?>.*?{re.escape(p)})" for p in middle if p)
    if last is not None:
        # the last literal: earliest occurrence, or (anchored) the one that ends the path
        if anchored:
            parts.append(f".*{re.escape(last)}\\Z")
        elif last:
            parts.append(f"(?>.*?{re.escape(last)})")
    elif anchored:
        parts.append("\\Z")
    return "".join(parts), length


class GroupMatcher:
    """Decides a path against the allow/disallow rules of one (merged) group.

    ``rules`` are ``(allow, pattern, payload)``; ``decide(path)`` returns ``(allow, payload)`` of the
    deciding rule, or ``None`` when no rule matches (= allowed).
    """

    __slots__ = ("_chunks", "decide")

    # Alternatives per compiled regex. The chunks are in precedence order too, so the first chunk
    # that matches holds the deciding rule; chunking keeps compiling a huge group linear.
    CHUNK = 1000

    def __init__(self, rules: Sequence[tuple[bool, str, object]]) -> None:
        compiled = []
        for order, (allow, pattern, payload) in enumerate(rules):
            if not pattern:
                continue  # "Disallow:" with no path: no rule (RFC 9309 §2.2.2, empty-pattern)
            regex, length = pattern_regex(pattern)
            compiled.append((-length, not allow, order, regex, allow, payload))
        compiled.sort(key=lambda item: item[:3])
        self._chunks = []
        for start in range(0, len(compiled), self.CHUNK):
            chunk = compiled[start : start + self.CHUNK]
            regex = re.compile("|".join(f"({item[3]})" for item in chunk), re.DOTALL)
            self._chunks.append((regex.match, [(item[4], item[5]) for item in chunk]))
        # decide(path) -> (allow, payload) of the deciding rule, or None when no rule matches.
        # Nearly every group fits one chunk: its decide is one regex match, no loop.
        if not self._chunks:
            self.decide = _no_rule
        elif len(self._chunks) == 1:
            self.decide = _one_chunk(*self._chunks[0])
        else:
            self.decide = self._decide_chunks

    def _decide_chunks(self, path: str) -> tuple[bool, object] | None:
        for match, payloads in self._chunks:
            found = match(path)
            if found is not None:
                return payloads[found.lastindex - 1]
        return None


def _no_rule(path: str) -> None:
    return None


def _one_chunk(match, payloads):
    def decide(path: str) -> tuple[bool, object] | None:
        found = match(path)
        return None if found is None else payloads[found.lastindex - 1]

    return decide
