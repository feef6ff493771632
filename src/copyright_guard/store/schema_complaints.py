"""Complaint tables, on the shared :data:`copyright_guard.store.schema.metadata`.

- ``complaints`` holds the current state (status, due dates) for listing and the overdue query;
  ``complaint_events`` is the append-only history (every status change, note, action and message,
  with actor and time). Migration 0003 adds triggers that refuse UPDATE and DELETE on it.
- The tracking token given to a complainant is never stored, only its sha256 (``token_sha256``):
  a leaked database does not open the status pages.
- ``outbox`` keeps every email until the SMTP server accepted it, with its retry schedule.
- Times are fixed-width ISO 8601 UTC text, like the audit tables (see :mod:`.schema`).
"""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from .schema import HASH, TIME, metadata

complaints = Table(
    "complaints",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("reference", String(32), nullable=False, unique=True),
    Column("year", Integer, nullable=False),
    Column("number", Integer, nullable=False),
    Column("received_at", TIME, nullable=False),
    Column("channel", String(16), nullable=False),  # web | api | cli
    Column("name", Text, nullable=False),
    Column("organisation", Text, nullable=False),
    Column("email", Text, nullable=False),
    Column("role", String(48), nullable=False),
    Column("type", String(48), nullable=False),
    Column("description", Text, nullable=False),
    Column("status", String(32), nullable=False),
    Column("outcome", String(32)),
    Column("duplicate_of", String(32), nullable=False, default=""),
    Column("acknowledge_due", TIME, nullable=False),
    Column("decide_due", TIME, nullable=False),
    Column("acknowledged_at", TIME),
    Column("decided_at", TIME),
    Column("closed_at", TIME),
    Column("token_sha256", HASH, nullable=False),
    UniqueConstraint("year", "number"),
    Index(None, "status", "decide_due"),
    Index(None, "email"),
)

complaint_targets = Table(
    "complaint_targets",
    metadata,
    Column("complaint_id", Integer, ForeignKey("complaints.id"), primary_key=True),
    Column("position", Integer, primary_key=True),
    Column("kind", String(16), nullable=False),  # work | url | domain
    Column("value", Text, nullable=False),
)

complaint_events = Table(
    "complaint_events",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("complaint_id", Integer, ForeignKey("complaints.id"), nullable=False),
    Column("at", TIME, nullable=False),
    Column("actor", Text, nullable=False),
    Column("kind", String(16), nullable=False),  # status | note | action | message
    Column("what", Text, nullable=False),
    Column("why", Text, nullable=False),
    Column("public", Boolean, nullable=False),
    Index(None, "complaint_id", "id"),
)

complaint_attachments = Table(
    "complaint_attachments",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("complaint_id", Integer, ForeignKey("complaints.id"), nullable=False),
    Column("filename", Text, nullable=False),
    Column("content_type", String(64), nullable=False),
    Column("size", Integer, nullable=False),
    Column("sha256", HASH, nullable=False),
    Column("body", LargeBinary, nullable=False),
    Index(None, "complaint_id"),
)

reviewers = Table(
    "reviewers",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("username", String(64), nullable=False, unique=True),
    Column("password_hash", Text, nullable=False),  # argon2id (argon2-cffi PasswordHasher)
    Column("active", Boolean, nullable=False),
    Column("created_at", TIME, nullable=False),
    Column("disabled_at", TIME),
)

outbox = Table(
    "outbox",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("complaint_id", Integer, ForeignKey("complaints.id")),
    Column("kind", String(32), nullable=False),  # acknowledgement | decision
    Column("to_addr", Text, nullable=False),
    Column("subject", Text, nullable=False),
    Column("body", Text, nullable=False),
    Column("created_at", TIME, nullable=False),
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_attempt_at", TIME, nullable=False),
    Column("sent_at", TIME),
    Column("last_error", Text, nullable=False, default=""),
    Index(None, "sent_at", "next_attempt_at"),
)

COMPLAINT_TABLES = (complaints, complaint_targets, complaint_events, complaint_attachments, reviewers, outbox)
