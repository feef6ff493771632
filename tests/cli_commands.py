"""Every `copyright-guard` command, for the tests that hold all of them to a rule (docs, grammar)."""

from __future__ import annotations

import click

from copyright_guard.cli import main


def _walk(group: click.Group, prefix: str):
    ctx = click.Context(group)
    for name in group.list_commands(ctx):
        command = group.get_command(ctx, name)
        path = f"{prefix} {name}"
        if isinstance(command, click.Group):
            yield from _walk(command, path)
        else:
            yield path, command


# (path, command) of every leaf command, e.g. ("copyright-guard audit verify", <Command>), sorted.
COMMANDS = sorted(_walk(main, "copyright-guard"), key=lambda item: item[0])
