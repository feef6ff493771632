"""`copyright-guard demo --db FILE` replaces only an earlier demo database, never someone's file."""

from __future__ import annotations


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
