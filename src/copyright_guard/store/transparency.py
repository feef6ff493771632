"""What the public crawler page and its Atom feed need from the store: the policy versions the
crawler has run under (Code of Practice, Measure 1.3 transparency: rightsholders can follow changes
"such as via web feed syndication")."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, select

from .chain import parse_time
from .schema import policies


@dataclass(frozen=True, slots=True)
class PolicyVersion:
    hash: str
    name: str
    first_seen: datetime
    text: str = ""  # the policy file as written (the feed says what changed between versions)


def policy_versions(engine: Engine) -> list[PolicyVersion]:
    """Every policy a recorded crawl ran under, newest first."""
    query = select(policies.c.hash, policies.c.name, policies.c.first_seen, policies.c.text) \
        .order_by(policies.c.first_seen.desc(), policies.c.hash)
    with engine.connect() as connection:
        return [PolicyVersion(row.hash, row.name, parse_time(row.first_seen), row.text)
                for row in connection.execute(query)]
