"""The one decision entry point: :func:`evaluate` (DESIGN.md "Decision procedure").

The crawler's middleware and ``copyright-guard check`` both call this function, with site-wide
file states built by the same fetch state machine, so what ``check`` says is what the crawler does.

Order (every step runs, so a decision lists *every* reason, not only the first):

1. exclusion lists (registered domain; no request of any kind goes to a listed origin)
2. robots.txt for our product token, then peer AI-crawler tokens (reservation against AI training)
3. location-based reservations for the purpose: robots.txt Content-Usage / Content-Signal,
   tdmrep.json, ai.txt, RSL licences - only for paths robots.txt lets us crawl
4. post-fetch (when a response is given): access restrictions, then asset-based reservations
   (headers, HTML meta, embedded metadata)
5. licences turn reservation-based denials for the licensed source into allows (never exclusions)

Verdict: deny if any remaining reason has effect DENY (most restrictive wins across schemes).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from .robots import rules as robots
from .signals import access, assets, licences, location
from .content import content_facts
from .embedded.scan import asset_kind
from .signals.html import is_html
from .lists.exclusions import ExclusionIndex
from .signals.html import scan_html
from .model import (
    Decision,
    Effect,
    Evidence,
    Reason,
    ResponseView,
    SiteFile,
    SiteFileStatus,
    Signal,
    Stage,
    Value,
    Verdict,
    new_decision,
)
from .policy import Policy
from .purposes import covers
from .urls import Target, URLError, parse_target


@dataclass(frozen=True, slots=True)
class SiteView:
    """The site-wide files of one origin, as the fetch layer last saw them. ``None``: not fetched
    (the source is disabled, or a pre-fetch check was asked without them)."""

    robots: SiteFile | None = None
    tdmrep: SiteFile | None = None
    ai_txt: SiteFile | None = None
    rsl: tuple[SiteFile, ...] = field(default_factory=tuple)  # licences named by robots.txt
    # Pre-fetch plans per (policy, purpose), see _plan(): derived from the fields above, so not
    # compared, hashed or printed. A field rather than a module-level cache, so a plan lives as
    # long as the view the fetch layer keeps for its origin, and no object identity outlives it.
    _plans: dict = field(default_factory=dict, init=False, repr=False, compare=False, hash=False)

    def files(self) -> list[SiteFile]:
        """The site-wide files present (robots.txt, tdmrep.json, ai.txt, RSL licences), in that order."""
        return [f for f in (self.robots, self.tdmrep, self.ai_txt, *self.rsl) if f is not None]


EMPTY_SITE = SiteView()

# Reason-code prefix and the policy switch governing each unreachable optional site-wide file
# (robots.txt is fixed by RFC 9309 §2.3.1.4 and handled in core/robots/rules.py).
_UNREACHABLE_RULE = {
    "tdmrep.json": ("tdmrep", "tdmrep_unreachable"),
    "ai.txt": ("ai-txt", "ai_txt_unreachable"),
    "rsl": ("rsl", "rsl_unreachable"),
}


def evaluate(
    url: str,
    policy: Policy,
    *,
    now: datetime,
    site: SiteView = EMPTY_SITE,
    response: ResponseView | None = None,
    exclusions: ExclusionIndex | None = None,
    purpose: str | None = None,
) -> Decision:
    """Decide whether ``url`` may be collected for ``purpose`` (default: the policy's).

    Without ``response`` this is the pre-fetch decision; with it, the post-fetch decision on that
    response. Never raises for bad input: a malformed URL is a deny with reason ``url.invalid``.
    """
    purpose = purpose or policy.purposes.default
    try:
        target = parse_target(url)
    except URLError as exc:
        reason = Reason("url.invalid", "url", str(exc), Effect.DENY, Evidence("url", location=str(url)[:200]))
        stage = Stage.PRE_FETCH if response is None else Stage.POST_FETCH
        return _decision(str(url), "", "", stage, purpose, [reason], policy, now)

    plan = _plan(site, policy, purpose)
    if response is None:
        reasons = _pre_fetch(plan, target, site, policy, exclusions, purpose, now)
        stage, examined, content = Stage.PRE_FETCH, (), None
    else:
        reasons = post_fetch_reasons(target, policy, site, response, purpose)
        stage, examined, content = Stage.POST_FETCH, examined_sources(response, policy), content_facts(response)
    if policy.licences:  # apply_licences returns the reasons unchanged without licences
        reasons = licences.apply_licences(reasons, target, policy, purpose, now)
    return _decision(target.url, target.origin, target.registered_domain, stage, purpose, reasons, policy, now,
                     plan.files, examined, content)


def host_decides(site: SiteView, policy: Policy, purpose: str) -> bool:
    """Whether every pre-fetch decision on ``site`` for ``purpose`` depends on the URL's origin
    alone, not its path: robots.txt gives a fixed answer (not consulted, unavailable, unreachable),
    no location-based source can speak and no licence is scoped by path. Then URLs of one origin
    get the same verdict and reasons (``recheck --no-fetch`` decides an origin's URLs at once)."""
    plan = _plan(site, policy, purpose)
    return plan.robots.fixed is not None and not plan.location and not policy.licences


def examined_sources(response: ResponseView, policy: Policy) -> tuple[str, ...]:
    """The asset sources a post-fetch decision read, whether or not they said anything.

    ``headers`` (always: the reservation headers and the status), ``html-meta`` for an HTML body,
    ``embedded-metadata:<KIND>`` when the policy reads embedded metadata and the body is an asset
    kind core/embedded/scan.py scans (JPEG, PNG, PDF, EPUB, ...), ``access-restrictions`` when the
    policy checks them (core/signals/access.py).
    """
    found = ["headers"]
    content_type = response.content_type
    if response.body and is_html(content_type, response.body):
        found.append("html-meta")
    if policy.sources.embedded_metadata and response.body:
        kind = asset_kind(content_type, response.body)
        if kind is not None:
            found.append(f"embedded-metadata:{kind}")
    if policy.sources.access_restrictions:
        found.append("access-restrictions")
    return tuple(found)


class _Plan:
    """The per-origin part of a pre-fetch decision, for one (site view, policy, purpose): the
    robots.txt plan, the unreachable-file reasons (the same for every URL) and whether any
    location-based source can speak at all. Per URL only path matching is left."""

    __slots__ = ("policy", "robots", "unreachable", "location", "files")

    def __init__(self, site: SiteView, policy: Policy, purpose: str) -> None:
        self.policy = policy  # a strong reference: the plan is found by id(policy)
        # One tuple per view, shared by every decision made on it: the store keys its snapshot
        # references by this object, so it serialises them once per view, not per decision.
        self.files = tuple(site.files())
        self.robots = robots.RobotsPlan(site.robots, policy, purpose)
        self.unreachable = tuple(
            reason for site_file in (site.tdmrep, site.ai_txt, *site.rsl) for reason in _unreachable_reasons(site_file, policy)
        )
        self.location = location.may_signal(site, policy)


def _plan(site: SiteView, policy: Policy, purpose: str) -> _Plan:
    plans = site._plans
    key = (id(policy), purpose)
    plan = plans.get(key)
    if plan is None or plan.policy is not policy:
        if len(plans) >= 16:  # a view normally meets one policy and a purpose or two
            plans.clear()
        plan = plans[key] = _Plan(site, policy, purpose)
    return plan


def _pre_fetch(
    plan: _Plan,
    target: Target,
    site: SiteView,
    policy: Policy,
    exclusions: ExclusionIndex | None,
    purpose: str,
    now: datetime,
) -> list[Reason]:
    robots_reasons, crawlable = plan.robots.reasons(target)
    if exclusions is not None:
        excluded = exclusions.match(target, now)
        if excluded:
            robots_reasons[:0] = excluded  # exclusion reasons come first
    reasons = robots_reasons
    if plan.unreachable:
        reasons.extend(plan.unreachable)
    if crawlable and plan.location:
        # Content-Usage and friends apply only to paths robots.txt lets us crawl (AIPREF attach §4).
        reasons.extend(signal_reasons(location.location_signals(target, site, policy), purpose, policy))
    return reasons


def post_fetch_reasons(
    target: Target, policy: Policy, site: SiteView, response: ResponseView, purpose: str
) -> list[Reason]:
    reasons: list[Reason] = []
    head = scan_html(response.body)  # one scan of the page for both checks (built lazily: free if unused)
    if policy.sources.access_restrictions:
        reasons.extend(access.access_reasons(response, head))
    reasons.extend(signal_reasons(assets.asset_signals(target, response, site, policy, head), purpose, policy))
    return reasons


def signal_reasons(signals: list[Signal], purpose: str, policy: Policy) -> list[Reason]:
    """Turn signals into reasons for ``purpose`` through the one purpose table (core/purposes.py)."""
    reasons: list[Reason] = []
    for signal in signals:
        detail = signal.detail or f"{signal.vocabulary} {signal.category}={signal.value.value}"
        if signal.value is Value.UNKNOWN:
            # Malformed input is evidence, not an exception: record it; deny only if the policy says so.
            if signal.detail:
                effect = Effect.DENY if policy.on_failure.unreadable_signal == "deny" else Effect.NOTE
                reasons.append(Reason(f"{signal.vocabulary}.unreadable", signal.source, detail, effect, signal.evidence))
            continue
        if not covers(signal.vocabulary, signal.category, purpose):
            continue
        if signal.value is Value.RESERVED:
            reasons.append(Reason(f"{signal.vocabulary}.reserved", signal.source, detail, Effect.DENY, signal.evidence))
        else:
            reasons.append(Reason(f"{signal.vocabulary}.allowed", signal.source, detail, Effect.ALLOW, signal.evidence))
    return reasons


def _unreachable_reasons(site_file: SiteFile | None, policy: Policy) -> list[Reason]:
    if site_file is None or site_file.status is not SiteFileStatus.UNREACHABLE or site_file.parsed is not None:
        return []
    if site_file.kind not in _UNREACHABLE_RULE:
        return []
    code, rule = _UNREACHABLE_RULE[site_file.kind]
    deny = getattr(policy.on_failure, rule) == "deny"
    detail = f"{site_file.kind} unreachable ({site_file.error or 'error'}); policy on_failure.{rule} = {'deny' if deny else 'allow'}"
    return [Reason(f"{code}.unreachable", site_file.kind, detail, Effect.DENY if deny else Effect.NOTE, site_file.evidence)]


def _decision(
    url: str,
    origin: str,
    domain: str,
    stage: Stage,
    purpose: str,
    reasons: list[Reason],
    policy: Policy,
    now: datetime,
    consulted: tuple[SiteFile, ...] = (),
    examined: tuple[str, ...] = (),
    content=None,
) -> Decision:
    verdict = Verdict.ALLOW
    for reason in reasons:
        if reason.effect is Effect.DENY:
            verdict = Verdict.DENY
            break
    return new_decision(url, origin, domain, stage, purpose, verdict, tuple(reasons), policy.hash, now,
                        consulted, examined, content)
