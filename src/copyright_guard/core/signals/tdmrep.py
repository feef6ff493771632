"""W3C TDM Reservation Protocol (TDMRep, CG Final Report): site file, headers, HTML meta, and
the protocol's own precedence.

- ``/.well-known/tdmrep.json`` (spec §3.2): a JSON array of ``{location, tdm-reservation,
  tdm-policy?}``; ``location`` and ``tdm-reservation`` are mandatory. Locations are robots.txt
  patterns (``*``, ``$``), but "the most specific match is the first in sequence": the FIRST
  matching entry in array order wins; no match means unset.
- ``tdm-reservation`` is ``1`` (reserved) or ``0``; "other values are considered protocol errors"
  and the reservation is then unset (we record the error as an unreadable signal).
- ``tdm-policy`` is a URL; we keep it in the signal's detail (the evidence of the reservation).
- Precedence (spec "Processing priority"): file < HTTP header < HTML meta < EPUB/PDF metadata; the
  most specific layer present wins (not the most restrictive) and "the absence of tdm-reservation
  and tdm-policy MUST not reset current values".

Deliberate leniency: the strings ``"1"`` / ``"0"`` in tdmrep.json are read as the numbers (the
intent is unambiguous; the detail says so); booleans are protocol errors.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from typing import Callable

from ..model import Evidence, Signal, Value
from ..robots.patterns import FirstMatch, path_of

VOCABULARY = "tdmrep"
CATEGORY = "tdm-reservation"
MAX_PROBLEMS = 20  # problems listed per file; the count is always given


@dataclass(frozen=True, slots=True)
class TdmRule:
    """One tdmrep.json entry (``number`` is 1-based, as a reviewer counts)."""

    number: int
    location: str
    pattern: str  # the location as a root-relative robots.txt pattern
    reservation: int | None  # None: a protocol error (``error`` says which)
    policy: str | None
    raw: str  # the entry as compact JSON, for the evidence location
    error: str = ""


@dataclass(frozen=True)
class TdmrepFile:
    rules: tuple[TdmRule, ...] = ()
    problems: tuple[str, ...] = ()  # file-level and per-entry problems, one line each
    unreadable: bool = False  # the whole file could not be read (not JSON, not an array)
    _matcher: FirstMatch = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_matcher", FirstMatch([rule.pattern for rule in self.rules]))

    def match(self, path: str) -> TdmRule | None:
        """The first entry (array order) whose location matches ``path``; ``None``: unset."""
        index = self._matcher.first(path)
        return None if index is None else self.rules[index]


def parse_tdmrep_file(data: bytes) -> TdmrepFile:
    """Parse /.well-known/tdmrep.json. Never raises; what it cannot read is in ``problems``."""
    try:
        document = json.loads(data.decode("utf-8-sig"))
    except UnicodeDecodeError as exc:
        return TdmrepFile(problems=(f"tdmrep.json is not UTF-8 (byte {exc.start})",), unreadable=True)
    except (ValueError, RecursionError) as exc:
        return TdmrepFile(problems=(f"tdmrep.json is not valid JSON: {str(exc)[:200]}",), unreadable=True)
    if not isinstance(document, list):
        return TdmrepFile(problems=(f"tdmrep.json must be a JSON array, got {type(document).__name__}",),
                          unreadable=True)
    rules: list[TdmRule] = []
    problems: list[str] = []
    for number, entry in enumerate(document, start=1):
        raw = _compact(entry)
        if not isinstance(entry, dict):
            problems.append(f"entry {number} is not an object: {raw}")
            continue
        location = entry.get("location")
        if not isinstance(location, str) or not location.strip():
            problems.append(f"entry {number} has no location string: {raw}")
            continue
        reservation, error = reservation_value(entry.get("tdm-reservation", _MISSING))
        policy = entry.get("tdm-policy")
        if policy is not None and not isinstance(policy, str):
            error = error or f"tdm-policy must be a URL string, got {_compact(policy)}"
            policy = None
        if error:
            problems.append(f"entry {number}: {error}")
        rules.append(TdmRule(number, location, path_of(location), reservation,
                             policy, raw, error))
    return TdmrepFile(tuple(rules), tuple(problems))


_MISSING = object()


def reservation_value(raw: object) -> tuple[int | None, str]:
    """Read a ``tdm-reservation`` value: (1 | 0 | None, protocol error or "")."""
    if raw is _MISSING or raw is None:
        return None, "tdm-reservation is missing (mandatory)"
    if isinstance(raw, bool):
        return None, f"tdm-reservation must be 0 or 1, got {json.dumps(raw)}"
    if isinstance(raw, (int, float)) and raw in (0, 1):
        return int(raw), ""
    if isinstance(raw, str) and raw.strip() in ("0", "1"):
        return int(raw.strip()), ""
    return None, f"tdm-reservation must be 0 or 1, got {_compact(raw)}"


def layer_signal(reservation: int | None, policy: str | None, error: str, evidence: Evidence,
                 source: str, layer: str, scope: str) -> Signal:
    """The signal for one TDMRep layer (file entry, header, HTML meta, embedded metadata)."""
    policy_text = f"; tdm-policy {policy}" if policy and reservation == 1 else ""
    if reservation is None:
        return Signal(source, VOCABULARY, CATEGORY, Value.UNKNOWN, evidence, scope=scope,
                      detail=f"TDMRep {layer}: protocol error, reservation unset: {error}")
    value = Value.RESERVED if reservation == 1 else Value.ALLOWED
    return Signal(source, VOCABULARY, CATEGORY, value, evidence, scope=scope,
                  detail=f"TDMRep {layer}: tdm-reservation={reservation}{policy_text}")


def file_signals(tdm: TdmrepFile, path: str, make_evidence: Callable[[str], Evidence]) -> list[Signal]:
    """Signals from a parsed tdmrep.json for ``path``: what it could not read, and the first match."""
    signals: list[Signal] = []
    if tdm.problems:
        shown = "; ".join(tdm.problems[:MAX_PROBLEMS])
        more = f" (and {len(tdm.problems) - MAX_PROBLEMS} more)" if len(tdm.problems) > MAX_PROBLEMS else ""
        signals.append(Signal("tdmrep.json", VOCABULARY, CATEGORY, Value.UNKNOWN,
                              make_evidence("tdmrep.json"), scope="origin",
                              detail=f"tdmrep.json unreadable parts: {shown}{more}"))
    layer = file_layer(tdm, path, make_evidence)
    if layer is not None:
        signals.append(layer)
    return signals


def file_layer(tdm: TdmrepFile, path: str, make_evidence: Callable[[str], Evidence]) -> Signal | None:
    """The file layer for ``path``: the first matching entry's value; None when no entry matches
    or the matching entry is broken (unset; the problem is reported by :func:`file_signals`)."""
    rule = tdm.match(path)
    if rule is None or rule.error:
        return None
    evidence = make_evidence(f"tdmrep.json entry {rule.number}: {rule.raw}")
    return layer_signal(rule.reservation, rule.policy, "", evidence, "tdmrep.json",
                        f"tdmrep.json entry {rule.number} ({rule.location})", "path")


def header_signal(reservations: list[str], policies: list[str], evidence: Evidence) -> Signal | None:
    """The ``tdm-reservation`` / ``tdm-policy`` header layer (spec §3.3), or None when absent."""
    # A transport may hand repeated header lines over joined by commas (RFC 9110 §5.3).
    values = [part.strip() for v in reservations for part in v.split(",") if part.strip()]
    if not values:
        return None
    distinct = sorted(set(values))
    if len(distinct) > 1:
        reservation, error = None, f"conflicting tdm-reservation headers {distinct}"
    else:
        reservation, error = reservation_value(distinct[0])
        if error:
            error = f"tdm-reservation must be 0 or 1, got {distinct[0][:60]!r}"
    policy = next((p.strip() for p in policies if p.strip()), None)
    return layer_signal(reservation, policy, error, evidence, "headers", "header", "asset")


def meta_signal(metas: list[tuple[str, str]], make_evidence: Callable[[str], Evidence]) -> Signal | None:
    """The HTML ``<meta name="tdm-reservation">`` layer (spec §3.4), or None when absent."""
    reservations = [c.strip() for n, c in metas if n == "tdm-reservation"]
    if not reservations:
        return None
    policy = next((c.strip() for n, c in metas if n == "tdm-policy" and c.strip()), None)
    distinct = sorted(set(reservations))
    if len(distinct) > 1:
        reservation, error = None, f"conflicting tdm-reservation meta tags {distinct}"
    else:
        reservation, error = reservation_value(distinct[0])
        if error:
            error = f"tdm-reservation must be 0 or 1, got {distinct[0][:60]!r}"
    location = f'html <meta name="tdm-reservation" content="{reservations[-1][:60]}">'
    return layer_signal(reservation, policy, error, make_evidence(location), "html", "HTML meta", "asset")


@dataclass(frozen=True, slots=True)
class Resolution:
    """Which TDMRep layer applies (``effective``) and the layers it superseded."""

    effective: Signal | None
    superseded: tuple[Signal, ...] = field(default_factory=tuple)
    errors: tuple[Signal, ...] = field(default_factory=tuple)


def resolve(layers: list[Signal | None]) -> Resolution:
    """TDMRep precedence: ``layers`` from least to most specific (file, header, meta, embedded).

    The most specific layer with a reservation value wins; a missing layer or one with a protocol
    error (unset) never resets what a less specific layer said (spec "Processing priority").
    """
    present = [s for s in layers if s is not None]
    valid = [s for s in present if s.value is not Value.UNKNOWN]
    errors = tuple(s for s in present if s.value is Value.UNKNOWN)
    if not valid:
        return Resolution(None, (), errors)
    effective, superseded = valid[-1], tuple(valid[:-1])
    if superseded:
        overridden = ", ".join(f"{s.source} said {s.value.value}" for s in superseded)
        effective = replace(effective, detail=f"{effective.detail} (supersedes {overridden})")
    return Resolution(effective, superseded, errors)


def _compact(value: object, limit: int = 300) -> str:
    try:
        text = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= limit else text[:limit] + "…"
