"""The vocabulary of copyright-guard as plain, immutable data (see README "Glossary").

Everything here is pure: no I/O, no clock. Other layers build these objects and hand them to
:func:`copyright_guard.core.evaluate.evaluate`; the store persists them; the CLI prints them.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum


class _StrEnum(str, Enum):
    """A str-valued enum whose ``str()`` is its value (what JSON and the database see)."""

    def __str__(self) -> str:  # pragma: no cover - trivial
        return self.value


class Verdict(_StrEnum):
    ALLOW = "allow"
    DENY = "deny"


class Stage(_StrEnum):
    PRE_FETCH = "pre-fetch"  # decided from location-based sources, before the request is sent
    POST_FETCH = "post-fetch"  # decided from the response itself (asset-based sources)
    RECHECK = "recheck"  # collected content decided again later (copyright-guard recheck)


class Value(_StrEnum):
    """What a signal says about a use: a rights reservation, an explicit permission, or neither."""

    RESERVED = "reserved"
    ALLOWED = "allowed"
    UNKNOWN = "unknown"


class Effect(_StrEnum):
    """What a reason does to the verdict."""

    DENY = "deny"  # this reason alone makes the decision a deny
    ALLOW = "allow"  # an explicit permission (a licence, an opt-in) - recorded, never overrides a deny
    NOTE = "note"  # recorded for the reviewer, no effect (e.g. an unreadable optional file)


# The purposes a crawl can declare (glossary: "purpose"). Each vocabulary maps onto these through
# the one table in core/purposes.py.
PURPOSES: tuple[str, ...] = ("train-ai", "train-genai", "ai-input", "search", "tdm")


class SiteFileStatus(_StrEnum):
    """RFC 9309 §2.3.1 fetch results, used for every site-wide file (robots.txt, tdmrep.json, ...)."""

    PARSED = "parsed"  # 2xx (after at most 5 redirects): the body applies
    UNAVAILABLE = "unavailable"  # 4xx except 429, or too many redirects: no file, no restrictions
    UNREACHABLE = "unreachable"  # 5xx, 429, network error: robots.txt => complete disallow


@dataclass(frozen=True, slots=True)
class Evidence:
    """Where a signal came from, precisely enough for a reviewer to find the exact bytes again.

    ``location`` names the exact place inside the source, e.g.
    ``robots.txt line 12: Disallow: /private/`` or ``header Content-Usage: train-ai=n``.
    ``sha256`` is the hash of the raw bytes the signal was read from (the body of a site-wide
    file, or the canonical header block); the store keeps those bytes once per hash.
    """

    source: str
    location: str = ""
    url: str | None = None
    final_url: str | None = None
    status: int | None = None
    fetched_at: datetime | None = None
    sha256: str | None = None
    # The exact bytes ``sha256`` covers, for the store (kept once per hash); never printed.
    body: bytes | None = field(default=None, compare=False, repr=False)

    def as_dict(self) -> dict:
        return {
            "source": self.source,
            "location": self.location,
            "url": self.url,
            "final_url": self.final_url,
            "status": self.status,
            "fetched_at": self.fetched_at.isoformat() if self.fetched_at else None,
            "sha256": self.sha256,
        }


@dataclass(frozen=True, slots=True)
class Signal:
    """One parsed statement from a source (glossary: "signal").

    ``vocabulary`` + ``category`` are the source's own words (e.g. ``aipref`` / ``train-ai``,
    ``tdmrep`` / ``tdm-reservation``, ``x-robots-tag`` / ``noai``); core/purposes.py maps them to
    our purposes. ``addressees`` are the product tokens the statement is for (``("*",)`` for
    everyone). ``scope`` is ``origin``, ``path`` or ``asset``.
    """

    source: str
    vocabulary: str
    category: str
    value: Value
    evidence: Evidence
    scope: str = "asset"
    addressees: tuple[str, ...] = ("*",)
    detail: str = ""


@dataclass(frozen=True, slots=True)
class Reason:
    """One reason behind a decision, pointing at its evidence.

    ``code`` is stable and machine-readable (``robots.disallowed``, ``robots.unreachable``,
    ``tdmrep.reserved``, ``exclusion.listed``, ...). The README lists every code.
    """

    code: str
    source: str
    detail: str
    effect: Effect = Effect.DENY
    evidence: Evidence | None = None

    def as_dict(self) -> dict:
        return {
            "code": self.code,
            "source": self.source,
            "detail": self.detail,
            "effect": self.effect.value,
            "evidence": self.evidence.as_dict() if self.evidence else None,
        }


@dataclass(frozen=True, slots=True)
class Decision:
    """A verdict at a stage, with every reason found (not only the first) - glossary: "decision"."""

    url: str
    origin: str
    registered_domain: str
    stage: Stage
    purpose: str
    verdict: Verdict
    reasons: tuple[Reason, ...]
    policy_hash: str
    decided_at: datetime
    # The site-wide file states this decision was made on (SiteView.files() of its origin), which
    # the store records once per fetch and references from the decision (docs/proof-of-collection.md).
    # Not compared: a SiteFile's parsed object need not be hashable, and it is the same state.
    consulted: tuple[SiteFile, ...] = field(default=(), compare=False)
    # Post-fetch: the asset sources examined ("headers", "html-meta", "embedded-metadata:JPEG",
    # "access-restrictions"), so "nothing found" is visible, not just absent.
    examined: tuple[str, ...] = ()
    content: object | None = None  # post-fetch: core.content.ContentFacts of the response judged

    @property
    def allowed(self) -> bool:
        return self.verdict is Verdict.ALLOW

    @property
    def deny_reasons(self) -> tuple[Reason, ...]:
        return tuple(r for r in self.reasons if r.effect is Effect.DENY)

    def as_dict(self) -> dict:
        return {
            "url": self.url,
            "origin": self.origin,
            "registered_domain": self.registered_domain,
            "stage": self.stage.value,
            "purpose": self.purpose,
            "verdict": self.verdict.value,
            "reasons": [r.as_dict() for r in self.reasons],
            "policy_hash": self.policy_hash,
            "decided_at": self.decided_at.isoformat(),
            # The export contract's records (docs/proof-of-collection.md); ``fetched_at`` ISO 8601.
            "consulted": [f.as_consulted() for f in self.consulted],
            "examined": list(self.examined),
            "content": self.content.as_dict() if self.content is not None else None,
        }


# A frozen dataclass's __init__ sets each field through object.__setattr__ (a generic attribute
# look-up per field), a fifth of a cached-origin pre-fetch decision. The hot path sets the slots
# through their descriptors instead: the same object (tests/unit/test_model_fast.py checks every
# field against the generated __init__).
_new = object.__new__
(_set_url, _set_origin, _set_domain, _set_stage, _set_purpose, _set_verdict, _set_reasons, _set_policy_hash,
 _set_decided_at, _set_consulted, _set_examined, _set_content) = (getattr(Decision, name).__set__ for name in Decision.__slots__)


def new_decision(
    url: str,
    origin: str,
    registered_domain: str,
    stage: Stage,
    purpose: str,
    verdict: Verdict,
    reasons: tuple[Reason, ...],
    policy_hash: str,
    decided_at: datetime,
    consulted: tuple[SiteFile, ...] = (),
    examined: tuple[str, ...] = (),
    content: object | None = None,
) -> Decision:
    """``Decision(...)`` with the same positional arguments, at half the cost."""
    decision = _new(Decision)
    _set_url(decision, url)
    _set_origin(decision, origin)
    _set_domain(decision, registered_domain)
    _set_stage(decision, stage)
    _set_purpose(decision, purpose)
    _set_verdict(decision, verdict)
    _set_reasons(decision, reasons)
    _set_policy_hash(decision, policy_hash)
    _set_decided_at(decision, decided_at)
    _set_consulted(decision, consulted)
    _set_examined(decision, examined)
    _set_content(decision, content)
    return decision


@dataclass(frozen=True, slots=True)
class SiteFile:
    """The state of one site-wide file of one origin (robots.txt, tdmrep.json, ai.txt, an RSL licence).

    Built by the pure state machine in fetch/states.py from an HTTP outcome; ``parsed`` holds the
    parser's result for the file's kind (e.g. a ``RobotsFile``) when ``status`` is PARSED, or when a
    last good copy is kept for an UNREACHABLE file (RFC 9309 §2.3.1.4, after 30 days).
    """

    kind: str  # "robots.txt" | "tdmrep.json" | "ai.txt" | "rsl"
    origin: str
    status: SiteFileStatus
    evidence: Evidence
    fetched_at: datetime
    expires_at: datetime
    parsed: object | None = None
    body: bytes = b""  # the exact bytes the evidence hash covers (for the store), empty if none
    unreachable_since: datetime | None = None
    last_good: SiteFile | None = None
    error: str = ""  # one line: why UNAVAILABLE/UNREACHABLE, e.g. "HTTP 503", "connection refused"
    # The body was cut at policy.cache.max_bytes (RFC 9309 §2.5): a shared store rebuilds ``parsed``
    # from ``body`` and must drop the incomplete last line exactly as the fetch did (fetch/codec.py).
    cut: bool = False

    def as_consulted(self) -> dict:
        """``{"kind", "url", "outcome", "status", "sha256", "fetched_at"}``: status is the HTTP
        status, or the fault when there was no HTTP answer; sha256 None when there was no body."""
        found = self.evidence
        return {
            "kind": self.kind,
            "url": found.url or self.origin,
            "outcome": self.status.value,
            "status": found.status if found.status is not None else (self.error or "no answer"),
            "sha256": found.sha256 if found.body is not None else None,
            "fetched_at": (found.fetched_at or self.fetched_at).isoformat(),
        }


@dataclass(frozen=True, slots=True)
class ResponseView:
    """What post-fetch sources read of a response. Headers are lower-cased names -> list of values."""

    url: str
    status: int
    headers: dict[str, list[str]] = field(default_factory=dict)
    body: bytes = b""
    final_url: str | None = None
    fetched_at: datetime | None = None

    def header(self, name: str) -> list[str]:
        return self.headers.get(name.lower(), [])

    @property
    def content_type(self) -> str:
        values = self.header("content-type")
        return values[0].split(";", 1)[0].strip().lower() if values else ""


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
