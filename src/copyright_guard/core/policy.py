"""The operator's rules (glossary: "policy"), read from a TOML file in ``policies/``.

A policy is validated strictly: an unknown key or a wrong type is a :class:`PolicyError` whose
message is one line naming the file, the key and what was expected. The policy hash (sha256 of the
file's bytes) is recorded with every decision, so a reviewer can tell which rules produced it.
"""

from __future__ import annotations

import json
import re
import tomllib
from datetime import date
from functools import cached_property
from importlib import resources
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from .files import InputFileError, read_input_file
from .model import PURPOSES, sha256_hex

# RFC 9309 §2.2.1: product-token = identifier / "*"; identifier = 1*(%x2D / %x41-5A / %x5F / %x61-7A)
PRODUCT_TOKEN_RE = re.compile(r"[A-Za-z_-]+")

Purpose = Literal["train-ai", "train-genai", "ai-input", "search", "tdm"]  # = model.PURPOSES (a test checks)
OnFailure = Literal["deny", "allow"]


MAX_POLICY_BYTES = 1 << 20  # 1 MiB


class PolicyError(ValueError):
    """A policy file is missing, unreadable or invalid. ``str()`` is one line, fit for a terminal."""


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class PolicyInfo(_Section):
    name: str = "unnamed"
    description: str = ""


class Crawler(_Section):
    product_token: str = "CopyrightGuardBot"
    user_agent: str = "CopyrightGuardBot/0.1 (+https://example.invalid/copyright-guard; compliance@example.invalid)"

    @field_validator("product_token")
    @classmethod
    def _token_is_rfc9309(cls, value: str) -> str:
        if not PRODUCT_TOKEN_RE.fullmatch(value):
            raise ValueError("a product token of letters, '-' and '_' only (RFC 9309 §2.2.1)")
        return value

    @field_validator("user_agent")
    @classmethod
    def _user_agent_is_a_header_value(cls, value: str) -> str:
        # RFC 9110 §5.5: a field value is visible ASCII, spaces and tabs (obs-text is obsolete); a
        # line break or other control character would make every request fail (or inject headers).
        if not value.strip() or any(not (" " <= c <= "~" or c == "\t") for c in value):
            raise ValueError("the User-Agent must be printable ASCII on one line (RFC 9110 §5.5)")
        return value

    @model_validator(mode="after")
    def _user_agent_names_token(self) -> Crawler:
        # The token we match robots.txt groups with must be the one the site sees on the wire;
        # otherwise a block aimed at us would be silently bypassed (peers.md, Scrapy's bug).
        if self.product_token.lower() not in self.user_agent.lower():
            raise ValueError(
                f"user_agent {self.user_agent!r} must contain the product token {self.product_token!r}"
            )
        return self


class Purposes(_Section):
    default: Purpose = "train-ai"


class Sources(_Section):
    """Which sources are honoured. robots.txt itself is not optional (Code of Practice 1.3(1)(a))."""

    peer_tokens: bool = True
    content_usage: bool = True
    content_signal: bool = True
    tdmrep: bool = True
    ai_txt: bool = True
    rsl: bool = True
    robots_meta: bool = True  # X-Robots-Tag header and <meta name="robots"> noai / noimageai
    embedded_metadata: bool = True  # IPTC/PLUS DataMining, C2PA/CAWG, EPUB/PDF TDMRep
    access_restrictions: bool = True  # 401/402/403/407/451 and paywall markup are never collected


class Peers(_Section):
    """Well-known AI-training crawler tokens whose robots.txt blocks we honour as reservations.

    ``tokens = "default"`` uses the bundled set (data/peer_tokens.json, derived from the
    ai-robots-txt list: see README "Peer AI crawler tokens"); a list replaces it; ``extra`` adds.
    """

    tokens: Literal["default"] | list[str] = "default"
    extra: list[str] = Field(default_factory=list)
    exclude: list[str] = Field(default_factory=list)


class OnFailureRules(_Section):
    """What an unreachable (5xx, 429, network error) site-wide file means besides robots.txt.

    robots.txt is fixed by RFC 9309 §2.3.1.4: unreachable means complete disallow.
    """

    tdmrep_unreachable: OnFailure = "deny"  # a reservation may be there (strict default)
    ai_txt_unreachable: OnFailure = "allow"
    rsl_unreachable: OnFailure = "deny"  # RSL: crawlers must retrieve and comply before use
    unreadable_signal: Literal["note", "deny"] = "note"  # malformed header/file: recorded as unknown
    audit_unavailable: Literal["stop", "continue"] = "stop"  # database down: never crawl unrecorded


class Cache(_Section):
    max_age_hours: float = Field(24.0, gt=0, le=24 * 365)  # RFC 9309 §2.4: SHOULD NOT exceed 24 h
    retry_initial_seconds: float = Field(60.0, gt=0)  # backoff while a file is unreachable
    retry_max_seconds: float = Field(3600.0, gt=0)
    unreachable_grace_days: float = Field(30.0, ge=0)  # then the last good copy applies (§2.3.1.4)
    max_bytes: int = Field(512_000, ge=512_000)  # RFC 9309 §2.5: parse at least 500 KiB
    max_redirects: int = Field(5, ge=5, le=20)  # §2.3.1.2: follow at least five
    timeout_seconds: float = Field(10.0, gt=0, le=300)


class Crawl(_Section):
    obey_crawl_delay: bool = True
    max_crawl_delay_seconds: float = Field(60.0, ge=0)


class Exclusions(_Section):
    lists: list[str] = Field(default_factory=list)  # empty: every active list in the database


class Licence(_Section):
    """A licence that turns reservation-based denials for a source into allows, citing a contract."""

    source: str  # an origin (https://example.com) or a URL pattern with * and $
    contract: str
    valid_from: date | None = None
    valid_to: date | None = None
    purposes: list[Purpose] = Field(default_factory=lambda: list(PURPOSES))

    @field_validator("source")
    @classmethod
    def _source_is_origin_or_pattern(cls, value: str) -> str:
        from .licences import LicenceSourceError, source_matcher

        try:
            source_matcher(value)
        except LicenceSourceError as exc:
            raise ValueError(str(exc)) from None
        return value

    @model_validator(mode="after")
    def _valid_range(self) -> Licence:
        if not self.contract.strip():
            raise ValueError("a licence needs a contract reference")
        if self.valid_from and self.valid_to and self.valid_to < self.valid_from:
            raise ValueError(f"valid_to {self.valid_to} is before valid_from {self.valid_from}")
        return self

    def valid_on(self, day: date) -> bool:
        return (self.valid_from is None or self.valid_from <= day) and (
            self.valid_to is None or day <= self.valid_to
        )


class Complaints(_Section):
    acknowledge_within_days: float = Field(2.0, gt=0)
    decide_within_days: float = Field(30.0, gt=0)
    contact_email: str = "copyright@example.invalid"
    operator_name: str = "Example AI Lab"


class Policy(_Section):
    """The whole policy. Build it with :func:`load_policy` or :func:`parse_policy`."""

    policy: PolicyInfo = Field(default_factory=PolicyInfo)
    crawler: Crawler = Field(default_factory=Crawler)
    purposes: Purposes = Field(default_factory=Purposes)
    sources: Sources = Field(default_factory=Sources)
    peers: Peers = Field(default_factory=Peers)
    on_failure: OnFailureRules = Field(default_factory=OnFailureRules)
    cache: Cache = Field(default_factory=Cache)
    crawl: Crawl = Field(default_factory=Crawl)
    exclusions: Exclusions = Field(default_factory=Exclusions)
    licences: list[Licence] = Field(default_factory=list)
    complaints: Complaints = Field(default_factory=Complaints)

    # Set by parse_policy; not part of the TOML.
    source_text: str = Field("", exclude=True)
    source_name: str = Field("<built-in>", exclude=True)

    @cached_property
    def hash(self) -> str:
        """sha256 of the policy text as written (what the store keeps beside it)."""
        text = self.source_text or json.dumps(self.model_dump(mode="json"), sort_keys=True)
        return sha256_hex(text.encode("utf-8"))

    @cached_property
    def peer_tokens(self) -> frozenset[str]:
        """Lower-cased peer tokens, minus our own token (our own group is matched separately)."""
        base = default_peer_tokens() if self.peers.tokens == "default" else self.peers.tokens
        tokens = {t.lower() for t in (*base, *self.peers.extra)} - {t.lower() for t in self.peers.exclude}
        tokens.discard(self.crawler.product_token.lower())
        return frozenset(tokens) if self.sources.peer_tokens else frozenset()


def _describe(error: dict) -> str:
    key = ".".join(str(part) for part in error["loc"]) or "(top level)"
    kind = error["type"]
    if kind == "extra_forbidden":
        return f"unknown key {key!r}"
    if kind == "missing":
        return f"missing key {key!r}"
    message = error["msg"].removeprefix("Value error, ")
    return f"key {key!r}: {message} (got {error.get('input')!r})"


def parse_policy(text: str, name: str = "<string>") -> Policy:
    """Parse and validate policy TOML text. Raises :class:`PolicyError` with a one-line message."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise PolicyError(f"{name}: not valid TOML: {exc}") from None
    try:
        policy = Policy.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
        raise PolicyError(f"{name}: {_describe(first)}{more}") from None
    return policy.model_copy(update={"source_text": text, "source_name": name})


def load_policy(path: str | Path | None = None) -> Policy:
    """Load a policy file; ``None`` loads the bundled strict default (policies/default.toml)."""
    if path is None:
        text = resources.files("copyright_guard.data").joinpath("default.toml").read_text("utf-8")
        return parse_policy(text, "policies/default.toml")
    path = Path(path)
    try:
        # A regular file only (a FIFO or device would hang us), read with a bound: a policy is a few KiB.
        raw = read_input_file(path, MAX_POLICY_BYTES, "policy file")
    except InputFileError as exc:
        raise PolicyError(str(exc)) from None
    if len(raw) > MAX_POLICY_BYTES:
        raise PolicyError(f"{path}: larger than {MAX_POLICY_BYTES} bytes: not a policy file")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise PolicyError(f"{path}: not UTF-8 text (byte {exc.start})") from None
    return parse_policy(text, str(path))


_PEER_TOKENS: frozenset[str] | None = None


def default_peer_tokens() -> frozenset[str]:
    """The bundled peer AI-training crawler tokens (data/peer_tokens.json)."""
    global _PEER_TOKENS
    if _PEER_TOKENS is None:
        raw = resources.files("copyright_guard.data").joinpath("peer_tokens.json").read_text("utf-8")
        _PEER_TOKENS = frozenset(json.loads(raw)["tokens"])
    return _PEER_TOKENS
