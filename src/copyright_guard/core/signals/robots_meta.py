"""``noai`` / ``noimageai`` in ``X-Robots-Tag`` headers and ``<meta name="robots"|"<bot>">``.

Syntax (Google's robots meta tag reference, reference/protocols.md §5): a comma-separated list of
directives, optionally prefixed by a product token, ``X-Robots-Tag: otherbot: noai, noimageai``.
As in Google's reading, a ``bot:`` prefix applies to the directives after it in the same header
value until the next prefix; ``<meta name="<bot>">`` scopes its whole content to that bot.
Directives and bot names are case-insensitive; several headers and metas are combined (any
reservation counts). Only directives addressed to everyone, to our product token, or - when
``sources.peer_tokens`` is on - to a well-known AI crawler token are signals; the rest is ignored.

``noai`` and ``noimageai`` are a DeviantArt/Spawning convention, not a standard. ``noimageai``
speaks only about images, so it is a signal only on image responses (the caller says which).
``noindex``/``none`` are not AI reservations (datadiligence's default ``respect_noindex=False``).
Deviation from datadiligence: it compares bot names and directives case-sensitively, and applies
a directive after ``bot: x,`` to everyone; we follow Google's syntax for both.
"""

from __future__ import annotations

from functools import partial
from typing import Callable, Iterable

from ..model import Evidence, Signal, Value

VOCABULARY = "robots-meta"
DIRECTIVES = ("noai", "noimageai")
# Directives that carry their own "name: value" and so are not a bot prefix (Google's reference).
_VALUED = {"max-snippet", "max-image-preview", "max-video-preview", "unavailable_after"}


def parse_directives(value: str, bot: str | None = None) -> list[tuple[str | None, str]]:
    """``(bot or None, directive)`` pairs of one header value or meta content, lower-cased."""
    pairs: list[tuple[str | None, str]] = []
    for item in value.split(","):
        item = item.strip()
        head, sep, rest = item.partition(":")
        if sep and head.strip().lower() not in _VALUED:
            bot, item = head.strip().lower(), rest.strip()
        if item:
            pairs.append((bot, item.lower()))
    return pairs


Statement = tuple[str, "str | None", Callable[[], Evidence]]  # (text, default bot, evidence maker)


def directive_signals(
    statements: Iterable[Statement],
    our_token: str | None,
    peer_tokens: frozenset[str],
    is_image: bool,
) -> list[Signal]:
    """Signals from ``(text, default bot, evidence maker)`` statements (header values or meta
    contents). One signal per (directive, addressee), citing the first statement that made it;
    evidence is only built for statements that make a signal (most pages say "index, follow").
    """
    ours = our_token.lower() if our_token else None
    wanted = DIRECTIVES if is_image else ("noai",)
    seen: set[tuple[str, str]] = set()
    signals: list[Signal] = []
    for text, default_bot, make_evidence in statements:
        evidence: Evidence | None = None
        for bot, directive in parse_directives(text, default_bot):
            if directive not in wanted:
                continue
            if bot is None or bot == "robots":
                addressee, whom = "*", "every crawler"
            elif bot == ours:
                addressee, whom = our_token or bot, f"our crawler ({our_token})"
            elif bot in peer_tokens:
                addressee, whom = bot, f"peer AI crawler {bot}"
            else:
                continue
            if (directive, addressee) in seen:
                continue
            seen.add((directive, addressee))
            evidence = evidence or make_evidence()
            signals.append(Signal(evidence.source, VOCABULARY, directive, Value.RESERVED, evidence, scope="asset",
                                  addressees=(addressee,),
                                  detail=f"{directive} for {whom} ({evidence.location})"))
    return signals


def header_statements(values: list[str], make_evidence: Callable[[str], Evidence]) -> list[Statement]:
    return [(v, None, partial(make_evidence, f"header X-Robots-Tag: {v.strip()[:200]}")) for v in values]


def meta_statements(metas: Iterable[tuple[str, str, str]], our_token: str | None,
                    peer_tokens: frozenset[str],
                    make_evidence: Callable[[str], Evidence]) -> list[Statement]:
    """Statements from ``(name, content, raw tag)`` metas named robots, our token or a peer."""
    ours = our_token.lower() if our_token else None
    return [(content, name, partial(make_evidence, f"html {raw[:200]}"))
            for name, content, raw in metas if name == "robots" or name == ours or name in peer_tokens]
