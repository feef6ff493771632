"""`copyright-guard demo --db FILE` replaces only an earlier demo database, never someone's file."""

from __future__ import annotations

import os
import stat

import pytest
from click.testing import CliRunner

from copyright_guard.cli import main
from copyright_guard.demo.run import DemoError, _exclude, _fresh_sqlite


def test_an_existing_file_that_is_not_a_demo_database_is_never_replaced(tmp_path):
    notes = tmp_path / "notes.txt"
    notes.write_text("precious")
    result = CliRunner().invoke(main, ["demo", "--db", str(notes), "--progress", "0"])
    assert result.exit_code == 2, result.output
    assert "is not a copyright-guard demo database" in result.output
    assert "Traceback" not in result.output
    assert notes.read_text() == "precious"


def test_a_real_audit_database_is_never_replaced(tmp_path):
    from copyright_guard.store.db import connect

    audit = tmp_path / "copyright-guard.db"
    connect(f"sqlite:///{audit}").dispose()
    before = audit.read_bytes()
    with pytest.raises(DemoError, match="not a copyright-guard demo database"):
        _fresh_sqlite(str(audit))
    assert audit.read_bytes() == before


def test_an_earlier_demo_database_is_replaced(tmp_path, now):
    demo = tmp_path / "demo.db"
    url = _fresh_sqlite(str(demo))
    _exclude(url, "pirated.example", now)
    assert demo.exists()
    assert _fresh_sqlite(str(demo)) == f"sqlite:///{demo}"
    assert not demo.exists()  # removed, to be created afresh by the run


@pytest.mark.parametrize(("db", "message"), [
    ("postgresql://db.internal/audit", "the demo writes an SQLite file"),
    (".", "is a directory"),
])
def test_a_db_that_is_no_file_is_one_line(db, message):
    with pytest.raises(DemoError, match=message):
        _fresh_sqlite(db)


def test_a_sqlite_url_is_accepted_as_its_file(tmp_path):
    url = _fresh_sqlite(f"sqlite:///{tmp_path / 'demo.db'}")
    assert url == f"sqlite:///{tmp_path / 'demo.db'}"


def test_a_fifo_is_never_replaced(tmp_path):
    # Before the fix `demo --db FIFO` (or a device: /dev/null as root) was deleted and replaced by
    # an SQLite file. Devices are not made here (mknod needs root); a FIFO takes the same path.
    fifo = tmp_path / "ff"
    os.mkfifo(fifo)
    for db in (str(fifo), f"sqlite:///{fifo}"):
        result = CliRunner().invoke(main, ["demo", "--db", db, "--progress", "0"])
        assert result.exit_code == 2, result.output
        assert result.output.strip().splitlines() == [
            f"Error: --db {db!r}: {fifo} is not a regular file (a FIFO); not replacing it (give another file name) "
            "(hint: the demo replaces only its own database file)"]
        assert stat.S_ISFIFO(os.stat(fifo).st_mode)


def test_an_empty_file_is_not_a_demo_database(tmp_path):
    empty = tmp_path / "placeholder.db"
    empty.touch()
    with pytest.raises(DemoError, match="is not a copyright-guard demo database"):
        _fresh_sqlite(str(empty))
    assert empty.exists()


def test_side_files_that_are_not_regular_files_stop_the_demo_before_anything_is_deleted(tmp_path, now):
    demo = tmp_path / "demo.db"
    _exclude(_fresh_sqlite(str(demo)), "pirated.example", now)
    os.mkfifo(tmp_path / "demo.db-journal")
    with pytest.raises(DemoError, match=r"demo.db-journal is not a regular file \(a FIFO\)"):
        _fresh_sqlite(str(demo))
    assert demo.exists()


def test_a_missing_directory_is_one_line_without_the_debug_hint(tmp_path):
    result = CliRunner().invoke(main, ["demo", "--db", str(tmp_path / "nonexist" / "x.db"), "--progress", "0"])
    assert result.exit_code == 2
    assert "directory" in result.output and "does not exist" in result.output
    assert "COPYRIGHT_GUARD_DEBUG" not in result.output


def test_a_store_error_during_the_demo_is_its_own_line(monkeypatch):
    from copyright_guard.demo import run
    from copyright_guard.store.db import StoreError

    def broken(*_args, **_kwargs):
        raise StoreError("demo.db: not an SQLite database (corrupt, or some other kind of file)")

    monkeypatch.setattr(run, "run_demo", broken)
    result = CliRunner().invoke(main, ["demo", "--progress", "0"])
    assert result.exit_code == 2
    assert result.output.startswith("Error: demo.db: not an SQLite database")
    assert "COPYRIGHT_GUARD_DEBUG" not in result.output and "StoreError" not in result.output
