"""Reviewer accounts: created with the CLI, passwords kept as argon2id hashes (argon2-cffi)."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from datetime import datetime

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Engine, insert, select, update
from sqlalchemy.exc import IntegrityError

from .chain import format_time, parse_optional_time, parse_time
from .schema_complaints import reviewers

USERNAME_RE = re.compile(r"[a-z0-9][a-z0-9._-]{1,63}")
MIN_PASSWORD = 12

_HASHER = PasswordHasher()  # argon2id with the library's current recommended parameters (RFC 9106)


@functools.cache
def _dummy_hash() -> str:
    """Verified against when the user does not exist, so a wrong name costs the same time as a
    wrong password. Made on first use, not at import: one argon2 hash is ~0.1 s, which every
    command importing this module paid."""
    return _HASHER.hash("not a real password, only spends the same time")


class ReviewerError(ValueError):
    """A reviewer account operation was refused. ``str()`` is one line."""


@dataclass(frozen=True, slots=True)
class Reviewer:
    username: str
    active: bool
    created_at: datetime
    disabled_at: datetime | None

    def as_dict(self) -> dict:
        return {"username": self.username, "active": self.active, "created_at": self.created_at.isoformat(),
                "disabled_at": self.disabled_at.isoformat() if self.disabled_at else None}


def add(engine: Engine, username: str, password: str, *, now: datetime) -> Reviewer:
    username = username.strip().lower()
    if not USERNAME_RE.fullmatch(username):
        raise ReviewerError(f"invalid user name {username[:40]!r}: 2-64 of a-z, 0-9, '.', '_', '-'")
    if len(password) < MIN_PASSWORD:
        raise ReviewerError(f"password too short: at least {MIN_PASSWORD} characters")
    try:
        with engine.begin() as connection:
            connection.execute(insert(reviewers).values(
                username=username, password_hash=_HASHER.hash(password), active=True, created_at=format_time(now)))
    except IntegrityError:
        raise ReviewerError(f"reviewer {username!r} already exists") from None
    return Reviewer(username, True, now, None)


def list_all(engine: Engine) -> list[Reviewer]:
    with engine.connect() as connection:
        rows = connection.execute(select(reviewers).order_by(reviewers.c.username)).all()
    return [Reviewer(r.username, bool(r.active), parse_time(r.created_at),
                     parse_optional_time(r.disabled_at)) for r in rows]


def disable(engine: Engine, username: str, *, now: datetime) -> None:
    with engine.begin() as connection:
        result = connection.execute(update(reviewers).where(reviewers.c.username == username.strip().lower())
                                    .values(active=False, disabled_at=format_time(now)))
    if result.rowcount == 0:
        raise ReviewerError(f"no reviewer named {username[:40]!r}")


def authenticate(engine: Engine, username: str, password: str) -> str | None:
    """The reviewer's name if the password is right and the account active; else ``None``."""
    with engine.connect() as connection:
        row = connection.execute(select(reviewers).where(reviewers.c.username == username.strip().lower()[:64])).first()
    try:
        _HASHER.verify(row.password_hash if row else _dummy_hash(), password)
    except (VerificationError, InvalidHashError):
        return None
    return row.username if row is not None and row.active else None


def is_active(engine: Engine, username: str) -> bool:
    with engine.connect() as connection:
        row = connection.execute(select(reviewers.c.active).where(reviewers.c.username == username)).first()
    return bool(row and row.active)
