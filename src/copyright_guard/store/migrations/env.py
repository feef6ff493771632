"""Alembic environment for the copyright-guard store.

``store.db.upgrade`` passes an open connection in ``config.attributes["connection"]``; run from
the ``alembic`` command line instead, ``sqlalchemy.url`` (or $COPYRIGHT_GUARD_DB) names the database.
"""

from __future__ import annotations

from alembic import context

from copyright_guard.store.db import VERSION_TABLE, create
from copyright_guard.store.tables import metadata

config = context.config


def _run(connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        version_table=VERSION_TABLE,
        render_as_batch=connection.dialect.name == "sqlite",  # SQLite cannot ALTER most things
    )
    with context.begin_transaction():
        context.run_migrations()


connection = config.attributes.get("connection")
if connection is not None:
    _run(connection)
else:
    engine = create(config.get_main_option("sqlalchemy.url") or None)
    with engine.begin() as fresh:
        _run(fresh)
