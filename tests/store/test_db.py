"""Opening the database: creation, migrations from every earlier revision, unusable databases."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from alembic import command
from click.testing import CliRunner
from sqlalchemy import inspect, select, text

from copyright_guard.cli import main
from copyright_guard.store import StoreError, connect
from copyright_guard.store.db import VERSION_TABLE, _scripts, alembic_config, create, head_revisions
from copyright_guard.store.schema import decisions, runs
from copyright_guard.store.verify import verify
from store_helpers import record_legacy_run, record_run


def _revision(engine) -> str:
    with engine.connect() as connection:
        return connection.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).scalar_one()


def test_a_new_sqlite_file_is_created_in_wal_mode_and_migrated_to_head(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("COPYRIGHT_GUARD_DB", raising=False)
    engine = connect()
    assert (tmp_path / "copyright-guard.db").exists()
    assert _revision(engine) in head_revisions()
    assert {"runs", "decisions", "decision_reasons", "evidence", "policies"} <= set(inspect(engine).get_table_names())
    with engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1


def test_the_environment_variable_names_the_database(tmp_path, monkeypatch):
    monkeypatch.setenv("COPYRIGHT_GUARD_DB", f"sqlite:///{tmp_path / 'from-env.db'}")
    connect().dispose()
    assert (tmp_path / "from-env.db").exists()


def _revisions_oldest_first() -> list[str]:
    return [rev.revision for rev in reversed(list(_scripts().walk_revisions()))]


@pytest.mark.parametrize("start", _revisions_oldest_first())
def test_connect_migrates_up_from_each_earlier_revision_keeping_the_audit_log(db_url, policy, start):
    engine = create(db_url)
    with engine.connect() as connection:
        command.upgrade(alembic_config(connection), start)
        connection.commit()
    run_id = record_legacy_run(engine, policy, 5)  # the audit tables exist from the first revision on
    engine.dispose()

    engine = connect(db_url)
    assert _revision(engine) in head_revisions()
    with engine.connect() as connection:
        assert connection.execute(select(decisions.c.seq).where(decisions.c.run_id == run_id)).scalars().all() == [1, 2, 3, 4, 5]
    # Rows written before revisions 0005 and 0006 (row format 1, no run record hash, no checkpoints)
    # still verify, and a new run beside them is format 2.
    checks = list(verify(engine, run_id))
    assert all(check.ok for check in checks), [p.message for c in checks for p in c.problems]
    assert checks[0].notes[0] == "no signed checkpoint: 5 decisions are not anchored"
    assert checks[0].notes[1].startswith("finish record (finish time, counts) not sealed: the run finished before "
                                         "revision 0010") and len(checks[0].notes) == 2
    new_run = record_run(engine, policy, 3)
    assert all(check.ok for check in verify(engine))
    with engine.connect() as connection:
        formats = connection.execute(select(decisions.c.run_id, decisions.c.row_format)).all()
    assert {row_format for run, row_format in formats if run == run_id} == {None}
    assert {row_format for run, row_format in formats if run == new_run} == {2}
    engine.dispose()


def test_an_interrupted_migration_leaves_the_old_revision_not_half_a_schema(db_url, policy):
    # Ctrl-C while the demo's first connect() migrated a new file once left the complaints table
    # created but the revision unrecorded: every later open failed with "table complaints already
    # exists". All pending migrations now commit together or not at all.
    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    engine = create(db_url)
    with engine.connect() as connection:
        command.upgrade(alembic_config(connection), "0002_exclusion_lists")
        connection.commit()
    engine.dispose()

    def interrupt(conn, cursor, statement, *args):
        if statement.lstrip().upper().startswith("CREATE TABLE COMPLAINT_EVENTS"):  # complaints exists by then
            raise KeyboardInterrupt

    event.listen(Engine, "before_cursor_execute", interrupt)
    try:
        with pytest.raises(KeyboardInterrupt):
            connect(db_url)
    finally:
        event.remove(Engine, "before_cursor_execute", interrupt)

    engine = create(db_url)
    assert _revision(engine) == "0002_exclusion_lists"
    assert not {"complaints", "complaint_events"} & set(inspect(engine).get_table_names())
    engine.dispose()
    engine = connect(db_url)  # and the next open migrates it to the newest revision
    assert _revision(engine) in head_revisions()
    engine.dispose()


def test_migrations_run_down_to_empty_and_up_again(db_url):
    engine = connect(db_url)
    with engine.connect() as connection:
        command.downgrade(alembic_config(connection), "base")
        connection.commit()
    assert set(inspect(engine).get_table_names()) <= {VERSION_TABLE}
    engine.dispose()
    engine = connect(db_url)
    assert "decisions" in inspect(engine).get_table_names()
    engine.dispose()


def test_db_upgrade_command_reports_the_revision(sqlite_url):
    result = CliRunner().invoke(main, ["db", "upgrade", "--db", sqlite_url])
    assert result.exit_code == 0, result.output
    assert "migrated from an empty database to" in result.output
    result = CliRunner().invoke(main, ["db", "upgrade", "--db", sqlite_url])
    assert "already at the newest schema revision" in result.output


def _one_line_error(db_url: str) -> str:
    with pytest.raises(StoreError) as caught:
        connect(db_url)
    message = str(caught.value)
    assert "\n" not in message and "Traceback" not in message
    return message


def test_a_corrupt_file_is_a_one_line_error(tmp_path):
    path = tmp_path / "audit.db"
    path.write_bytes(b"this is not a database at all\n" * 100)
    assert "not an SQLite database" in _one_line_error(f"sqlite:///{path}")


def test_a_damaged_sqlite_file_is_a_one_line_error(tmp_path, sqlite_url):
    connect(sqlite_url).dispose()
    path = tmp_path / "audit.db"
    data = bytearray(path.read_bytes())
    data[100:4096] = b"\xff" * (4096 - 100)  # overwrite the schema page after the header
    path.write_bytes(bytes(data))
    assert "cannot open the audit database" in _one_line_error(sqlite_url)


def test_another_applications_database_is_refused(tmp_path):
    path = tmp_path / "other.db"
    with sqlite3.connect(path) as other:
        other.execute("CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT)")
    message = _one_line_error(f"sqlite:///{path}")
    assert "customers" in message and "not a copyright-guard schema" in message
    with sqlite3.connect(path) as other:  # and it was left alone
        assert [r[0] for r in other.execute("SELECT name FROM sqlite_master WHERE type='table'")] == ["customers"]


def test_a_schema_newer_than_this_software_is_refused(sqlite_url):
    engine = connect(sqlite_url)
    with engine.begin() as connection:
        connection.execute(text(f"UPDATE {VERSION_TABLE} SET version_num = '0099_future'"))
    engine.dispose()
    assert "newer than this copyright-guard" in _one_line_error(sqlite_url)


def test_unreachable_server_and_bad_urls_are_one_line_errors(tmp_path):
    assert "cannot open the audit database" in _one_line_error("postgresql://nobody@127.0.0.1:1/none")
    assert "not a database URL" in _one_line_error("postgresql://nobody@127.0.0.1:port/none")
    assert "does not exist" in _one_line_error(f"sqlite:///{tmp_path}/missing/dir/audit.db")


def test_a_plain_path_means_an_sqlite_file(tmp_path, monkeypatch):
    # --db, $COPYRIGHT_GUARD_DB and COPYRIGHT_GUARD_DB take a file path as well as a URL.
    monkeypatch.chdir(tmp_path)
    for given, expected in [("audit.db", tmp_path / "audit.db"), (str(tmp_path / "abs.db"), tmp_path / "abs.db")]:
        engine = connect(given)
        assert engine.dialect.name == "sqlite" and Path(engine.url.database).resolve() == expected
        engine.dispose()
        assert expected.read_bytes().startswith(b"SQLite format 3")
    assert "does not exist" in _one_line_error(str(tmp_path / "missing" / "audit.db"))


@pytest.mark.parametrize("command_line", [["audit", "runs"], ["audit", "verify"], ["db", "upgrade"]])
def test_cli_commands_print_one_line_for_a_corrupt_database(tmp_path, command_line):
    path = tmp_path / "audit.db"
    path.write_bytes(b"\x00garbage" * 512)
    result = CliRunner().invoke(main, [*command_line, "--db", f"sqlite:///{path}"])
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and "not an SQLite database" in lines[0], result.output


def test_reviewer_commands_do_not_create_a_database(tmp_path):
    result = CliRunner().invoke(main, ["audit", "runs", "--db", f"sqlite:///{tmp_path / 'none.db'}"])
    assert result.exit_code == 2 and "no audit database here" in result.output
    assert not (tmp_path / "none.db").exists()


def test_connecting_twice_is_idempotent(db_url, policy):
    engine = connect(db_url)
    run_id = record_run(engine, policy, 2)
    engine.dispose()
    engine = connect(db_url)
    with engine.connect() as connection:
        assert connection.execute(select(runs.c.id)).scalars().all() == [run_id]
    engine.dispose()


def test_the_migrations_build_exactly_the_tables_schema_py_declares(db_url):
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    from copyright_guard.store.schema import AUDIT_TABLES
    from copyright_guard.store.tables import metadata

    engine = connect(db_url)
    audit = {table.name for table in AUDIT_TABLES}
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"version_table": VERSION_TABLE})
        differences = [d for d in compare_metadata(context, metadata) if audit & set(_tables_named(d))]
    assert differences == []
    engine.dispose()


def _tables_named(difference) -> list[str]:
    """Table names an autogenerate difference mentions (it is a tuple, or a list of tuples)."""
    items = difference if isinstance(difference, list) else [difference]
    names = []
    for item in items:
        for part in item:
            name = getattr(part, "name", None) if not isinstance(part, str) else None
            table = getattr(part, "table", None)
            names += [n for n in (name, getattr(table, "name", None)) if n]
    return names


def test_a_plain_postgresql_url_uses_psycopg_3(pg_url):
    plain = pg_url.replace("postgresql+psycopg://", "postgresql://")
    engine = connect(plain)
    assert engine.dialect.driver == "psycopg" and _revision(engine) in head_revisions()
    engine.dispose()


def test_crawlers_starting_at_once_on_an_empty_database_migrate_it_once(db_url):
    import threading

    errors, engines = [], []

    def start() -> None:
        try:
            engines.append(connect(db_url))
        except Exception as exc:  # noqa: BLE001 - collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=start) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == [] and len(engines) == 4
    assert _revision(engines[0]) in head_revisions()
    for engine in engines:
        engine.dispose()


def test_head_revision_constant_is_alembics_head():
    from copyright_guard.store.db import HEAD_REVISION

    assert head_revisions() == (HEAD_REVISION,)


def test_opening_an_up_to_date_database_does_not_import_alembic(sqlite_url):
    # Alembic is ~20,000 long-lived objects a crawl's garbage collector would rescan: it is
    # imported only when a migration is due.
    import subprocess
    import sys

    connect(sqlite_url).dispose()
    code = ("import sys; from copyright_guard.store import connect; connect(sys.argv[1]).dispose(); "
            "print('alembic' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code, sqlite_url], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
