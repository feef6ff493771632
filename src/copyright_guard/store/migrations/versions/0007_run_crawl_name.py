"""Runs record the name of the crawl they belong to (one crawl, many workers: issue 11).

Revision ID: 0007_run_crawl_name
Revises: 0006_audit_integrity

One nullable text column on ``runs`` and an index on it (``audit runs/search/report --crawl NAME``
select a crawl's runs). Every worker of a multi-worker crawl records its own run, with its own
hash chain; the crawl name is what ties them together. Runs recorded before this revision keep
NULL (no crawl name).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007_run_crawl_name"
down_revision = "0006_audit_integrity"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("runs", sa.Column("crawl", sa.Text()))
    op.create_index("ix_runs_crawl", "runs", ["crawl"])


def downgrade() -> None:
    op.drop_index("ix_runs_crawl", table_name="runs")
    # A plain DROP COLUMN (SQLite 3.35+), not a batch copy of the table: the copy would drop the
    # append-only triggers revision 0006 put on runs.
    op.drop_column("runs", "crawl")
