"""Deciding again on content already collected (``copyright-guard recheck``): pure parts.

Rights reservations change after a crawl, and the Code's reservations apply to the *use* of the
content, which often comes weeks later. A recheck decides every collected URL again - with the
same :func:`~copyright_guard.core.evaluate.evaluate` as the crawl - and adds what only exists
after collection: an upheld complaint naming the URL or its domain. The result is one decision of
stage ``recheck`` per URL, listing every reason found; a collected item whose URL is now denied is
*withdrawn* and goes on the purge list.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from .content import ContentFacts
from .model import Decision, Effect, Evidence, Reason, SiteFile, Stage, Verdict, new_decision
from .urls import Target

__all__ = ["UpheldTarget", "UpheldComplaints", "recheck_decision", "unchanged_page_decision"]

COMPLAINT_UPHELD = "complaint.upheld"


@dataclass(frozen=True, slots=True)
class UpheldTarget:
    """One URL or domain target of an upheld complaint (``kind`` is ``"url"`` or ``"domain"``;
    ``value`` normalised as core/complaints/workflow.py stores it: origin + RFC 9309 path, or a domain)."""

    reference: str
    kind: str
    value: str
    decided_at: datetime | None = None


class UpheldComplaints:
    """The URL and domain targets of upheld complaints, indexed for per-URL look-ups.

    A domain target covers the URL's registered domain and every host under the named domain,
    as the exclusion it proposes does (store/complaints.py ``affected_items``); a URL target
    covers that URL (scheme, host, port and path, as normalised at submission).
    """

    def __init__(self, targets: Iterable[UpheldTarget]) -> None:
        self._urls: dict[str, list[UpheldTarget]] = {}
        self._domains: dict[str, list[UpheldTarget]] = {}
        for target in targets:
            if target.kind == "url":
                self._urls.setdefault(target.value, []).append(target)
            elif target.kind == "domain":
                self._domains.setdefault(target.value.lower().rstrip("."), []).append(target)

    def __bool__(self) -> bool:
        return bool(self._urls or self._domains)

    def reasons(self, target: Target) -> list[Reason]:
        found = list(self._urls.get(target.origin + target.path, ()))
        host = target.host.lower().rstrip(".")
        labels = host.split(".")
        for start in range(len(labels)):  # the host itself, then each parent domain
            found += self._domains.get(".".join(labels[start:]), ())
        seen: set[str] = set()
        reasons = []
        for upheld in found:
            if upheld.reference in seen:
                continue
            seen.add(upheld.reference)
            when = f" on {upheld.decided_at.date().isoformat()}" if upheld.decided_at else ""
            reasons.append(Reason(
                COMPLAINT_UPHELD, "complaint",
                f"complaint {upheld.reference} was upheld{when}; it names the {upheld.kind} {upheld.value}",
                Effect.DENY,
                Evidence("complaint", location=f"complaint {upheld.reference}: {upheld.kind} {upheld.value}"),
            ))
        return reasons


def recheck_decision(url: str, decided: Sequence[Decision], extra: Sequence[Reason], *, policy_hash: str,
                     purpose: str, now: datetime) -> Decision:
    """One ``recheck`` decision from the decisions a re-check made for ``url`` (pre-fetch, and
    post-fetch when the page was fetched again) plus ``extra`` reasons (upheld complaints).

    Every reason is kept once, in order; the verdict is ``deny`` if any reason denies. The site-wide
    file states consulted, the asset sources examined and the content facts come along, so the
    recheck is recorded with the same evidence model as the crawl.
    """
    if len(decided) == 1 and not extra:  # the common case (no page re-fetched, no complaint): as decided
        only = decided[0]
        return new_decision(url, only.origin, only.registered_domain, Stage.RECHECK, purpose, only.verdict,
                            only.reasons, policy_hash, now, only.consulted, only.examined, only.content)
    reasons: list[Reason] = []
    seen: set = set()
    for reason in (*(r for d in decided for r in d.reasons), *extra):
        key = (reason.code, reason.detail, reason.evidence.url if reason.evidence else None)
        if key not in seen:
            seen.add(key)
            reasons.append(reason)
    verdict = Verdict.DENY if any(r.effect is Effect.DENY for r in reasons) else Verdict.ALLOW
    consulted: list[SiteFile] = []
    for decision in decided:
        # by identity: one view's files are shared objects, and a parsed file need not compare cheaply
        consulted += [f for f in decision.consulted if all(f is not c for c in consulted)]
    post = next((d for d in reversed(decided) if d.stage is Stage.POST_FETCH), None)
    first = decided[0]  # a recheck always decides the URL at least once (pre-fetch)
    return new_decision(
        url, first.origin, first.registered_domain, Stage.RECHECK,
        purpose, verdict, tuple(reasons), policy_hash, now, tuple(consulted),
        post.examined if post else (), post.content if post else None,
    )


PAGE_NOT_MODIFIED = "page.not-modified"


def unchanged_page_decision(pre: Decision, recorded: Sequence[Any], examined: Sequence[Any],
                            content: ContentFacts, *, sent: str, now: datetime) -> Decision | None:
    """The post-fetch part of a recheck whose conditional request was answered 304 Not Modified
    (RFC 9110 §15.4.5): the page's own signals are those recorded at collection, so its recorded
    reasons (``recorded``: their stored records) stand again, with a note saying so. ``pre`` is
    the fresh pre-fetch decision on the URL; ``sent`` the validators sent, for the note.

    None when a recorded reason cannot be read back: the caller then fetches the page again
    without validators rather than decide on a guess.
    """
    reasons = []
    for record in recorded:
        reason = _recorded_reason(record)
        if reason is None:
            return None
        reasons.append(reason)
    if not all(isinstance(source, str) for source in examined):
        return None
    reasons.append(Reason(
        PAGE_NOT_MODIFIED, "page",
        f"the server answered 304 Not Modified to {sent}: the page's headers and metadata are those recorded "
        "at collection, and their reasons stand",
        Effect.NOTE, Evidence("page", location=f"GET {pre.url} ({sent}): HTTP 304", url=pre.url, status=304),
    ))
    verdict = Verdict.DENY if any(r.effect is Effect.DENY for r in reasons) else Verdict.ALLOW
    return new_decision(pre.url, pre.origin, pre.registered_domain, Stage.POST_FETCH, pre.purpose, verdict,
                        tuple(reasons), pre.policy_hash, now, pre.consulted, tuple(examined), content)


def _recorded_reason(record: Any) -> Reason | None:
    """A stored reason record (Reason.as_dict) back as a Reason; None if it is not one."""
    if not isinstance(record, dict):
        return None
    code, source, detail, effect = (record.get(k) for k in ("code", "source", "detail", "effect"))
    if not all(isinstance(v, str) for v in (code, source, detail, effect)) or effect not in set(Effect):
        return None
    found = record.get("evidence")
    evidence = None
    if isinstance(found, dict):
        status = found.get("status")
        fetched = found.get("fetched_at")
        try:
            fetched_at = datetime.fromisoformat(fetched) if isinstance(fetched, str) else None
        except ValueError:
            return None
        texts = [found.get(k) for k in ("source", "location", "url", "final_url", "sha256")]
        if not isinstance(texts[0], str) or not all(t is None or isinstance(t, str) for t in texts[1:]):
            return None
        evidence = Evidence(texts[0], texts[1] or "", texts[2], texts[3], status if type(status) is int else None,
                            fetched_at, texts[4])
    elif found is not None:
        return None
    return Reason(code, source, detail, Effect(effect), evidence)
