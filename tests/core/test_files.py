"""core/files.py: the one way a user-named input file is opened - regular files only, never a hang."""

from __future__ import annotations

import os
import socket

import pytest

from copyright_guard.core.files import InputFileError, open_input_file, read_input_file

pytestmark = pytest.mark.timeout(30)


def test_a_regular_file_is_read_up_to_one_byte_past_the_limit(tmp_path):
    path = tmp_path / "policy.toml"
    path.write_bytes(b"0123456789")
    assert read_input_file(path, 100) == b"0123456789"
    assert read_input_file(path, 4) == b"01234"  # the caller sees it is over the limit
    with open_input_file(str(path)) as handle:
        assert handle.read() == b"0123456789"


def test_a_fifo_with_no_writer_is_refused_at_once(tmp_path):
    fifo = tmp_path / "ff"
    os.mkfifo(fifo)
    with pytest.raises(InputFileError, match=r"ff: not a regular file \(a FIFO\); give the path of a seed file$"):
        read_input_file(fifo, 10, "seed file")


@pytest.mark.skipif(not os.path.exists("/dev/zero"), reason="needs /dev/zero")
def test_a_device_is_refused_without_reading():
    with pytest.raises(InputFileError, match=r"^/dev/zero: not a regular file \(a character device\)"):
        read_input_file("/dev/zero", 10, "policy file")


def test_a_socket_a_directory_and_a_missing_file_are_one_line(tmp_path):
    with socket.socket(socket.AF_UNIX) as server:
        server.bind(str(tmp_path / "sock"))
        with pytest.raises(InputFileError, match=r"sock: not a regular file \(a socket\)"):
            read_input_file(tmp_path / "sock", 10)
    with pytest.raises(InputFileError, match="is a directory; give the path of an export file"):
        read_input_file(tmp_path, 10, "export file")
    with pytest.raises(InputFileError, match="missing: cannot read list file: No such file or directory"):
        read_input_file(tmp_path / "missing", 10, "list file")


def test_a_path_with_a_line_break_is_named_on_one_line(tmp_path):
    with pytest.raises(InputFileError) as caught:
        read_input_file(tmp_path / "two\nlines", 10)
    assert "\n" not in str(caught.value)
    assert "two\\nlines" in str(caught.value)
    with pytest.raises(InputFileError, match="embedded null byte"):
        read_input_file("nul\0byte", 10)
