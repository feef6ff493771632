"""The ``copyright-guard`` command: a thin layer over the library (one function per command)."""

from __future__ import annotations

import importlib

import click

from .. import __version__
from .errors import Group

# Command name -> the module (in this package) whose COMMANDS list holds it. Modules are imported
# only when their command runs (or --help lists them): `check` need not pay for FastAPI or Scrapy.
LAZY_COMMANDS = {
    "audit": "audit",
    "check": "check",
    "complaints": "complaints",
    "crawl": "crawl",
    "db": "db",
    "demo": "crawl",
    "identity": "identity",
    "init": "identity",
    "lists": "lists",
    "policy": "policy_cmd",
    "recheck": "recheck",
    "reviewers": "complaints",
    "serve": "web",
}


class LazyGroup(Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(LAZY_COMMANDS)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        module_name = LAZY_COMMANDS.get(name)
        if module_name is None:
            return None
        module = importlib.import_module(f"{__name__}.{module_name}")
        return next(command for command in module.COMMANDS if command.name == name)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="copyright-guard")
def main() -> None:
    """copyright-guard: crawl the web honouring every machine-readable rights reservation, and prove it.

    \b
    Example:
      copyright-guard check https://example.com/page --json
    """

