"""Exclusion lists: lists, versioned snapshots, their entries, and the list events.

Revision ID: 0002_exclusion_lists
Revises: 0001_audit

The tables are spelled out here (not taken from schema_lists.py) so this migration keeps meaning
what it meant when later revisions change the schema. Snapshots, entries and events are
append-only: the database itself refuses UPDATE and DELETE on them, so what excluded what stays
answerable (only ``exclusion_lists.active`` changes, and each change is an event).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002_exclusion_lists"
down_revision = "0001_audit"
branch_labels = None
depends_on = None

TIME = sa.String(27)
HASH = sa.String(64)
NAME = sa.String(128)
APPEND_ONLY = ("exclusion_list_versions", "exclusion_list_entries", "exclusion_list_events")


def upgrade() -> None:
    op.create_table(
        "exclusion_lists",
        sa.Column("name", NAME, nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", TIME, nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_exclusion_lists"),
    )
    op.create_table(
        "exclusion_list_versions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("list_name", NAME, nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("sha256", HASH, nullable=False),
        sa.Column("entries_sha256", HASH, nullable=False),
        sa.Column("imported_at", TIME, nullable=False),
        sa.Column("entry_count", sa.Integer(), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("format", sa.String(8), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_exclusion_list_versions"),
        sa.ForeignKeyConstraint(["list_name"], ["exclusion_lists.name"], name="fk_exclusion_list_versions_list_name_exclusion_lists"),
        sa.UniqueConstraint("list_name", "version", name="uq_exclusion_list_versions_list_name_version"),
    )
    op.create_table(
        "exclusion_list_entries",
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("entry", sa.String(253), nullable=False),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("authority", sa.Text(), nullable=False),
        sa.Column("jurisdiction", sa.Text(), nullable=False),
        sa.Column("reference", sa.Text(), nullable=False),
        sa.Column("listed_at", TIME),
        sa.Column("delisted_at", TIME),
        sa.Column("line", sa.Integer()),
        sa.PrimaryKeyConstraint("version_id", "entry", name="pk_exclusion_list_entries"),
        sa.ForeignKeyConstraint(
            ["version_id"], ["exclusion_list_versions.id"], name="fk_exclusion_list_entries_version_id_exclusion_list_versions"
        ),
    )
    op.create_index("ix_exclusion_list_entries_entry", "exclusion_list_entries", ["entry"])
    op.create_table(
        "exclusion_list_events",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("list_name", NAME, nullable=False),
        sa.Column("at", TIME, nullable=False),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("version", sa.Integer()),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_exclusion_list_events"),
        sa.ForeignKeyConstraint(["list_name"], ["exclusion_lists.name"], name="fk_exclusion_list_events_list_name_exclusion_lists"),
    )
    op.create_index("ix_exclusion_list_events_list_name_at", "exclusion_list_events", ["list_name", "at"])

    dialect = op.get_bind().dialect.name
    for table in APPEND_ONLY:
        if dialect == "sqlite":
            for verb in ("UPDATE", "DELETE"):
                op.execute(
                    f"CREATE TRIGGER {table}_no_{verb.lower()} BEFORE {verb} ON {table} "
                    f"BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END"
                )
        elif dialect == "postgresql":
            op.execute(
                f"CREATE FUNCTION {table}_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ "
                f"BEGIN RAISE EXCEPTION '{table} is append-only'; END $$"
            )
            op.execute(
                f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                f"FOR EACH ROW EXECUTE FUNCTION {table}_append_only()"
            )


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    for table in APPEND_ONLY:
        if dialect == "postgresql":
            op.execute(f"DROP TRIGGER {table}_append_only ON {table}")
            op.execute(f"DROP FUNCTION {table}_append_only()")
        elif dialect == "sqlite":
            for verb in ("update", "delete"):
                op.execute(f"DROP TRIGGER {table}_no_{verb}")
    op.drop_index("ix_exclusion_list_events_list_name_at", table_name="exclusion_list_events")
    op.drop_table("exclusion_list_events")
    op.drop_index("ix_exclusion_list_entries_entry", table_name="exclusion_list_entries")
    op.drop_table("exclusion_list_entries")
    op.drop_table("exclusion_list_versions")
    op.drop_table("exclusion_lists")
