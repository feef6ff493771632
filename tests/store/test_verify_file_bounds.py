"""``audit verify --file`` reads bounded lines: a source without newlines (/dev/zero, a blob) is refused, not hung on."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from copyright_guard.cli import main
from copyright_guard.store.export import MAX_LINE_CHARS, REQUIRED_COLUMNS, bounded_lines

CLI = Path(sys.executable).with_name("copyright-guard")


@pytest.mark.skipif(not os.path.exists("/dev/zero"), reason="needs /dev/zero")
def test_verify_of_dev_zero_ends_with_one_line_naming_the_file():
    # A subprocess with a timeout: before the fix this read forever into memory. A device is no
    # export: refused before a byte is read (core/files.py).
    result = subprocess.run([str(CLI), "audit", "verify", "--file", "/dev/zero"],
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.strip().splitlines() == [
        "Error: /dev/zero: not a regular file (a character device); give the path of an export file"]


def test_verify_of_a_blob_without_newlines_names_the_file_and_line(tmp_path):
    blob = tmp_path / "blob.jsonl"
    blob.write_bytes(b"\0" * (MAX_LINE_CHARS + 10))
    result = CliRunner().invoke(main, ["audit", "verify", "--file", str(blob)])
    assert result.exit_code == 2
    assert result.output.strip().splitlines() == [
        f"Error: {blob}: not a copyright-guard export: line 1 is longer than {MAX_LINE_CHARS} characters, "
        "so it is no exported row (hint: give a file written by copyright-guard audit export)"]


@pytest.mark.parametrize("suffix", [".jsonl", ".csv"])
def test_verify_of_a_file_with_one_overlong_line_names_it(tmp_path, suffix):
    path = tmp_path / f"export{suffix}"
    path.write_text("x" * (MAX_LINE_CHARS + 10) + "\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["audit", "verify", "--file", str(path)])
    assert result.exit_code == 2
    assert "Traceback" not in result.output
    assert f"{path}: not a copyright-guard export: " in result.output and "line 1" in result.output


def test_verify_of_a_long_csv_field_under_the_line_bound_is_one_line(tmp_path):
    # csv's own field_size_limit (128 KiB) trips before our bound: still an error, not a traceback.
    path = tmp_path / "export.csv"
    path.write_text(",".join(REQUIRED_COLUMNS) + "\n" + "x" * 200_000 + ",r\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["audit", "verify", "--file", str(path)])
    assert result.exit_code == 2
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert "not a copyright-guard export: field larger than field limit" in result.output


@pytest.mark.parametrize(("suffix", "content", "where"), [
    (".csv", "seqno,url,verdict\n1,https://example.com/,allow\n", "the CSV header"),
    (".jsonl", '{"url": "https://example.com/", "seq": 1}\n', "line 1"),
])
def test_verify_of_a_foreign_file_names_every_missing_column(tmp_path, suffix, content, where):
    path = tmp_path / f"other{suffix}"
    path.write_text(content, encoding="utf-8")
    result = CliRunner().invoke(main, ["audit", "verify", "--file", str(path)])
    assert result.exit_code == 2
    message = result.output.strip()
    assert message.count("\n") == 0 and f"{where} lacks the columns " in message
    missing = [name for name in REQUIRED_COLUMNS if f"{name}" not in content.split("\n")[0]]
    assert all(name in message for name in missing) and "row_hash" in message


def test_bounded_lines_keeps_a_line_of_exactly_the_limit_and_refuses_one_more():
    assert list(bounded_lines(io.StringIO("abcd\nab\n"), limit=4)) == ["abcd\n", "ab\n"]
    assert list(bounded_lines(io.StringIO("abcd"), limit=4)) == ["abcd"]
    lines = bounded_lines(io.StringIO("ok\nabcde\n"), limit=4)
    assert next(lines) == "ok\n"
    with pytest.raises(ValueError, match="^line 2 is longer than 4 characters"):
        next(lines)
