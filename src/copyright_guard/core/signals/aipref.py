"""IETF AIPREF usage preferences: the ``Content-Usage`` response header and robots.txt rule.

Vocabulary (draft-ietf-aipref-vocab-07 §6, §7): a preference string is an RFC 9651 Structured
Field Dictionary; a member whose value is the Token ``y`` allows, ``n`` disallows, anything else
(a string, a boolean, an inner list) is unknown. Parameters and unknown labels are ignored; a
duplicate key keeps its last value (RFC 9651 §3.2). If the Dictionary does not parse (uppercase
keys, trailing ``;``, non-ASCII ...) *every* preference is unknown - recorded as unreadable.
Combining (§7.1): any ``n`` wins, else any ``y``, else unknown.

Attachment (draft-ietf-aipref-attach-05 §3, §4): the header carries preferences for the message
content; the robots.txt rule ``Content-Usage: [path] prefs`` is group-scoped, uses Allow/Disallow
longest-match on the path, identical paths combine as above, and applies only to crawlable paths
(core/evaluate.py calls us only for those).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from typing import Callable, Iterable

import http_sfv

from ..model import Evidence, Signal, Value
from ..robots.patterns import PathPattern, compile_pattern
from ..robots.match import canonical_path
from ..purposes import known

VOCABULARY = "aipref"
MAX_FIELD_BYTES = 8192  # draft-illyes-repext asks for >= 8 KiB; longer values are hostile
_TOKEN_VALUES = {"y": Value.ALLOWED, "n": Value.RESERVED}
_RANK = {Value.RESERVED: 2, Value.ALLOWED: 1, Value.UNKNOWN: 0}

MakeEvidence = Callable[[str], Evidence]


@dataclass(frozen=True, slots=True)
class Preferences:
    """One parsed preference string. ``error`` set: the parse failed, everything is unknown."""

    values: dict[str, Value] = field(default_factory=dict)
    error: str = ""


@lru_cache(maxsize=1024)  # values are at most MAX_FIELD_BYTES: the cache stays under 8 MiB
def parse_preferences(raw: str | bytes) -> Preferences:
    """Parse a preference string (vocab §6). Never raises. Cached: a site's few robots.txt rule
    values and a crawl's few distinct header values are parsed once."""
    data = raw.encode("latin-1", "replace") if isinstance(raw, str) else raw
    if len(data) > MAX_FIELD_BYTES:
        return Preferences(error=f"value too long ({len(data)} bytes, limit {MAX_FIELD_BYTES})")
    if not data.strip(b" \t"):
        return Preferences()  # an empty field is an empty Dictionary (RFC 9651 §3.2)
    dictionary = http_sfv.Dictionary()
    try:
        dictionary.parse(data)
    except Exception as exc:  # http_sfv raises ValueError (often without a message) on any error
        why = str(exc) or "syntax error"
        return Preferences(error=f"not an RFC 9651 Structured Field Dictionary ({why}): {_show(data)}")
    values: dict[str, Value] = {}
    for label, member in dictionary.items():
        value = getattr(member, "value", None)  # an InnerList has no single value: unknown
        token = str(value) if isinstance(value, http_sfv.Token) else None
        values[label] = _TOKEN_VALUES.get(token, Value.UNKNOWN)
    return Preferences(values)


def combine(values: Iterable[Value]) -> Value:
    """vocab §7.1: any disallow wins, else any allow, else unknown."""
    return max(values, key=_RANK.__getitem__, default=Value.UNKNOWN)


def header_signals(values: list[str], make_evidence: MakeEvidence) -> list[Signal]:
    """Signals from the ``Content-Usage`` header lines of a response (combined per RFC 9110 §5.3)."""
    if not values:
        return []
    combined = ", ".join(v.strip() for v in values)
    location = f"header Content-Usage: {_show(combined)}"
    prefs = parse_preferences(combined)
    if prefs.error:
        return [_unreadable("headers", prefs.error, make_evidence(location), "asset")]
    return [
        Signal("headers", VOCABULARY, label, value, make_evidence(location), scope="asset",
               detail=f"Content-Usage header: {label}={'n' if value is Value.RESERVED else 'y'}")
        for label, value in prefs.values.items()
        if value is not Value.UNKNOWN and known(VOCABULARY, label)
    ]


@dataclass(frozen=True, slots=True)
class UsageRule:
    """One robots.txt ``Content-Usage`` line: its path (``/`` when none is written) and prefs."""

    line: object  # the RobotsLine it came from (cite() for the evidence location)
    path: str
    prefs: Preferences


def parse_rule(value: str) -> tuple[str, str]:
    """Split a rule value into (path, preference string) - attach §4.2."""
    value = value.strip(" \t")
    if value.startswith("/"):
        cut = min((i for i in (value.find(" "), value.find("\t")) if i >= 0), default=-1)
        if cut < 0:
            return value, ""
        return value[:cut], value[cut:].strip(" \t")
    # Earlier attach drafts and the intro example allow no path: the rule covers the whole group.
    return "/", value


@lru_cache(maxsize=4096)
def _rule(value: str) -> tuple[str, PathPattern, Preferences]:
    rule_path, pref_text = parse_rule(value)
    return rule_path, compile_pattern(rule_path), parse_preferences(pref_text)


def robots_signals(lines: list, path: str, make_evidence: Callable[[object], Evidence],
                   addressees: tuple[str, ...] = ("*",)) -> list[Signal]:
    """Signals from the ``Content-Usage`` rules of our robots.txt group for ``path``.

    ``lines`` are RobotsLine objects (``.value``, ``.cite()``); ``make_evidence(line)`` builds the
    evidence citing that line. The longest matching path wins; rules with equally long matches
    (identical paths) combine most-restrictively per label (attach §4.1).
    """
    best_length = -1
    winners: list[UsageRule] = []
    canonical = canonical_path(path)
    for line in lines:
        rule_path, pattern, prefs = _rule(str(getattr(line, "value", "")))
        if pattern.regex.match(canonical) is None:
            continue
        if pattern.length > best_length:
            best_length, winners = pattern.length, []
        if pattern.length == best_length:
            winners.append(UsageRule(line, rule_path, prefs))
    signals: list[Signal] = []
    by_label: dict[str, list[tuple[Value, UsageRule]]] = {}
    for rule in winners:
        if rule.prefs.error:
            signals.append(_unreadable("robots.txt", f"robots.txt Content-Usage: {rule.prefs.error}",
                                       make_evidence(rule.line), "path", addressees))
            continue
        for label, value in rule.prefs.values.items():
            if known(VOCABULARY, label):
                by_label.setdefault(label, []).append((value, rule))
    for label, entries in by_label.items():
        value = combine(v for v, _ in entries)
        if value is Value.UNKNOWN:
            continue
        rule = next(r for v, r in entries if v is value)  # cite the line that decided it
        word = "n" if value is Value.RESERVED else "y"
        signals.append(Signal("robots.txt", VOCABULARY, label, value, make_evidence(rule.line),
                              scope="path", addressees=addressees,
                              detail=f"robots.txt Content-Usage {label}={word} for {rule.path}"))
    return signals


def _unreadable(source: str, why: str, evidence: Evidence, scope: str,
                addressees: tuple[str, ...] = ("*",)) -> Signal:
    return Signal(source, VOCABULARY, "*", Value.UNKNOWN, evidence, scope=scope,
                  addressees=addressees, detail=f"Content-Usage unreadable, all preferences unknown: {why}")


def _show(data: str | bytes, limit: int = 200) -> str:
    """A printable, bounded rendering of hostile input for details and evidence locations."""
    text = data.decode("latin-1") if isinstance(data, bytes) else data
    text = "".join(c if c.isprintable() else f"\\x{ord(c):02x}" for c in text[:limit])
    return text + ("…" if len(data) > limit else "")
