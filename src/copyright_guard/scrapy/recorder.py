"""Hand each decision to the audit writer, count it in Scrapy's stats and announce it.

The hot path of every request goes through :meth:`DecisionRecorder.record`, so the stats keys are
built once per (stage, verdict) and once per reason code and then reused.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable
from typing import Any

from pydispatch import dispatcher
from scrapy.exceptions import IgnoreRequest

from ..core.model import Decision, Stage, Verdict
from .events import decision_made

logger = logging.getLogger(__name__)

Submit = Callable[[Decision], Any]

# The ``totals`` key of requests/responses no decision could be made for. It is counted with the
# refusals (the request is dropped, fail closed), but it is an error, never a statistic: the crawl
# summary shows it on its own line and `crawl`/`demo` exit non-zero when it is not zero.
UNDECIDABLE = "refused undecidable"


class AuditUnavailable(IgnoreRequest):
    """The audit log cannot take the decision (not open yet, or the database failed): the request
    is dropped, never collected unrecorded."""


class DecisionRecorder:
    """``record(decision, request, response) -> decision_id``.

    ``submit`` is the audit writer's non-blocking ``submit`` (set when the crawl opens its run);
    ``committed()`` returns a Deferred that fires once every decision recorded so far is durable
    (or fails with :class:`AuditUnavailable`); the middleware holds allowed responses on it;
    ``stats`` is Scrapy's stats collector; ``send_event`` is ``crawler.signals.send_catch_log``.
    """

    def __init__(self, stats: Any, send_event: Callable[..., Any] | None = None, sender: Any = None,
                 *, log_denials: bool = True) -> None:
        self.submit: Submit | None = None
        self._log_denials = log_denials  # COPYRIGHT_GUARD_LOG_DENIALS
        self.committed: Callable[[], Any] | None = None
        self._stats = stats
        # Counted here and published to Scrapy's stats collector about once a second (and when the
        # spider closes): Scrapy 2.19's collector wraps every call in a deprecation check and an
        # attribute hook, ~5 µs a call, and a page costs six of them.
        self.counts: dict[str, int] = {}
        self._send_event = send_event
        self.on_store_error: Callable[[Exception], Any] | None = None
        self._sender = sender
        self._verdict_keys: dict[tuple[Stage, Verdict], tuple[str, str]] = {}
        self._reason_keys: dict[str, str] = {}
        # What the progress line and the summary table show: pages by verdict, denials by reason.
        self.totals: Counter[str] = Counter()
        self.denied_by_reason: Counter[str] = Counter()
        self._reported: set[str] = set()

    def record(self, decision: Decision, request: Any = None, response: Any = None) -> Any:
        submit = self.submit
        if submit is None:
            raise AuditUnavailable("the audit log is not open; no decision can be recorded")
        try:
            decision_id = submit(decision)
        except Exception as exc:  # StoreError in stop mode: the crawl must stop, not go on unrecorded
            if self.on_store_error is not None:
                self.on_store_error(exc)
            raise AuditUnavailable(f"copyright-guard: the audit log failed: {exc}") from None
        key = (decision.stage, decision.verdict)
        keys = self._verdict_keys.get(key)
        if keys is None:
            keys = self._verdict_keys[key] = (
                f"copyright_guard/decisions/{decision.verdict.value}",
                f"copyright_guard/decisions/{decision.stage.value}/{decision.verdict.value}",
            )
        counts = self.counts
        for key in keys:
            counts[key] = counts.get(key, 0) + 1
        reasons = decision.reasons
        if reasons:  # most allows have none: no per-decision set for them
            seen: set[str] = set()
            for reason in reasons:
                code = reason.code
                if code in seen:
                    continue
                seen.add(code)
                reason_key = self._reason_keys.get(code)
                if reason_key is None:
                    reason_key = self._reason_keys[code] = f"copyright_guard/reasons/{code}"
                counts[reason_key] = counts.get(reason_key, 0) + 1
            if decision.verdict is Verdict.DENY:
                self._count_denial(decision, seen)
        if decision.verdict is Verdict.ALLOW:
            if decision.stage is Stage.POST_FETCH:
                self.totals["allowed"] += 1  # a page that reached the spider
        elif not reasons:
            self._count_denial(decision, set())
        if self._send_event is not None and self._has_receivers():
            self._send_event(decision_made, decision=decision, decision_id=decision_id,
                             request=request, response=response)
        return decision_id

    def publish(self) -> None:
        """Copy the counts into Scrapy's stats (``copyright_guard/...`` keys)."""
        set_value = self._stats.set_value
        for key, value in self.counts.items():
            set_value(key, value)

    def _has_receivers(self) -> bool:
        """Sending an event nobody listens to still costs ~7 µs in pydispatch: ask first (<1 µs)."""
        if self._sender is None:
            return True
        return bool(dispatcher.getReceivers(self._sender, decision_made)
                    or dispatcher.getReceivers(dispatcher.Any, decision_made))

    def refused(self, what: str, message: str) -> None:
        """A request refused for how it was built (identity, credentials), not for a rights
        reason: no decision, an ERROR log line (once per kind) and a stats key."""
        key = f"copyright_guard/refused/{what}"
        self.counts[key] = self.counts.get(key, 0) + 1
        self.publish()  # rare: show it at once
        self.totals[f"refused {what}"] += 1
        if what not in self._reported:
            self._reported.add(what)
            logger.error("%s (further refusals of this kind are counted in copyright_guard/refused/%s)", message, what)

    def _count_denial(self, decision: Decision, codes: set[str]) -> None:
        if self._log_denials:
            # One line per denied URL, so a crawl log says what was skipped and why (the audit log
            # holds the evidence: `copyright-guard audit explain URL`).
            denying = sorted({r.code for r in decision.reasons if r.effect.value == "deny"})
            logger.info("copyright-guard: denied %s (%s: %s)", decision.url, decision.stage.value,
                        ", ".join(denying) or "no reason recorded")
        totals = self.totals
        totals["denied"] += 1
        totals[f"denied {decision.stage.value}"] += 1
        for reason in decision.reasons:
            if reason.effect.value == "deny" and reason.code in codes:
                self.denied_by_reason[reason.code] += 1
                codes.discard(reason.code)
