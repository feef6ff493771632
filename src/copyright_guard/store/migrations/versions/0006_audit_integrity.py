"""Audit integrity: run record hashes, signed Merkle checkpoints, append-only audit tables.

Revision ID: 0006_audit_integrity
Revises: 0005_proof_of_collection

- ``runs.record_hash``: sha256 of the run's canonical record (store/chain.py ``run_record_hash``);
  the run's first decision links to it, so editing the run's metadata breaks the chain. NULL for
  runs recorded before this revision (their first row links to 64 zeros, as before).
- ``runs.log_key``: the run's checkpoint verifier key (C2SP signed-note ``vkey`` text), part of
  the hashed record.
- ``checkpoints``: the signed checkpoints of each run's Merkle tree (store/checkpoints.py).
- Triggers refuse UPDATE and DELETE on decisions, decision_reasons, evidence, policies and
  checkpoints; on runs they refuse DELETE and allow one UPDATE: the finish of an unfinished run
  (finished_at and the finish columns written once; every column of the start record unchanged).
  A database owner can still drop a trigger: that is what the checkpoints kept outside are for
  (docs/audit-integrity.md).

The SQL is spelled out here (not generated from schema.py) so this revision keeps meaning what it
meant when later revisions change the schema.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006_audit_integrity"
down_revision = "0005_proof_of_collection"
branch_labels = None
depends_on = None

APPEND_ONLY = ("decisions", "decision_reasons", "evidence", "policies", "checkpoints", "site_files", "site_views")
# The columns start_run writes: never changed afterwards.
RUN_START_COLUMNS = ("id", "started_at", "policy_hash", "crawler", "software_version", "spider", "host",
                     "exclusion_lists", "record_hash", "log_key")
FINISH_ONLY = "runs: only the finish of an unfinished run may be written (the run record is append-only)"


def upgrade() -> None:
    op.add_column("runs", sa.Column("record_hash", sa.String(64)))
    op.add_column("runs", sa.Column("log_key", sa.Text()))
    op.create_table(
        "checkpoints",
        sa.Column("run_id", sa.String(32), nullable=False),
        sa.Column("tree_size", sa.BigInteger(), nullable=False),
        sa.Column("root_hash", sa.String(64), nullable=False),
        sa.Column("signed_at", sa.String(27), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("run_id", "tree_size", name="pk_checkpoints"),
    )
    dialect = op.get_bind().dialect.name
    changed = " OR ".join(f"NEW.{c} IS NOT OLD.{c}" if dialect == "sqlite" else f"NEW.{c} IS DISTINCT FROM OLD.{c}"
                          for c in RUN_START_COLUMNS)
    if dialect == "sqlite":
        for table in APPEND_ONLY:
            for verb in ("UPDATE", "DELETE"):
                op.execute(f"CREATE TRIGGER {table}_no_{verb.lower()} BEFORE {verb} ON {table} "
                           f"BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END")
        op.execute("CREATE TRIGGER runs_no_delete BEFORE DELETE ON runs "
                   "BEGIN SELECT RAISE(ABORT, 'runs is append-only (a run is never deleted)'); END")
        op.execute(f"CREATE TRIGGER runs_finish_once BEFORE UPDATE ON runs "
                   f"WHEN OLD.finished_at IS NOT NULL OR NEW.finished_at IS NULL OR {changed} "
                   f"BEGIN SELECT RAISE(ABORT, '{FINISH_ONLY}'); END")
    elif dialect == "postgresql":
        for table in APPEND_ONLY:
            op.execute(f"CREATE FUNCTION {table}_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ "
                       f"BEGIN RAISE EXCEPTION '{table} is append-only'; END $$")
            op.execute(f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                       f"FOR EACH ROW EXECUTE FUNCTION {table}_append_only()")
        op.execute(
            "CREATE FUNCTION runs_finish_once() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
            "IF TG_OP = 'DELETE' THEN RAISE EXCEPTION 'runs is append-only (a run is never deleted)'; END IF; "
            f"IF OLD.finished_at IS NOT NULL OR NEW.finished_at IS NULL OR {changed} "
            f"THEN RAISE EXCEPTION '{FINISH_ONLY}'; END IF; RETURN NEW; END $$"
        )
        op.execute("CREATE TRIGGER runs_finish_once BEFORE UPDATE OR DELETE ON runs "
                   "FOR EACH ROW EXECUTE FUNCTION runs_finish_once()")


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        for table in APPEND_ONLY:
            op.execute(f"DROP TRIGGER {table}_append_only ON {table}")
            op.execute(f"DROP FUNCTION {table}_append_only()")
        op.execute("DROP TRIGGER runs_finish_once ON runs")
        op.execute("DROP FUNCTION runs_finish_once()")
    elif dialect == "sqlite":
        for table in APPEND_ONLY:
            for verb in ("update", "delete"):
                op.execute(f"DROP TRIGGER {table}_no_{verb}")
        op.execute("DROP TRIGGER runs_no_delete")
        op.execute("DROP TRIGGER runs_finish_once")
    op.drop_table("checkpoints")
    with op.batch_alter_table("runs") as batch:
        batch.drop_column("log_key")
        batch.drop_column("record_hash")
