"""The run's finish record, sealed: ``runs.finish_hash`` and ``runs.finish_note``.

Revision ID: 0010_run_finish
Revises: 0009_validators

``audit runs`` shows when a run finished and its counts (pages collected, denials by reason, the
close reason), and ``audit summary`` the period of collection; ``audit verify`` checked neither.
``finish_hash`` is the sha256 of the finish record (store/chain.py ``finish_record_hash``: finish
time, counts, the chain's length and head hash); ``finish_note`` is that hash signed with the
run's checkpoint key, as a checkpoint of the whole run with a ``run-finish`` line (C2SP
signed-note format; store/checkpoints.py). Both are written by the one update that finishes a run,
which the ``runs_finish_once`` trigger of revision 0006 already allows. Runs finished before this
revision keep NULLs: `audit verify` says their finish record is not sealed.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010_run_finish"
down_revision = "0009_validators"
branch_labels = None
depends_on = None

_COLUMNS = (("finish_hash", sa.String(64)), ("finish_note", sa.Text()))


def upgrade() -> None:
    # Plain ADD COLUMNs (nullable, no default): no table rebuild, the triggers on runs stay.
    for name, kind in _COLUMNS:
        op.add_column("runs", sa.Column(name, kind))


def downgrade() -> None:
    # A plain DROP COLUMN (SQLite 3.35+), not a batch copy that would drop revision 0006's triggers.
    for name, _ in reversed(_COLUMNS):
        op.drop_column("runs", name)
