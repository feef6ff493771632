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
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from .lists.exclusions import LIST_NAME_RE
from .files import InputFileError, read_input_file
from .model import PURPOSES, sha256_hex
from .text import has_hidden_characters, problems_line

# RFC 9309 §2.2.1: product-token = identifier / "*"; identifier = 1*(%x2D / %x41-5A / %x5F / %x61-7A)
PRODUCT_TOKEN_RE = re.compile(r"[A-Za-z_-]+")

Purpose = Literal["train-ai", "train-genai", "ai-input", "search", "tdm"]  # = model.PURPOSES (a test checks)
OnFailure = Literal["deny", "allow"]


MAX_POLICY_BYTES = 1 << 20  # 1 MiB
def _one_line(value: str) -> str:
    # Names end up in the database (PostgreSQL refuses NUL in text), in decisions and on
    # reviewers' terminals and pages: one line of visible text.
    if has_hidden_characters(value):
        raise ValueError("must be one line without control or format characters")
    return value


def _free_text(value: str) -> str:
    if has_hidden_characters(value, "\t\n\r"):
        raise ValueError("must not contain control or format characters other than line breaks and tabs")
    return value


def _product_token(value: str) -> str:
    # robots.txt user-agent lines are read as such a token (core/robots/rules.py): any other token could
    # never match a group, so a reservation aimed at it would silently not be seen.
    if not PRODUCT_TOKEN_RE.fullmatch(value):
        raise ValueError(f"{value!r} is not a product token: letters, '-' and '_' only (RFC 9309 §2.2.1)")
    return value


def _list_name(value: str) -> str:
    if not LIST_NAME_RE.fullmatch(value):
        raise ValueError(f"{value!r} is not an exclusion list name: 1-128 letters, digits, '.', '_' or '-', "
                         "starting with a letter or digit")
    return value


OneLine = Annotated[str, AfterValidator(_one_line)]
FreeText = Annotated[str, AfterValidator(_free_text)]
ProductToken = Annotated[str, AfterValidator(_product_token)]
ListName = Annotated[str, AfterValidator(_list_name)]


class PolicyError(ValueError):
    """A policy file is missing, unreadable or invalid. ``str()`` is one line, fit for a terminal."""


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class PolicyInfo(_Section):
    name: OneLine = "unnamed"
    description: FreeText = ""


class Crawler(_Section):
    product_token: str = "CopyrightGuardBot"
    # The shipped placeholder: `crawl` and `serve` refuse it (core/identity.py); `copyright-guard
    # init` writes a policy with the operator's own identity.
    user_agent: str = "CopyrightGuardBot/0.1 (+https://example.invalid/copyright-guard; compliance@example.invalid)"
    # Web Bot Auth (docs/crawler-identity.md): an Ed25519 private key file (PEM, relative to the
    # policy file) turns request signing on; key_directory is the URL sent as Signature-Agent.
    signing_key: OneLine | None = None
    key_directory: str | None = None

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

    @field_validator("key_directory")
    @classmethod
    def _key_directory_is_a_url(cls, value: str | None) -> str | None:
        # Sent in every signed request as the Signature-Agent header (a Structured Field string,
        # RFC 8941 §3.3.3: printable ASCII) and fetched by sites to verify us: an absolute http(s) URL.
        if value is None:
            return value
        if not re.fullmatch(r"https?://[!-~]+", value) or '"' in value or "\\" in value:
            raise ValueError("an absolute http(s) URL of printable ASCII without quotes or backslashes, "
                             "e.g. https://crawler.example.com/.well-known/http-message-signatures-directory")
        return value

    @model_validator(mode="after")
    def _user_agent_names_token(self) -> Crawler:
        # The token we match robots.txt groups with must be the one the site sees on the wire;
        # otherwise a block aimed at us would be silently bypassed (peers.md, Scrapy's bug).
        if self.product_token.lower() not in self.user_agent.lower():
            raise ValueError(
                f"user_agent {self.user_agent!r} must contain the product token {self.product_token!r}"
            )
        # Web Bot Auth requires the Signature-Agent header naming where our keys are published
        # (draft-ietf-webbotauth-httpsig-protocol §4): a key without a directory verifies nowhere.
        if (self.signing_key is None) != (self.key_directory is None):
            raise ValueError("signing_key and key_directory go together: set both to sign requests, or neither")
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

    tokens: Literal["default"] | list[ProductToken] = "default"
    extra: list[ProductToken] = Field(default_factory=list)
    exclude: list[ProductToken] = Field(default_factory=list)


class OnFailureRules(_Section):
    """What an unreachable (5xx, 429, network error) site-wide file means besides robots.txt.

    robots.txt is fixed by RFC 9309 §2.3.1.4: unreachable means complete disallow.
    """

    tdmrep_unreachable: OnFailure = "deny"  # a reservation may be there (strict default)
    ai_txt_unreachable: OnFailure = "allow"
    rsl_unreachable: OnFailure = "deny"  # RSL: crawlers must retrieve and comply before use
    unreadable_signal: Literal["note", "deny"] = "note"  # malformed header/file: recorded as unknown
    audit_unavailable: Literal["stop", "continue"] = "stop"  # database down: never crawl unrecorded


# Upper bounds are not policy advice: beyond them a value is a typo, and times computed from it
# (now + retry wait, a complaint's deadline) overflow datetime - a crash in the middle of a crawl.
WEEK_SECONDS = 7 * 24 * 3600
MAX_SITE_FILE_BYTES = 64 << 20  # 64 MiB, held in memory per fetch


class Cache(_Section):
    max_age_hours: float = Field(24.0, gt=0, le=24 * 365)  # RFC 9309 §2.4: SHOULD NOT exceed 24 h
    retry_initial_seconds: float = Field(60.0, gt=0, le=WEEK_SECONDS)  # backoff while a file is unreachable
    retry_max_seconds: float = Field(3600.0, gt=0, le=WEEK_SECONDS)
    unreachable_grace_days: float = Field(30.0, ge=0, le=3650)  # then the last good copy applies (§2.3.1.4)
    max_bytes: int = Field(512_000, ge=512_000, le=MAX_SITE_FILE_BYTES)  # RFC 9309 §2.5: parse at least 500 KiB
    max_redirects: int = Field(5, ge=5, le=20)  # §2.3.1.2: follow at least five
    timeout_seconds: float = Field(10.0, gt=0, le=300)  # ONE deadline per request: connect + headers + body
    # Stacked Content-Encodings decoded (RFC 9110 §8.4); more is unreachable. Decoded size is bounded
    # by max_bytes (site files) and the page limit whatever the depth (docs/hardening.md).
    max_content_codings: int = Field(2, ge=1, le=4)

    @model_validator(mode="after")
    def _retry_range(self) -> Cache:
        # The first wait is capped at the longest (fetch/states.py): a larger first wait is a mistake.
        if self.retry_initial_seconds > self.retry_max_seconds:
            raise ValueError(f"retry_initial_seconds ({self.retry_initial_seconds:g}) is more than "
                             f"retry_max_seconds ({self.retry_max_seconds:g})")
        return self


class Crawl(_Section):
    obey_crawl_delay: bool = True
    max_crawl_delay_seconds: float = Field(60.0, ge=0, le=24 * 3600)


class Audit(_Section):
    """Signed checkpoints of each run's Merkle tree (docs/audit-integrity.md)."""

    checkpoint_every: int = Field(10_000, ge=1, le=10**9)  # decisions between checkpoints
    checkpoint_seconds: float = Field(60.0, gt=0, le=24 * 3600)  # and at most this long apart
    log_key: OneLine = ""  # the signer key file; empty: the default place (store/keys.py)


class Exclusions(_Section):
    lists: list[ListName] = Field(default_factory=list)  # empty: every active list in the database


class Licence(_Section):
    """A licence that turns reservation-based denials for a source into allows, citing a contract."""

    source: OneLine  # an origin (https://example.com) or a URL pattern with * and $
    contract: OneLine
    valid_from: date | None = None
    valid_to: date | None = None
    purposes: list[Purpose] = Field(default_factory=lambda: list(PURPOSES))

    @field_validator("source")
    @classmethod
    def _source_is_origin_or_pattern(cls, value: str) -> str:
        from .signals.licences import LicenceSourceError, source_matcher

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
    acknowledge_within_days: float = Field(2.0, gt=0, le=365)
    decide_within_days: float = Field(30.0, gt=0, le=365)
    contact_email: OneLine = "copyright@example.invalid"
    operator_name: OneLine = "Example AI Lab"
    # Shown on the complaint form (GDPR Art. 13: who processes the personal data, why, how long).
    # Empty: a default notice naming operator_name and contact_email (web/templates/form.html).
    privacy_notice: FreeText = ""


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
    audit: Audit = Field(default_factory=Audit)
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

    def signing_key_path(self) -> Path | None:
        """``[crawler] signing_key`` resolved against the policy file's directory (the bundled
        policy and policies parsed from a string resolve against the working directory)."""
        if self.crawler.signing_key is None:
            return None
        key = Path(self.crawler.signing_key).expanduser()
        if key.is_absolute() or self.source_name.startswith("<"):
            return key
        return Path(self.source_name).parent / key

    @cached_property
    def peer_tokens(self) -> frozenset[str]:
        """Lower-cased peer tokens, minus our own token (our own group is matched separately)."""
        base = default_peer_tokens() if self.peers.tokens == "default" else self.peers.tokens
        tokens = {t.lower() for t in (*base, *self.peers.extra)} - {t.lower() for t in self.peers.exclude}
        tokens.discard(self.crawler.product_token.lower())
        return frozenset(tokens) if self.sources.peer_tokens else frozenset()


def _is_branch(part: object) -> bool:
    """A pydantic union-branch tag in an error location (``literal['default']``, ``list[...]``)."""
    return isinstance(part, str) and ("[" in part or "(" in part)


def _describe(error: dict) -> str:
    key = ".".join(str(part) for part in error["loc"] if not _is_branch(part)) or "(top level)"
    kind = error["type"]
    if kind == "extra_forbidden":
        return f"unknown key {key!r}"
    if kind == "missing":
        return f"missing key {key!r}"
    message = error["msg"].removeprefix("Value error, ")
    given = error.get("input")
    if isinstance(given, dict):  # a check across the keys of a section: the message names them
        return f"key {key!r}: {message}"
    return f"key {key!r}: {message} (got {given!r})"


def _relevant(errors: list[dict]) -> list[dict]:
    """For ``tokens = "default" | [token, ...]``, a list with a bad token fails both branches; the
    list branch's error is the one that says what is wrong."""
    other = [e for e in errors if not (e["type"] == "literal_error" and isinstance(e.get("input"), list)
                                       and any(_is_branch(p) for p in e["loc"]))]
    return other or errors


def parse_policy(text: str, name: str = "<string>") -> Policy:
    """Parse and validate policy TOML text. Raises :class:`PolicyError` with a one-line message."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise PolicyError(f"{name}: not valid TOML: {exc}") from None
    except RecursionError:  # tomllib recurses per nested array or table: [[[[...]]]] 10,000 deep
        raise PolicyError(f"{name}: arrays or tables nested too deeply to be a policy file") from None
    try:
        policy = Policy.model_validate(data)
    except ValidationError as exc:
        errors = _relevant(exc.errors())
        raise PolicyError(f"{name}: {problems_line([_describe(error) for error in errors])}") from None
    return policy.model_copy(update={"source_text": text, "source_name": name})


# Policies shipped inside the package, by the name in their [policy] section: a Scrapy project
# outside this repository has no policies/ directory, so COPYRIGHT_GUARD_POLICY = "strict-default"
# (or --policy strict-default) names the bundled file wherever the package is installed.
BUNDLED_POLICIES = {"strict-default": "default.toml"}
DEFAULT_POLICY = "strict-default"


def load_policy(path: str | Path | None = None) -> Policy:
    """Load a policy: a bundled one by name (``"strict-default"``; ``None`` means that one) or a
    TOML file. The policy's ``source_name`` says which ("strict-default (bundled)" or the path)."""
    if path is None or str(path) in BUNDLED_POLICIES:
        name = DEFAULT_POLICY if path is None else str(path)
        text = resources.files("copyright_guard.data").joinpath(BUNDLED_POLICIES[name]).read_text("utf-8")
        return parse_policy(text, f"{name} (bundled)")
    path = Path(path)
    try:
        # A regular file only (a FIFO or device would hang us), read with a bound: a policy is a few KiB.
        raw = read_input_file(path, MAX_POLICY_BYTES, "policy file")
    except InputFileError as exc:
        hint = ""
        if not path.exists():
            names = ", ".join(f'"{name}"' for name in BUNDLED_POLICIES)
            hint = f" (give the path of a policy file, or the name of a bundled policy: {names})"
        raise PolicyError(f"{exc}{hint}") from None
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
