"""Complaints: complaints, targets, the append-only event log, attachments, reviewers, outbox.

Revision ID: 0003_complaints
Revises: 0002_exclusion_lists

The tables are spelled out here (not taken from schema_complaints.py) so this migration keeps
meaning what it meant when later revisions change the schema.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_complaints"
down_revision = "0002_exclusion_lists"
branch_labels = None
depends_on = None

TIME = sa.String(27)
HASH = sa.String(64)

# The history is evidence of diligent handling (Measure 1.5): the database itself refuses edits.
_SQLITE_TRIGGERS = [
    """CREATE TRIGGER complaint_events_no_update BEFORE UPDATE ON complaint_events
       BEGIN SELECT RAISE(ABORT, 'complaint_events is append-only'); END""",
    """CREATE TRIGGER complaint_events_no_delete BEFORE DELETE ON complaint_events
       BEGIN SELECT RAISE(ABORT, 'complaint_events is append-only'); END""",
]
_PG_TRIGGERS = [
    """CREATE FUNCTION complaint_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN RAISE EXCEPTION 'complaint_events is append-only'; END $$""",
    """CREATE TRIGGER complaint_events_append_only BEFORE UPDATE OR DELETE ON complaint_events
       FOR EACH ROW EXECUTE FUNCTION complaint_events_append_only()""",
]


def upgrade() -> None:
    op.create_table(
        "complaints",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("reference", sa.String(32), nullable=False),
        sa.Column("year", sa.Integer, nullable=False),
        sa.Column("number", sa.Integer, nullable=False),
        sa.Column("received_at", TIME, nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("organisation", sa.Text, nullable=False),
        sa.Column("email", sa.Text, nullable=False),
        sa.Column("role", sa.String(48), nullable=False),
        sa.Column("type", sa.String(48), nullable=False),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("outcome", sa.String(32)),
        sa.Column("duplicate_of", sa.String(32), nullable=False),
        sa.Column("acknowledge_due", TIME, nullable=False),
        sa.Column("decide_due", TIME, nullable=False),
        sa.Column("acknowledged_at", TIME),
        sa.Column("decided_at", TIME),
        sa.Column("closed_at", TIME),
        sa.Column("token_sha256", HASH, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_complaints"),
        sa.UniqueConstraint("reference", name="uq_complaints_reference"),
        sa.UniqueConstraint("year", "number", name="uq_complaints_year_number"),
    )
    op.create_index("ix_complaints_status_decide_due", "complaints", ["status", "decide_due"])
    op.create_index("ix_complaints_email", "complaints", ["email"])
    op.create_table(
        "complaint_targets",
        sa.Column("complaint_id", sa.Integer, nullable=False),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("value", sa.Text, nullable=False),
        sa.PrimaryKeyConstraint("complaint_id", "position", name="pk_complaint_targets"),
        sa.ForeignKeyConstraint(["complaint_id"], ["complaints.id"], name="fk_complaint_targets_complaint_id_complaints"),
    )
    op.create_table(
        "complaint_events",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("complaint_id", sa.Integer, nullable=False),
        sa.Column("at", TIME, nullable=False),
        sa.Column("actor", sa.Text, nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("what", sa.Text, nullable=False),
        sa.Column("why", sa.Text, nullable=False),
        sa.Column("public", sa.Boolean, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_complaint_events"),
        sa.ForeignKeyConstraint(["complaint_id"], ["complaints.id"], name="fk_complaint_events_complaint_id_complaints"),
    )
    op.create_index("ix_complaint_events_complaint_id_id", "complaint_events", ["complaint_id", "id"])
    op.create_table(
        "complaint_attachments",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("complaint_id", sa.Integer, nullable=False),
        sa.Column("filename", sa.Text, nullable=False),
        sa.Column("content_type", sa.String(64), nullable=False),
        sa.Column("size", sa.Integer, nullable=False),
        sa.Column("sha256", HASH, nullable=False),
        sa.Column("body", sa.LargeBinary, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_complaint_attachments"),
        sa.ForeignKeyConstraint(["complaint_id"], ["complaints.id"], name="fk_complaint_attachments_complaint_id_complaints"),
    )
    op.create_index("ix_complaint_attachments_complaint_id", "complaint_attachments", ["complaint_id"])
    op.create_table(
        "reviewers",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("username", sa.String(64), nullable=False),
        sa.Column("password_hash", sa.Text, nullable=False),
        sa.Column("active", sa.Boolean, nullable=False),
        sa.Column("created_at", TIME, nullable=False),
        sa.Column("disabled_at", TIME),
        sa.PrimaryKeyConstraint("id", name="pk_reviewers"),
        sa.UniqueConstraint("username", name="uq_reviewers_username"),
    )
    op.create_table(
        "outbox",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("complaint_id", sa.Integer),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("to_addr", sa.Text, nullable=False),
        sa.Column("subject", sa.Text, nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("created_at", TIME, nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("next_attempt_at", TIME, nullable=False),
        sa.Column("sent_at", TIME),
        sa.Column("last_error", sa.Text, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_outbox"),
        sa.ForeignKeyConstraint(["complaint_id"], ["complaints.id"], name="fk_outbox_complaint_id_complaints"),
    )
    op.create_index("ix_outbox_sent_at_next_attempt_at", "outbox", ["sent_at", "next_attempt_at"])
    dialect = op.get_bind().dialect.name
    for statement in _SQLITE_TRIGGERS if dialect == "sqlite" else _PG_TRIGGERS if dialect == "postgresql" else []:
        op.execute(statement)


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        op.execute("DROP TRIGGER complaint_events_append_only ON complaint_events")
        op.execute("DROP FUNCTION complaint_events_append_only()")
    for table in ("outbox", "reviewers", "complaint_attachments", "complaint_events", "complaint_targets", "complaints"):
        op.drop_table(table)
