"""Fetch the site-wide files of one origin into a :class:`~copyright_guard.core.evaluate.SiteView`.

What is fetched, per origin (each with the same states, cache and limits, fetch/states.py):

* ``/robots.txt`` - always (robots.txt is not optional, Code of Practice Measure 1.3(1)(a)); while
  it is unreachable (and no last good copy applies) nothing else of the origin is requested;
* ``/.well-known/tdmrep.json`` when ``policy.sources.tdmrep``;
* ``/ai.txt`` when ``policy.sources.ai_txt``;
* the RSL licences named by robots.txt ``License:`` records outside any group, when
  ``policy.sources.rsl`` - absolute URLs, possibly on another host (a relative one is resolved
  against the robots.txt URL, to be tolerant). At most :data:`MAX_LICENCES` distinct URLs are
  fetched per origin, so a hostile robots.txt cannot make us fetch thousands of files. A URL that
  is not http(s) counts as an unreachable licence (we could not retrieve what RSL says we must
  comply with; ``on_failure.rsl_unreachable`` decides what that means).

The caller checks exclusion lists *before* calling this: a listed origin gets no request at all.
Given the exclusion index, the fetcher also refuses what the files themselves point to - a
redirect or an RSL licence URL on a listed origin is recorded as a refused request, never sent.
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol
from urllib.parse import urljoin

from ..core.evaluate import SiteView
from ..core.lists.exclusions import ExclusionIndex
from ..core.model import SiteFile, SiteFileStatus
from ..core.policy import Policy
from ..core.urls import URLError, parse_target
from .cache import SiteFileCache
from .states import FetchOutcome, SiteFileFetch, site_file_url

__all__ = ["MAX_LICENCES", "SiteFetcher", "Transport", "fetch_site", "licence_urls", "refusal"]

MAX_LICENCES = 10


class Transport(Protocol):
    """Moves bytes: one request, no redirect following, no cookies, no credentials; never raises."""

    def fetch(self, url: str, *, user_agent: str, timeout: float, max_bytes: int) -> FetchOutcome: ...


class SiteFetcher:
    """Fetches (or takes from ``cache``) the site-wide files of an origin, through ``transport``."""

    def __init__(self, policy: Policy, transport: Transport, cache: SiteFileCache | None = None,
                 exclusions: ExclusionIndex | None = None) -> None:
        self.policy = policy
        self.transport = transport
        self.cache = cache if cache is not None else SiteFileCache()
        self.exclusions = exclusions
        # origin -> (view, the earliest expiry among its files): the per-URL hot path is one dict
        # look-up and one comparison while every file of the origin is fresh.
        self._views: dict[str, tuple[SiteView, datetime]] = {}

    def fetch(self, kind: str, origin: str, now: datetime, *, url: str | None = None) -> SiteFile:
        """The state of one site-wide file at ``now``: from the cache while fresh, else fetched."""
        url = url or site_file_url(kind, origin)
        fresh = self.cache.get_fresh(kind, origin, now, url)
        if fresh is not None:
            return fresh
        machine = SiteFileFetch(kind, origin, self.policy, now, self.cache.get(kind, origin, url), url=url)
        cache = self.policy.cache
        while machine.next_url is not None:
            target = machine.next_url
            refused = refusal(target, self.exclusions, now)  # as the crawl's transport does
            if refused:
                outcome = FetchOutcome(target, error=refused, fetched_at=now)
            else:
                outcome = self.transport.fetch(target, user_agent=self.policy.crawler.user_agent,
                                               timeout=cache.timeout_seconds, max_bytes=cache.max_bytes)
            machine.feed(outcome)
        site_file = machine.result()
        self.cache.put(site_file)
        return site_file

    def site_view(self, origin: str, now: datetime) -> SiteView:
        known = self._views.get(origin)
        if known is not None and now < known[1]:
            return known[0]
        view = self._assemble(origin, now)
        if len(self._views) >= self.cache.max_entries:
            self._views.clear()  # bounded like the file cache; rebuilt from it on demand
        self._views[origin] = (view, min(f.expires_at for f in view.files()))
        return view

    def _assemble(self, origin: str, now: datetime) -> SiteView:
        robots = self.fetch("robots.txt", origin, now)
        files = [(kind, self.fetch(kind, origin, now, url=url)) for kind, url in files_after_robots(self.policy, robots)]
        return assemble_view(robots, files)


def refusal(url: str, exclusions: ExclusionIndex | None, now: datetime) -> str:
    """Why a site-wide file request to ``url`` must not be sent, or ``""``.

    A redirect or a licence URL may point anywhere: a malformed or non-http(s) URL is no request,
    and an origin on an exclusion list gets none of any kind (Measure 1.2; issue 6). The state
    machine records the refusal like a failed fetch, so the file is unreachable, with the reason.
    """
    try:
        target = parse_target(url)
    except URLError as exc:
        return f"not an http(s) URL: {exc}"
    if exclusions is not None and exclusions.match(target, now):
        return f"not requested: {target.origin} is on an exclusion list"
    return ""


def files_after_robots(policy: Policy, robots: SiteFile) -> list[tuple[str, str]]:
    """``(kind, url)`` of the other site-wide files to fetch once robots.txt is known.

    The one rule for the CLI and the crawl alike, so both assemble the same site view: while
    robots.txt is unreachable (with no last good copy) complete disallow (RFC 9309 §2.3.1.4) covers
    every resource of the origin, so nothing else is requested - and a failing or slow server is
    not asked (and waited for) several more times.
    """
    if robots.status is SiteFileStatus.UNREACHABLE and robots.parsed is None:
        return []
    sources = policy.sources
    files = [(kind, site_file_url(kind, robots.origin))
             for kind, enabled in (("tdmrep.json", sources.tdmrep), ("ai.txt", sources.ai_txt)) if enabled]
    if sources.rsl:
        files.extend(("rsl", url) for url in licence_urls(robots))
    return files


def assemble_view(robots: SiteFile, files: list[tuple[str, SiteFile]]) -> SiteView:
    """The site view from robots.txt and the files :func:`files_after_robots` named."""
    by_kind = {kind: site_file for kind, site_file in files if kind != "rsl"}
    rsl = tuple(site_file for kind, site_file in files if kind == "rsl")
    return SiteView(robots=robots, tdmrep=by_kind.get("tdmrep.json"), ai_txt=by_kind.get("ai.txt"), rsl=rsl)


def licence_urls(robots: SiteFile | None) -> list[str]:
    """RSL licence URLs from robots.txt ``License:`` records outside any group (RSL §4.4.2)."""
    if robots is None or robots.parsed is None or robots.status is SiteFileStatus.UNAVAILABLE:
        return []
    base = site_file_url("robots.txt", robots.origin)  # the rules belong to the initial origin
    urls: list[str] = []
    for line in robots.parsed.global_records("license"):
        value = line.value.strip()
        if not value:
            continue
        try:
            url = urljoin(base, value)
        except ValueError:
            url = value
        if url not in urls:
            urls.append(url)
        if len(urls) == MAX_LICENCES:
            break
    return urls


def fetch_site(origin: str, policy: Policy, transport: Transport, cache: SiteFileCache | None,
               now: datetime) -> SiteView:
    """Function form of :meth:`SiteFetcher.site_view` (the name docs/architecture.md uses)."""
    return SiteFetcher(policy, transport, cache).site_view(origin, now)
