"""The collected response's validators: ETag and Last-Modified with the post-fetch decision.

Revision ID: 0009_validators
Revises: 0007_run_crawl_name

Two nullable text columns on ``decisions`` for row format 3 (store/chain.py): the ``ETag`` and
``Last-Modified`` the response carried, when well-formed (core/content.py), so ``recheck --pages``
can ask the server whether the page changed since (RFC 9110 §13.1.2, §13.1.3). The chain covers
them in format-3 rows only; every older row keeps its format and verifies unchanged. Nothing is
back-filled: what older responses carried was not recorded.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009_validators"
down_revision = "0008_merkle_nodes"
branch_labels = None
depends_on = None

_COLUMNS = ("etag", "last_modified")


def upgrade() -> None:
    # Plain ADD COLUMNs (nullable, no default): no table rebuild, the append-only triggers stay.
    for name in _COLUMNS:
        op.add_column("decisions", sa.Column(name, sa.Text()))


def downgrade() -> None:
    # A plain DROP COLUMN (SQLite 3.35+), not a batch copy of the table: the copy would drop the
    # append-only triggers revision 0006 put on decisions.
    for name in reversed(_COLUMNS):
        op.drop_column("decisions", name)
