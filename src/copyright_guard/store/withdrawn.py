"""How much of each collection was withdrawn later, and why: read from the recheck decisions.

An item collected at time *t* (a post-fetch allow) is *withdrawn* when the latest ``recheck``
decision on its URL made after *t* denies. Figures per collecting run: items and bytes withdrawn,
per reason code. ``audit summary`` and the HTML report show them beside what was collected.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable

from sqlalchemy import select
from sqlalchemy.engine import Connection

from .audit import STREAM
from .schema import decisions, runs


def withdrawn_figures(connection: Connection, where: Callable = lambda table: True) -> dict:
    """``{"rechecks", "last_recheck", "items", "bytes", "by_run": [{"run", "items", "bytes",
    "reasons": {code: items}}]}`` for the collected items ``where(decisions)`` selects."""
    c = decisions.c
    latest: dict[str, tuple[str, str, str | None]] = {}  # url -> (decided_at, verdict, stored reasons)
    recheck_runs: set[str] = set()
    # Recheck decisions are written only by recheck runs (spider "recheck", rechecker.py): found
    # through the run index, not by scanning every decision for its stage.
    recheck_run_ids = select(runs.c.id).where(runs.c.spider == "recheck")
    query = (select(c.url, c.decided_at, c.verdict, c.reasons, c.run_id)
             .where(c.run_id.in_(recheck_run_ids), c.stage == "recheck").order_by(c.decided_at))
    for url, decided_at, verdict, reasons, run_id in connection.execution_options(**STREAM).execute(query):
        latest[url] = (decided_at, verdict, reasons if verdict == "deny" else None)
        recheck_runs.add(run_id)
    figures = {"rechecks": len(recheck_runs), "last_recheck": max((v[0] for v in latest.values()), default=None),
               "items": 0, "bytes": 0, "by_run": []}
    if not latest:
        return figures
    codes: dict[str, list[str]] = {}  # stored reasons text -> the denying codes, parsed once
    by_run: dict[str, dict] = {}
    collected = select(c.run_id, c.url, c.decided_at, c.content_bytes).where(
        where(decisions), c.stage == "post-fetch", c.verdict == "allow")
    for run_id, url, decided_at, size in connection.execution_options(**STREAM).execute(collected):
        later = latest.get(url)
        if later is None or later[0] <= decided_at or later[1] != "deny":
            continue
        run = by_run.setdefault(run_id, {"run": run_id, "items": 0, "bytes": 0, "reasons": Counter()})
        run["items"] += 1
        run["bytes"] += size or 0
        denying = codes.get(later[2])
        if denying is None:
            denying = codes[later[2]] = list(dict.fromkeys(
                reason["code"] for reason in json.loads(later[2]) if reason.get("effect") == "deny"))
        for code in denying:
            run["reasons"][code] += 1
    for run in by_run.values():
        figures["items"] += run["items"]
        figures["bytes"] += run["bytes"]
        run["reasons"] = dict(run["reasons"].most_common())
    figures["by_run"] = sorted(by_run.values(), key=lambda run: -run["items"])
    return figures
