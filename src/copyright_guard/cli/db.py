"""``copyright-guard db upgrade``: create or migrate the audit database schema."""

from __future__ import annotations

import json

import click

from sqlalchemy.exc import SQLAlchemyError

from ..store.db import StoreError, connect, create, describe, one_line, resolve_url, upgrade
from .errors import CLIError

HINT = "check --db / $COPYRIGHT_GUARD_DB"
DB_HELP = ("Audit database: an SQLAlchemy URL, or a file path meaning SQLite "
           "(default: $COPYRIGHT_GUARD_DB, else copyright-guard.db).")


def db_option(function):
    return click.option("--db", "db_url", metavar="URL|FILE", default=None, help=DB_HELP)(function)


def open_engine(db_url: str | None, *, must_exist: bool = True):
    """The engine for a CLI command; a StoreError becomes a one-line CLI error (exit 2)."""
    try:
        return connect(db_url, must_exist=must_exist)
    except StoreError as exc:
        raise CLIError(str(exc), HINT) from None


@click.group("db")
def db_group() -> None:
    """Manage the audit database schema.

    \b
    Example:
      copyright-guard db upgrade --db postgresql://crawler@db.internal/audit
    """


@db_group.command("upgrade")
@db_option
@click.option("--json", "as_json", is_flag=True, help="Print the result as one JSON object.")
def upgrade_command(db_url: str | None, as_json: bool) -> None:
    """Create the schema in an empty database, or migrate an older one to the newest revision.

    Safe to run while crawlers are stopped; on PostgreSQL concurrent runs wait for each other.
    A new SQLite file is also created and migrated on first use by any command.

    \b
    Example:
      copyright-guard db upgrade --db sqlite:///audit.db
    """
    where = describe(resolve_url(db_url))
    engine = None
    try:
        engine = create(db_url)
        before, after = upgrade(engine)
    except StoreError as exc:
        message = str(exc)
        raise CLIError(message if message.startswith(where) else f"{where}: {message}", HINT) from None
    except SQLAlchemyError as exc:
        raise CLIError(f"{where}: cannot upgrade the database: {one_line(exc)}", HINT) from None
    finally:
        if engine is not None:
            engine.dispose()
    if as_json:
        click.echo(json.dumps({"db": where, "before": before, "after": after, "migrated": before != after}))
    elif before == after:
        click.echo(f"{where}: already at the newest schema revision {after}")
    else:
        click.echo(f"{where}: migrated from {before or 'an empty database'} to {after}")


COMMANDS = [db_group]
