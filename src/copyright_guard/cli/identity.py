"""``copyright-guard init`` (a starter policy with your identity) and ``identity keygen | show``."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

import click

from ..core.files import write_new_file
from .errors import CLIError
from .policy_cmd import policy_or_fail, signer_or_fail


def _default_policy_text() -> str:
    return resources.files("copyright_guard.data").joinpath("default.toml").read_text("utf-8")


@click.command("init")
@click.option("--out", "-o", "out", default="policy.toml", show_default=True, type=click.Path(dir_okay=False),
              metavar="FILE", help="Policy file to write (never over an existing file).")
@click.option("--product-token", prompt="Product token (the name robots.txt groups will address, e.g. AcmeBot)",
              help="Your crawler's product token: letters, '-' and '_' (RFC 9309).")
@click.option("--info-url", prompt="URL of the page that describes your crawler",
              help="Page about the crawler, put in the User-Agent (e.g. https://ai.example.com/crawler).")
@click.option("--contact", prompt="Contact email for site owners and rightsholders",
              help="Email address in the User-Agent and the complaint desk's point of contact.")
@click.option("--operator", prompt="Operator name (your organisation)", help="Who runs the crawler.")
@click.option("--name", default="my-policy", show_default=True, help="The policy's name, recorded with each run.")
@click.option("--signing-key", metavar="FILE",
              help="Sign requests (Web Bot Auth) with this Ed25519 key (from `identity keygen`), relative to --out.")
@click.option("--key-directory", metavar="URL",
              help="Where the public key is published (needed with --signing-key), e.g. "
                   "https://ai.example.com/.well-known/http-message-signatures-directory.")
@click.option("--json", "as_json", is_flag=True, help="Print what was written as one JSON object.")
def init(out, product_token, info_url, contact, operator, name, signing_key, key_directory, as_json) -> None:
    """Write a starter policy: the strict default with your crawler's identity filled in.

    `crawl` and `serve` refuse the shipped default's placeholder identity (example.invalid): every
    operator would crawl as the same bot with a contact nobody reads. Options not given are asked for.

    \b
    Example:
      copyright-guard init --out policy.toml --product-token AcmeBot \\
          --info-url https://ai.example.com/crawler --contact copyright@example.com --operator "Acme AI"
    """
    from ..core.identity import IdentityError, starter_policy_text

    if (signing_key is None) != (key_directory is None):
        raise CLIError("--signing-key and --key-directory go together", "give both to sign requests, or neither")
    try:
        text = starter_policy_text(_default_policy_text(), token=product_token.strip(), info_url=info_url.strip(),
                                   contact_email=contact.strip(), operator_name=operator.strip(), name=name)
    except IdentityError as exc:
        raise CLIError(str(exc)) from None
    if signing_key is not None:
        quoted = json.dumps  # a TOML basic string is a JSON string for ASCII text
        text = text.replace("\n[purposes]", f"signing_key = {quoted(signing_key)}\n"
                                              f"key_directory = {quoted(key_directory)}\n\n[purposes]", 1)
    from ..core.policy import PolicyError, parse_policy

    try:
        policy = parse_policy(text, out)  # what is written must load: check before writing
    except PolicyError as exc:
        raise CLIError(str(exc)) from None
    try:
        write_new_file(out, text.encode("utf-8"))
    except FileExistsError:
        raise CLIError(f"{out} already exists", "choose another --out; an existing policy is never replaced") from None
    except OSError as exc:
        raise CLIError(f"cannot write {out}: {exc.strerror or exc}") from None
    if as_json:
        click.echo(json.dumps({"policy": out, "sha256": policy.hash, "product_token": policy.crawler.product_token,
                               "user_agent": policy.crawler.user_agent}, indent=2))
    else:
        click.echo(f"wrote {out} (policy {policy.policy.name!r}, User-Agent {policy.crawler.user_agent!r})")
        click.echo(f"next: copyright-guard policy validate {out}; copyright-guard crawl --policy {out} --url URL")


@click.group("identity")
def identity_group() -> None:
    """The crawler's verifiable identity: Web Bot Auth signing keys.

    \b
    Example:
      copyright-guard identity keygen --out crawler-key.pem
    """


@identity_group.command("keygen")
@click.option("--out", "-o", "out", required=True, type=click.Path(dir_okay=False), metavar="FILE",
              help="Private key file to create (PEM, mode 0600; never over an existing file).")
@click.option("--json", "as_json", is_flag=True, help="Print the key id and public JWK as one JSON object.")
def keygen(out: str, as_json: bool) -> None:
    """Create an Ed25519 signing key for Web Bot Auth and print its key id (JWK thumbprint, RFC 7638).

    Put the file in the policy as `[crawler] signing_key` (relative to the policy file) with
    `[crawler] key_directory`, the URL where `serve` publishes the public key.

    \b
    Example:
      copyright-guard identity keygen --out crawler-key.pem
    """
    from ..webbotauth import SigningKeyError, generate_key_file

    try:
        key = generate_key_file(out)
    except SigningKeyError as exc:
        raise CLIError(str(exc)) from None
    if as_json:
        click.echo(json.dumps({"key_file": out, "key_id": key.key_id, "jwk": key.jwk}, indent=2))
    else:
        click.echo(key.key_id)
        click.echo(f"wrote {out} (Ed25519, mode 0600); set [crawler] signing_key = \"{Path(out).name}\" "
                   "and key_directory in the policy", err=True)


@identity_group.command("show")
@click.option("--policy", "policy_file", type=click.Path(dir_okay=False), help="Policy file (TOML).")
@click.option("--json", "as_json", is_flag=True, help="Print as one JSON object.")
def show(policy_file: str | None, as_json: bool) -> None:
    """Show the identity a policy gives the crawler: token, User-Agent, signing key id and directory.

    \b
    Example:
      copyright-guard identity show --policy policy.toml --json
    """
    from ..core.identity import placeholder_keys

    policy = policy_or_fail(policy_file)
    signer = signer_or_fail(policy)
    data = {"product_token": policy.crawler.product_token, "user_agent": policy.crawler.user_agent,
            "key_id": signer.key_id if signer else None, "key_directory": policy.crawler.key_directory,
            "contact_email": policy.complaints.contact_email, "operator_name": policy.complaints.operator_name,
            "placeholder_keys": placeholder_keys(policy)}
    if as_json:
        click.echo(json.dumps(data, indent=2))
        return
    for key, value in data.items():
        click.echo(f"{key}: {', '.join(value) if isinstance(value, list) else value}")


COMMANDS = [init, identity_group]
