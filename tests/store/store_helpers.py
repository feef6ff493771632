"""Builders for store tests (decisions, evidence) shared by the test modules."""

from __future__ import annotations

from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from urllib.parse import urlsplit

from sqlalchemy import text

from copyright_guard.core.model import Decision, Effect, Evidence, Reason, Stage, Verdict, sha256_hex



def _root_conftest():
    # tests/ is not a package, and every test directory has its own "conftest" module, so the
    # root one is loaded by path under a name of its own.
    import importlib.util
    from pathlib import Path

    spec = importlib.util.spec_from_file_location("copyright_guard_tests_root", Path(__file__).parents[1] / "conftest.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


skip_or_fail = _root_conftest().skip_or_fail

T0 = datetime(2026, 11, 23, 12, 0, 0, tzinfo=timezone.utc)
ROBOTS = b"User-agent: *\nDisallow: /private/\n"


def robots_evidence(body: bytes = ROBOTS, url: str = "https://example.com/robots.txt") -> Evidence:
    return Evidence(
        source="robots.txt", location="robots.txt line 2: Disallow: /private/", url=url, final_url=url,
        status=200, fetched_at=T0, sha256=sha256_hex(body), body=body,
    )


def make_decision(
    number: int,
    policy,
    *,
    domain: str = "example.com",
    url: str | None = None,
    verdict: Verdict | None = None,
    stage: Stage = Stage.POST_FETCH,
    evidence: Evidence | None = None,
    when: datetime | None = None,
) -> Decision:
    """Decision ``number``: even numbers are allowed, odd ones denied by robots.txt."""
    verdict = verdict or (Verdict.DENY if number % 2 else Verdict.ALLOW)
    reasons = ()
    if verdict is Verdict.DENY:
        reasons = (Reason("robots.disallowed", "robots.txt", "Disallow: /private/ matches", Effect.DENY,
                          evidence or robots_evidence()),)
    url = url or f"https://{domain}/private/{number}"
    parts = urlsplit(url)
    return Decision(
        url=url,
        origin=f"{parts.scheme}://{parts.netloc}",
        registered_domain=domain,
        stage=stage,
        purpose="train-ai",
        verdict=verdict,
        reasons=reasons,
        policy_hash=policy.hash,
        decided_at=when or T0 + timedelta(seconds=number),
    )


def record_run(engine, policy, count: int, *, finish: bool = True, domain: str = "example.com", start: int = 0,
               signer=None, checkpoint_every: int = 10_000) -> str:
    """A run of ``count`` decisions (even allowed, odd denied) written through the writer;
    with ``signer``, checkpoints every ``checkpoint_every`` decisions and at the end."""
    from copyright_guard.store import DecisionWriter, finish_run, start_run

    run_id = start_run(engine, policy, now=T0, spider="test", log_key=signer.vkey if signer else None)
    with DecisionWriter(engine, run_id, signer=signer, checkpoint_every=checkpoint_every, batch_size=max(1, checkpoint_every // 2)) as writer:
        for number in range(start, start + count):
            writer.submit(make_decision(number, policy, domain=domain))
    if finish:  # sealed as the crawler and the rechecker seal theirs (signed with ``signer``)
        finish_run(engine, run_id, {"requests": count}, T0 + timedelta(hours=1), seal=writer.seal)
    return run_id


@contextmanager
def tampering(engine):
    """A transaction of someone who owns the database and switched the append-only triggers off
    (revisions 0006, 0008): the attacker the hash chain and the checkpoints are there to catch."""
    with engine.begin() as connection:
        if connection.dialect.name == "sqlite":
            triggers = connection.execute(text("SELECT name, sql FROM sqlite_master WHERE type = 'trigger'")).all()
            for name, _ in triggers:
                connection.execute(text(f"DROP TRIGGER {name}"))
            yield connection
            for _, sql in triggers:
                connection.execute(text(sql))
        else:
            tables = ("decisions", "decision_reasons", "evidence", "policies", "checkpoints", "runs", "site_files",
                      "site_views", "merkle_nodes")
            for table in tables:
                connection.execute(text(f"ALTER TABLE {table} DISABLE TRIGGER USER"))
            yield connection
            for table in tables:
                connection.execute(text(f"ALTER TABLE {table} ENABLE TRIGGER USER"))


def record_legacy_run(engine, policy, count: int, *, finish: bool = True, domain: str = "example.com") -> str:
    """A run as copyright-guard wrote it before revisions 0005 and 0006, inserted directly so it
    works on every revision: row format 1 (the twelve chain fields, no proof-of-collection
    columns), no run record hash (the chain starts from GENESIS), no checkpoints."""
    import hashlib
    import json

    from sqlalchemy import Column, MetaData, Table, insert

    from copyright_guard.store.chain import CHAIN_FIELDS, GENESIS, canonical_json, format_time, url_key
    from copyright_guard.store.schema import decision_reasons, decisions, evidence, policies, runs
    from copyright_guard.store.sql import insert_ignoring_duplicates
    from copyright_guard.store.writer import new_id

    run_id = new_id()
    prev, rows, codes = GENESIS, [], []
    for number in range(count):
        decision = make_decision(number, policy, domain=domain)
        items = [r.as_dict() for r in decision.reasons]
        for item in items:
            if item["evidence"]:
                item["evidence"]["sha256"] = sha256_hex(ROBOTS)
        values = [f"{run_id[:16]}{number:016x}", run_id, number + 1, format_time(decision.decided_at), decision.url,
                  decision.origin, decision.registered_domain, decision.stage.value, decision.purpose,
                  decision.verdict.value, decision.policy_hash, canonical_json(items)]
        # The format-1 recipe, written out here rather than imported: what old rows were hashed with.
        content = json.dumps(values, ensure_ascii=False, separators=(",", ":"))
        digest = hashlib.sha256((content + prev).encode("utf-8")).hexdigest()
        rows.append({**dict(zip(CHAIN_FIELDS, values)), "prev_hash": prev, "row_hash": digest,
                     "url_key": url_key(decision.url)})
        codes += [{"decision_id": values[0], "code": code} for code in dict.fromkeys(item["code"] for item in items)]
        prev = digest
    # The decisions table as revisions 0001-0004 had it: the columns every revision has.
    legacy = Table("decisions", MetaData(), *(Column(name, decisions.c[name].type)
                                              for name in (*CHAIN_FIELDS, "prev_hash", "row_hash", "url_key")))
    with engine.begin() as connection:
        connection.execute(insert_ignoring_duplicates(connection, policies),
                           [{"hash": policy.hash, "name": policy.policy.name, "text": policy.source_text,
                             "first_seen": format_time(T0)}])
        connection.execute(runs.insert().values(id=run_id, started_at=format_time(T0), policy_hash=policy.hash,
                                                crawler="LegacyBot", software_version="copyright-guard 0.1",
                                                spider="test"))
        connection.execute(insert(legacy), rows)
        if codes:
            connection.execute(insert(decision_reasons), codes)
        connection.execute(insert_ignoring_duplicates(connection, evidence), [{
            "sha256": sha256_hex(ROBOTS), "body": ROBOTS, "size": len(ROBOTS), "source": "robots.txt",
            "url": f"https://{domain}/robots.txt", "stored_at": format_time(T0)}])
        if finish:
            connection.execute(runs.update().where(runs.c.id == run_id).values(
                finished_at=format_time(T0 + timedelta(hours=1)), counts="{}", decision_count=count, head_hash=prev))
    return run_id
