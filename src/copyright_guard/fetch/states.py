"""HTTP outcomes -> the state of one site-wide file (RFC 9309 §2.3.1), as a pure state machine.

No I/O and no clock: a transport (httpx in the CLI, Scrapy's engine in a crawl) performs each
request and feeds its :class:`FetchOutcome` in; the machine answers with the next URL to request
(a redirect to follow) or ``None``; :meth:`SiteFileFetch.result` then gives the
:class:`~copyright_guard.core.model.SiteFile`. Both transports drive this same class, so
``copyright-guard check`` and the crawler reach the same state from the same bytes.

Rules (robots.txt per RFC 9309; tdmrep.json, ai.txt and RSL licences use the same ones, issue 3):

* 2xx -> PARSED: the body, cut at ``policy.cache.max_bytes`` (§2.5: at least 500 KiB), is parsed by
  ``core.parsers.parser_for(kind)``. A cut is recorded in the evidence location. A *compressed* body
  that decodes to more than ``max_bytes`` is UNREACHABLE instead (decompression bomb guard,
  docs/hardening.md); the transports never decode more than that.
* 3xx with a Location -> follow, also across hosts (§2.3.1.2: "at least five consecutive
  redirects"); the file still belongs to the *initial* origin. More than
  ``policy.cache.max_redirects`` (5) redirects, a loop, or a 3xx we cannot follow (no Location, or a
  non-http(s) target) -> UNAVAILABLE. This is the RFC's own choice for exhausted redirects
  ("MAY be treated as unavailable"); we apply it to loops and unfollowable 3xx too, because in
  each case the server answered deliberately and no file can be had.
* 4xx except 429 -> UNAVAILABLE (§2.3.1.3): no file, no restrictions. The body is NEVER parsed.
* 5xx, 429, any other status, and every network error (refused, reset, timeout, DNS, TLS) ->
  UNREACHABLE (§2.3.1.4; 429 as Google treats it): for robots.txt, complete disallow.

Freshness (§2.4): PARSED and UNAVAILABLE files expire after ``max_age_hours`` (24 h). An
UNREACHABLE file is retried with exponential backoff: the first retry after
``retry_initial_seconds``, each further one after twice the previous wait, capped at
``retry_max_seconds``. ``unreachable_since`` survives consecutive failures; once the file has been
unreachable for ``unreachable_grace_days`` (30), the last good copy applies (``SiteFile.parsed``
is set to it, §2.3.1.4 "MAY ... keep using the cached copy"). Without a last good copy an
unreachable file stays a complete disallow however long it lasts: we never fail open.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from urllib.parse import urljoin, urlsplit

from ..core.model import Evidence, SiteFile, SiteFileStatus, sha256_hex
from ..core.signals.parsers import SITE_FILE_PATHS, parser_for
from ..core.policy import Policy

__all__ = ["FetchOutcome", "SiteFileFetch", "parse_body", "redirect_target", "site_file_url", "one_line"]


@dataclass(frozen=True, slots=True)
class FetchOutcome:
    """What one request produced: an HTTP response (``status`` set) or an ``error`` (one line).

    ``headers`` are lower-cased names -> values. ``body`` may already be cut by the transport at
    ``max_bytes``; ``truncated`` says the transport stopped reading before the end.
    """

    url: str
    status: int | None = None
    headers: Mapping[str, list[str]] = field(default_factory=dict)
    body: bytes = b""
    error: str = ""
    fetched_at: datetime | None = None
    truncated: bool = False

    def header(self, name: str) -> list[str]:
        return list(self.headers.get(name.lower(), []))


def one_line(text: str, limit: int = 300) -> str:
    """First line of ``text``, stripped and bounded: errors are printed on one terminal line."""
    line = " ".join(str(text).split("\n", 1)[0].split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


def site_file_url(kind: str, origin: str) -> str:
    """Where ``kind`` lives on ``origin`` (robots.txt, tdmrep.json, ai.txt)."""
    return origin.rstrip("/") + SITE_FILE_PATHS[kind]


def redirect_target(url: str, location: str) -> tuple[str, bool]:
    """``(absolute target, usable)`` of a ``Location`` value received for ``url``: usable means an
    http(s) URL we can request (a malformed one is returned as written, unusable)."""
    try:
        target = urljoin(url, location.strip())
        return target, urlsplit(target).scheme.lower() in ("http", "https")
    except ValueError:
        return location, False


_REDIRECT_LIMIT_NOTE = "RFC 9309 §2.3.1.2"


class SiteFileFetch:
    """The fetch of one site-wide file: feed outcomes, follow ``next_url``, then take ``result()``.

    ``url`` is needed for RSL licences (their URL comes from robots.txt); other kinds live at a
    fixed path of ``origin``. ``parse`` replaces ``parser_for(kind)`` (tests, other transports).
    ``previous`` is the last state of this file, if any: it carries ``unreachable_since``, the
    backoff step and the last good copy.
    """

    def __init__(
        self,
        kind: str,
        origin: str,
        policy: Policy,
        now: datetime,
        previous: SiteFile | None = None,
        *,
        url: str | None = None,
        parse: Callable[[bytes], object] | None = None,
    ) -> None:
        self.kind = kind
        self.origin = origin
        self.policy = policy
        self.now = now
        self.previous = previous
        self.url = url or site_file_url(kind, origin)
        self._parse = parse
        self.chain: list[FetchOutcome] = []
        self.next_url: str | None = self.url
        self._visited = {self.url}
        self._result: SiteFile | None = None

    @property
    def done(self) -> bool:
        return self._result is not None

    def feed(self, outcome: FetchOutcome) -> str | None:
        """Take the outcome of requesting ``next_url``; return the next URL to request, or ``None``."""
        if self._result is not None:
            raise RuntimeError(f"{self.kind} fetch of {self.url} is already finished")
        self.chain.append(outcome)
        self.next_url = None
        status = outcome.status
        if outcome.error or status is None:
            self._unreachable(outcome, one_line(outcome.error or "no response"))
        elif 200 <= status < 300:
            self._parsed(outcome)
        elif 300 <= status < 400:
            self.next_url = self._redirect(outcome)
        elif 400 <= status < 500 and status != 429:
            self._finish(SiteFileStatus.UNAVAILABLE, outcome, f"HTTP {status}")
        else:  # 5xx, 429, and nonsense such as 1xx or 999: the server could not give us the file
            self._unreachable(outcome, f"HTTP {status}")
        return self.next_url

    def result(self) -> SiteFile:
        if self._result is None:
            raise RuntimeError(f"{self.kind} fetch of {self.url} is not finished (next URL {self.next_url})")
        return self._result

    # -- transitions -----------------------------------------------------------------------------

    def _redirect(self, outcome: FetchOutcome) -> str | None:
        redirects = len(self.chain)  # every outcome so far was a redirect
        locations = outcome.header("location")
        if not locations or not locations[0].strip():
            self._finish(SiteFileStatus.UNAVAILABLE, outcome, f"HTTP {outcome.status} without a Location header")
            return None
        target, usable = redirect_target(outcome.url, locations[0])
        if not usable:
            self._finish(SiteFileStatus.UNAVAILABLE, outcome, f"redirect to an unusable URL {one_line(target, 120)!r}")
            return None
        limit = self.policy.cache.max_redirects
        if redirects > limit:
            self._finish(SiteFileStatus.UNAVAILABLE, outcome, f"more than {limit} redirects ({_REDIRECT_LIMIT_NOTE})")
            return None
        if target in self._visited:
            self._finish(SiteFileStatus.UNAVAILABLE, outcome, f"redirect loop back to {one_line(target, 120)}")
            return None
        self._visited.add(target)
        return target

    def _parsed(self, outcome: FetchOutcome) -> None:
        body, cut = self._cut(outcome)
        coded = [c for c in outcome.header("content-encoding") if c.strip().lower() not in ("", "identity")]
        if cut and coded:
            # A compressed file larger than max_bytes once decoded: RFC 9309 §2.5's cut is for a
            # large file a site publishes; a few KiB that inflate past the bound are a
            # decompression bomb (or a mistake), and reading its first bytes as the rules would let
            # the attacker choose them. Undecidable, so unreachable: complete disallow (fail closed).
            self._unreachable(outcome, f"decoded body larger than {self.policy.cache.max_bytes} bytes "
                                       f"(Content-Encoding: {', '.join(coded)}; decompression bomb guard)")
            return
        note = f"; body cut at {self.policy.cache.max_bytes} bytes (RFC 9309 §2.5)" if cut else ""
        if cut and self.kind in _LINE_BASED:
            note += "; its incomplete last line is ignored"
        self._finish(SiteFileStatus.PARSED, outcome, "", parsed=parse_body(self.kind, body, cut, self._parse),
                     body=body, note=note, cut=cut)

    def _unreachable(self, outcome: FetchOutcome, error: str) -> None:
        previous = self.previous
        cache = self.policy.cache
        failing_before = previous is not None and previous.status is SiteFileStatus.UNREACHABLE
        since = (previous.unreachable_since or previous.fetched_at) if failing_before else self.now
        # Backoff: double the previous wait (expires_at - fetched_at), from retry_initial to retry_max.
        wait = cache.retry_initial_seconds
        if failing_before:
            wait = max(wait, 2 * (previous.expires_at - previous.fetched_at).total_seconds())
        wait = min(wait, cache.retry_max_seconds)
        last_good = _last_good(previous)
        parsed = None
        note = ""
        if last_good is not None and self.now - since >= timedelta(days=cache.unreachable_grace_days):
            parsed = last_good.parsed
            note = f"; unreachable since {since.isoformat()}, last good copy of {last_good.fetched_at.isoformat()} applies (RFC 9309 §2.3.1.4)"
        self._finish(
            SiteFileStatus.UNREACHABLE, outcome, error, parsed=parsed, expires=timedelta(seconds=wait),
            since=since, last_good=last_good, note=note,
        )

    def _finish(
        self,
        status: SiteFileStatus,
        outcome: FetchOutcome,
        error: str,
        *,
        parsed: object | None = None,
        body: bytes | None = None,
        expires: timedelta | None = None,
        since: datetime | None = None,
        last_good: SiteFile | None = None,
        note: str = "",
        cut: bool = False,
    ) -> None:
        has_body = outcome.status is not None
        if body is None:
            body = self._cut(outcome)[0] if has_body else b""
        fetched_at = outcome.fetched_at or self.now
        redirects = len(self.chain) - 1
        where = f"HTTP {outcome.status}" if outcome.status is not None else error
        if redirects:
            where += f" after {redirects} redirect{'s' if redirects > 1 else ''}"
        evidence = Evidence(
            source=self.kind,
            location=f"{self.kind} ({where}){note}",
            url=self.url,
            final_url=outcome.url,
            status=outcome.status,
            fetched_at=fetched_at,
            sha256=sha256_hex(body) if has_body else None,
            body=body if has_body else None,
        )
        ttl = expires if expires is not None else timedelta(hours=self.policy.cache.max_age_hours)
        self._result = SiteFile(
            kind=self.kind,
            origin=self.origin,
            status=status,
            evidence=evidence,
            fetched_at=self.now,
            expires_at=self.now + ttl,
            parsed=parsed,
            body=body,
            unreachable_since=since,
            last_good=last_good,
            error=error,
            cut=cut,
        )

    def _cut(self, outcome: FetchOutcome) -> tuple[bytes, bool]:
        limit = self.policy.cache.max_bytes
        return outcome.body[:limit], outcome.truncated or len(outcome.body) > limit


# Site-wide files read line by line, where a cut can leave a rule half-written.
_LINE_BASED = frozenset(("robots.txt", "ai.txt"))


def parse_body(kind: str, body: bytes, cut: bool, parse: Callable[[bytes], object] | None = None) -> object:
    """The parse of a 2xx body (already cut at ``max_bytes``): the one rule for a fresh fetch and
    for a state rebuilt from a shared store (fetch/codec.py), so both hold the same rules.

    RFC 9309 §2.5 lets a crawler stop reading, not invent a rule: a cut's last line is incomplete
    ("Allow: /press/kit.html" cut to "Allow: /" would allow the whole site), so for line-based
    files only complete lines are parsed. The evidence keeps every byte that was read.
    """
    rules = body
    if cut and kind in _LINE_BASED:
        rules = body[: max(body.rfind(b"\n"), body.rfind(b"\r")) + 1]
    return (parse or parser_for(kind))(rules)


def _last_good(previous: SiteFile | None) -> SiteFile | None:
    """The most recent PARSED state before this failure (an UNAVAILABLE file leaves none: it is gone)."""
    if previous is None:
        return None
    if previous.status is SiteFileStatus.PARSED:
        return previous
    if previous.status is SiteFileStatus.UNREACHABLE:
        return previous.last_good
    return None
