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


def configured_policy_or_fail(path: str | None) -> Policy:
    """As :func:`policy_or_fail`, and the identity must be the operator's own (``crawl``, ``serve``):
    the shipped placeholder is one line naming the keys to set and ``copyright-guard init``."""
    from ..core.identity import placeholder_problem

    policy = policy_or_fail(path)
    problem = placeholder_problem(policy)
    if problem:
        raise CLIError(problem if path else f"--policy not given: {problem}")
    return policy


def signer_or_fail(policy: Policy):
    """The policy's Web Bot Auth signer (``None`` without ``[crawler] signing_key``); an unusable
    key file is one line."""
    if policy.crawler.signing_key is None:
        return None  # without a key, the signing code (cryptography, RFC 9421) is not even imported
    from ..webbotauth import SigningKeyError, signer_for_policy

    try:
        return signer_for_policy(policy)
    except SigningKeyError as exc:
        raise CLIError(str(exc), "write a key with `copyright-guard identity keygen --out FILE`") from None


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
