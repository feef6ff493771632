"""Small SQL helpers shared by the store modules (dialect differences live here)."""

from __future__ import annotations

import secrets
from itertools import chain

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection


# SQLITE_MAX_VARIABLE_NUMBER (https://www.sqlite.org/limits.html §9): 999 before SQLite 3.32,
# 32766 since, often raised by distributions; read from the connection where Python can.
_SQLITE_DEFAULT_MAX_PARAMETERS = 999
_SQLITE_PARAMETERS_CAP = 100_000


def _sqlite_max_parameters(connection: Connection) -> int:
    import sqlite3

    raw = connection.connection.driver_connection
    try:
        limit = raw.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)  # Python 3.11+
    except AttributeError:
        limit = 32766 if sqlite3.sqlite_version_info >= (3, 32) else _SQLITE_DEFAULT_MAX_PARAMETERS
    return min(limit, _SQLITE_PARAMETERS_CAP)


def insert_ignoring_duplicates(connection: Connection, table: Table):
    """INSERT that skips rows whose primary key exists (another process stored the same evidence)."""
    dialect = connection.dialect.name
    if dialect == "postgresql":
        return postgresql.insert(table).on_conflict_do_nothing()
    if dialect == "sqlite":
        return sqlite.insert(table).on_conflict_do_nothing()
    return table.insert().prefix_with("IGNORE") if dialect in ("mysql", "mariadb") else table.insert()


def insert_many(connection: Connection, table: Table, rows: list[tuple], names: tuple[str, ...]) -> None:
    """INSERT many rows given as tuples in ``names`` order.

    On SQLite, rows go to the driver as few, large multi-row ``VALUES`` statements with
    positional parameters: SQLAlchemy's per-row parameter processing costs more than SQLite's own
    insert, and the driver releases and re-takes the GIL around every statement step - with
    ``executemany`` that is every row, and each re-take waits out the switch interval while the
    crawl's thread is busy (benchmarks/bench_store.py measures the difference). On
    PostgreSQL they are streamed with ``COPY ... FROM STDIN`` inside the same transaction: psycopg's
    ``executemany`` costs a pipeline round per row, COPY is one stream. Other dialects use
    SQLAlchemy Core.
    """
    if not rows:
        return
    quote = connection.dialect.identifier_preparer.quote
    columns = ", ".join(quote(n) for n in names)
    if connection.dialect.name == "postgresql" and connection.dialect.driver == "psycopg":
        cursor = connection.connection.cursor()
        try:
            with cursor.copy(f"COPY {quote(table.name)} ({columns}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        finally:
            cursor.close()
        return
    if connection.dialect.name != "sqlite":
        connection.execute(table.insert(), [dict(zip(names, row)) for row in rows])
        return
    head = f"INSERT INTO {quote(table.name)} ({columns}) VALUES "
    one = "(" + ", ".join("?" * len(names)) + ")"
    per_statement = max(1, _sqlite_max_parameters(connection) // len(names))
    for start in range(0, len(rows), per_statement):
        chunk = rows[start:start + per_statement]
        statement = head + ", ".join([one] * len(chunk))
        connection.exec_driver_sql(statement, tuple(chain.from_iterable(chunk)))


def stream_tuples(connection: Connection, statement, size: int = 5000):
    """Rows of a SELECT as plain tuples straight from the driver, in constant memory.

    ``audit verify`` and ``audit export`` read every row; SQLAlchemy's Row objects cost more than
    the hashing itself. On PostgreSQL a named (server-side) cursor keeps memory constant.
    """
    batches = stream_batches(connection, statement, size)
    try:
        for batch in batches:
            yield from batch
    finally:
        batches.close()


def stream_batches(connection: Connection, statement, size: int = 5000):
    """:func:`stream_tuples` a list per fetch (a loop over rows without a generator step per row)."""
    # render_postcompile: an IN list becomes plain parameters (the driver never sees SQLAlchemy's
    # expanding placeholders)
    compiled = statement.compile(dialect=connection.dialect, compile_kwargs={"render_postcompile": True})
    params = compiled.params
    if compiled.positional:
        params = tuple(params[name] for name in compiled.positiontup)
    raw = connection.connection
    if connection.dialect.name == "postgresql" and connection.dialect.driver == "psycopg":
        cursor = raw.driver_connection.cursor(name=f"copyright_guard_{secrets.token_hex(6)}")
    else:
        cursor = raw.cursor()
    try:
        cursor.execute(str(compiled), params)
        while rows := cursor.fetchmany(size):
            yield rows
    finally:
        cursor.close()
