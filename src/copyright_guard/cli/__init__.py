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


# What `copyright-guard --help` lists for each command. Asking the commands themselves would import
# every command module - Scrapy, FastAPI, SQLAlchemy - and take seconds; tests/test_cli_conventions.py
# keeps this table equal to each command's own short help.
SHORT_HELP = {
    "audit": "Query, export and verify the audit log of decisions and their evidence.",
    "check": "Decide whether URL may be collected, printing the verdict and every reason with its evidence.",
    "complaints": "Lodge, review and decide rightsholders' complaints (Code of Practice, Measure 1.5).",
    "crawl": "Crawl with a bundled spider, every request and response decided and recorded.",
    "db": "Manage the audit database schema.",
    "demo": "Crawl the bundled local demo site with the default policy and show what was decided.",
    "identity": "The crawler's verifiable identity: Web Bot Auth signing keys.",
    "init": "Write a starter policy: the strict default with your crawler's identity filled in.",
    "lists": "Exclusion lists of infringing websites (Code of Practice Measure 1.2): import, show, diff, remove, impact.",
    "policy": "Validate and show policy files.",
    "recheck": "Decide again on every collected URL; list the items that must now be purged.",
    "reviewers": "Manage reviewer accounts for the complaint portal (passwords stored as argon2id hashes).",
    "serve": "Serve the complaint portal: public pages, reviewer pages, JSON API (/openapi.json).",
}


class LazyGroup(Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(LAZY_COMMANDS)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        # click's own version calls get_command() for every name, importing every module.
        limit = formatter.width - 6 - max(len(name) for name in LAZY_COMMANDS)
        rows = [(name, _shorten(SHORT_HELP.get(name, ""), limit)) for name in self.list_commands(ctx)]
        with formatter.section("Commands"):
            formatter.write_dl(rows)

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


def _shorten(text: str, limit: int) -> str:
    """Click's own shortening of a help line (``make_default_short_help``), for the table above."""
    from click.utils import make_default_short_help

    return make_default_short_help(text, max(limit, 45))
