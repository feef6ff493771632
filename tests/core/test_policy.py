"""Policy files: the strict default loads, and every kind of mistake is one line naming file and key."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from copyright_guard.core.policy import PolicyError, load_policy, parse_policy

ROOT = Path(__file__).resolve().parents[2]


def test_bundled_default_is_policies_default_toml():
    bundled = load_policy()
    on_disk = load_policy(ROOT / "policies" / "default.toml")
    assert bundled.hash == on_disk.hash
    assert bundled.policy.name == "strict-default"
    assert bundled.purposes.default == "train-ai"
    assert bundled.on_failure.tdmrep_unreachable == "deny"
    assert bundled.cache.max_bytes >= 500 * 1024


def test_default_peer_tokens_include_the_well_known_training_crawlers():
    tokens = load_policy().peer_tokens
    for token in ("gptbot", "ccbot", "google-extended", "claudebot", "applebot-extended"):
        assert token in tokens
    assert "copyrightguardbot" not in tokens  # our own group is matched separately


def test_every_policy_file_in_policies_is_valid():
    for path in (ROOT / "policies").glob("*.toml"):
        load_policy(path)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[crawler]\nproduct_tokn = 'X'\n", "unknown key 'crawler.product_tokn'"),
        ("[sources]\ntdmrep = 'yes'\n", "key 'sources.tdmrep'"),
        ("[cache]\nmax_bytes = 1000\n", "key 'cache.max_bytes'"),
        ("[purposes]\ndefault = 'world-domination'\n", "key 'purposes.default'"),
        ("[crawler]\nproduct_token = 'Bot/1.0'\n", "RFC 9309"),
        ("[crawler]\nproduct_token = 'OtherBot'\nuser_agent = 'GPTBot/1.0'\n", "must contain the product token"),
        ("[[licences]]\ncontract = 'C-1'\n", "missing key 'licences.0.source'"),
        ("not toml at all [", "not valid TOML"),
        ("unknown_section = 1\n", "unknown key 'unknown_section'"),
        # a line break in the User-Agent failed every request (robots.txt "unreachable") instead
        ("[crawler]\nuser_agent = \"x\\r\\nX-Injected: 1 CopyrightGuardBot\"\n", "printable ASCII on one line"),
        ("[crawler]\nuser_agent = 'CopyrightGuardBot/ü'\n", "printable ASCII on one line"),
        # values that passed validation and crashed later (OverflowError in fetch/states.py, in the
        # complaint deadlines) or could not be recorded (PostgreSQL refuses NUL)
        ("[cache]\nretry_initial_seconds = 9999999999999\n",
         "key 'cache.retry_initial_seconds': Input should be less than or equal to 604800"),
        ("[cache]\nretry_max_seconds = 1e300\n", "key 'cache.retry_max_seconds'"),
        ("[cache]\nunreachable_grace_days = 99999999\n", "key 'cache.unreachable_grace_days'"),
        ("[cache]\nmax_bytes = 99999999999999999\n", "key 'cache.max_bytes'"),
        ("[cache]\nretry_initial_seconds = 7200\n", "retry_initial_seconds (7200) is more than retry_max_seconds (3600)"),
        ("[crawl]\nmax_crawl_delay_seconds = 1e12\n", "key 'crawl.max_crawl_delay_seconds'"),
        ("[complaints]\ndecide_within_days = 99999999\n", "key 'complaints.decide_within_days'"),
        ("[complaints]\nacknowledge_within_days = 400\n", "key 'complaints.acknowledge_within_days'"),
        ('[policy]\nname = "x\\u0000y"\n', "key 'policy.name': must be one line without control or format characters"),
        ('[policy]\nname = "evil\\u202etxt"\n', "key 'policy.name'"),
        ('[policy]\ndescription = "a\\u0000b"\n', "key 'policy.description'"),
        ('[complaints]\noperator_name = "A\\nB"\n', "key 'complaints.operator_name'"),
        ("[[licences]]\nsource = 'https://a.example'\ncontract = \"C\\u0000\"\n", "key 'licences.0.contract'"),
        ("[peers]\ntokens = ['bad token']\n", "key 'peers.tokens.0': 'bad token' is not a product token"),
        ("[peers]\nextra = ['AI2Bot']\n", "key 'peers.extra.0': 'AI2Bot' is not a product token"),
        ("[peers]\nexclude = ['']\n", "key 'peers.exclude.0'"),
        ("[exclusions]\nlists = ['bad name!']\n", "key 'exclusions.lists.0': 'bad name!' is not an exclusion list name"),
    ],
)
def test_invalid_policy_is_one_line_naming_file_and_key(text, expected):
    with pytest.raises(PolicyError) as info:
        parse_policy(text, "policies/broken.toml")
    message = str(info.value)
    assert message.startswith("policies/broken.toml: ")
    assert expected in message
    assert "\n" not in message


def test_missing_and_binary_files_are_one_line_errors(tmp_path):
    with pytest.raises(PolicyError, match="cannot read policy file"):
        load_policy(tmp_path / "nope.toml")
    binary = tmp_path / "bin.toml"
    binary.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(PolicyError, match="not UTF-8"):
        load_policy(binary)


def test_a_huge_or_endless_file_is_refused_without_reading_it_all(tmp_path):
    huge = tmp_path / "huge.toml"
    huge.write_bytes(b"# " + b"x" * (2 << 20) + b"\n")
    with pytest.raises(PolicyError, match="larger than 1048576 bytes"):
        load_policy(huge)
    with pytest.raises(PolicyError, match="not a regular file"):
        load_policy("/dev/zero")  # would never end if read whole: a device is refused unread


def test_policy_hash_changes_with_the_text():
    a = parse_policy("[policy]\nname = 'a'\n")
    b = parse_policy("[policy]\nname = 'b'\n")
    assert a.hash != b.hash and len(a.hash) == 64


def test_licence_validity_window():
    policy = parse_policy(
        "[[licences]]\nsource = 'https://news.example'\ncontract = 'C-42'\n"
        "valid_from = 2026-01-01\nvalid_to = 2026-12-31\n"
    )
    from datetime import date

    licence = policy.licences[0]
    assert licence.valid_on(date(2026, 6, 1))
    assert not licence.valid_on(date(2027, 1, 1))


def test_the_policy_purpose_type_lists_exactly_the_model_purposes():
    # policy.Purpose is a Literal (pydantic needs it spelled out); model.PURPOSES is what the rest
    # of the code iterates over. One list in two places: this keeps them the same.
    from typing import get_args

    from copyright_guard.core.model import PURPOSES
    from copyright_guard.core.policy import Purpose

    assert get_args(Purpose) == PURPOSES


def test_free_text_keeps_its_line_breaks_and_sane_bounds_are_accepted():
    policy = parse_policy("[policy]\nname = 'mine'\ndescription = \"line one\\n\\tline two\"\n"
                          "[cache]\nretry_initial_seconds = 604800\nretry_max_seconds = 604800\n"
                          "unreachable_grace_days = 3650\n[complaints]\ndecide_within_days = 365\n"
                          "[peers]\ntokens = ['GPTBot', 'Google-Extended']\n[exclusions]\nlists = ['arcom', 'court-orders.de_1']\n")
    assert policy.policy.description == "line one\n\tline two"
    assert policy.peer_tokens == {"gptbot", "google-extended"}


def test_a_deeply_nested_policy_is_a_one_line_error_naming_the_file(tmp_path):
    # Issue 13: 10,000 nested arrays gave "RecursionError: maximum recursion depth exceeded".
    path = tmp_path / "deep.toml"
    path.write_text("a = " + "[" * 10_000 + "]" * 10_000)
    with pytest.raises(PolicyError, match=rf"^{re.escape(str(path))}: arrays or tables nested too deeply"):
        load_policy(path)
