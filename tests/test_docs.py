"""The documentation site (mkdocs.yml, docs/) documents every command, policy key, Scrapy setting
and reason code the code has, and the README stays a front door that fits on a screen.

`make test` also runs `mkdocs build --strict`, which fails on a broken link or anchor; these tests
check what a link checker cannot: that nothing the code offers is missing from the pages.
"""

from __future__ import annotations

import re
from pathlib import Path

import click
import pytest

from cli_commands import COMMANDS
from copyright_guard.cli import main
from copyright_guard.core.policy import Policy

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
README = (ROOT / "README.md").read_text()
CLI_PAGE = (DOCS / "cli.md").read_text()
ALL_DOCS = "\n".join(page.read_text() for page in sorted(DOCS.glob("*.md")))
README_MAX_LINES = 250




def test_the_readme_fits_on_a_screen_and_its_links_resolve():
    lines = README.count("\n")
    assert lines <= README_MAX_LINES, f"README.md has {lines} lines; reference text belongs in docs/ (at most {README_MAX_LINES})"
    for target in re.findall(r"\]\(([^)#]+)(?:#[^)]*)?\)", README):
        if "://" not in target:
            assert (ROOT / target).exists(), f"README links to {target}, which does not exist"


def _guide_page(path: str) -> str:
    """The page whose '## copyright-guard ...' block documents ``path``: docs/cli.md, or a topic
    page of docs/ that documents its own commands (with a link from docs/cli.md)."""
    if f"## {path}\n" in CLI_PAGE:
        return CLI_PAGE
    return next((page.read_text() for page in sorted(DOCS.glob("*.md")) if f"\n## {path}\n" in page.read_text()), "")


@pytest.mark.parametrize("path", [path for path, _ in COMMANDS])
def test_every_command_is_in_the_command_guide(path):
    assert _guide_page(path), f"docs/cli.md (or a topic page) lacks a '## {path}' block"


@pytest.mark.parametrize(("path", "command"), COMMANDS, ids=[p for p, _ in COMMANDS])
def test_every_command_help_has_an_example(path, command):
    assert "Example" in (command.help or ""), f"{path} --help has no example"


def test_the_option_reference_is_generated_from_every_command():
    # docs/cli-reference.md holds one mkdocs-click directive for the root command; what it renders
    # (at `mkdocs build`) must reach every command, lazily loaded ones included.
    from mkdocs_click._docs import make_command_docs

    page = (DOCS / "cli-reference.md").read_text()
    assert re.search(r"^::: mkdocs-click\n    :module: copyright_guard\.cli\n    :command: main\n", page, re.M)
    rendered = "\n".join(make_command_docs("copyright-guard", main, style="plain", list_subcommands=True))
    for path, command in COMMANDS:
        assert f"\n{path} [OPTIONS]" in rendered, f"the generated reference lacks {path}"
        for option in (o for p in command.params if isinstance(p, click.Option) for o in p.opts):
            assert option in rendered, f"the generated reference lacks {path} {option}"


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
    page = (DOCS / "policy.md").read_text()
    assert re.search(rf"`{re.escape(name)}`", page), f"docs/policy.md does not document {key}"


def test_every_scrapy_setting_is_documented():
    sources = "\n".join(p.read_text() for p in (ROOT / "src" / "copyright_guard").rglob("*.py"))
    settings = set(re.findall(r"\bCOPYRIGHT_GUARD_[A-Z_]+\b", sources))
    missing = sorted(s for s in settings if f"`{s}`" not in ALL_DOCS)
    assert not missing, f"docs/ lacks: {missing}"
    from copyright_guard.scrapy.settings import DEFAULTS

    missing = sorted(s for s in DEFAULTS if f"| `{s}` |" not in ALL_DOCS)
    assert not missing, f"no settings table in docs/ (docs/scrapy.md 'Settings') has a row for: {missing}"


def _reason_codes() -> set[str]:
    # Codes written literally where a Reason is made, the `<kind>.unreachable` codes of site-wide
    # files, and `<vocabulary>.reserved` for every vocabulary of the purpose table (peer tokens
    # become robots.peer-disallowed).
    from copyright_guard.core import evaluate
    from copyright_guard.core.purposes import TABLE

    sources = "\n".join(p.read_text() for p in (ROOT / "src" / "copyright_guard" / "core").rglob("*.py"))
    codes = set(re.findall(r"(?:Reason\(|_reason\([\w.]+, )\"([a-z][a-z-]*\.[a-z][a-z-]*)\"", sources))
    codes |= {f"{code}.unreachable" for code, _ in evaluate._UNREACHABLE_RULE.values()}
    codes |= {f"{vocabulary}.reserved" for vocabulary in TABLE if vocabulary != "peer-token"}
    return codes


def test_every_reason_code_is_documented():
    codes = _reason_codes()
    assert {"url.invalid", "exclusion.listed", "robots.disallowed", "access.restricted"} <= codes
    page = (DOCS / "decisions.md").read_text()
    missing = sorted(code for code in codes if f"`{code}`" not in page)
    assert not missing, f"docs/decisions.md does not list the reason codes {missing}"
    assert "`<vocabulary>.allowed`" in page and "`<vocabulary>.unreadable`" in page


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


def _guide_block(path: str) -> str:
    match = re.search(rf"^## {re.escape(path)}\n(.*?)(?=^## |^# |\Z)", _guide_page(path), re.S | re.M)
    return match.group(1) if match else ""


@pytest.mark.parametrize(("path", "command"), COMMANDS, ids=[p for p, _ in COMMANDS])
def test_every_option_is_in_its_guide_block_and_every_documented_option_exists(path, command):
    block = _guide_block(path)
    options = {o for p in command.params if isinstance(p, click.Option) for o in (*p.opts, *p.secondary_opts)}
    long_options = {o for o in options if o.startswith("--")} - {"--help"}
    documented = set(re.findall(r"(?<![\w-])(--[a-z][a-z0-9-]*)", block))
    # An option may be documented by its short form (`-o FILE` for --out).
    missing = {o for o in long_options if o not in documented
               and not any(s in block for p in command.params if o in p.opts for s in p.opts if not s.startswith("--"))}
    assert not missing, f"docs/cli.md '## {path}' does not mention {sorted(missing)}"
    # Options shown in the block's examples of other commands (`reviewers add --password-stdin`) are fine.
    examples = "".join(re.findall(r"```sh\n(.*?)```", block, re.S))
    unknown = {o for o in documented - long_options - {"--help"} if o not in examples}
    assert not unknown, f"docs/cli.md '## {path}' documents {sorted(unknown)}, which {path} does not have"



def test_the_modality_table_is_documented():
    from copyright_guard.core.content import MODALITY_TABLE, TEXT_TYPES

    page = (ROOT / "docs" / "proof-of-collection.md").read_text()
    for media in ("text/*", "image/*", "audio/*", "video/*", *sorted(TEXT_TYPES)):
        assert f"`{media}`" in page, f"docs/proof-of-collection.md lacks {media} in the modality table"
    assert len(MODALITY_TABLE) == 7
