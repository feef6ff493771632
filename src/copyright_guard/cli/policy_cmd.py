"""``copyright-guard policy validate | show``."""

from __future__ import annotations

import json

import click

from ..core.policy import Policy, PolicyError, load_policy
from .errors import CLIError


def policy_or_fail(path: str | None) -> Policy:
    """The policy at ``path`` (``None``: the bundled default); a bad file is one CLI error line (exit 2)."""
    try:
        return load_policy(path)
    except PolicyError as exc:
        raise CLIError(str(exc), "see docs/policy.md for every key") from None


@click.group("policy")
def policy_group() -> None:
    """Validate and show policy files.

    \b
    Example:
      copyright-guard policy validate policies/default.toml
    """


@policy_group.command("validate")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Print the result as one JSON object.")
def validate(file: str, as_json: bool) -> None:
    """Check a policy file; print its hash, or one line naming the key that is wrong (exit 2).

    \b
    Example:
      copyright-guard policy validate policies/default.toml
    """
    policy = policy_or_fail(file)
    if as_json:
        click.echo(json.dumps({"file": file, "valid": True, "name": policy.policy.name, "sha256": policy.hash}))
        return
    click.echo(f"{file}: valid policy {policy.policy.name!r} (sha256 {policy.hash})")


@policy_group.command("show")
@click.argument("file", required=False, type=click.Path(dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Print the effective policy as JSON.")
def show(file: str | None, as_json: bool) -> None:
    """Print the effective policy (defaults filled in); without FILE, the bundled strict default.

    \b
    Example:
      copyright-guard policy show --json
    """
    policy = policy_or_fail(file)
    data = policy.model_dump(mode="json")
    data["hash"] = policy.hash
    data["peer_tokens"] = sorted(policy.peer_tokens)
    if as_json:
        click.echo(json.dumps(data, indent=2, sort_keys=True))
        return
    click.echo(f"# policy {policy.policy.name!r} from {policy.source_name}, sha256 {policy.hash}")
    for section, values in data.items():
        if isinstance(values, dict):
            click.echo(f"[{section}]")
            for key, value in values.items():
                click.echo(f"  {key} = {json.dumps(value)}")
        else:
            click.echo(f"{section} = {json.dumps(values)}")


COMMANDS = [policy_group]
