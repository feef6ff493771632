"""Proof of collection: site-wide file snapshots, and what each decision was made on and judged.

Revision ID: 0005_proof_of_collection
Revises: 0004_run_exclusion_lists

Two insert-only tables (``site_files``, ``site_views``, see schema.py) and nullable columns on
``decisions`` for row format 2 (store/chain.py). Rows recorded before this revision keep NULL in
every new column and keep verifying as row format 1: nothing is back-filled, because what those
decisions were made on was not recorded and an upgrade must not pretend to know.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005_proof_of_collection"
down_revision = "0004_run_exclusion_lists"
branch_labels = None
depends_on = None

_HASH = sa.String(64)
_TIME = sa.String(27)
_DECISION_COLUMNS = (
    ("row_format", sa.SmallInteger()),
    ("site_view", _HASH),
    ("examined", sa.Text()),
    ("content_sha256", _HASH),
    ("media_type", sa.Text()),
    ("content_bytes", sa.BigInteger()),
    ("http_status", sa.SmallInteger()),
    ("modality", sa.String(8)),
)
_COLLECTED_INDEX = ("modality", "registered_domain", "verdict", "stage", "content_bytes", "decided_at", "run_id")


def upgrade() -> None:
    op.create_table(
        "site_files",
        sa.Column("id", _HASH, nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("origin", sa.Text(), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("status", sa.Integer()),
        sa.Column("fault", sa.Text()),
        sa.Column("sha256", _HASH),
        sa.Column("fetched_at", _TIME, nullable=False),
        sa.Column("stored_at", _TIME, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_site_files"),
    )
    op.create_table(
        "site_views",
        sa.Column("id", _HASH, nullable=False),
        sa.Column("files", sa.Text(), nullable=False),
        sa.Column("stored_at", _TIME, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_site_views"),
    )
    # Plain ADD COLUMNs (nullable, no default) on both SQLite and PostgreSQL: no table rebuild.
    for name, kind in _DECISION_COLUMNS:
        op.add_column("decisions", sa.Column(name, kind))
    # Partial and covering: only post-fetch rows have a modality (see schema.py).
    op.create_index("ix_decisions_collected", "decisions", list(_COLLECTED_INDEX),
                    sqlite_where=sa.text("modality IS NOT NULL"), postgresql_where=sa.text("modality IS NOT NULL"))


def downgrade() -> None:
    op.drop_index("ix_decisions_collected", "decisions")
    with op.batch_alter_table("decisions") as batch:  # SQLite before 3.35 has no DROP COLUMN
        for name, _ in reversed(_DECISION_COLUMNS):
            batch.drop_column(name)
    op.drop_table("site_views")
    op.drop_table("site_files")
