"""``audit report``: one self-contained HTML file for legal reviewers.

No CDN, no external fetches: charts are inline SVG, sorting and filtering are a few lines of inline
JavaScript that only read ``textContent`` (never ``innerHTML``). Every recorded string - URLs,
reason details, evidence bodies - is attacker-controlled, so the template autoescapes everything
and a Content-Security-Policy allows only the report's own script (by its sha256), so even a
missed escape could not run injected code.
"""

from __future__ import annotations

import base64
import hashlib
from datetime import datetime, timedelta, timezone
from importlib import resources
from typing import IO

import jinja2
from markupsafe import Markup, escape
from sqlalchemy import func, literal, select
from sqlalchemy.engine import Engine

from .. import __version__
from .audit import Filters, search
from .db import describe
from .runs import describe_exclusion_lists, run_exclusion_lists
from .schema import decision_reasons, decisions, evidence, policies, runs
from .summary import Scope, build_summary
from .summary_text import summary_section

EVIDENCE_SHOWN = 64 * 1024  # bytes of each evidence body printed in the report
TOP = 25  # rows in the "by reason" and "by domain" tables


def _environment() -> jinja2.Environment:
    loader = jinja2.FunctionLoader(
        lambda name: resources.files("copyright_guard.store").joinpath("templates", name).read_text("utf-8")
    )
    environment = jinja2.Environment(loader=loader, autoescape=True, undefined=jinja2.StrictUndefined)
    environment.filters["wrap_url"] = wrap_url
    return environment


def wrap_url(url: str) -> Markup:
    """The URL escaped, with a line-break opportunity after each ``/``, ``?``, ``&`` and ``=``: a
    long URL wraps between its parts, never in the middle of a word. (Escaping first is safe:
    no entity the escape produces contains one of those characters.)"""
    text = str(escape(url))
    for mark in ("/", "?", "="):
        text = text.replace(mark, mark + "<wbr>")
    return Markup(text.replace("&amp;", "&amp;<wbr>"))


def _figures(connection, filters: Filters) -> dict:
    by_verdict = dict(connection.execute(
        filters.apply(select(decisions.c.verdict, func.count()).group_by(decisions.c.verdict))
    ).all())
    first, last, domains, run_count = connection.execute(filters.apply(select(
        func.min(decisions.c.decided_at), func.max(decisions.c.decided_at),
        func.count(decisions.c.registered_domain.distinct()), func.count(decisions.c.run_id.distinct()),
    ))).one()
    collected, collected_bytes = connection.execute(filters.apply(
        select(func.count(), func.sum(decisions.c.content_bytes))
        .where(decisions.c.stage == "post-fetch", decisions.c.verdict == "allow"))).one()
    return {
        "decisions": sum(by_verdict.values()), "allow": by_verdict.get("allow", 0), "deny": by_verdict.get("deny", 0),
        "first": first, "last": last, "domains": domains, "runs": run_count,
        "collected": collected, "collected_bytes": int(collected_bytes or 0),
    }


def _collected_by_domain(connection, filters: Filters) -> list[dict]:
    """What was collected, per registered domain and modality (post-fetch allows), most bytes first."""
    c = decisions.c
    query = (
        select(c.registered_domain, c.modality, func.count(), func.sum(c.content_bytes), func.min(c.decided_at),
               func.max(c.decided_at))
        .where(c.stage == "post-fetch", c.verdict == "allow")
        .group_by(c.registered_domain, c.modality)
    )
    rows = [{"domain": d, "modality": m or "(not recorded)", "items": n, "bytes": int(b or 0), "first": f, "last": la}
            for d, m, n, b, f, la in connection.execute(filters.apply(query))]
    rows.sort(key=lambda row: (-row["bytes"], -row["items"], row["domain"], row["modality"]))
    return rows[:TOP * 4]


def _denials_by_reason(connection, filters: Filters) -> list[tuple[str, int]]:
    query = (
        select(decision_reasons.c.code, func.count().label("n"))
        .join(decisions, decisions.c.id == decision_reasons.c.decision_id)
        .where(decisions.c.verdict == "deny")
        .group_by(decision_reasons.c.code)
        .order_by(func.count().desc(), decision_reasons.c.code)
        .limit(TOP)
    )
    return [tuple(row) for row in connection.execute(filters.apply(query))]


def _denials_by_domain(connection, filters: Filters) -> list[tuple[str, int]]:
    query = (
        select(decisions.c.registered_domain, func.count().label("n"))
        .where(decisions.c.verdict == "deny")
        .group_by(decisions.c.registered_domain)
        .order_by(func.count().desc(), decisions.c.registered_domain)
        .limit(TOP)
    )
    return [tuple(row) for row in connection.execute(filters.apply(query))]


# Time-chart buckets: (largest span the unit is used for, unit, characters of the stored time
# kept, suffix that completes the label). A 2-second demo crawl gets seconds, a month days.
_BUCKETS = (
    (timedelta(minutes=2), "second", 19, ""),
    (timedelta(hours=2), "minute", 16, ""),
    (timedelta(days=2), "hour", 13, ":00"),
    (None, "day", 10, ""),
)


def _over_time(connection, filters: Filters, first: str | None, last: str | None) -> tuple[str, list[dict]]:
    """Decisions per second, minute, hour or day (whichever suits the span), by verdict."""
    if not first:
        return "day", []
    span = datetime.fromisoformat(last[:19]) - datetime.fromisoformat(first[:19])
    unit, width, suffix = next((u, w, x) for limit, u, w, x in _BUCKETS if limit is None or span < limit)
    bucket = func.substr(decisions.c.decided_at, 1, width)
    query = filters.apply(select(bucket, decisions.c.verdict, func.count()).group_by(bucket, decisions.c.verdict)).order_by(bucket)
    series: dict[str, dict] = {}
    for key, verdict, n in connection.execute(query):
        series.setdefault(key, {"bucket": key.replace("T", " ") + suffix, "allow": 0, "deny": 0})[verdict] = n
    return unit, list(series.values())


def bar_chart(points: list[dict], height: int = 160) -> dict:
    """Geometry for a stacked allow/deny column chart (the template draws it as inline SVG)."""
    top = max((p["allow"] + p["deny"] for p in points), default=0) or 1
    step = max(4, min(40, 760 // max(1, len(points))))
    bars = []
    for index, point in enumerate(points):
        x = 40 + index * step
        deny_h = point["deny"] / top * height
        allow_h = point["allow"] / top * height
        bars.append({**point, "x": x, "w": max(2, step - 2), "deny_y": 10 + height - deny_h, "deny_h": deny_h,
                     "allow_y": 10 + height - deny_h - allow_h, "allow_h": allow_h})
    return {"bars": bars, "top": top, "width": max(40 + len(points) * step + 10, 240), "height": height + 40, "base": 10 + height}  # min width: room for the axis labels under few bars


def _evidence_shown(connection, shas: set[str]) -> list[dict]:
    shown = []
    for sha in sorted(shas):
        row = connection.execute(select(evidence).where(evidence.c.sha256 == sha)).first()
        if row is None:
            continue
        body = bytes(row.body)[:EVIDENCE_SHOWN]
        try:
            text, binary = body.decode("utf-8"), False
        except UnicodeDecodeError:
            text, binary = base64.b64encode(body).decode("ascii"), True
        shown.append({**{k: v for k, v in row._mapping.items() if k != "body"}, "text": text, "binary": binary,
                      "cut": row.size > EVIDENCE_SHOWN})
    return shown


def write_report(engine: Engine, out: IO[str], filters: Filters = Filters(), *, max_rows: int = 5000,
                 now: datetime | None = None) -> dict:
    """Render the report to ``out``; returns the summary figures (plus ``listed``)."""
    now = now or datetime.now(timezone.utc)
    with engine.connect() as connection:
        figures = _figures(connection, filters)
        by_reason = _denials_by_reason(connection, filters)
        by_domain = _denials_by_domain(connection, filters)
        unit, points = _over_time(connection, filters, figures["first"], figures["last"])
        collected = _collected_by_domain(connection, filters)
        purposes: dict[str, list[str]] = {}
        for run_id, purpose in connection.execute(
                select(decisions.c.run_id, decisions.c.purpose).distinct().order_by(decisions.c.purpose)):
            purposes.setdefault(run_id, []).append(purpose)
        run_rows = [
            {**r._mapping, "lists": describe_exclusion_lists(run_exclusion_lists(r.exclusion_lists)),
             "purposes": purposes.get(r.id, [])}
            for r in connection.execute(
                select(runs, policies.c.name.label("policy_name")).join(policies, policies.c.hash == runs.c.policy_hash)
                .where(runs.c.crawl == filters.crawl if filters.crawl else literal(True))
                .order_by(runs.c.started_at))
        ]
        policy_rows = [dict(r._mapping) for r in connection.execute(
            select(policies).where(policies.c.hash.in_({r["policy_hash"] for r in run_rows})).order_by(policies.c.first_seen))]
    # The summary covers the runs the rest of the report shows (one run, or one crawl's runs).
    scoped = (filters.run,) if filters.run else tuple(r["id"] for r in run_rows) if filters.crawl else ()
    summary = build_summary(engine, Scope(runs=scoped, since=filters.since, until=filters.until))
    rows = list(search(engine, filters, limit=max_rows))
    shas = {r["evidence"]["sha256"] for d in rows for r in d["reasons"] if r.get("evidence") and r["evidence"].get("sha256")}
    shas |= {c["sha256"] for d in rows for c in d["consulted"] if c["sha256"]}
    with engine.connect() as connection:
        shown = _evidence_shown(connection, shas)
    environment = _environment()
    script = environment.get_template("report.js").render()
    script_hash = base64.b64encode(hashlib.sha256(script.encode("utf-8")).digest()).decode("ascii")
    html = environment.get_template("report.html").render(
        figures=figures, by_reason=by_reason, by_domain=by_domain, unit=unit, chart=bar_chart(points),
        runs=run_rows, rows=rows, policies=policy_rows, collected=collected,
        summary_html=Markup(summary_section(summary)), evidence=shown, listed=len(rows), max_rows=max_rows,
        filters={k: v for k, v in filters.__dict__.items() if v}, database=describe(engine.url),
        generated=now.strftime("%Y-%m-%d %H:%M:%S UTC"), version=__version__,
        script=script, script_hash=script_hash, max_count=max((n for _, n in by_reason + by_domain), default=1),
        known_evidence={e["sha256"] for e in shown},
    )
    out.write(html)
    return {**figures, "listed": len(rows)}
