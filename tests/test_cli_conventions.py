"""One grammar for every `copyright-guard` command, checked on the commands themselves (so a command
added later is held to it too): `--db URL|FILE`, `--out FILE` / `-o`, `--format csv|jsonl|json`,
`--json` wherever a command changes or shows something, and errors of one line.
"""

from __future__ import annotations

import json

import click
import pytest
from click.testing import CliRunner

from cli_commands import COMMANDS
from copyright_guard.cli import main

OUTPUT_FORMATS = {"csv", "jsonl", "json"}
# --format options that do not choose an output format, and why.
OTHER_FORMATS = {
    "copyright-guard lists import": "the format of the list file read (auto, csv, json, text)",
    "copyright-guard audit summary": "a document for the AI Act's public summary: Markdown, HTML or JSON (md, html, json)",
}
# Commands without --json (or an output --format), and why.
NO_JSON = {
    "copyright-guard serve": "a long-running server: it shows nothing but its log",
}


IDS = [path for path, _ in COMMANDS]


def _option(command: click.Command, name: str) -> click.Option | None:
    return next((p for p in command.params if isinstance(p, click.Option) and name in p.opts), None)


@pytest.mark.parametrize(("path", "command"), COMMANDS, ids=IDS)
def test_db_takes_a_url_or_a_file_path(path, command):
    option = _option(command, "--db")
    if option is None:
        return
    assert option.metavar == "URL|FILE", f"{path} --db: metavar {option.metavar!r}, expected 'URL|FILE'"
    assert "file" in (option.help or "").lower(), f"{path} --db: the help does not say a file path is taken"


@pytest.mark.parametrize(("path", "command"), COMMANDS, ids=IDS)
def test_an_output_file_is_out_with_the_short_form_o(path, command):
    for option in (p for p in command.params if isinstance(p, click.Option)):
        names = set(option.opts)
        if names & {"--out", "--output", "-o"}:
            assert option.opts[0] == "--out" and "-o" in names, f"{path}: output option {option.opts}, expected --out / -o"


@pytest.mark.parametrize(("path", "command"), COMMANDS, ids=IDS)
def test_format_means_the_output_format_everywhere(path, command):
    option = _option(command, "--format")
    if option is None or path in OTHER_FORMATS:
        return
    assert isinstance(option.type, click.Choice), f"{path} --format is not a choice"
    choices = set(option.type.choices)
    assert choices <= OUTPUT_FORMATS and {"csv", "jsonl"} <= choices, f"{path} --format {sorted(choices)}"


@pytest.mark.parametrize(("path", "command"), COMMANDS, ids=IDS)
def test_every_command_that_changes_or_shows_something_has_json(path, command):
    if path in NO_JSON:
        return
    has_json = _option(command, "--json") is not None
    fmt = _option(command, "--format")
    # a document format (audit summary: md|html|json) counts when JSON is one of its choices
    output_format = fmt is not None and (path not in OTHER_FORMATS or "json" in getattr(fmt.type, "choices", ()))
    assert has_json or output_format, f"{path} has neither --json nor an output --format"


def test_the_exemptions_name_real_commands():
    assert set(NO_JSON) | set(OTHER_FORMATS) <= set(IDS)


@pytest.mark.parametrize("command_line", [
    ["audit", "runs"], ["audit", "search"], ["complaints", "list"], ["lists", "show"], ["reviewers", "list"],
])
def test_db_as_a_plain_path_is_sqlite_and_a_missing_directory_is_refused(tmp_path, command_line):
    runner = CliRunner()
    fresh = tmp_path / "audit.db"
    result = runner.invoke(main, ["db", "upgrade", "--db", str(fresh), "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["after"]
    result = runner.invoke(main, [*command_line, "--db", str(fresh)])
    assert result.exit_code == 0, result.output
    missing = tmp_path / "no" / "such" / "audit.db"
    result = runner.invoke(main, [*command_line, "--db", str(missing)])
    assert result.exit_code == 2 and result.output.count("\n") == 1, result.output
    assert not (tmp_path / "no").exists()


def test_an_output_file_in_a_missing_directory_is_refused(tmp_path):
    runner = CliRunner()
    db = tmp_path / "audit.db"
    assert runner.invoke(main, ["db", "upgrade", "--db", str(db)]).exit_code == 0
    for command_line in (["audit", "export"], ["audit", "report"], ["complaints", "export"]):
        out = tmp_path / "no" / "such" / "file"
        result = runner.invoke(main, [*command_line, "--db", str(db), "-o", str(out)])
        assert result.exit_code == 2 and result.output.count("\n") == 1, (command_line, result.output)
        assert f"--out {out}: " in result.output
    assert not (tmp_path / "no").exists()


def test_the_top_level_help_lists_each_command_by_its_own_short_help():
    # `copyright-guard --help` reads SHORT_HELP instead of importing every command module.
    from copyright_guard.cli import LAZY_COMMANDS, SHORT_HELP

    ctx = click.Context(main)
    assert set(SHORT_HELP) == set(LAZY_COMMANDS)
    for name in LAZY_COMMANDS:
        assert SHORT_HELP[name] == main.get_command(ctx, name).get_short_help_str(limit=1000), name


def test_the_top_level_help_imports_no_command_module():
    import subprocess
    import sys

    code = ("import sys\nfrom copyright_guard.cli import main\ntry:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('scrapy', 'fastapi', 'sqlalchemy', 'httpx')))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert "check" in done.stdout and done.stdout.strip().endswith("[]"), done.stdout[-500:]
