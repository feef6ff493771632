"""The audit log: policies, runs, decisions (hash-chained), decision reasons, evidence.

Revision ID: 0001_audit
Revises:
Create Date: 2026-11-23

Written out in full (not imported from schema.py) so that this revision stays what it was when
later revisions change the tables.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001_audit"
down_revision = None
branch_labels = None
depends_on = None

HASH = sa.String(64)
TIME = sa.String(27)


def upgrade() -> None:
    op.create_table(
        "policies",
        sa.Column("hash", HASH, nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("first_seen", TIME, nullable=False),
        sa.PrimaryKeyConstraint("hash", name="pk_policies"),
    )
    op.create_table(
        "runs",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("started_at", TIME, nullable=False),
        sa.Column("finished_at", TIME),
        sa.Column("policy_hash", HASH, nullable=False),
        sa.Column("crawler", sa.Text(), nullable=False),
        sa.Column("software_version", sa.Text(), nullable=False),
        sa.Column("spider", sa.Text()),
        sa.Column("host", sa.Text()),
        sa.Column("counts", sa.Text()),
        sa.Column("decision_count", sa.Integer()),
        sa.Column("head_hash", HASH),
        sa.PrimaryKeyConstraint("id", name="pk_runs"),
        sa.ForeignKeyConstraint(["policy_hash"], ["policies.hash"], name="fk_runs_policy_hash_policies"),
    )
    op.create_table(
        "decisions",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("run_id", sa.String(32), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("decided_at", TIME, nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("url_key", sa.BigInteger(), nullable=False),
        sa.Column("origin", sa.Text(), nullable=False),
        sa.Column("registered_domain", sa.Text(), nullable=False),
        sa.Column("stage", sa.String(16), nullable=False),
        sa.Column("purpose", sa.String(32), nullable=False),
        sa.Column("verdict", sa.String(8), nullable=False),
        sa.Column("reasons", sa.Text(), nullable=False),
        sa.Column("policy_hash", HASH, nullable=False),
        sa.Column("prev_hash", HASH, nullable=False),
        sa.Column("row_hash", HASH, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_decisions"),
        sa.UniqueConstraint("run_id", "seq", name="uq_decisions_run_id_seq"),
    )
    op.create_index("ix_decisions_url_key", "decisions", ["url_key"])
    op.create_index("ix_decisions_registered_domain_decided_at", "decisions", ["registered_domain", "decided_at"])
    op.create_index("ix_decisions_verdict_decided_at", "decisions", ["verdict", "decided_at"])
    op.create_index("ix_decisions_decided_at", "decisions", ["decided_at"])
    op.create_table(
        "decision_reasons",
        sa.Column("decision_id", sa.String(32), nullable=False),
        sa.Column("code", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("decision_id", "code", name="pk_decision_reasons"),
        sqlite_with_rowid=False,
    )
    op.create_index("ix_decision_reasons_code", "decision_reasons", ["code"])
    op.create_table(
        "evidence",
        sa.Column("sha256", HASH, nullable=False),
        sa.Column("body", sa.LargeBinary(), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("url", sa.Text()),
        sa.Column("final_url", sa.Text()),
        sa.Column("status", sa.Integer()),
        sa.Column("fetched_at", TIME),
        sa.Column("stored_at", TIME, nullable=False),
        sa.PrimaryKeyConstraint("sha256", name="pk_evidence"),
    )


def downgrade() -> None:
    op.drop_table("evidence")
    op.drop_index("ix_decision_reasons_code", table_name="decision_reasons")
    op.drop_table("decision_reasons")
    for name in ("decided_at", "verdict_decided_at", "registered_domain_decided_at", "url_key"):
        op.drop_index(f"ix_decisions_{name}", table_name="decisions")
    op.drop_table("decisions")
    op.drop_table("runs")
    op.drop_table("policies")
