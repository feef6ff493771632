"""Reading the audit log: runs, explain, search, evidence, and the read API other modules use.

Every function takes an Engine and streams where the result can be large.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import NamedTuple

from sqlalchemy import Select, func, or_, select
from sqlalchemy.engine import Connection, Engine

from .chain import format_time, url_key
from .proof import ConsultedLookup, consulted_for_views, with_proof
from .runs import run_exclusion_lists
from .schema import decision_reasons, decisions, evidence, policies, runs

# Columns in the order of exports and of the chain recipe (plus the link fields).
DECISION_COLUMNS = (
    decisions.c.id, decisions.c.run_id, decisions.c.seq, decisions.c.decided_at, decisions.c.url,
    decisions.c.origin, decisions.c.registered_domain, decisions.c.stage, decisions.c.purpose,
    decisions.c.verdict, decisions.c.policy_hash, decisions.c.reasons, decisions.c.row_format,
    decisions.c.site_view, decisions.c.examined, decisions.c.content_sha256, decisions.c.media_type,
    decisions.c.content_bytes, decisions.c.http_status, decisions.c.modality, decisions.c.etag,
    decisions.c.last_modified, decisions.c.prev_hash, decisions.c.row_hash,
)
STREAM = {"stream_results": True, "yield_per": 2000}  # a server-side cursor on PostgreSQL


def parse_moment(text: str, name: str) -> str:
    """An ISO 8601 date or date-time from the command line, as stored text (naive = UTC)."""
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"{name}: {text!r} is not an ISO 8601 date or time (e.g. 2026-11-23 or 2026-11-23T12:00)") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return format_time(moment)


@dataclass(frozen=True)
class Filters:
    """Search filters; ``since`` is inclusive, ``until`` exclusive (both stored-time text)."""

    domain: str | None = None
    verdict: str | None = None
    reason: str | None = None  # a code, or a prefix ending in ".*" (robots.*)
    since: str | None = None
    until: str | None = None
    run: str | None = None
    stage: str | None = None
    url: str | None = None
    crawl: str | None = None  # the runs of one crawl (runs.crawl, revision 0007)

    def apply(self, query: Select) -> Select:
        c = decisions.c
        if self.domain:
            query = query.where(c.registered_domain == self.domain.lower())
        if self.verdict:
            query = query.where(c.verdict == self.verdict)
        if self.stage:
            query = query.where(c.stage == self.stage)
        if self.run:
            query = query.where(c.run_id == self.run)
        if self.crawl:
            query = query.where(c.run_id.in_(select(runs.c.id).where(runs.c.crawl == self.crawl)))
        if self.since:
            query = query.where(c.decided_at >= self.since)
        if self.until:
            query = query.where(c.decided_at < self.until)
        if self.url is not None:  # "" is a URL nothing was recorded for, never "no filter" (every decision)
            query = query.where(c.url_key == url_key(self.url), c.url == self.url)
        if self.reason:
            code = decision_reasons.c.code
            match = code.like(_escape_like(self.reason[:-1]) + "%", escape="\\") if self.reason.endswith(".*") else code == self.reason
            query = query.where(c.id.in_(select(decision_reasons.c.decision_id).where(match)))
        return query


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def list_runs(engine: Engine, crawl: str | None = None) -> list[dict]:
    query = (
        select(runs, policies.c.name.label("policy_name"))
        .join(policies, policies.c.hash == runs.c.policy_hash)
        .order_by(runs.c.started_at, runs.c.id)
    )
    if crawl is not None:
        query = query.where(runs.c.crawl == crawl)
    with engine.connect() as connection:
        found = [dict(row._mapping) for row in connection.execute(query)]
    for run in found:
        run["counts"] = json.loads(run["counts"]) if run["counts"] else None
        run["exclusion_lists"] = run_exclusion_lists(run["exclusion_lists"])
    return found


def search(engine: Engine, filters: Filters, limit: int | None = None, newest_first: bool = True) -> Iterator[dict]:
    """Decisions matching ``filters`` (reasons parsed, with ``consulted`` and ``content``: see
    store/proof.py), newest first unless asked otherwise."""
    order = (decisions.c.decided_at.desc(), decisions.c.id.desc()) if newest_first else (decisions.c.decided_at, decisions.c.id)
    query = filters.apply(select(*DECISION_COLUMNS)).order_by(*order)
    if limit:
        query = query.limit(limit)
    with engine.connect() as connection, engine.connect() as side:
        lookup = ConsultedLookup(side)
        for row in connection.execution_options(**STREAM).execute(query):
            record = dict(row._mapping)
            record["reasons"] = json.loads(record["reasons"])
            view = record["site_view"]
            yield with_proof(record, {view: lookup(view)} if view else {})


@dataclass
class Explanation:
    """Everything recorded about one URL: its decisions, their policies and evidence bytes."""

    url: str
    decisions: list[dict] = field(default_factory=list)
    policies: dict[str, dict] = field(default_factory=dict)  # hash -> {name, text, first_seen}
    evidence: dict[str, dict] = field(default_factory=dict)  # sha256 -> evidence row (with body)
    # run id -> the exclusion-list versions in force for that run ([{list, version, sha256,
    # entry_count}]; None for a run recorded before they were): what each decision was checked against.
    exclusion_lists: dict[str, list[dict] | None] = field(default_factory=dict)


def explain(engine: Engine, url: str) -> Explanation:
    """Every decision ever made for ``url`` (oldest first), with the policies and evidence bytes.
    Raises ValueError for an empty URL (a usage error, not a question about every decision)."""
    if not url.strip():
        raise ValueError("audit explain: the URL is empty; give the URL of a decision (as recorded)")
    result = Explanation(url)
    with engine.connect() as connection:
        query = Filters(url=url).apply(select(*DECISION_COLUMNS)).order_by(decisions.c.decided_at, decisions.c.run_id, decisions.c.seq)
        rows = [dict(row._mapping) for row in connection.execute(query)]
        consulted = consulted_for_views(connection, {r["site_view"] for r in rows if r["site_view"]})
        for record in rows:
            record["reasons"] = json.loads(record["reasons"])
            result.decisions.append(with_proof(record, consulted))
        run_ids = {d["run_id"] for d in result.decisions}
        if run_ids:
            for row in connection.execute(select(runs.c.id, runs.c.exclusion_lists).where(runs.c.id.in_(run_ids))):
                result.exclusion_lists[row.id] = run_exclusion_lists(row.exclusion_lists)
        hashes = {d["policy_hash"] for d in result.decisions}
        if hashes:
            for row in connection.execute(select(policies).where(policies.c.hash.in_(hashes))):
                result.policies[row.hash] = dict(row._mapping)
        shas = {
            r["evidence"]["sha256"]
            for d in result.decisions for r in d["reasons"]
            if r.get("evidence") and r["evidence"].get("sha256")
        } | {c["sha256"] for d in result.decisions for c in d["consulted"] if c["sha256"]}
        if shas:
            for row in connection.execute(select(evidence).where(evidence.c.sha256.in_(shas))):
                result.evidence[row.sha256] = dict(row._mapping)
    return result


def evidence_row(engine: Engine, sha256: str) -> dict | None:
    """The stored evidence for a full sha256, or for a unique prefix of at least 8 hex digits."""
    sha256 = sha256.lower()
    with engine.connect() as connection:
        if len(sha256) == 64:
            row = connection.execute(select(evidence).where(evidence.c.sha256 == sha256)).first()
            return dict(row._mapping) if row else None
        rows = connection.execute(select(evidence).where(evidence.c.sha256.like(_escape_like(sha256) + "%", escape="\\")).limit(2)).all()
    if len(rows) > 1:
        raise ValueError(f"evidence prefix {sha256!r} is ambiguous; give more digits")
    return dict(rows[0]._mapping) if rows else None


class AllowedDecision(NamedTuple):
    id: str
    url: str
    decided_at: str
    run_id: str


def _url_pattern(pattern: str) -> tuple[str, re.Pattern]:
    """RFC 9309-style pattern (``*`` any characters, ``$`` at the end anchors) -> SQL prefix, regex."""
    anchored = pattern.endswith("$")
    body = pattern[:-1] if anchored else pattern
    regex = ".*".join(re.escape(part) for part in body.split("*")) + ("$" if anchored else "")
    return body.split("*", 1)[0], re.compile(regex, re.DOTALL)


def allowed_decisions_matching(
    engine: Engine,
    domain: str | None = None,
    host: str | None = None,
    url_pattern: str | None = None,
    *,
    stage: str | None = "post-fetch",
    connection: Connection | None = None,
) -> Iterator[AllowedDecision]:
    """Allow decisions (content that was collected) for a registered domain, a host or a URL pattern.

    ``url_pattern`` matches the whole URL: ``*`` stands for any characters, a final ``$`` anchors
    the end, otherwise it is a prefix (as in robots.txt). ``stage="post-fetch"`` (the default)
    keeps only decisions after the response was read - the ones that produced items; ``None``
    includes pre-fetch allows as well. Oldest first.
    """
    if not (domain or host or url_pattern):
        raise ValueError("give a domain, a host or a URL pattern")
    c = decisions.c
    query = select(c.id, c.url, c.decided_at, c.run_id).where(c.verdict == "allow")
    if stage:
        query = query.where(c.stage == stage)
    if domain:
        query = query.where(c.registered_domain == domain.lower().rstrip("."))
    if host:
        host = host.lower().rstrip(".")
        query = query.where(or_(*(
            condition
            for scheme in ("http", "https")
            for condition in (c.origin == f"{scheme}://{host}", c.origin.like(f"{scheme}://{_escape_like(host)}:%", escape="\\"))
        )))
    matcher = None
    if url_pattern:
        prefix, matcher = _url_pattern(url_pattern)
        if prefix:
            query = query.where(c.url.like(_escape_like(prefix) + "%", escape="\\"))
    query = query.order_by(c.decided_at, c.run_id, c.seq)

    def rows(conn: Connection) -> Iterator[AllowedDecision]:
        for row in conn.execution_options(**STREAM).execute(query):
            if matcher is None or matcher.match(row.url):
                yield AllowedDecision(row.id, row.url, row.decided_at, row.run_id)

    if connection is not None:
        yield from rows(connection)
    else:
        with engine.connect() as conn:
            yield from rows(conn)


def target_summary(engine: Engine, *, url: str | None = None, domain: str | None = None, recent: int = 10) -> dict:
    """What the audit log holds for one complaint target (a URL, or a registered domain): decisions
    by verdict, items collected (allowed after the response was read), the last collection, the
    reason codes recorded and the most recent decisions (each a link to its evidence). Bounded: a
    handful of aggregate queries and ``recent`` rows, however large the log."""
    if (url is None) == (domain is None):
        raise ValueError("give a URL or a domain")
    filters = Filters(url=url) if url is not None else Filters(domain=domain)
    c = decisions.c
    with engine.connect() as connection:
        by_verdict = {row.verdict: row.n for row in connection.execute(
            filters.apply(select(c.verdict, func.count().label("n"))).group_by(c.verdict))}
        collected = filters.apply(select(func.count(func.distinct(c.url)), func.max(c.decided_at))).where(
            c.verdict == "allow", c.stage == "post-fetch")
        items, last = connection.execute(collected).one()
        ids = filters.apply(select(c.id))
        reasons = {row.code: row.n for row in connection.execute(
            select(decision_reasons.c.code, func.count().label("n")).where(decision_reasons.c.decision_id.in_(ids))
            .group_by(decision_reasons.c.code).order_by(func.count().desc(), decision_reasons.c.code).limit(20))}
        latest = [dict(row._mapping) for row in connection.execute(
            filters.apply(select(c.id, c.url, c.decided_at, c.stage, c.verdict))
            .order_by(c.decided_at.desc(), c.id).limit(recent))]
    return {"decisions": sum(by_verdict.values()), "by_verdict": by_verdict, "collected_items": items or 0,
            "last_collected": last, "reasons": reasons, "recent": latest}
