"""The "where to look next" commands a crawl prints can be pasted as they are."""

from __future__ import annotations

import sys

from copyright_guard.cli import crawl


def test_commands_name_the_venv_program_when_it_is_not_on_path(monkeypatch, tmp_path):
    program = tmp_path / ".venv" / "bin" / "copyright-guard"
    program.parent.mkdir(parents=True)
    program.write_text("#!/bin/sh\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "argv", [str(program), "demo"])
    monkeypatch.setattr(crawl.shutil, "which", lambda name: None)
    assert crawl._program() == ".venv/bin/copyright-guard"


def test_commands_say_copyright_guard_when_it_is_on_path(monkeypatch, tmp_path):
    program = tmp_path / "copyright-guard"
    program.write_text("#!/bin/sh\n")
    monkeypatch.setattr(sys, "argv", [str(program), "demo"])
    monkeypatch.setattr(crawl.shutil, "which", lambda name: str(program))
    assert crawl._program() == "copyright-guard"
