"""RFC 9309 path patterns (``*`` and ``$``) for the sources that reuse robots.txt matching:
TDMRep ``location``, AIPREF ``Content-Usage`` paths, RSL ``content@url`` and ai.txt rules.

A path pattern matches from the first octet of the path (RFC 9309 §2.2.2); ``*`` matches any run
of characters, a final ``$`` anchors the end. Both sides are canonicalised as core/robots/match.py
does for robots.txt (``/café`` = ``/caf%C3%A9``). Specificity is the pattern's length in octets.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

# One matcher for every source that borrows robots.txt matching, so tdmrep.json, ai.txt, RSL and
# Content-Usage paths match exactly as Allow/Disallow do (canonical %-encoding, linear-time
# atomic-group regexes even for hostile patterns such as "/*a*a*a*a*b").
from .match import canonical, canonical_path, pattern_regex
from ..urls import URLError, parse_target


@dataclass(frozen=True, slots=True)
class PathPattern:
    pattern: str  # as written
    length: int  # RFC 9309 precedence: octets of the pattern
    regex: re.Pattern[str]

    def matches(self, path: str) -> bool:
        """Does the pattern match a match path (``urls.Target.path``)?"""
        return self.regex.match(canonical_path(path)) is not None


@lru_cache(maxsize=4096)
def compile_pattern(pattern: str) -> PathPattern:
    """Compile a robots.txt-style path pattern (never raises)."""
    regex, length = pattern_regex(pattern)
    return PathPattern(pattern, length, re.compile(regex, re.DOTALL))


def path_of(url_or_path: str) -> str:
    """The path part of a pattern written as a full URL (``https://a.example/x/*`` -> ``/x/*``).

    RSL ``content@url`` and some real tdmrep.json files use absolute URLs; a pattern that is
    neither absolute nor starts with ``/`` or ``*`` is read as relative to the root.
    """
    value = url_or_path.strip()
    lower = value[:8].lower()
    if lower.startswith(("http://", "https://")):
        rest = value.split("//", 1)[1]
        slash = rest.find("/")
        return rest[slash:] if slash >= 0 else "/"
    if not value.startswith(("/", "*")):
        return "/" + value
    return value


def origin_of_pattern(url_or_path: str) -> str | None:
    """``scheme://host[:port]`` of an absolute pattern, normalised as every origin is
    (``urls.parse_target``: case, trailing dot, IDN to punycode, default port, userinfo dropped),
    so ``https://Bücher.Example.:443/x`` names the origin of ``https://xn--bcher-kva.example/``;
    ``None`` for a path. A host that cannot be parsed keeps its lower-cased text, which no real
    origin equals.
    """
    value = url_or_path.strip()
    if not value[:8].lower().startswith(("http://", "https://")):
        return None
    scheme, rest = value.split("//", 1)
    scheme = scheme.rstrip(":").lower()
    authority = re.split(r"[/?#]", rest, maxsplit=1)[0]
    try:
        return parse_target(f"{scheme}://{authority}/").origin
    except URLError:
        return f"{scheme}://{authority.lower()}"


class FirstMatch:
    """The first of many patterns (in their given order) that matches a path - TDMRep's rule.

    Patterns are indexed by their first path segment when their literal start fixes it
    (``/books/*.pdf`` can only match paths under ``/books/``); a path is tried against the
    patterns of its own segment plus those that could match anywhere, merged in the original
    order. Each such candidate list is compiled once into alternations of ``CHUNK`` patterns;
    regex alternation tries alternatives left to right, so ``lastindex`` names the first match.
    Compiled on first use: parsing a 500 KiB file stays cheap, matching a URL is one or two
    regex calls however long the file is.
    """

    CHUNK = 500
    MAX_KEYS = 512  # compiled candidate lists kept (distinct first segments seen)

    __slots__ = ("_patterns", "_by_key", "_generic", "_compiled")

    def __init__(self, patterns: list[str]) -> None:
        self._patterns = patterns
        self._by_key: dict[str, list[int]] | None = None
        self._generic: list[int] = []
        self._compiled: dict[str | None, list[tuple[list[int], re.Pattern[str]]]] = {}

    @staticmethod
    def _segment(text: str) -> str | None:
        """``/a/`` for ``/a/b...``; None when the path (before any ``?``) has no second ``/``.

        Only the path counts: a ``/`` in the query is ``%2F`` in a canonical match path but raw in
        a pattern's literal, so a key taken from the query would never meet its URLs."""
        path = text.split("?", 1)[0]
        second = path.find("/", 1) if path.startswith("/") else -1
        return path[: second + 1] if second > 0 else None

    def _index(self) -> dict[str, list[int]]:
        by_key: dict[str, list[int]] = {}
        for number, pattern in enumerate(self._patterns):
            literal = canonical(re.split(r"[*$]", pattern, maxsplit=1)[0])
            key = self._segment(literal)
            if key is None:
                self._generic.append(number)
            else:
                by_key.setdefault(key, []).append(number)
        self._by_key = by_key
        return by_key

    def _candidates(self, key: str | None) -> list[tuple[list[int], re.Pattern[str]]]:
        compiled = self._compiled.get(key)
        if compiled is None:
            by_key = self._by_key if self._by_key is not None else self._index()
            numbers = sorted(self._generic + (by_key.get(key, []) if key is not None else []))
            compiled = []
            for start in range(0, len(numbers), self.CHUNK):
                chunk = numbers[start : start + self.CHUNK]
                regex = "|".join(f"({pattern_regex(self._patterns[n])[0]})" for n in chunk)
                compiled.append((chunk, re.compile(regex, re.DOTALL)))
            if len(self._compiled) >= self.MAX_KEYS:
                self._compiled.clear()
            self._compiled[key] = compiled
        return compiled

    def first(self, path: str) -> int | None:
        """Index of the first matching pattern, or None."""
        path = canonical_path(path)
        for numbers, regex in self._candidates(self._segment(path)):
            found = regex.match(path)
            if found is not None:
                return numbers[found.lastindex - 1]  # type: ignore[operator]
        return None
