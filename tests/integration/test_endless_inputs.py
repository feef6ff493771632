"""Hostile CLI inputs are one line and exit 2: a user-named input file that is not a regular file
(/dev/zero, a FIFO with no writer, a directory) is refused before anything is read - never hung on,
never read forever (core/files.py, shared by every command); standard input (passwords) is read
up to its size limit; a seed URL carrying credentials is refused before the crawl starts."""

from __future__ import annotations

import os

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


def test_an_endless_list_file_is_refused(db):
    output = _fails("lists", "import", "/dev/zero", "--name", "endless")
    assert "/dev/zero: not a regular file (a character device)" in output


def test_an_endless_seed_file_is_refused(db):
    assert "/dev/zero: not a regular file (a character device)" in _fails("crawl", "--seeds", "/dev/zero")


# Every command that reads a file the user names, with that file a FIFO nobody writes to: a plain
# open() of it blocks forever (it waits for a writer). Each must answer at once, in one line.
FIFO_COMMANDS = [
    ("policy", "validate", "{fifo}"),
    ("policy", "show", "{fifo}"),
    ("check", "http://127.0.0.1:9/", "--no-fetch", "--policy", "{fifo}"),
    ("check", "http://127.0.0.1:9/", "--no-fetch", "--db", "sqlite:///{fifo}"),
    ("lists", "import", "{fifo}", "--name", "x", "--authority", "A", "--reference", "R"),
    ("crawl", "--seeds", "{fifo}"),
    ("crawl", "--url", "http://127.0.0.1:9/", "--policy", "{fifo}"),
    ("audit", "verify", "--file", "{fifo}"),
]


@pytest.mark.parametrize("command", FIFO_COMMANDS, ids=lambda command: " ".join(command[:2]))
def test_a_fifo_with_no_writer_is_not_a_regular_file(db, tmp_path, command):
    fifo = tmp_path / "input.fifo"
    os.mkfifo(fifo)
    output = _fails(*(part.format(fifo=fifo) for part in command))
    assert f"{fifo}: not a regular file (a FIFO)" in output


def test_an_endless_password_line_is_refused(db):
    with open("/dev/zero", "rb") as zeros:
        assert "longer than 4096 characters" in _fails("reviewers", "add", "alice", "--password-stdin", input=zeros)


def test_a_seed_with_credentials_is_refused_before_the_crawl(db):
    # Scrapy cannot fetch user:password@ URLs (a logged traceback), and we never send credentials.
    output = _fails("crawl", "--url", "http://user:secret@127.0.0.9/page")
    assert "carries user:password@ credentials, which are never sent" in output
