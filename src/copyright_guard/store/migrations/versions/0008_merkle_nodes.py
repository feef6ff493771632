"""Stored Merkle nodes: an inclusion proof reads O(log n) hashes instead of the whole run.

Revision ID: 0008_merkle_nodes
Revises: 0007_run_crawl_name

``merkle_nodes`` holds, per run, the hash of every complete subtree of 2^8 leaves and up of the
run's Merkle tree (store/merkle.py NODE_LEVEL, store/nodes.py), written by the audit writer in the
transaction that commits the rows the subtree covers. Append-only like the other audit tables
(revision 0006): triggers refuse UPDATE and DELETE. `audit verify` checks every stored node
against the tree it recomputes. Runs recorded before this revision have no nodes; `audit prove`
then recomputes the subtrees it needs from the rows.

The SQL is spelled out here (not generated from schema.py) so this revision keeps meaning what it
meant when later revisions change the schema.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008_merkle_nodes"
down_revision = "0007_run_crawl_name"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "merkle_nodes",
        sa.Column("run_id", sa.String(32), nullable=False),
        sa.Column("level", sa.SmallInteger(), nullable=False),
        sa.Column("node_index", sa.BigInteger(), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("run_id", "level", "node_index", name="pk_merkle_nodes"),
    )
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        for verb in ("UPDATE", "DELETE"):
            op.execute(f"CREATE TRIGGER merkle_nodes_no_{verb.lower()} BEFORE {verb} ON merkle_nodes "
                       "BEGIN SELECT RAISE(ABORT, 'merkle_nodes is append-only'); END")
    elif dialect == "postgresql":
        op.execute("CREATE FUNCTION merkle_nodes_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ "
                   "BEGIN RAISE EXCEPTION 'merkle_nodes is append-only'; END $$")
        op.execute("CREATE TRIGGER merkle_nodes_append_only BEFORE UPDATE OR DELETE ON merkle_nodes "
                   "FOR EACH ROW EXECUTE FUNCTION merkle_nodes_append_only()")


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        op.execute("DROP TRIGGER merkle_nodes_append_only ON merkle_nodes")
        op.execute("DROP FUNCTION merkle_nodes_append_only()")
    elif dialect == "sqlite":
        for verb in ("update", "delete"):
            op.execute(f"DROP TRIGGER merkle_nodes_no_{verb}")
    op.drop_table("merkle_nodes")
