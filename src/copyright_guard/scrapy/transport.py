"""Site-wide files fetched through Scrapy's own engine, driving the pure fetch state machine.

Inside a crawl, robots.txt, tdmrep.json, ai.txt and RSL licences are downloaded by
``crawler.engine.download_async`` - the same downloader, slots, proxy and TLS settings as the pages,
so the site sees one crawler - while :class:`~copyright_guard.fetch.states.SiteFileFetch` decides
what each HTTP outcome means (RFC 9309 §2.3.1). Scrapy therefore must not interpret the answer:
site-file requests carry ``dont_redirect`` (the machine follows redirects itself, up to the
policy's limit), ``dont_retry`` (the machine has its own backoff), ``handle_httpstatus_all`` and
``download_maxsize = 0`` (the body is cut at ``policy.cache.max_bytes`` here instead of failing the
download, RFC 9309 §2.5). ``download_maxsize = 0`` would also switch off the size guard of Scrapy's
HttpCompressionMiddleware (a 6.8 KB ``gzip, gzip`` robots.txt decoded to 4.3 GB), so the
add-on's IdentityGuardMiddleware takes the ``Content-Encoding`` of a site-file response before that
middleware sees it (:data:`HELD_CODINGS_META`) and :meth:`EngineSiteFiles._outcome` decodes the body
with the same bounded decoder as ``copyright-guard check`` (fetch/decoding.py): decoded size at most
``max_bytes``, at most ``max_content_codings`` stacked codings. ``download_timeout`` is Scrapy's
overall deadline for the request (connect, headers and body).

One fetch per (kind, origin): concurrent requests for pages of a new origin all wait on the same
pending fetch (a :class:`~copyright_guard.scrapy.shared.SharedResult`: each waiter gets the result,
not only the first - a plain shared Deferred hands ``None`` to the second), and the result is
cached until the state machine's ``expires_at`` (24 h for a parsed file; exponential backoff for
an unreachable one). With ``shared`` (scale/store.py, several workers of one crawl) the fetch is
also one per (kind, origin) across every worker: a lease in Redis, the others wait for the stored
result (docs/distributed.md).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from scrapy import Request, signals
from scrapy.exceptions import StopDownload
from scrapy.http import Response
from scrapy.http.request import NO_CALLBACK
from scrapy.utils.defer import deferred_from_coro, maybe_deferred_to_future
from twisted.internet.defer import gatherResults

from ..core.evaluate import SiteView
from ..core.lists.exclusions import ExclusionIndex
from ..core.model import SiteFile
from ..core.policy import Policy
from ..fetch.cache import SiteFileCache
from ..fetch.decoding import DecodingError, codings, decode_bounded
from ..fetch.site import assemble_view, files_after_robots, refusal
from ..fetch.states import FetchOutcome, SiteFileFetch, one_line, site_file_url
from .shared import SharedResult

logger = logging.getLogger(__name__)

# request.meta key naming the kind of site-wide file a request fetches. A request only counts as a
# site-file request if this transport created it (checked by identity): setting the key on a page
# request does not skip any check.
SITE_FILE_META = "copyright_guard_site_file"
# request.meta key where IdentityGuardMiddleware puts the Content-Encoding values of a site-file
# response it took off (so that Scrapy does not decode the body without a bound).
HELD_CODINGS_META = "copyright_guard_held_codings"

Download = Callable[[Request], Awaitable[Response]]
OnSiteFile = Callable[[SiteFile], None]


def response_headers(response: Response) -> dict[str, list[str]]:
    """Scrapy headers as the core reads them: lower-cased names -> values decoded as latin-1
    (RFC 9110 §5.5: field values are octets; latin-1 keeps every byte)."""
    return {
        name.decode("latin-1").lower(): [value.decode("latin-1") for value in values]
        # dict.items: Scrapy's Headers is a dict of normalised byte names -> lists of byte values,
        # and its own items() rebuilds every list (this runs once per response).
        for name, values in dict.items(response.headers)
    }


class EngineSiteFiles:
    """The site-wide files of each origin, fetched through Scrapy's engine and cached.

    ``download`` is ``crawler.engine.download_async``; ``clock`` returns an aware ``datetime``;
    ``on_site_file`` is called with every new file state (stats, Crawl-delay); ``exclusions`` is
    consulted for redirect targets so a site-wide file never leads us to a listed origin.
    """

    def __init__(
        self,
        policy: Policy,
        download: Download,
        *,
        priority: int = 1000,
        on_site_file: OnSiteFile | None = None,
        exclusions: Callable[[], ExclusionIndex | None] = lambda: None,
        clock: Callable[[], datetime],
        events: Any = None,
        shared: Any = None,
    ) -> None:
        self._policy = policy
        # A crawl-wide store (scale/store.py SharedState) when several workers share one crawl:
        # one fetch per (kind, origin) per expiry across all of them. None: this process only.
        self.shared = shared
        self._events = events  # crawler.signals, for the max_bytes cut (bytes_received)
        self._download = download
        self._priority = priority
        self._on_site_file = on_site_file
        self._exclusions = exclusions
        self._clock = clock
        self._views: dict[str, tuple[SiteView, datetime]] = {}  # origin -> (view, earliest expiry)
        self.cache = SiteFileCache()  # the fetch layer's cache: (kind, origin, url) -> last state
        self._pending: dict[tuple[str, str, str], SharedResult[SiteFile]] = {}
        self._pending_views: dict[str, SharedResult[SiteView]] = {}
        # Site-file requests in flight -> bytes received so far (for the max_bytes cut).
        self.in_flight: dict[Request, int] = {}
        self._max_bytes = policy.cache.max_bytes

    # -- the hot path ----------------------------------------------------------------------------

    def cached(self, origin: str, now: datetime) -> SiteView | None:
        """The origin's site view if every file in it is still fresh (no I/O, no allocation)."""
        entry = self._views.get(origin)
        if entry is not None and now < entry[1]:
            return entry[0]
        return None

    def latest(self, origin: str) -> SiteView | None:
        """The last site view of the origin, fresh or not (post-fetch decisions read this)."""
        entry = self._views.get(origin)
        return entry[0] if entry is not None else None

    async def view(self, origin: str) -> SiteView:
        """The origin's site view, fetching what is missing or expired. Concurrent callers for one
        origin share one fetch, and every one of them gets its result (:class:`SharedResult`)."""
        pending = self._pending_views.get(origin)
        if pending is not None:
            return await pending.wait()
        pending = self._pending_views[origin] = SharedResult()
        try:
            view = await self._assemble(origin)
        except BaseException as exc:  # a bug, not an HTTP failure: fail every waiter closed
            del self._pending_views[origin]
            pending.fail(exc)
            raise
        del self._pending_views[origin]
        pending.resolve(view)
        return view

    # -- fetching --------------------------------------------------------------------------------

    async def _assemble(self, origin: str) -> SiteView:
        # robots.txt first, then what it calls for, in parallel: the same rule as the CLI
        # (fetch.site.files_after_robots), so `copyright-guard check` says what the crawl does.
        now = self._clock()
        robots = await self._file("robots.txt", origin, None, now)
        wanted = files_after_robots(self._policy, robots)
        fetched = await maybe_deferred_to_future(
            gatherResults([deferred_from_coro(self._file(kind, origin, url, now)) for kind, url in wanted],
                          consumeErrors=True)
        ) if wanted else []
        view = assemble_view(robots, [(kind, site_file) for (kind, _), site_file in zip(wanted, fetched)])
        expires = min(f.expires_at for f in (robots, *fetched))
        views = self._views
        views.pop(origin, None)
        views[origin] = (view, expires)
        if len(views) > self.cache.max_entries:  # bounded like the fetch cache: oldest origin first
            del views[next(iter(views))]
        return view

    async def _file(self, kind: str, origin: str, url: str | None, now: datetime) -> SiteFile:
        url = url or site_file_url(kind, origin)
        key = (kind, origin, url)
        previous = self.cache.get(kind, origin, url)
        if previous is not None and now < previous.expires_at:
            return previous
        pending = self._pending.get(key)
        if pending is not None:
            return await pending.wait()
        pending = self._pending[key] = SharedResult()
        try:
            if self.shared is None:
                site_file = await self._run(SiteFileFetch(kind, origin, self._policy, now, previous, url=url))
            else:
                site_file = await self._shared_file(kind, origin, url, now, previous)
        except BaseException as exc:
            del self._pending[key]
            pending.fail(exc)
            raise
        self.cache.put(site_file)
        del self._pending[key]
        if self._on_site_file is not None:
            self._on_site_file(site_file)
        pending.resolve(site_file)
        return site_file

    async def _shared_file(self, kind: str, origin: str, url: str, now: datetime,
                           previous: SiteFile | None) -> SiteFile:
        """The file's state from the crawl-wide store, fetched by whichever worker takes the lease
        (``SET NX PX``); the others poll the store until it is there. A holder that dies loses the
        lease when it expires and the next poll takes it over. Waiting is bounded: past
        ``shared.wait_seconds`` the caller fails closed (the request is undecidable, never allowed).
        The same state machine runs as without the store, from the same ``previous`` (the stored
        one, which every worker shares), so both decide identically for the same site state."""
        shared = self.shared
        deadline = time.monotonic() + shared.wait_seconds
        poll = 0.05
        while True:
            stored = shared.get(kind, url)
            if stored is not None and now < stored.expires_at:
                return stored
            token = shared.lease(kind, url)
            if token is not None:
                try:
                    fetch = SiteFileFetch(kind, origin, self._policy, now, stored or previous, url=url)
                    site_file = await self._run(fetch, lambda: shared.lease(kind, url, token))
                except BaseException:
                    shared.release(kind, url, token)
                    raise
                shared.put(site_file, token, self._clock())
                return site_file
            if time.monotonic() > deadline:
                raise SiteFileWaitTimeout(f"{kind} of {origin}: another worker's fetch did not finish within "
                                          f"{shared.wait_seconds:.0f} s")
            await _sleep(poll)
            poll = min(poll * 2, 0.5)

    async def _run(self, fetch: SiteFileFetch, renew: Callable[[], object] | None = None) -> SiteFile:
        url = fetch.next_url
        while url is not None:
            if renew is not None and fetch.chain and renew() is None:
                # Our lease expired during a slow hop and another worker took it over: its
                # result will be stored; ours, from a chain it may also be fetching, is still
                # a complete state of the file and is kept locally.
                logger.info("lease on %s %s lost during the fetch", fetch.kind, fetch.url)
            outcome = await self._outcome(fetch.kind, url)
            url = fetch.feed(outcome)
        return fetch.result()

    async def _outcome(self, kind: str, url: str) -> FetchOutcome:
        refused = refusal(url, self._exclusions(), self._clock())
        if refused:
            return FetchOutcome(url=url, error=refused, fetched_at=self._clock())
        request = Request(
            url,
            priority=self._priority,
            callback=NO_CALLBACK,
            dont_filter=True,
            meta={
                SITE_FILE_META: kind,
                "dont_redirect": True,
                "dont_retry": True,
                "handle_httpstatus_all": True,
                "dont_obey_robotstxt": True,  # in case Scrapy's own middleware is still enabled
                "download_maxsize": 0,
                "download_warnsize": 0,
                "download_timeout": self._policy.cache.timeout_seconds,
            },
        )
        self._track(request)
        try:
            response = await self._download(request)
        except Exception as exc:  # refused, reset, timeout, DNS, TLS, IgnoreRequest: all "unreachable"
            return FetchOutcome(url=url, error=_describe(exc), fetched_at=self._clock())
        finally:
            self._untrack(request)
        truncated = "download_stopped" in (response.flags or ())
        headers = response_headers(response)
        body = response.body
        held = request.meta.get(HELD_CODINGS_META)
        if held:
            headers["content-encoding"] = held  # as received: the evidence shows what was sent
            try:
                body, cut = decode_bounded([body], codings(held), max_bytes=self._max_bytes,
                                           max_codings=self._policy.cache.max_content_codings)
            except DecodingError as exc:
                return FetchOutcome(url=response.url, error=one_line(str(exc)), fetched_at=self._clock())
            truncated = truncated or cut
        return FetchOutcome(
            url=response.url,
            status=response.status,
            headers=headers,
            body=body,
            fetched_at=self._clock(),
            truncated=truncated,
        )

    def is_site_file_request(self, request: Request) -> bool:
        """Whether this transport sent ``request`` (by identity: a meta key can be copied)."""
        return request in self.in_flight

    def _track(self, request: Request) -> None:
        # The bytes_received handler is connected only while site-wide files are in flight, so
        # page downloads (the hot path) pay nothing for it.
        if not self.in_flight and self._events is not None:
            self._events.connect(self.bytes_received, signal=signals.bytes_received)
        self.in_flight[request] = 0

    def _untrack(self, request: Request) -> None:
        del self.in_flight[request]
        if not self.in_flight and self._events is not None:
            self._events.disconnect(self.bytes_received, signal=signals.bytes_received)

    def bytes_received(self, data: bytes, request: Request, **_: Any) -> None:
        """Scrapy ``bytes_received`` handler: stop a site-wide file at ``max_bytes`` (RFC 9309 §2.5
        says parse at least 500 KiB; the rest need not be downloaded)."""
        seen = self.in_flight.get(request)
        if seen is None:
            return
        seen += len(data)
        self.in_flight[request] = seen
        if seen > self._max_bytes:
            raise StopDownload(fail=False)


class SiteFileWaitTimeout(RuntimeError):
    """Another worker's fetch of a site-wide file took longer than the bounded wait."""


async def _sleep(seconds: float) -> None:
    from twisted.internet import reactor
    from twisted.internet.task import deferLater

    await maybe_deferred_to_future(deferLater(reactor, seconds, lambda: None))


def _describe(exc: BaseException) -> str:
    text = one_line(str(exc)) or type(exc).__name__
    return f"{type(exc).__name__}: {text}" if type(exc).__name__ not in text else text

