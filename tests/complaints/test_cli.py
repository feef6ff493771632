"""``copyright-guard complaints ...`` and ``reviewers ...`` through click's runner."""

from __future__ import annotations

import csv
import io
import json
import os
import socket
from datetime import datetime, timezone

import pytest
from aiosmtpd.controller import Controller
from click.testing import CliRunner

from copyright_guard.cli import main

# The CLI stamps complaints with the real clock, and references are numbered per calendar year.
FIRST = f"CG-{datetime.now(timezone.utc).year}-0001"


@pytest.fixture
def db(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("COPYRIGHT_GUARD_DB", url)
    monkeypatch.delenv("COPYRIGHT_GUARD_SMTP_HOST", raising=False)
    return url


def run(*args, input=None, code=0):
    result = CliRunner().invoke(main, list(args), input=input)
    assert result.exit_code == code, (result.output, result.exception)
    return result.output


def submit(*extra):
    return json.loads(run("complaints", "submit", "--name", "Ada", "--email", "ada@example.org", "--role", "rightsholder",
                          "--type", "infringing-site-crawled", "--domain", "pirate.example",
                          "--description", "=cmd| the site copies whole novels", "--json", *extra))


def test_submit_list_show(db, tmp_path):
    evidence = tmp_path / "proof.txt"
    evidence.write_text("screenshots attached")
    receipt = submit("--attach", str(evidence))
    assert receipt["reference"] == FIRST and receipt["tracking_token"]
    assert f"{FIRST}  received" in run("complaints", "list")
    shown = run("complaints", "show", FIRST)
    assert "domain: pirate.example" in shown and "proof.txt (text/plain, 20 bytes" in shown
    assert json.loads(run("complaints", "show", FIRST, "--json"))["channel"] == "cli"


def test_invalid_submission_is_one_line(db):
    output = run("complaints", "submit", "--name", "Ada", "--email", "nope", "--role", "rightsholder",
                 "--type", "other", "--description", "short", code=2)
    assert output.strip().count("\n") == 0 and "email: Enter an email address" in output and output.count("; ") == 2  # every problem, in one line


SUBMIT = ("complaints", "submit", "--name", "Ada", "--email", "ada@example.org", "--role", "rightsholder",
          "--type", "other", "--url", "https://pirate.example/novel")


@pytest.mark.timeout(30)
def test_endless_or_binary_input_files_are_one_line_errors(db, tmp_path):
    # Big files are read only up to their limits; devices (/dev/zero never ends) are not read at all.
    big = tmp_path / "big.txt"
    big.write_bytes("é".encode() * 200_000)
    output = run(*SUBMIT, "--description-file", str(big), code=2)
    assert "20000 characters or fewer" in output
    big.write_bytes(b"x" * (6 * 1024 * 1024))
    output = run(*SUBMIT, "--description", "the site copies whole novels", "--attach", str(big), code=2)
    assert "larger than 5 MiB" in output
    output = run(*SUBMIT, "--description-file", "/dev/zero", code=2)
    assert output.strip().count("\n") == 0 and "--description-file /dev/zero: not a regular file (a character device)" in output
    output = run(*SUBMIT, "--description", "the site copies whole novels", "--attach", "/dev/zero", code=2)
    assert "--attach /dev/zero: not a regular file (a character device)" in output
    latin1 = tmp_path / "letter.txt"
    latin1.write_bytes("the site copies whole novels, caf\xe9".encode("latin-1"))
    output = run(*SUBMIT, "--description-file", str(latin1), code=2)
    assert output.strip().count("\n") == 0 and f"--description-file {latin1}: not UTF-8 text (byte 0xe9 at offset 33)" in output


@pytest.mark.timeout(30)
def test_a_fifo_or_missing_file_is_one_line_never_a_hang(db, tmp_path):
    fifo = tmp_path / "evidence.fifo"
    os.mkfifo(fifo)  # no writer: a plain open() waits forever
    output = run(*SUBMIT, "--description-file", str(fifo), code=2)
    assert output.strip().count("\n") == 0 and f"--description-file {fifo}: not a regular file (a FIFO)" in output
    output = run(*SUBMIT, "--description", "the site copies whole novels", "--attach", str(fifo), code=2)
    assert output.strip().count("\n") == 0 and f"--attach {fifo}: not a regular file (a FIFO)" in output
    output = run(*SUBMIT, "--description", "the site copies whole novels", "--attach", str(tmp_path / "nope.pdf"), code=2)
    assert output.strip().count("\n") == 0 and "--attach" in output and "nope.pdf: cannot read attachment: No such file" in output
    assert "no audit database here" in run("complaints", "list", code=2)  # nothing was stored


def test_description_and_description_file_are_exclusive(db, tmp_path):
    text = tmp_path / "complaint.txt"
    text.write_bytes(b"the site copies whole novels\r\nsince 2025")
    output = run(*SUBMIT, "--description", "the site copies whole novels", "--description-file", str(text), code=2)
    assert output.strip().count("\n") == 0 and "--description and --description-file were both given" in output
    run(*SUBMIT, "--description-file", str(text))
    assert json.loads(run("complaints", "show", FIRST, "--json"))["description"] == "the site copies whole novels\nsince 2025"
    run(*SUBMIT, "--description-file", "-", input="from stdin: the site copies whole novels\n")
    assert "from stdin" in json.loads(run("complaints", "show", FIRST.replace("-0001", "-0002"), "--json"))["description"]


def test_whole_workflow_with_exclusion_and_affected_items(db):
    submit()
    run("complaints", "ack", FIRST, "--by", "alice", "--why", "receipt confirmed")
    run("complaints", "review", FIRST, "--by", "alice", "--why", "checking")
    output = run("complaints", "decide", FIRST, "upheld", "--by", "alice", "--why", "court order",
                 "--exclude-domain", "pirate.example", "--affected")
    assert "is now upheld" in output and f"complaint-{FIRST} version 1" in output
    assert "0 already-collected item(s) to purge" in output
    run("complaints", "close", FIRST, "--by", "alice", "--why", "done")
    history = json.loads(run("complaints", "show", FIRST, "--json"))["events"]
    assert [e["what"] for e in history if e["kind"] == "status"][-1] == "upheld -> closed"
    assert {e["actor"] for e in history if e["kind"] in ("status", "action")} == {"ada@example.org", "alice"}


def test_actor_from_the_environment_and_refusals(db, monkeypatch):
    submit()
    monkeypatch.setenv("COPYRIGHT_GUARD_REVIEWER", "bob")
    run("complaints", "ack", FIRST, "--why", "ok")
    assert "Missing option '--why'" in run("complaints", "review", FIRST, code=2)
    assert "it can move to under_review, not closed" in run("complaints", "close", FIRST, "--why", "x", code=2)
    assert "go with 'upheld' only" in run("complaints", "decide", FIRST, "rejected", "--why", "x",
                                         "--exclude-domain", "a.example", code=2)
    assert "no complaint 'CG-2026-0404'" in run("complaints", "show", "CG-2026-0404", code=2)


def test_export_guards_csv(db, tmp_path):
    submit()
    out = tmp_path / "c.csv"
    run("complaints", "export", "--format", "csv", "--out", str(out))
    (row,) = list(csv.DictReader(io.StringIO(out.read_text())))
    assert row["description"].startswith("'=cmd|")
    assert json.loads(run("complaints", "export", "--format", "json"))[0]["reference"] == FIRST


def test_overdue_and_stats(db):
    assert "no audit database here" in run("complaints", "overdue", code=2)
    submit()
    assert "nothing overdue" in run("complaints", "overdue")
    stats = json.loads(run("complaints", "stats", "--json", "--period", "year"))
    assert stats[0]["received"] == 1 and stats[0]["decided"] == 0
    assert "median days" in run("complaints", "stats")


def test_outbox_send_through_smtp(db, monkeypatch):
    submit()
    run("complaints", "ack", FIRST, "--by", "alice", "--why", "ok")
    assert "2 message(s) waiting" in run("complaints", "outbox")  # the receipt and the acknowledgement
    assert "no SMTP server configured" in run("complaints", "outbox", "--send", code=2)
    received = []

    class Handler:
        async def handle_DATA(self, server, session, envelope):
            received.append(envelope.rcpt_tos)
            return "250 OK"

    with socket.socket() as sock:
        sock.bind(("127.0.0.26", 0))
        port = sock.getsockname()[1]
    controller = Controller(Handler(), hostname="127.0.0.26", port=port)
    controller.start()
    try:
        output = run("complaints", "outbox", "--send", "--smtp-host", "127.0.0.26", "--smtp-port", str(port),
                     "--smtp-security", "none")
    finally:
        controller.stop()
    assert "sent 2, failed 0" in output and "0 message(s) waiting" in output
    assert received == [["ada@example.org"], ["ada@example.org"]]


def test_reviewers_add_list_disable(db, monkeypatch):
    monkeypatch.setattr("copyright_guard.cli.complaints._terminal_available", lambda: True)  # the runner types
    assert "reviewer alice added" in run("reviewers", "add", "Alice", "--password-stdin", input="a long password!\n")
    assert "already exists" in run("reviewers", "add", "alice", "--password-stdin", input="a long password!\n", code=2)
    assert "too short" in run("reviewers", "add", "bob", "--password-stdin", input="short\n", code=2)
    assert "reviewer bob added" in run("reviewers", "add", "bob", input="a long password!\na long password!\n")
    assert [r["username"] for r in json.loads(run("reviewers", "list", "--json"))] == ["alice", "bob"]
    run("reviewers", "disable", "alice")
    assert "alice                    disabled" in run("reviewers", "list")
    assert "no reviewer named 'carol'" in run("reviewers", "disable", "carol", code=2)


def _under_review():
    submit()
    run("complaints", "ack", FIRST, "--by", "alice", "--why", "ok")
    run("complaints", "review", FIRST, "--by", "alice", "--why", "ok")


def test_a_refused_exclusion_refuses_the_decision_so_it_can_be_retried(db):
    # It used to record "upheld" (and queue its email) and only then refuse the public suffix: the
    # exclusion could never be added with this command, which refuses to decide twice.
    _under_review()
    output = run("complaints", "decide", FIRST, "upheld", "--by", "alice", "--why", "ok",
                 "--exclude-domain", "pirate.example", "--exclude-domain", "co.uk", code=2)
    assert output.strip().count("\n") == 0 and "is now" not in output
    assert "--exclude-domain: 'co.uk'" in output and "public suffix" in output and "nothing was recorded" in output
    output = run("complaints", "decide", FIRST, "upheld", "--by", "alice", "--why", "ok",
                 "--exclude-host", "*.pirate.example", code=2)
    assert "--exclude-host: '*.pirate.example' is a wildcard" in output
    shown = json.loads(run("complaints", "show", FIRST, "--json"))
    assert shown["status"] == "under_review" and shown["decided_at"] is None
    assert "2 message(s) waiting" in run("complaints", "outbox")  # the receipt and the acknowledgement only
    output = run("complaints", "decide", FIRST, "upheld", "--by", "alice", "--why", "ok",
                 "--exclude-domain", "pirate.example")
    assert "is now upheld" in output and f"complaint-{FIRST} version 1: added domain pirate.example" in output


def test_duplicate_of_goes_with_duplicate_only(db):
    _under_review()
    for value in (FIRST, ""):
        output = run("complaints", "decide", FIRST, "upheld", "--by", "alice", "--why", "ok", "--duplicate-of", value, code=2)
        assert output.strip().count("\n") == 0 and "--duplicate-of goes with 'duplicate' only, not 'upheld'" in output
    assert json.loads(run("complaints", "show", FIRST, "--json"))["status"] == "under_review"


def test_smtp_settings_are_checked_before_anything_is_sent(db, monkeypatch, tmp_path):
    submit()
    run("complaints", "ack", FIRST, "--by", "alice", "--why", "ok")
    missing = tmp_path / "nonexist.pem"
    # It used to answer "sent 0, failed 1", exit 0, each message with a bare FileNotFoundError.
    output = run("complaints", "outbox", "--send", "--smtp-host", "127.0.0.6", "--smtp-port", "2525",
                 "--smtp-ca-file", str(missing), code=2)
    assert output.strip().count("\n") == 0 and f"--smtp-ca-file: {missing}: cannot read CA file" in output
    assert "sent" not in output
    waiting = json.loads(run("complaints", "outbox", "--json"))
    assert [m["kind"] for m in waiting] == ["receipt", "acknowledgement"]
    assert all(m["attempts"] == 0 and not m["last_error"] for m in waiting)
    # Checked with or without a host, from an option or the environment
    assert "--smtp-security 'bogus': not one of" in run("complaints", "outbox", "--smtp-security", "bogus", code=2)
    monkeypatch.setenv("COPYRIGHT_GUARD_SMTP_CA_FILE", str(missing))
    assert f"$COPYRIGHT_GUARD_SMTP_CA_FILE: {missing}" in run("complaints", "outbox", code=2)


def test_reviewers_add_without_a_terminal_is_one_line(db, monkeypatch):
    monkeypatch.setattr("copyright_guard.cli.complaints._terminal_available", lambda: False)
    output = run("reviewers", "add", "ivan", input="a long password!\na long password!\n", code=2)
    assert output.strip() == "Error: no terminal to read the password from (hint: pipe it in with --password-stdin)"


@pytest.mark.timeout(60)
def test_reviewers_add_without_a_terminal_as_a_real_process(tmp_path):
    # No controlling terminal (a new session) and stdin from /dev/null: getpass used to warn, fall
    # back to stdin, and end in "Aborted!" with status 1.
    import subprocess
    import sys
    from pathlib import Path

    env = {k: v for k, v in os.environ.items() if not k.startswith("COPYRIGHT_GUARD_")}
    result = subprocess.run([str(Path(sys.executable).with_name("copyright-guard")), "reviewers", "add", "ivan",
                             "--db", f"sqlite:///{tmp_path / 'r.db'}"], stdin=subprocess.DEVNULL, capture_output=True,
                            text=True, timeout=50, env=env, start_new_session=True)
    assert result.returncode == 2, result
    assert result.stderr.strip() == "Error: no terminal to read the password from (hint: pipe it in with --password-stdin)"
    assert result.stdout == ""


def test_password_stdin_that_is_not_utf8_is_one_line(db):
    output = run("reviewers", "add", "ivan", "--password-stdin", input=b"caf\xe9 long password\n", code=2)
    assert output.strip().count("\n") == 0
    assert "--password-stdin: the password is not UTF-8 text (byte 0xe9 at offset 3)" in output
    output = run("reviewers", "add", "ivan", "--password-stdin", input="\u00e9" * 5000, code=2)
    assert "longer than 4096 characters" in output
    assert "reviewer ivan added" in run("reviewers", "add", "ivan", "--password-stdin", input="caf\u00e9 long password\r\n")


@pytest.mark.timeout(30)
def test_export_out_that_cannot_be_written_is_one_line_naming_it(db, tmp_path):
    submit()
    fifo = tmp_path / "export.fifo"
    os.mkfifo(fifo)
    for out, problem in (("/dev/full", "No space left on device"), (str(tmp_path / "no" / "c.csv"), "No such file"),
                         (str(tmp_path), "Is a directory"), (str(fifo), "not a regular file (a FIFO)")):
        if out == "/dev/full" and not os.path.exists(out):
            continue
        output = run("complaints", "export", "--out", out, code=2)
        assert output.strip().count("\n") == 0 and f"--out {out}: " in output and problem in output, output
