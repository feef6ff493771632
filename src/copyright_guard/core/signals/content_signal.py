"""Cloudflare Content Signals (contentsignals.org, CC0): ``Content-Signal`` robots.txt lines.

Grammar in practice: comma-separated ``key=value`` pairs, values ``yes`` / ``no``, the record name
and keys case-insensitive (``Content-signal`` and ``Content-Signal`` both occur). Cloudflare writes
the line inside ``User-Agent: *``; no spec says whether it is group-scoped, so lines in our group
and lines outside any group both apply, and the most restrictive answer wins across them.
``use=`` (reference / full / immediate, 2026) is recorded but reserves nothing. A pair we cannot
read (``ai-train=maybe``, no ``=``) is recorded as unreadable; absence "neither grants nor
restricts".
"""

from __future__ import annotations

from functools import lru_cache
from typing import Callable

from ..model import Evidence, Signal, Value

VOCABULARY = "content-signal"
_VALUES = {"yes": Value.ALLOWED, "no": Value.RESERVED}


@lru_cache(maxsize=1024)
def parse_line(value: str) -> tuple[tuple[tuple[str, Value, str], ...], tuple[str, ...]]:
    """``((key, value, word), ...)`` and the problems of one line's value. Cached per value."""
    pairs: list[tuple[str, Value, str]] = []
    problems: list[str] = []
    for pair in value.split(","):
        pair = pair.strip()
        if not pair:
            continue
        key, sep, raw = pair.partition("=")
        key, raw = key.strip().lower(), raw.strip()
        if not sep or not key:
            problems.append(f"{pair[:60]!r} is not key=value")
        elif key == "use":
            pairs.append(("use", Value.UNKNOWN, raw.lower()))  # recorded; reserves nothing
        elif raw.lower() in _VALUES:
            pairs.append((key, _VALUES[raw.lower()], raw.lower()))
        else:
            problems.append(f"{key}={raw[:60]!r} (expected yes or no)")
    return tuple(pairs), tuple(problems)


# Where the line was found (location.content_signal_lines): our own group, the "*" group, or
# outside any group.
_WHERE = {"group": "in our group", "star": "in the * group", "global": "outside any group"}


def line_signals(line: object, make_evidence: Callable[[object], Evidence], scope: str,
                 addressees: tuple[str, ...] = ("*",)) -> list[Signal]:
    """Signals from one ``Content-Signal`` RobotsLine (``.value``). Never raises."""
    where = _WHERE.get(scope, "outside any group")
    pairs, problems = parse_line(str(getattr(line, "value", "")))
    if not pairs and not problems:
        return []
    evidence = make_evidence(line)
    signals = [Signal("robots.txt", VOCABULARY, key, value, evidence, scope="origin", addressees=addressees,
                      detail="" if key == "use" else f"robots.txt Content-Signal {key}={word} ({where})")
               for key, value, word in pairs]
    if problems:
        signals.append(Signal("robots.txt", VOCABULARY, "*", Value.UNKNOWN, evidence,
                              scope="origin", addressees=addressees,
                              detail=f"robots.txt Content-Signal unreadable: {'; '.join(problems)}"))
    return signals
