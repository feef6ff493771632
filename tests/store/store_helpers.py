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


def record_run(engine, policy, count: int, *, finish: bool = True, domain: str = "example.com", start: int = 0) -> str:
    """A run of ``count`` decisions (even allowed, odd denied) written through the writer."""
    from copyright_guard.store import DecisionWriter, finish_run, start_run

    run_id = start_run(engine, policy, now=T0, spider="test")
    with DecisionWriter(engine, run_id) as writer:
        for number in range(start, start + count):
            writer.submit(make_decision(number, policy, domain=domain))
    if finish:
        finish_run(engine, run_id, {"requests": count}, T0 + timedelta(hours=1))
    return run_id


@contextmanager
def tampering(engine):
    """A transaction of someone who owns the database and switched the append-only triggers off
    (revision 0006): the attacker the hash chain and the checkpoints are there to catch."""
    with engine.begin() as connection:
        if connection.dialect.name == "sqlite":
            triggers = connection.execute(text("SELECT name, sql FROM sqlite_master WHERE type = 'trigger'")).all()
            for name, _ in triggers:
                connection.execute(text(f"DROP TRIGGER {name}"))
            yield connection
            for _, sql in triggers:
                connection.execute(text(sql))
        else:
            tables = ("decisions", "decision_reasons", "evidence", "policies", "checkpoints", "runs")
            for table in tables:
                connection.execute(text(f"ALTER TABLE {table} DISABLE TRIGGER USER"))
            yield connection
            for table in tables:
                connection.execute(text(f"ALTER TABLE {table} ENABLE TRIGGER USER"))
