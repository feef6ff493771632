"""Check one URL end to end, the way the crawler would: pre-fetch, fetch, post-fetch.

This is what ``copyright-guard check`` runs (the CLI only parses options and prints):

1. Exclusion lists first: a listed origin gets no request of any kind, not even robots.txt.
2. The origin's site-wide files (fetch/site.py) and the pre-fetch decision (core.evaluate).
3. Unless the pre-fetch decision denies (or ``fetch_page`` is off), one GET of the URL itself. A
   redirect of the page is followed up to ``policy.cache.max_redirects`` times, and each hop is
   a new URL that passes steps 1 and 2 for its own origin before it is requested - a redirect
   must not carry us past a block on the site it points to. A loop, too many redirects or a
   redirect to a non-http(s) URL ends the check with a fetch error (nothing was collected).
4. The post-fetch decision on the final response (core.evaluate with a ResponseView).

The verdict is ``deny`` if any decision in the chain denies. A page that cannot be fetched
(timeout, refused, ...) leaves the pre-fetch decision as the verdict and records the error: there
is nothing to collect, so nothing more to decide.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from ..core.evaluate import EMPTY_SITE, SiteView, evaluate
from ..core.lists.exclusions import ExclusionIndex
from ..core.model import Decision, Reason, ResponseView, SiteFileStatus, Stage, Verdict
from ..core.policy import Policy
from ..core.urls import URLError, parse_target
from .site import SiteFetcher, Transport
from .states import FetchOutcome, one_line, redirect_target

__all__ = ["PAGE_MAX_BYTES", "CheckResult", "check_url"]

# The page itself may be an image or a PDF whose embedded metadata is read post-fetch, so it gets a
# larger limit than site-wide files; past it the body is cut (and the evidence says so).
PAGE_MAX_BYTES = 16 * 1024 * 1024


@dataclass
class CheckResult:
    url: str
    purpose: str
    policy: Policy
    decisions: list[Decision] = field(default_factory=list)
    sites: dict[str, SiteView] = field(default_factory=dict)  # origin -> site-wide files used
    hops: list[str] = field(default_factory=list)  # page URLs requested, in order
    response: FetchOutcome | None = None  # the final response of the page, if one was fetched
    fetch_error: str = ""
    not_modified: bool = False  # the page answered 304 to the validators given (no post-fetch decision)

    @property
    def verdict(self) -> Verdict:
        return Verdict.DENY if any(not d.allowed for d in self.decisions) else Verdict.ALLOW

    @property
    def deciding(self) -> Decision:
        """The first denying decision, else the last one."""
        return next((d for d in self.decisions if not d.allowed), self.decisions[-1])

    @property
    def stage(self) -> Stage:
        return self.deciding.stage

    @property
    def reasons(self) -> list[Reason]:
        """Every reason of every decision, each once (a redirect within one origin repeats them)."""
        seen: set = set()
        reasons = []
        for decision in self.decisions:
            for reason in decision.reasons:
                key = (reason.code, reason.detail, reason.evidence.url if reason.evidence else None)
                if key not in seen:
                    seen.add(key)
                    reasons.append(reason)
        return reasons

    def as_dict(self) -> dict:
        return {
            "url": self.url,
            "verdict": self.verdict.value,
            "stage": self.stage.value,
            "purpose": self.purpose,
            "policy_hash": self.policy.hash,
            "reasons": [r.as_dict() for r in self.reasons],
            "decisions": [d.as_dict() for d in self.decisions],
            "site_files": [_site_file_dict(f) for view in self.sites.values() for f in view.files()],
            "requests": self.hops,
            "fetch_error": self.fetch_error or None,
        }


def check_url(
    url: str,
    policy: Policy,
    transport: Transport,
    *,
    now: datetime,
    purpose: str | None = None,
    exclusions: ExclusionIndex | None = None,
    fetch_page: bool = True,
    fetcher: SiteFetcher | None = None,
    validators: dict[str, str] | None = None,
) -> CheckResult:
    """``validators``: conditional request headers for the page itself (``recheck --pages``: the
    ETag / Last-Modified recorded at collection as If-None-Match / If-Modified-Since), sent only
    to ``url``, never to a redirect target. A 304 answer to them ends the check with
    ``not_modified`` set and no post-fetch decision: the caller holds what was recorded."""
    purpose = purpose or policy.purposes.default
    fetcher = fetcher or SiteFetcher(policy, transport, exclusions=exclusions)
    result = CheckResult(url, purpose, policy)
    hop = url
    redirects = 0
    visited = {url}
    while True:
        decision, site = _pre_fetch(hop, policy, fetcher, exclusions, purpose, now, result)
        result.decisions.append(decision)
        if not decision.allowed or not fetch_page:
            return result
        result.hops.append(hop)
        conditional = validators if validators and hop == url else None
        # Passed only when there is something to send: a transport without conditional requests still fits.
        outcome = transport.fetch(hop, user_agent=policy.crawler.user_agent, timeout=policy.cache.timeout_seconds,
                                  max_bytes=PAGE_MAX_BYTES, **({"conditional": conditional} if conditional else {}))
        if outcome.error or outcome.status is None:
            result.fetch_error = f"GET {hop}: {one_line(outcome.error or 'no response')}"
            return result
        if conditional and outcome.status == 304:  # RFC 9110 §15.4.5: the selected representation is unchanged
            result.response = outcome
            result.not_modified = True
            return result
        location = outcome.header("location")
        if 300 <= outcome.status < 400 and location and location[0].strip():
            target, usable = redirect_target(hop, location[0])
            redirects += 1
            if not usable:
                result.fetch_error = f"GET {hop}: HTTP {outcome.status} redirect to an unusable URL {one_line(target, 120)!r}"
            elif redirects > policy.cache.max_redirects:
                result.fetch_error = f"GET {hop}: more than {policy.cache.max_redirects} redirects"
            elif target in visited:
                result.fetch_error = f"GET {hop}: redirect loop back to {one_line(target, 120)}"
            else:
                visited.add(target)
                hop = target
                continue
            return result
        if outcome.truncated and any(c.strip().lower() not in ("", "identity") for c in outcome.header("content-encoding")):
            # As in a crawl, where Scrapy's decompression stops at DOWNLOAD_MAXSIZE (the add-on sets
            # it to this bound) and the page is not collected: a bomb is not decided on its first bytes.
            result.fetch_error = (f"GET {hop}: decoded body larger than {PAGE_MAX_BYTES} bytes "
                                  "(decompression bomb guard); not collected")
            return result
        result.response = outcome
        response = ResponseView(url=url, status=outcome.status, headers=dict(outcome.headers), body=outcome.body,
                                final_url=hop, fetched_at=outcome.fetched_at)
        result.decisions.append(
            evaluate(hop, policy, now=now, site=site, response=response, purpose=purpose)
        )
        return result


def _pre_fetch(hop, policy, fetcher, exclusions, purpose, now, result) -> tuple[Decision, SiteView]:
    try:
        target = parse_target(hop)
    except URLError:
        return evaluate(hop, policy, now=now, purpose=purpose), EMPTY_SITE  # a url.invalid deny
    if exclusions is not None and exclusions.match(target, now):
        # Listed: decide on the lists alone; no request of any kind goes to this origin.
        return evaluate(hop, policy, now=now, exclusions=exclusions, purpose=purpose), EMPTY_SITE
    site = result.sites.get(target.origin)
    if site is None:
        site = result.sites[target.origin] = fetcher.site_view(target.origin, now)
    return evaluate(hop, policy, now=now, site=site, exclusions=exclusions, purpose=purpose), site


def _site_file_dict(site_file) -> dict:
    return {
        "kind": site_file.kind,
        "origin": site_file.origin,
        "status": site_file.status.value,
        "error": site_file.error or None,
        "fetched_at": site_file.fetched_at.isoformat(),
        "expires_at": site_file.expires_at.isoformat(),
        "unreachable_since": site_file.unreachable_since.isoformat() if site_file.unreachable_since else None,
        "last_good_applies": site_file.status is SiteFileStatus.UNREACHABLE and site_file.parsed is not None,
        # What the parser could not read (issue 13): a rule that "matches nothing" shows here.
        "problems": list(getattr(site_file.parsed, "problems", None) or ()),
        "evidence": site_file.evidence.as_dict(),
    }
