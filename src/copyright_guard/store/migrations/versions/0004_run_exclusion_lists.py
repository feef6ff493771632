"""Runs record the exclusion-list versions in force when they started.

Revision ID: 0004_run_exclusion_lists
Revises: 0003_complaints

One nullable text column on ``runs`` (canonical JSON, see schema.py). Runs recorded before this
revision keep NULL: which lists they were checked against was not recorded, and an upgrade must
not pretend to know.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_run_exclusion_lists"
down_revision = "0003_complaints"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A plain ADD COLUMN (nullable, no default) on both SQLite and PostgreSQL: no table rebuild.
    op.add_column("runs", sa.Column("exclusion_lists", sa.Text()))


def downgrade() -> None:
    with op.batch_alter_table("runs") as batch:  # SQLite before 3.35 has no DROP COLUMN
        batch.drop_column("exclusion_lists")
