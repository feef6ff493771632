"""``copyright-guard lists ...`` as an operator uses it: import, show, diff, remove, impact."""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from click.testing import CliRunner

from copyright_guard.cli import main
from copyright_guard.core.model import Decision, Stage, Verdict
from copyright_guard.core.policy import load_policy
from copyright_guard.core.urls import parse_target
from copyright_guard.store.db import connect
from copyright_guard.store.runs import start_run
from copyright_guard.store.writer import DecisionWriter

EXAMPLE = Path(__file__).resolve().parents[2] / "policies" / "exclusion-lists" / "example.csv"


@pytest.fixture
def db(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'audit.db'}"
    monkeypatch.setenv("COPYRIGHT_GUARD_DB", url)
    return url


def run(*args: str, ok: bool = True):
    result = CliRunner().invoke(main, list(args))
    if ok:
        assert result.exit_code == 0, result.output
    return result


def fail(*args: str) -> str:
    result = run(*args, ok=False)
    assert result.exit_code == 2, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in result.output, result.output
    return lines[0]


def test_import_show_and_reimport(db):
    out = run("lists", "import", str(EXAMPLE), "--name", "example").output
    assert "exclusion list 'example' version 1: 6 entries (the first version)" in out
    assert "same entries as exclusion list 'example' version 1; no new version" in run("lists", "import", str(EXAMPLE), "--name", "example").output
    listing = run("lists", "show").output
    assert "example" in listing and "active" in listing
    shown = run("lists", "show", "example").output
    assert "pirate-streams.example" in shown and "Fictional Media Authority" in shown and "import version 1" in shown
    data = json.loads(run("lists", "show", "example", "--json").output)
    assert data["version"]["version"] == 1 and len(data["entries"]) == 6


def test_plain_text_import_with_defaults_then_diff_and_remove(db, tmp_path):
    order = tmp_path / "order.txt"
    order.write_text("bad.example\n")
    message = fail("lists", "import", str(order), "--name", "order")
    assert "no 'authority' field" in message and "--authority" in message
    run("lists", "import", str(order), "--name", "order", "--authority", "Tribunal judiciaire de Paris",
        "--jurisdiction", "FR", "--reference", "RG 25/01234", "--listed-at", "2025-05-01")
    order.write_text("bad.example\nmirror.example\n")
    out = run("lists", "import", str(order), "--name", "order", "--authority", "Tribunal judiciaire de Paris",
              "--reference", "RG 25/09999").output
    assert "version 2: 2 entries (+1 -0 ~1 against version 1)" in out
    diff = run("lists", "diff", "order").output
    assert "+ mirror.example (domain) Tribunal judiciaire de Paris; RG 25/09999" in diff
    assert "~ bad.example: jurisdiction 'FR' -> (none); reference 'RG 25/01234' -> 'RG 25/09999'; listed_at 2025-05-01 -> (none)" in diff
    assert json.loads(run("lists", "diff", "order", "1", "2", "--json").output)["added"][0]["entry"] == "mirror.example"
    assert "no longer applies" in run("lists", "remove", "order", "--reason", "order lifted").output
    assert "REMOVED" in run("lists", "show", "order").output
    assert "already removed" in fail("lists", "remove", "order")


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"domain,authority,reference\nbad.example,A,1\nBAD.example,A,2\n", "list.csv line 3: duplicate entry bad.example (also on line 2)"),
        (b"domain,reference\nbad.example,1\n", "list.csv line 1: missing 'authority'"),
        (b"domain,authority,reference\nb\xffd.example,A,1\n", "list.csv line 2: not UTF-8 text"),
        (b"domain,authority,reference\n.example,A,1\n", "list.csv line 2: invalid host name"),
        # misleading input: a range imported as its first address; a bidi override printed raw
        (b"domain,authority,reference\n127.0.0.1/8,A,R\n",
         "list.csv line 2: '127.0.0.1/8' is an IP address range (CIDR): ranges are not supported; list each address"),
        ("domain,authority,reference\nbad.example,\u202eArcom,R\n".encode(),
         "list.csv line 2: authority contains invisible format characters"),
    ],
)
def test_malformed_files_are_one_line_errors(db, tmp_path, content, expected):
    path = tmp_path / "list.csv"
    path.write_bytes(content)
    assert expected in fail("lists", "import", str(path), "--name", "x")


def test_huge_files_are_refused_before_reading(db, tmp_path, monkeypatch):
    from copyright_guard.cli import lists as cli_lists

    monkeypatch.setattr(cli_lists, "MAX_BYTES", 100)
    path = tmp_path / "big.csv"
    path.write_bytes(b"domain,authority,reference\n" + b"x.example,A,1\n" * 20)
    assert "more than the 100-byte limit" in fail("lists", "import", str(path), "--name", "big")


def test_unknown_names_versions_and_bad_arguments(db):
    run("lists", "import", str(EXAMPLE), "--name", "example")
    assert "no exclusion list named 'nope' (lists: example)" in fail("lists", "show", "nope")
    assert "has no version 3" in fail("lists", "show", "example", "--version", "3")
    assert "give both versions" in fail("lists", "diff", "example", "1")
    assert "list name" in fail("lists", "import", str(EXAMPLE), "--name", "no spaces please")


@pytest.mark.parametrize("option", ["--authority", "--reference", "--jurisdiction"])
def test_format_characters_in_default_fields_are_refused(db, tmp_path, option):
    order = tmp_path / "order.txt"
    order.write_text("bad.example\n")
    args = {"--authority": "A", "--reference": "R", "--jurisdiction": "FR"}
    args[option] = "Ar\u202ecom"
    flat = [part for pair in args.items() for part in pair]
    field = option.removeprefix("--")
    assert f"order.txt line 1: {field} contains invisible format characters" in fail("lists", "import", str(order), "--name", "x", *flat)


def test_a_listed_at_out_of_range_is_a_usage_error_not_an_overflow(db, tmp_path):
    order = tmp_path / "order.txt"
    order.write_text("bad.example\n")
    result = run("lists", "import", str(order), "--name", "x", "--authority", "A", "--reference", "R",
                 "--listed-at", "9999-12-31T23:59:59-23:00", ok=False)
    assert result.exit_code == 2
    assert "'9999-12-31T23:59:59-23:00' is out of range (in UTC it is after the year 9999)" in result.output
    assert "OverflowError" not in result.output


@pytest.mark.parametrize("version", ["2147483648", "99999999999999999999"])
def test_versions_beyond_any_database_integer_are_usage_errors(db, version):
    run("lists", "import", str(EXAMPLE), "--name", "example")
    for args in (["show", "example", "--version", version], ["impact", "example", "--version", version],
                 ["diff", "example", "1", version]):
        result = run("lists", *args, ok=False)
        assert result.exit_code == 2, result.output
        assert "is not in the range 1<=x<=2147483647" in result.output and "OverflowError" not in result.output


@pytest.mark.parametrize("reason", ["superseded\nimport version 9: forged", "\x1b[2Jcleared", "\u202ereversed"])
def test_a_removal_reason_must_be_one_line_of_text(db, reason):
    run("lists", "import", str(EXAMPLE), "--name", "example")
    assert "--reason: contains line breaks, control or format characters" in fail("lists", "remove", "example", "--reason", reason)
    assert "active" in run("lists", "show").output  # nothing was removed


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
def test_impact_to_a_full_disk_is_one_line_naming_the_path(db):
    run("lists", "import", str(EXAMPLE), "--name", "example")
    assert fail("lists", "impact", "example", "--out", "/dev/full") == \
        "Error: --out /dev/full: cannot write: No space left on device (hint: the file is incomplete)"


def test_impact_exports_collected_urls_as_csv_and_jsonl(db, tmp_path):
    engine = connect(db)
    policy = load_policy()
    now = datetime.now(timezone.utc) - timedelta(days=1)
    writer = DecisionWriter(engine, start_run(engine, policy, now=now))
    for url in ("https://www.pirate-streams.example/film", "https://good.example/", "https://former-pirate.example/x"):
        target = parse_target(url)
        writer.submit(Decision(url, target.origin, target.registered_domain, Stage.POST_FETCH, "train-ai",
                               Verdict.ALLOW, (), policy.hash, now))
    writer.close()
    engine.dispose()
    run("lists", "import", str(EXAMPLE), "--name", "example")
    result = run("lists", "impact", "example")
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    # former-pirate.example was delisted in 2025: nothing to purge for it.
    assert [(r["url"], r["entry"], r["version"]) for r in rows] == [("https://www.pirate-streams.example/film", "pirate-streams.example", "1")]
    assert "1 collected item now excluded by list 'example'" in result.stderr
    out = tmp_path / "purge.jsonl"
    run("lists", "impact", "example", "--format", "jsonl", "--out", str(out))
    (record,) = [json.loads(line) for line in out.read_text().splitlines()]
    assert record["authority"] == "Fictional Media Authority" and record["decision_id"]


def test_import_from_standard_input_and_list_all_as_json(db):
    result = CliRunner().invoke(main, ["lists", "import", "-", "--name", "piped", "--authority", "Arcom", "--reference", "2025-17"],
                                input="bad.example\n# comment\nmirror.example\n")
    assert result.exit_code == 0, result.output
    assert "imported <stdin> as exclusion list 'piped' version 1: 2 entries" in result.output
    (listed,) = json.loads(run("lists", "show", "--json").output)
    assert (listed["name"], listed["active"], listed["latest"]["entry_count"], listed["latest"]["source"]) == ("piped", True, 2, "<stdin>")
