"""The email outbox: every notification is a row until the SMTP server accepts it.

A message is queued in the same transaction as the status change that owes it, so a crash or a
mail server outage never loses one. Delivery (``copyright_guard.notify``) takes due rows, and on
failure reschedules them with exponential backoff.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection, Engine, insert, select, update

from .chain import format_time, parse_optional_time, parse_time
from .schema_complaints import outbox

BACKOFF_INITIAL_SECONDS = 60.0
BACKOFF_MAX_SECONDS = 6 * 3600.0


@dataclass(frozen=True, slots=True)
class OutboxMessage:
    id: int
    complaint_id: int | None
    kind: str
    to_addr: str
    subject: str
    body: str
    created_at: datetime
    attempts: int
    next_attempt_at: datetime
    sent_at: datetime | None
    last_error: str

    def as_dict(self) -> dict:
        return {"id": self.id, "kind": self.kind, "to": self.to_addr, "subject": self.subject,
                "created_at": self.created_at.isoformat(), "attempts": self.attempts,
                "next_attempt_at": self.next_attempt_at.isoformat(),
                "sent_at": self.sent_at.isoformat() if self.sent_at else None, "last_error": self.last_error}


def queue(connection: Connection, *, complaint_id: int | None, kind: str, to_addr: str, subject: str, body: str,
          now: datetime) -> int:
    """Queue one message inside the caller's transaction."""
    result = connection.execute(insert(outbox).values(
        complaint_id=complaint_id, kind=kind, to_addr=to_addr, subject=subject, body=body,
        created_at=format_time(now), attempts=0, next_attempt_at=format_time(now), sent_at=None, last_error=""))
    return int(result.inserted_primary_key[0])


def _message(row) -> OutboxMessage:
    return OutboxMessage(
        id=row.id, complaint_id=row.complaint_id, kind=row.kind, to_addr=row.to_addr, subject=row.subject,
        body=row.body, created_at=parse_time(row.created_at), attempts=row.attempts,
        next_attempt_at=parse_time(row.next_attempt_at), sent_at=parse_optional_time(row.sent_at),
        last_error=row.last_error)


def due(engine: Engine, now: datetime, limit: int = 100) -> list[OutboxMessage]:
    """Unsent messages whose next attempt is due at ``now``, oldest first."""
    query = (select(outbox).where(outbox.c.sent_at.is_(None), outbox.c.next_attempt_at <= format_time(now))
             .order_by(outbox.c.id).limit(limit))
    with engine.connect() as connection:
        return [_message(row) for row in connection.execute(query)]


def messages(engine: Engine, *, unsent_only: bool = False) -> list[OutboxMessage]:
    query = select(outbox).order_by(outbox.c.id)
    if unsent_only:
        query = query.where(outbox.c.sent_at.is_(None))
    with engine.connect() as connection:
        return [_message(row) for row in connection.execute(query)]


def claim(engine: Engine, message: OutboxMessage, now: datetime, lease: timedelta = timedelta(minutes=5)) -> bool:
    """Take ``message`` for one delivery attempt: True for exactly one of several workers (serve
    processes sharing a database). A worker that dies mid-send releases it when the lease ends,
    so delivery is at least once, never lost."""
    with engine.begin() as connection:
        result = connection.execute(update(outbox).where(
            outbox.c.id == message.id, outbox.c.sent_at.is_(None),
            outbox.c.next_attempt_at == format_time(message.next_attempt_at),
        ).values(next_attempt_at=format_time(now + lease)))
    return result.rowcount == 1


def backoff(attempts: int) -> timedelta:
    """Delay before attempt ``attempts + 1``: 1 min, 2, 4, ... capped at 6 h."""
    return timedelta(seconds=min(BACKOFF_INITIAL_SECONDS * 2 ** max(attempts - 1, 0), BACKOFF_MAX_SECONDS))


def mark_sent(engine: Engine, message_id: int, now: datetime) -> None:
    with engine.begin() as connection:
        connection.execute(update(outbox).where(outbox.c.id == message_id)
                           .values(sent_at=format_time(now), attempts=outbox.c.attempts + 1, last_error=""))


def mark_failed(engine: Engine, message: OutboxMessage, error: str, now: datetime) -> datetime:
    """Record a failed attempt; returns when the next one is due."""
    attempts = message.attempts + 1
    next_at = now + backoff(attempts)
    with engine.begin() as connection:
        connection.execute(update(outbox).where(outbox.c.id == message.id).values(
            attempts=attempts, next_attempt_at=format_time(next_at), last_error=error[:500]))
    return next_at
