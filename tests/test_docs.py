"""The README and docs/ document every command, every policy key and every Scrapy setting the code has."""

from __future__ import annotations

import re
from pathlib import Path

import click
import pytest

from copyright_guard.cli import main
from copyright_guard.core.policy import Policy

ROOT = Path(__file__).resolve().parents[1]
# The README and the pages under docs/ (reference material moves there).
README = "\n".join(p.read_text() for p in (ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))))


def _commands(group: click.Group, prefix: str = "copyright-guard"):
    ctx = click.Context(group)
    for name in group.list_commands(ctx):
        command = group.get_command(ctx, name)
        path = f"{prefix} {name}"
        if isinstance(command, click.Group):
            yield from _commands(command, path)
        else:
            yield path, command


COMMANDS = sorted(_commands(main), key=lambda item: item[0])


@pytest.mark.parametrize("path", [path for path, _ in COMMANDS])
def test_every_command_is_in_the_cli_reference(path):
    assert f"### {path}" in README, f"README 'CLI reference' lacks a '### {path}' block"


@pytest.mark.parametrize(("path", "command"), COMMANDS, ids=[p for p, _ in COMMANDS])
def test_every_command_help_has_an_example(path, command):
    assert "Example" in (command.help or ""), f"{path} --help has no example"


def _policy_keys():
    for section, field in Policy.model_fields.items():
        if field.exclude:
            continue
        annotation = field.annotation
        model = getattr(annotation, "__args__", (annotation,))[0] if section == "licences" else annotation
        for key in getattr(model, "model_fields", {}):
            yield f"{section}.{key}"


@pytest.mark.parametrize("key", sorted(_policy_keys()))
def test_every_policy_key_is_documented(key):
    section, name = key.split(".")
    assert re.search(rf"`{re.escape(name)}`", README), f"README 'Policy files' does not document {key}"


def test_every_scrapy_setting_is_documented():
    sources = "\n".join(p.read_text() for p in (ROOT / "src" / "copyright_guard").rglob("*.py"))
    settings = set(re.findall(r"\bCOPYRIGHT_GUARD_[A-Z_]+\b", sources))
    missing = sorted(s for s in settings if f"`{s}`" not in README)
    assert not missing, f"README lacks: {missing}"


def test_every_command_module_is_reachable():
    # Every COMMANDS entry of every cli module is wired into the lazy command table.
    import importlib
    import pkgutil

    import copyright_guard.cli as cli

    wired = set(cli.LAZY_COMMANDS)
    for info in pkgutil.iter_modules(cli.__path__):
        module = importlib.import_module(f"copyright_guard.cli.{info.name}")
        for command in getattr(module, "COMMANDS", []):
            assert command.name in wired, f"cli/{info.name}.py command {command.name!r} is not in LAZY_COMMANDS"


def _readme_block(path: str) -> str:
    match = re.search(rf"^### {re.escape(path)}\n(.*?)(?=^### |^## )", README, re.S | re.M)
    return match.group(1) if match else ""


@pytest.mark.parametrize(("path", "command"), COMMANDS, ids=[p for p, _ in COMMANDS])
def test_every_option_is_in_its_readme_block_and_every_documented_option_exists(path, command):
    block = _readme_block(path)
    options = {o for p in command.params if isinstance(p, click.Option) for o in (*p.opts, *p.secondary_opts)}
    long_options = {o for o in options if o.startswith("--")} - {"--help"}
    documented = set(re.findall(r"(?<![\w-])(--[a-z][a-z0-9-]*)", block))
    # An option may be documented by its short form (`-o FILE` for --output).
    missing = {o for o in long_options if o not in documented
               and not any(s in block for p in command.params if o in p.opts for s in p.opts if not s.startswith("--"))}
    assert not missing, f"README '### {path}' does not mention {sorted(missing)}"
    # Options shown in the block's examples of other commands (`reviewers add --password-stdin`) are fine.
    examples = "".join(re.findall(r"```sh\n(.*?)```", block, re.S))
    unknown = {o for o in documented - long_options - {"--help"} if o not in examples}
    assert not unknown, f"README '### {path}' documents {sorted(unknown)}, which {path} does not have"
