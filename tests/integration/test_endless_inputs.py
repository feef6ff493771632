"""Hostile CLI inputs are one line and exit 2: input files that never end (/dev/zero, a FIFO left
open) are refused at their size limit, never read forever (list files, seed files, passwords on
stdin); a seed URL carrying credentials is refused before the crawl starts."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from copyright_guard.cli import main

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
def db(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'audit.db'}"
    monkeypatch.setenv("COPYRIGHT_GUARD_DB", url)
    return url


def _fails(*args, input=None) -> str:
    result = CliRunner().invoke(main, list(args), input=input)
    assert result.exit_code == 2, (result.output, result.exception)
    assert result.output.strip().count("\n") == 0, result.output
    return result.output


def test_an_endless_list_file_is_refused_at_the_limit(db):
    assert "more than the 33,554,432-byte limit" in _fails("lists", "import", "/dev/zero", "--name", "endless")


def test_an_endless_seed_file_is_refused_at_the_limit(db):
    assert "more than 67,108,864 bytes" in _fails("crawl", "--seeds", "/dev/zero")


def test_an_endless_password_line_is_refused(db):
    with open("/dev/zero", "rb") as zeros:
        assert "longer than 4096 characters" in _fails("reviewers", "add", "alice", "--password-stdin", input=zeros)


def test_a_seed_with_credentials_is_refused_before_the_crawl(db):
    # Scrapy cannot fetch user:password@ URLs (a logged traceback), and we never send credentials.
    output = _fails("crawl", "--url", "http://user:secret@127.0.0.9/page")
    assert "carries user:password@ credentials, which are never sent" in output
