"""The identity is configured, not defaulted: the placeholder is refused, `init` writes a starter
policy, the demo runs under a marked demo identity."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import pytest
from click.testing import CliRunner

from copyright_guard.cli import main
from copyright_guard.core.identity import (IdentityError, demo_policy_text, placeholder_keys, placeholder_problem,
                                           starter_policy_text)
from copyright_guard.core.policy import load_policy, parse_policy

DEFAULT_TEXT = resources.files("copyright_guard.data").joinpath("default.toml").read_text("utf-8")
TEST_POLICY = Path(__file__).resolve().parents[1] / "data" / "policies" / "identity.toml"
IDENTITY = {"token": "AcmeBot", "info_url": "https://ai.acme.example/crawler", "contact_email": "copyright@acme.example",
            "operator_name": "Acme AI"}


def test_the_shipped_default_is_a_placeholder_naming_every_key_and_init():
    assert placeholder_keys(load_policy()) == ["[crawler] user_agent", "[complaints] contact_email",
                                               "[complaints] operator_name"]
    problem = placeholder_problem(load_policy())
    assert "\n" not in problem and "copyright-guard init" in problem and "example.invalid" in problem
    assert placeholder_problem(load_policy(TEST_POLICY)) is None


def test_the_starter_policy_is_the_default_with_the_identity_filled_in():
    policy = parse_policy(starter_policy_text(DEFAULT_TEXT, **IDENTITY), "p.toml")
    assert placeholder_problem(policy) is None
    assert policy.crawler.product_token == "AcmeBot"
    assert policy.crawler.user_agent == "AcmeBot/1.0 (+https://ai.acme.example/crawler; copyright@acme.example)"
    assert (policy.complaints.contact_email, policy.complaints.operator_name) == ("copyright@acme.example", "Acme AI")
    default = load_policy()
    for section in ("sources", "on_failure", "cache", "crawl", "purposes", "peers"):  # nothing else changes
        assert getattr(policy, section) == getattr(default, section)


@pytest.mark.parametrize(("field", "value", "words"), [
    ("token", "Acme Bot", "product token"),
    ("info_url", "ftp://x", "information URL"),
    ("contact_email", "nobody", "contact email"),
    ("contact_email", "x@example.invalid", "placeholder"),
    ("operator_name", 'A "quoted"\nname', "operator name"),
])
def test_the_starter_policy_refuses_an_unusable_identity(field, value, words):
    with pytest.raises(IdentityError, match=words):
        starter_policy_text(DEFAULT_TEXT, **{**IDENTITY, field: value})


def test_the_demo_identity_is_marked_and_accepted():
    policy = parse_policy(demo_policy_text(DEFAULT_TEXT), "demo")
    assert placeholder_problem(policy) is None
    assert "DEMO ONLY" in policy.crawler.user_agent and "demo" in policy.complaints.operator_name
    assert policy.sources == load_policy().sources  # the demo still shows the strict default at work


def test_init_writes_a_policy_crawl_accepts_and_never_overwrites(tmp_path):
    out = tmp_path / "policy.toml"
    args = ["init", "--out", str(out), "--product-token", "AcmeBot", "--info-url", IDENTITY["info_url"],
            "--contact", IDENTITY["contact_email"], "--operator", "Acme AI"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    assert placeholder_problem(load_policy(out)) is None
    again = CliRunner().invoke(main, args)
    assert again.exit_code == 2 and "already exists" in again.output
    # Prompts fill in what is not given.
    prompted = CliRunner().invoke(main, ["init", "--out", str(tmp_path / "p2.toml")],
                                  input="AcmeBot\nhttps://ai.acme.example/crawler\nc@acme.example\nAcme AI\n")
    assert prompted.exit_code == 0, prompted.output
    assert load_policy(tmp_path / "p2.toml").complaints.contact_email == "c@acme.example"
    bad = CliRunner().invoke(main, [*args[:2], str(tmp_path / "p3.toml"), *args[3:5], "--info-url", "nope",
                                    *args[7:]])
    assert bad.exit_code == 2 and "information URL" in bad.output and not (tmp_path / "p3.toml").exists()


def test_init_with_a_signing_key_writes_both_signing_keys(tmp_path):
    result = CliRunner().invoke(main, ["init", "--out", str(tmp_path / "p.toml"), "--product-token", "AcmeBot",
                                       "--info-url", IDENTITY["info_url"], "--contact", "c@acme.example",
                                       "--operator", "Acme", "--signing-key", "k.pem", "--key-directory",
                                       "https://ai.acme.example/.well-known/http-message-signatures-directory"])
    assert result.exit_code == 0, result.output
    policy = load_policy(tmp_path / "p.toml")
    assert policy.signing_key_path() == tmp_path / "k.pem"


@pytest.mark.timeout(30)
def test_serve_refuses_the_placeholder_identity_in_one_line(tmp_path):
    result = CliRunner().invoke(main, ["serve", "--port", "0", "--db", f"sqlite:///{tmp_path / 'p.db'}"])
    lines = result.output.strip().splitlines()
    assert result.exit_code == 2 and len(lines) == 1
    assert "[complaints] contact_email" in lines[0] and "copyright-guard init" in lines[0]
