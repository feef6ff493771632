"""``audit summary``: the AI Act public summary's crawler sections, drawn from the audit log.

The Commission's Template for the public summary of training content (C(2025) 8311, applicable
under AI Act Art. 53(1)(d)) asks in **section 2.3** (data crawled and scraped from online sources)
for the crawlers used, their purposes and behaviour, the collection period, the modalities
collected and *the most relevant domain names: the top 10 % of all domains, determined by the size
of the content scraped, per modality* (SMEs: the top 5 % or 1,000 domains, whichever is lower);
**section 3.1** asks what was done to respect reservations of rights. :func:`build_summary` answers
both from the log; docs/proof-of-collection.md describes every figure.

What counts as *collected*: a post-fetch allow decision (the response reached the spider) with its
content facts (row format 2). Sizes are the bytes of the body the spider received. The domain unit
is the registered domain (tldextract's bundled public suffix list, as recorded on the decision).

Every figure is one ``GROUP BY`` over the decisions (or their reason index), so the work is in the
database and bounded by the number of distinct (modality, domain) pairs, not of decisions.
"""

from __future__ import annotations

import heapq
import json
import math
import re
from dataclasses import dataclass

from sqlalchemy import and_, case, func, select
from sqlalchemy.engine import Engine

from ..core.content import MODALITIES
from ..core.policy import PolicyError, parse_policy
from .runs import run_exclusion_lists
from .schema import decision_reasons, decisions, policies, runs
from .schema_complaints import complaints
from .withdrawn import withdrawn_figures

# The share of domains listed per modality (Template section 2.3).
SHARE = 0.10
SME_SHARE = 0.05
SME_CAP = 1000

# Opt-out protocols: (name shown, policy.sources switch or None when always honoured, reason-code
# family). Only codes that are always a refusal are counted (a *.reserved, robots.txt's disallow
# and unreachable): an unreadable file is a note or a refusal depending on the policy.
PROTOCOLS: tuple[tuple[str, str | None, str], ...] = (
    ("robots.txt (RFC 9309), our product token", None, "robots.disallowed"),
    ("robots.txt (RFC 9309), unreachable: complete disallow", None, "robots.unreachable"),
    ("robots.txt blocks of peer AI crawlers", "peer_tokens", "robots.peer-disallowed"),
    ("AIPREF Content-Usage (robots.txt and header)", "content_usage", "aipref.reserved"),
    ("Content-Signal (robots.txt)", "content_signal", "content-signal.reserved"),
    ("TDMRep (tdmrep.json, header, HTML meta, EPUB/PDF)", "tdmrep", "tdmrep.reserved"),
    ("ai.txt", "ai_txt", "ai-txt.reserved"),
    ("RSL licences", "rsl", "rsl.reserved"),
    ("X-Robots-Tag / meta robots noai, noimageai", "robots_meta", "robots-meta.reserved"),
    ("IPTC/PLUS DataMining (embedded XMP)", "embedded_metadata", "iptc.reserved"),
    ("C2PA / CAWG training-mining assertions", "embedded_metadata", "c2pa.reserved"),
)


def top_count(domains: int, sme: bool = False) -> int:
    """How many domains the summary lists for a modality with ``domains`` domains collected from:
    10 % rounded up; for an SME the lower of 5 % (rounded up) and 1,000."""
    if domains <= 0:
        return 0
    if sme:
        return min(math.ceil(domains * SME_SHARE), SME_CAP)
    return math.ceil(domains * SHARE)


@dataclass(frozen=True)
class Scope:
    """Which decisions a summary covers: runs (none = all), ``since`` inclusive, ``until`` exclusive."""

    runs: tuple[str, ...] = ()
    since: str | None = None
    until: str | None = None

    def where(self, table=decisions):
        c = table.c
        conditions = []
        if self.runs:
            conditions.append(c.run_id.in_(self.runs))
        if self.since:
            conditions.append(c.decided_at >= self.since)
        if self.until:
            conditions.append(c.decided_at < self.until)
        # A recheck decides again on what was collected; it is no crawl of its own (the
        # "withdrawn" section counts what it took back, store/withdrawn.py).
        conditions.append(c.stage != "recheck")
        return and_(*conditions)


def build_summary(engine: Engine, scope: Scope = Scope(), *, sme: bool = False) -> dict:
    """The summary as a JSON-ready dict; keys as the export contract in docs/proof-of-collection.md."""
    c = decisions.c
    with engine.connect() as connection:
        known = {row.id for row in connection.execute(select(runs.c.id))}
        missing = [run for run in scope.runs if run not in known]
        if missing:
            raise LookupError(f"no run {missing[0]!r} in the audit database")

        per_run, purposes = (_runs_by_index(connection, scope) if not (scope.since or scope.until)
                             else _runs_by_scan(connection, scope))
        run_ids = [row[0] for row in per_run]
        run_rows = {row.id: row for row in connection.execute(
            select(runs, policies.c.name.label("policy_name"), policies.c.text.label("policy_text"))
            .join(policies, policies.c.hash == runs.c.policy_hash).where(runs.c.id.in_(run_ids)))} if run_ids else {}

        # What was collected: post-fetch allows with content facts, per (modality, domain).
        collected = [(modality, domain, items, int(size or 0), first, last)
                     for modality, domain, items, size, first, last in connection.execute(
                         select(c.modality, c.registered_domain, func.count(), func.sum(c.content_bytes),
                                func.min(c.decided_at), func.max(c.decided_at))
                         .where(scope.where(), c.stage == "post-fetch", c.verdict == "allow", c.modality.is_not(None))
                         .group_by(c.modality, c.registered_domain))]

        r = decision_reasons.c
        refused = connection.execute(
            select(r.code, func.count(func.distinct(c.url_key)), func.count(func.distinct(c.registered_domain)))
            .select_from(decision_reasons.join(decisions, decisions.c.id == r.decision_id))
            .where(scope.where(), c.verdict == "deny", r.code.in_([code for _, _, code in PROTOCOLS]))
            .group_by(r.code)
        ).all()
        access_rows = connection.execute(
            select(c.url_key, c.registered_domain, c.reasons)
            .where(scope.where(), c.verdict == "deny",
                   c.id.in_(select(r.decision_id).where(r.code == "access.restricted")))
        ).all()
        complaint_rows = _complaint_figures(connection, scope)
        withdrawn = withdrawn_figures(connection, scope.where)

    return {
        "crawlers": _crawlers(run_rows, purposes),
        "period": _period(per_run, run_rows),
        "modalities": _modalities(collected),
        "top_domains": _top_domains(collected, sme),
        "share": _share(collected, sme),
        "opt_outs": _opt_outs(refused, run_rows),
        "access_restricted": _access(access_rows, run_rows),
        "exclusion_lists": _exclusion_lists(run_rows),
        "complaints": complaint_rows,
        "decisions_predating_fields": sum(int(row[4] or 0) for row in per_run),
        "withdrawn": withdrawn,
    }


def _runs_by_scan(connection, scope: Scope) -> tuple[list[list], dict[str, set[str]]]:
    """Per run in scope: [run_id, first, last, decisions, decisions predating 0005], and its
    purposes, from one GROUP BY over the decisions in the time range."""
    c = decisions.c
    per_run: dict[str, list] = {}
    purposes: dict[str, set[str]] = {}
    for run_id, purpose, first, last, number, old in connection.execute(
            select(c.run_id, c.purpose, func.min(c.decided_at), func.max(c.decided_at), func.count(),
                   func.sum(case((c.row_format.is_(None), 1), else_=0)))
            .where(scope.where()).group_by(c.run_id, c.purpose)):
        purposes.setdefault(run_id, set()).add(purpose)
        entry = per_run.setdefault(run_id, [run_id, first, last, 0, 0])
        entry[1], entry[2] = min(entry[1], first), max(entry[2], last)
        entry[3] += number
        entry[4] += int(old or 0)
    return list(per_run.values()), purposes


def _runs_by_index(connection, scope: Scope) -> tuple[list[list], dict[str, set[str]]]:
    """The same without a time range, through the (run_id, seq) index instead of reading every
    decision: first and last are the run's first and last recorded decisions (seq order), the
    purpose is theirs (a crawl decides for one purpose throughout), and rows predating revision
    0005 can only be in a run whose first row does (format 2 is all a run written since has)."""
    c = decisions.c
    query = select(runs.c.id).order_by(runs.c.started_at, runs.c.id)
    if scope.runs:
        query = query.where(runs.c.id.in_(scope.runs))
    per_run, purposes = [], {}
    for run_id in connection.execute(query).scalars().all():
        ends = select(c.decided_at, c.purpose, c.row_format).where(c.run_id == run_id).limit(1)
        first = connection.execute(ends.order_by(c.seq)).first()
        if first is None:
            continue  # a run without decisions
        last = connection.execute(ends.order_by(c.seq.desc())).first()
        number = connection.execute(select(func.count()).select_from(decisions).where(c.run_id == run_id)).scalar_one()
        old = 0
        if first.row_format is None:
            old = connection.execute(select(func.count()).select_from(decisions)
                                     .where(c.run_id == run_id, c.row_format.is_(None))).scalar_one()
        per_run.append([run_id, first.decided_at, last.decided_at, number, old])
        purposes[run_id] = {first.purpose, last.purpose}
    return per_run, purposes


def _crawlers(run_rows: dict, purposes: dict[str, set[str]]) -> list[dict]:
    by_crawler: dict[str, dict] = {}
    for run in sorted(run_rows.values(), key=lambda row: (row.started_at, row.id)):
        token, _, agent = run.crawler.partition(" (")
        entry = by_crawler.setdefault(run.crawler, {
            "product_token": token, "user_agent": agent[:-1] if agent.endswith(")") else agent,
            "purposes": set(), "runs": [], "policies": {}})
        entry["purposes"].update(purposes.get(run.id, ()))
        entry["runs"].append(run.id)
        entry["policies"][run.policy_hash] = run.policy_name
    return [{**entry, "purposes": sorted(entry["purposes"]),
             "policies": [{"name": name, "hash": digest} for digest, name in entry["policies"].items()]}
            for entry in by_crawler.values()]


def _period(per_run, run_rows: dict) -> dict:
    items = sorted(({"run": run_id, "started_at": run_rows[run_id].started_at if run_id in run_rows else None,
                     "finished_at": run_rows[run_id].finished_at if run_id in run_rows else None,
                     "first": first, "last": last, "decisions": count}
                    for run_id, first, last, count, _ in per_run), key=lambda item: (item["first"], item["run"]))
    return {"first": min((i["first"] for i in items), default=None),
            "last": max((i["last"] for i in items), default=None), "runs": items}


def _modalities(collected) -> dict:
    result = {m: {"items": 0, "bytes": 0, "domains": 0} for m in MODALITIES}
    for modality, _, items, size, _, _ in collected:
        entry = result.setdefault(modality, {"items": 0, "bytes": 0, "domains": 0})
        entry["items"] += items
        entry["bytes"] += size
        entry["domains"] += 1
    return result


def _top_domains(collected, sme: bool) -> dict:
    per: dict[str, list] = {}
    for modality, domain, items, size, first, last in collected:
        # Largest first; ties by more items, then the domain name, so the list is reproducible.
        per.setdefault(modality, []).append((-size, -items, domain, first, last))
    result = {}
    for modality in (*MODALITIES, *sorted(set(per) - set(MODALITIES))):
        rows = per.get(modality, [])
        top = heapq.nsmallest(top_count(len(rows), sme), rows)  # k of n: no full sort
        result[modality] = [{"domain": domain, "items": -items, "bytes": -size, "first": first, "last": last}
                            for size, items, domain, first, last in top]
    return result


def _share(collected, sme: bool) -> dict:
    counts: dict[str, int] = {}
    for modality, *_ in collected:
        counts[modality] = counts.get(modality, 0) + 1
    rule = (f"top {SME_SHARE:.0%} of domains per modality by bytes collected, rounded up, at most {SME_CAP} (SME)"
            if sme else f"top {SHARE:.0%} of domains per modality by bytes collected, rounded up")
    return {"sme": sme, "rule": rule, "modalities": {
        m: {"domains": counts.get(m, 0), "listed": top_count(counts.get(m, 0), sme)} for m in MODALITIES}}


def _honoured(run_rows: dict) -> dict[str, bool]:
    """Per policy switch: on in any run's policy (a policy that cannot be read counts as on)."""
    switches: dict[str, bool] = {}
    for run in run_rows.values():
        try:
            sources = parse_policy(run.policy_text, run.policy_name).sources
        except PolicyError:
            sources = None
        for _, switch, _ in PROTOCOLS:
            if switch:
                switches[switch] = switches.get(switch, False) or sources is None or bool(getattr(sources, switch))
    return switches


def _opt_outs(refused, run_rows: dict) -> list[dict]:
    counts = {code: (urls, domains) for code, urls, domains in refused}
    switches = _honoured(run_rows)
    result = []
    for name, switch, code in PROTOCOLS:
        if switch and run_rows and not switches.get(switch, True):
            continue  # not honoured by any policy in scope: not claimed
        urls, domains = counts.get(code, (0, 0))
        result.append({"protocol": name, "reason_codes": [code], "urls_refused": urls, "domains": domains})
    return result


_ACCESS_KIND = (
    (re.compile(r"^HTTP (\d{3})"), None),
    (re.compile(r"login"), "login wall"),
    (re.compile(r"paywall|isAccessibleForFree|not free", re.I), "paywall"),
)


def _access_kind(detail: str) -> str:
    for pattern, name in _ACCESS_KIND:
        found = pattern.search(detail)
        if found:
            return name or f"HTTP {found.group(1)}"
    return "other"


def _access(rows, run_rows: dict) -> dict:
    kinds: dict[str, tuple[set, set]] = {}
    urls, domains = set(), set()
    for url_key, domain, reasons in rows:
        urls.add(url_key)
        domains.add(domain)
        for reason in json.loads(reasons):
            if reason.get("code") == "access.restricted":
                seen = kinds.setdefault(_access_kind(reason.get("detail", "")), (set(), set()))
                seen[0].add(url_key)
                seen[1].add(domain)
    honoured = not run_rows or any(
        _policy_switch(run, "access_restrictions") for run in run_rows.values())
    return {"honoured": honoured, "reason_codes": ["access.restricted"], "urls_refused": len(urls),
            "domains": len(domains),
            "by_kind": [{"kind": kind, "urls_refused": len(u), "domains": len(d)}
                        for kind, (u, d) in sorted(kinds.items())]}


def _policy_switch(run, switch: str) -> bool:
    try:
        return bool(getattr(parse_policy(run.policy_text, run.policy_name).sources, switch))
    except PolicyError:
        return True


def _exclusion_lists(run_rows: dict) -> list[dict]:
    seen: dict[tuple, dict] = {}
    for run in sorted(run_rows.values(), key=lambda row: (row.started_at, row.id)):
        recorded = run_exclusion_lists(run.exclusion_lists)
        for item in recorded or ():
            key = (item["list"], item["version"])
            entry = seen.setdefault(key, {**item, "runs": []})
            entry["runs"].append(run.id)
    return sorted(seen.values(), key=lambda item: (item["list"], item["version"]))


def _complaint_figures(connection, scope: Scope) -> dict:
    c = complaints.c
    conditions = []
    if scope.since:
        conditions.append(c.received_at >= scope.since)
    if scope.until:
        conditions.append(c.received_at < scope.until)
    query = select(c.status, c.outcome, func.count()).group_by(c.status, c.outcome)
    if conditions:
        query = query.where(*conditions)
    received = 0
    by_status: dict[str, int] = {}
    by_outcome: dict[str, int] = {}
    for status, outcome, number in connection.execute(query):
        received += number
        by_status[status] = by_status.get(status, 0) + number
        if outcome:
            by_outcome[outcome] = by_outcome.get(outcome, 0) + number
    return {"received": received, "by_status": by_status, "by_outcome": by_outcome}
