"""The downloader middlewares: a decision before every request and after every response.

``CopyrightGuardMiddleware`` sits where Scrapy's robots.txt middleware sat (priority 100, before
cookies, auth and the User-Agent are added). For each request it

1. consults the exclusion index first - a listed origin gets no request of any kind, not even
   for robots.txt;
2. gets the origin's site-wide files (fetched once per origin through Scrapy's engine, cached as
   the fetch layer says) and asks :func:`copyright_guard.core.evaluate.evaluate` for the pre-fetch
   decision; a deny raises ``IgnoreRequest`` with the reason codes;
3. after the download, asks for the post-fetch decision on the response (headers, HTML meta,
   embedded metadata, access restrictions); a deny raises ``IgnoreRequest``, so the response never
   reaches the spider (only the request's errback, if it has one);
4. **log first, then collect**: an allowed response is held back until its decision is committed
   to the audit database (the writer's group commit, store/writer.py ``after_commit``), so every
   item the spider yields carries the id of a decision that is already durable, whatever happens
   to the process next - the rule of Certificate Transparency (RFC 9162 §4.1: a log promises
   inclusion before the certificate is used). If the commit fails the response is dropped.

Pre-fetch allows are not waited for: a request is not collection. Nothing reaches the spider
without a post-fetch decision, and that decision's commit covers every row submitted before it -
including the URL's own pre-fetch decision (rows commit in ``seq`` order) - so after a crash every
collected item still has both its decisions in the database. A pre-fetch allow lost in a crash
leaves only a request whose response was never collected.

Every decision is recorded (audit log, stats, ``decision_made`` event) before it takes effect.
There is no per-request switch: Scrapy's ``dont_obey_robotstxt`` meta key is ignored, and the one
meta key that marks site-wide file requests only counts on requests this add-on created itself.

``IdentityGuardMiddleware`` sits last before the download handler (priority 990): the request that
goes on the wire must carry the policy's product token in its User-Agent (robots.txt groups were
matched against that token) and no credentials.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from scrapy import Request
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Response
from scrapy.utils.defer import maybe_deferred_to_future

from ..core.evaluate import EMPTY_SITE, evaluate
from ..core.lists.exclusions import ExclusionIndex
from ..core.model import Decision, ResponseView, Verdict
from ..core.policy import Policy
from ..core.urls import URLError, parse_target
from ..scale.store import RedisLost
from .recorder import DecisionRecorder
from .runtime import CrawlDelays, runtime_for, utc_now
from .transport import HELD_CODINGS_META, EngineSiteFiles, response_headers

logger = logging.getLogger(__name__)

# Where the ids of the decisions behind a response are kept (README "Provenance").
DECISION_ID_META = "copyright_guard_decision_id"  # the post-fetch decision that let the response through
PRE_FETCH_ID_META = "copyright_guard_pre_fetch_decision_id"
# The exclusion index a request's pre-fetch decision was checked against. Lists change while a
# crawl runs (scrapy/extension.py reloads them); a request decided against an older index is
# checked again right before it goes on the wire (IdentityGuardMiddleware).
INDEX_META = "copyright_guard_exclusion_index"


def denial_message(decision: Decision) -> str:
    """``IgnoreRequest`` text: the stage, every deny reason code, and the first one's detail."""
    reasons = decision.deny_reasons
    codes = ", ".join(dict.fromkeys(r.code for r in reasons))
    first = reasons[0].detail if reasons else ""
    return f"copyright-guard {decision.stage.value} deny [{codes}]: {first}"


class CopyrightGuardMiddleware:
    """Pre-fetch and post-fetch decisions. ``__init__`` takes plain dependencies; see ``from_crawler``."""

    def __init__(
        self,
        policy: Policy,
        site_files: EngineSiteFiles,
        recorder: DecisionRecorder,
        *,
        purpose: str | None = None,
        exclusions: Callable[[], ExclusionIndex | None] = lambda: None,
        delays: CrawlDelays | None = None,
        clock: Callable[[], datetime] = utc_now,
        redis_lost: Callable[[Exception], None] | None = None,
    ) -> None:
        self._redis_lost = redis_lost
        self.policy = policy
        self.purpose = purpose or policy.purposes.default
        self.site_files = site_files
        self.recorder = recorder
        self._exclusions = exclusions
        self._delays = delays
        self._clock = clock

    @classmethod
    def from_crawler(cls, crawler: Any) -> CopyrightGuardMiddleware:
        runtime = runtime_for(crawler)  # NotConfigured when COPYRIGHT_GUARD_ENABLED is False
        return cls(
            runtime.policy,
            runtime.site_files,
            runtime.recorder,
            purpose=runtime.settings.purpose,
            exclusions=lambda: runtime.exclusions,
            delays=runtime.delays,
            redis_lost=runtime.redis_lost,
        )

    # -- pre-fetch -------------------------------------------------------------------------------

    async def process_request(self, request: Request) -> None:
        site_files = self.site_files
        if request in site_files.in_flight:
            return None  # our own robots.txt / tdmrep.json / ai.txt request (exclusions checked before)
        if (request.cookies or b"Cookie" in request.headers) and _is_fresh(request):
            # Scrapy's cookie jar (priority 700, after us) sends only cookies the site set; a cookie
            # the spider made up itself (a consent or login cookie) was not set by the site.
            raise self._refuse("cookies", f"copyright-guard refused {request.url}: the spider set cookies the "
                                    "site did not set (use the cookie jar: COOKIES_ENABLED)")
        url = request.url
        now = self._clock()
        policy = self.policy
        exclusions = self._exclusions()
        try:
            target = parse_target(url)
        except URLError:  # data:, file:, a malformed URL: a recorded url.invalid deny
            raise self._deny(evaluate(url, policy, now=now, purpose=self.purpose), request) from None
        origin = target.origin
        if exclusions is not None and exclusions.match(target, now):
            # No request of any kind to a listed origin: decide without fetching its site files.
            raise self._deny(evaluate(url, policy, now=now, site=EMPTY_SITE, exclusions=exclusions,
                                      purpose=self.purpose), request)
        site = site_files.cached(origin, now)
        if site is None:
            try:
                site = await site_files.view(origin)
            except Exception as exc:  # a bug, not an HTTP failure (those are file states): fail closed
                raise self._undecidable(exc, request) from exc
            now = self._clock()
        try:
            decision = evaluate(url, policy, now=now, site=site, exclusions=exclusions, purpose=self.purpose)
        except Exception as exc:  # a bug in a parser must fail closed, never let the request through
            raise self._undecidable(exc, request) from exc
        decision_id = self.recorder.record(decision, request)
        if decision.verdict is Verdict.DENY:
            raise IgnoreRequest(denial_message(decision))
        request.meta[PRE_FETCH_ID_META] = decision_id
        request.meta[INDEX_META] = exclusions
        if self._delays is not None:
            self._delays.apply(origin, request)
        return None

    def recheck(self, request: Request) -> None:
        """The last look before the wire, for a request decided against an exclusion index that
        has since been replaced (a list imported or a complaint upheld mid-crawl): a newly listed
        origin gets no request of any kind, and the deny decision cites the new list version."""
        exclusions = self._exclusions()
        if exclusions is None or request.meta.get(INDEX_META, False) is exclusions:
            return
        now = self._clock()
        try:
            target = parse_target(request.url)
        except URLError:
            return  # refused before (url.invalid); a site-file URL was checked by fetch.site.refusal
        if exclusions.match(target, now):
            decision = evaluate(request.url, self.policy, now=now, site=EMPTY_SITE, exclusions=exclusions,
                                purpose=self.purpose)
            raise self._deny(decision, request)
        request.meta[INDEX_META] = exclusions

    # The helpers below return the exception for the caller to raise, so every exit is visible.

    def _refuse(self, what: str, message: str) -> IgnoreRequest:
        self.recorder.refused(what, message)
        return IgnoreRequest(message)

    def _undecidable(self, exc: Exception, request: Request) -> IgnoreRequest:
        if isinstance(exc, RedisLost) and self._redis_lost is not None:
            self._redis_lost(exc)  # no site-file state without Redis: stop the crawl, fail closed
        self.recorder.refused("undecidable", f"copyright-guard could not decide on {request.url} "
                                             f"({type(exc).__name__}: {exc}); not collected")
        logger.debug("decision failed for %s", request.url, exc_info=True)
        return IgnoreRequest(f"copyright-guard could not decide ({type(exc).__name__}: {exc})")

    def _deny(self, decision: Decision, request: Request) -> IgnoreRequest:
        self.recorder.record(decision, request)
        return IgnoreRequest(denial_message(decision))

    # -- post-fetch ------------------------------------------------------------------------------

    def process_response(self, request: Request, response: Response) -> Response | Awaitable[Response]:
        if request in self.site_files.in_flight:
            return response
        url = response.url
        now = self._clock()
        try:
            origin = parse_target(url).origin
        except URLError:
            origin = ""
        site = self.site_files.latest(origin) or EMPTY_SITE
        # The URL first asked for and where the answer came from: a redirect to a login page is a
        # login wall (core/signals/access.py), visible only if both are given.
        redirects = request.meta.get("redirect_urls")
        view = ResponseView(
            url=redirects[0] if redirects else url,
            status=response.status,
            headers=response_headers(response),
            body=response.body,
            final_url=url,
            fetched_at=now,
        )
        try:
            decision = evaluate(url, self.policy, now=now, site=site, response=view,
                                exclusions=self._exclusions(), purpose=self.purpose)
        except Exception as exc:  # fail closed: an undecidable response is not collected
            raise self._undecidable(exc, request) from exc
        decision_id = self.recorder.record(decision, request, response)
        if decision.verdict is Verdict.DENY:
            raise IgnoreRequest(denial_message(decision))
        committed = self.recorder.committed
        if committed is not None:  # the audit run is open: log first, then collect
            return self._after_commit(committed(), request, response, decision_id)
        request.meta[DECISION_ID_META] = decision_id
        return response

    async def _after_commit(self, committed: Any, request: Request, response: Response, decision_id: str) -> Response:
        """Hand the response on once its decision is durable; an AuditUnavailable drops it."""
        await maybe_deferred_to_future(committed)
        request.meta[DECISION_ID_META] = decision_id
        return response


class IdentityGuardMiddleware:
    """The last check before the wire: one identity, the policy's, and no credentials.

    Scrapy's ``UserAgentMiddleware`` (priority 500), ``HttpAuthMiddleware`` (300) and any User-Agent
    rotation middleware run before this one, so what is checked here is what the site receives. A
    User-Agent without the product token would let a robots.txt block aimed at us be bypassed
    (peers.md); an ``Authorization`` header is a credential the site did not issue to us, and
    retrying a 401/402/403/407/451 under another identity would be getting around an access
    restriction. Both are refused with the reason (``IgnoreRequest``), logged as an error and
    counted in ``copyright_guard/refused/<what>``.

    With a signing key in the policy, every request that passes (site-wide files included: they go
    through the same downloader) is signed here, last, for Web Bot Auth (webbotauth/sign.py); a
    redirect or retry is a new request object and is signed afresh.
    """

    def __init__(self, product_token: str, recorder: DecisionRecorder, signer: Any = None,
                 clock: Any = utc_now, site_files: Any = None,
                 recheck: Callable[[Request], None] | None = None) -> None:
        self._recheck = recheck
        self._token = product_token.lower().encode("latin-1")
        self._product_token = product_token
        self._recorder = recorder
        self._signer = signer
        self._clock = clock
        self._site_files = site_files

    @classmethod
    def from_crawler(cls, crawler: Any) -> IdentityGuardMiddleware:
        runtime = runtime_for(crawler)
        guard = CopyrightGuardMiddleware.from_crawler(crawler)  # same runtime: same index and recorder
        return cls(runtime.policy.crawler.product_token, runtime.recorder, runtime.settings.signer,
                   site_files=runtime.site_files, recheck=guard.recheck)

    def process_response(self, request: Request, response: Response) -> Response:
        """Hold back the ``Content-Encoding`` of a site-file response: being the closest middleware to
        the wire, this runs before Scrapy's HttpCompressionMiddleware, which would decode it without a
        bound (site files have ``download_maxsize = 0``); the transport decodes it bounded."""
        site_files = self._site_files
        if site_files is not None and site_files.is_site_file_request(request):
            held = response.headers.getlist(b"Content-Encoding")
            if held:
                request.meta[HELD_CODINGS_META] = [value.decode("latin-1") for value in held]
                del response.headers[b"Content-Encoding"]
        return response

    def process_request(self, request: Request) -> None:
        headers = request.headers
        user_agent = headers.get(b"User-Agent") or b""
        if self._token not in user_agent.lower():
            raise self._refuse("user-agent", f"copyright-guard refused {request.url}: the User-Agent "
                         f"{user_agent.decode('latin-1')!r} lacks the policy's product token {self._product_token!r}")
        if b"Authorization" in headers:
            raise self._refuse("credentials", f"copyright-guard refused {request.url}: it carries an Authorization "
                         "header (credentials are never sent; remove http_user/http_pass or the header)")
        if self._recheck is not None:
            self._recheck(request)
        if self._signer is not None:
            for name, value in self._signer.request_headers(request.method, request.url, self._clock()).items():
                headers[name] = value  # replaces a stale signature copied onto a redirect or retry
        return None

    def _refuse(self, what: str, message: str) -> IgnoreRequest:
        self._recorder.refused(what, message)
        return IgnoreRequest(message)


def _is_fresh(request: Request) -> bool:
    """Not a redirect or retry of an earlier request (those carry the cookie jar's own header)."""
    meta = request.meta
    return "redirect_times" not in meta and "retry_times" not in meta


__all__ = [
    "CopyrightGuardMiddleware",
    "IdentityGuardMiddleware",
    "DECISION_ID_META",
    "PRE_FETCH_ID_META",
]
