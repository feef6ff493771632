"""Opening the database: URL resolution, SQLite pragmas, schema checks and Alembic migrations.

``connect(None)`` uses ``$COPYRIGHT_GUARD_DB`` or ``sqlite:///copyright-guard.db`` (in the current
directory); a plain file path instead of a URL means that SQLite file. An empty database is created and migrated to the newest revision; an older one is
migrated; anything else (a corrupt file, another application's tables, a revision newer than this
software) is a :class:`StoreError` whose message is one line.
"""

from __future__ import annotations

import logging
import os
import re
import threading
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from typing import TYPE_CHECKING

from sqlalchemy import create_engine, event, inspect, text
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.engine.url import URL
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, SQLAlchemyError

from ..core.files import InputFileError, open_input_file

ENV_VAR = "COPYRIGHT_GUARD_DB"
DEFAULT_URL = "sqlite:///copyright-guard.db"
# Our own version table, so a database shared with another Alembic-managed application never
# confuses the two histories.
VERSION_TABLE = "copyright_guard_version"
MIGRATIONS = Path(__file__).with_name("migrations")
_SQLITE_MAGIC = b"SQLite format 3\x00"  # https://www.sqlite.org/fileformat.html §1.3
# pg_advisory_lock key: serialises migrations when several crawler processes start at once.
_PG_LOCK_KEY = zlib.crc32(b"copyright-guard migrations")


if TYPE_CHECKING:  # Alembic is imported only when a migration is due (see HEAD_REVISION)
    from alembic.config import Config
    from alembic.script import ScriptDirectory

# The newest migration. An up-to-date database is recognised by comparing its version row with
# this constant, so opening one never imports Alembic (~20,000 long-lived objects that every
# garbage collection of a crawl would rescan). tests/store checks it equals Alembic's head.
HEAD_REVISION = "0010_run_finish"


class StoreError(RuntimeError):
    """The audit database is unusable. ``str()`` is one line: the cause and, where useful, a hint."""


# An SQLAlchemy URL starts with its dialect and "://" (RFC 3986 scheme characters); anything else
# given as --db, $COPYRIGHT_GUARD_DB or COPYRIGHT_GUARD_DB is a file path, meaning SQLite.
_URL_PREFIX = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")


def resolve_url(url: str | os.PathLike | None = None) -> str:
    """The database URL to open: ``url``, else ``$COPYRIGHT_GUARD_DB``, else the default. A plain
    file path (``audit.db``, ``/var/lib/cg/audit.db``) means that SQLite file."""
    raw = os.fspath(url) if url else (os.environ.get(ENV_VAR) or DEFAULT_URL)
    if _URL_PREFIX.match(raw):
        return raw
    return f"sqlite:///{raw}"


def describe(url: str | URL) -> str:
    """The URL as it may be printed: never with its password."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return str(url)


def one_line(exc: BaseException) -> str:
    """The first line of a driver error, without SQLAlchemy's statement dump and doc links."""
    inner = getattr(exc, "orig", None) or exc
    lines = [line.strip() for line in str(inner).splitlines() if line.strip()]
    return lines[0][:300] if lines else type(inner).__name__


def alembic_config(connection: Connection | None = None) -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


# Alembic keeps the running migration in module globals (alembic.context, alembic.op): one
# migration at a time per process. Other processes are kept out by the database (see upgrade()).
_MIGRATION_LOCK = threading.RLock()


def _scripts() -> ScriptDirectory:
    from alembic.script import ScriptDirectory

    with _MIGRATION_LOCK:
        return ScriptDirectory.from_config(alembic_config())


def head_revisions() -> tuple[str, ...]:
    """The newest revision(s); a StoreError names a broken migration history (a packaging bug)."""
    from alembic.util import CommandError as AlembicError

    try:
        return tuple(_scripts().get_heads())
    except (KeyError, AlembicError) as exc:
        raise StoreError(f"the bundled migrations are inconsistent (missing revision {exc}); reinstall copyright-guard") from None


def known_revisions() -> set[str]:
    head_revisions()  # validates the history first
    return {rev.revision for rev in _scripts().walk_revisions()}


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    # WAL lets readers (audit commands) run while a crawl writes; synchronous=FULL makes every
    # commit durable across power loss - cheap here because the writer commits in batches.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute("PRAGMA busy_timeout=10000")  # wait for another writer rather than fail at once
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA cache_size=-131072")  # 128 MiB: keeps the indexes of a large log in memory
    # Checkpoint the WAL into the database every ~200 MiB rather than every 4 MiB (the default):
    # URL and domain index pages dirtied by many batches are then written once, not once per
    # batch; at a million rows this lifted the writer from ~25,000 to ~38,000 decisions/s.
    cursor.execute("PRAGMA wal_autocheckpoint=50000")
    cursor.execute("PRAGMA journal_size_limit=67108864")  # and shrink the WAL file back to 64 MiB
    cursor.close()


def _check_sqlite_file(url: URL, must_exist: bool) -> None:
    database = url.database or ""
    if not database or database == ":memory:" or database.startswith("file:"):
        return
    path = Path(database)
    if must_exist and not path.exists():
        raise StoreError(f"{path}: no audit database here (run a crawl first, or pass --db / set ${ENV_VAR})")
    if path.is_dir():
        raise StoreError(f"{path}: is a directory, not a database file")
    if not path.parent.exists():
        raise StoreError(f"{path}: directory {path.parent} does not exist")
    if not path.exists():
        return
    # A FIFO would hang the magic check below (and SQLite itself); a device such as /dev/null is
    # not a place to keep an audit log.
    try:
        with open_input_file(path, "database file") as handle:
            magic = handle.read(16)
    except InputFileError as exc:
        raise StoreError(str(exc)) from None
    if magic and magic != _SQLITE_MAGIC:
        raise StoreError(f"{path}: not an SQLite database (corrupt, or some other kind of file)")


def create(url: str | None = None, *, must_exist: bool = False) -> Engine:
    """An engine for ``url`` with our settings, without touching the schema."""
    raw = resolve_url(url)
    try:
        sa_url = make_url(raw)
    except (ArgumentError, ValueError):  # ValueError: a port that is not a number
        raise StoreError(f"{raw!r}: not a database URL or file path (e.g. audit.db, sqlite:///audit.db or postgresql://user@host/db)") from None
    if sa_url.drivername == "postgresql":
        sa_url = sa_url.set(drivername="postgresql+psycopg")  # psycopg 3 is the driver we ship
    if sa_url.get_backend_name() == "sqlite":
        _check_sqlite_file(sa_url, must_exist)
    try:
        engine = create_engine(sa_url, pool_pre_ping=sa_url.get_backend_name() != "sqlite")
    except (ArgumentError, NoSuchModuleError, ImportError) as exc:
        raise StoreError(f"{describe(sa_url)}: unsupported database URL ({one_line(exc)})") from None
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def schema_revision(connection: Connection) -> str | None:
    """The database's revision; None if empty. Raises StoreError for another application's tables."""
    # Read the version row directly (what Alembic's MigrationContext does), without importing Alembic.
    current = None
    if inspect(connection).has_table(VERSION_TABLE):
        rows = connection.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).scalars().all()
        if len(rows) > 1:
            raise StoreError(f"the schema version table {VERSION_TABLE} has several rows ({', '.join(rows)}): branched history")
        current = rows[0] if rows else None
    if current is None:
        tables = [t for t in inspect(connection).get_table_names() if t != VERSION_TABLE]
        if tables:
            listed = ", ".join(sorted(tables)[:5]) + (", ..." if len(tables) > 5 else "")
            raise StoreError(f"the database holds tables ({listed}) that are not a copyright-guard schema (use an empty database)")
    return current


@contextmanager
def _one_transaction(connection: Connection) -> Iterator[None]:
    """All pending migrations commit together or not at all, so an interrupted upgrade (Ctrl-C,
    SIGKILL, a full disk) leaves the database at its old revision, never half-way.

    PostgreSQL has transactional DDL and Alembic uses it. SQLite has it too, but Python's sqlite3
    driver (in its default, legacy transaction mode) opens a transaction only before INSERT,
    UPDATE or DELETE, so every CREATE TABLE would commit on its own. Here the driver is switched to
    autocommit mode and the transaction is begun explicitly (the SQLAlchemy documentation's
    "Serializable isolation / Savepoints / Transactional DDL" recipe for pysqlite); Alembic sees a
    transaction already begun and runs inside it.
    """
    if connection.dialect.name != "sqlite":
        yield
        connection.commit()
        return
    driver = connection.connection.driver_connection
    mode = driver.isolation_level
    driver.isolation_level = None
    try:
        connection.exec_driver_sql("BEGIN IMMEDIATE")  # IMMEDIATE: take the write lock before reading
        try:
            yield
        except BaseException:
            connection.rollback()
            raise
        connection.commit()
    finally:
        driver.isolation_level = mode


@contextmanager
def _quiet_alembic() -> Iterator[None]:
    """Alembic logs a dozen INFO lines per migration ("Context impl SQLiteImpl", "Running upgrade
    ..."), which would land in every new crawl's log. They are kept back unless someone asked for
    them by giving the ``alembic`` logger a level of its own (``logging.getLogger("alembic")
    .setLevel(logging.INFO)``); warnings and errors always pass."""
    alembic_logger = logging.getLogger("alembic")
    if alembic_logger.level != logging.NOTSET:
        yield
        return
    alembic_logger.setLevel(logging.WARNING)
    try:
        yield
    finally:
        alembic_logger.setLevel(logging.NOTSET)


def upgrade(engine: Engine, revision: str = "head") -> tuple[str | None, str | None]:
    """Migrate to ``revision``; returns (before, after). Serialised across processes on PostgreSQL."""
    with _MIGRATION_LOCK, _quiet_alembic(), engine.connect() as connection:
        if engine.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": _PG_LOCK_KEY})
            connection.commit()
        try:
            before = schema_revision(connection)
            connection.commit()
            if before is not None and before not in known_revisions():
                raise StoreError(
                    f"the database is at schema revision {before!r}, newer than this copyright-guard knows "
                    "(upgrade copyright-guard)"
                )
            from alembic import command

            with _one_transaction(connection):
                command.upgrade(alembic_config(connection), revision)
            after = schema_revision(connection)
            connection.commit()
        finally:
            if engine.dialect.name == "postgresql":
                connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": _PG_LOCK_KEY})
                connection.commit()
    return before, after


def connect(url: str | None = None, *, migrate: bool = True, must_exist: bool = False) -> Engine:
    """Open the audit database, creating or migrating its schema to the newest revision.

    Raises :class:`StoreError` (one line) for an unreachable server, a corrupt or foreign file,
    or a schema newer than this software. ``must_exist`` (the reviewer commands): a missing
    SQLite file is an error rather than a new, empty database.
    """
    engine = create(url, must_exist=must_exist)
    where = describe(engine.url)
    try:
        # Checked under the migration lock: Alembic keeps the running migration in module globals,
        # so two threads of one process must not migrate at once.
        with _MIGRATION_LOCK, engine.connect() as connection:
            current = schema_revision(connection)
        if current != HEAD_REVISION:
            if current is not None and current not in known_revisions():
                raise StoreError(
                    f"{where}: schema revision {current!r} is newer than this copyright-guard knows (upgrade copyright-guard)"
                )
            if migrate:
                try:
                    upgrade(engine)
                except SQLAlchemyError:
                    # Another process may have created the schema at the same moment (SQLite has
                    # no advisory lock); accept its work if the database is now current.
                    with engine.connect() as connection:
                        if schema_revision(connection) not in head_revisions():
                            raise
    except StoreError as exc:
        engine.dispose()
        message = str(exc)
        raise StoreError(message if message.startswith(where) else f"{where}: {message}") from None
    except SQLAlchemyError as exc:
        engine.dispose()
        raise StoreError(f"{where}: cannot open the audit database: {one_line(exc)}") from None
    return engine
