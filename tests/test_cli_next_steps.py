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


def test_the_next_steps_reach_the_summary_and_the_recheck_and_spare_a_stopped_demo_site():
    from types import SimpleNamespace

    summary = SimpleNamespace(db="sqlite:///audit.db", run_id="0123")
    steps = crawl.next_steps(summary)
    assert " audit summary --db sqlite:///audit.db --run 0123 --format md" in steps
    assert " recheck --db sqlite:///audit.db --run 0123 --out purge.csv --format csv" in steps
    # After the demo its site is gone: a fetching recheck would find robots.txt unreachable and,
    # failing closed, withdraw everything - so the demo suggests the lists-and-complaints recheck.
    assert " --run 0123 --no-fetch --out purge.csv" in crawl.next_steps(summary, site_stopped=True)
