"""fetch/decoding.py: content codings decoded lazily with a bound on size and depth (issue 13)."""

from __future__ import annotations

import os
import sys
import zlib
from pathlib import Path

import brotli
import pytest

from copyright_guard.fetch.decoding import DecodingError, WireBody, codings, decode_bounded

sys.path.insert(0, str(Path(__file__).parents[1]))
from faults import gzip_bytes, zeros_gzip  # noqa: E402

TEXT = b"User-agent: *\nDisallow: /private/\n" * 50


def _chunks(data: bytes, size: int = 1000):
    return [data[i:i + size] for i in range(0, len(data), size)]


def test_codings_are_read_from_every_header_line_and_identity_is_none():
    assert codings(["gzip, identity", " BR "]) == ["gzip", "br"]
    assert codings([]) == []


@pytest.mark.parametrize("coding, encode", [
    ("gzip", gzip_bytes),
    ("x-gzip", gzip_bytes),
    ("deflate", zlib.compress),  # RFC 9110 §8.4.1.2: the zlib format
    ("deflate", lambda data: zlib.compress(data)[2:-4]),  # raw deflate, as some servers send it
    ("br", brotli.compress),
])
def test_each_supported_coding_decodes(coding, encode):
    assert decode_bounded(_chunks(encode(TEXT)), [coding], max_bytes=10**6, max_codings=2) == (TEXT, False)


def test_stacked_codings_are_undone_last_first():
    body = brotli.compress(gzip_bytes(TEXT))  # gzip applied first, then br
    assert decode_bounded([body], ["gzip", "br"], max_bytes=10**6, max_codings=2) == (TEXT, False)


def test_a_bomb_inside_a_bomb_stops_at_the_bound():
    body = gzip_bytes(zeros_gzip(4))  # 4 GiB of zeros, a few KB on the wire
    decoded, cut = decode_bounded(_chunks(body, 4096), ["gzip", "gzip"], max_bytes=512_000, max_codings=2)
    assert cut and len(decoded) == 512_000


def test_more_codings_than_allowed_are_refused_before_decoding():
    with pytest.raises(DecodingError, match="3 stacked content codings"):
        decode_bounded([b""], ["gzip"] * 3, max_bytes=10, max_codings=2)


def test_an_unknown_coding_and_corrupt_data_are_errors_not_garbage():
    with pytest.raises(DecodingError, match="unsupported content coding 'compress'"):
        decode_bounded([b"x"], ["compress"], max_bytes=10, max_codings=2)
    with pytest.raises(DecodingError, match="undecodable gzip body"):
        decode_bounded([b"not gzip at all"], ["gzip"], max_bytes=10, max_codings=2)


def test_the_deadline_check_runs_while_decoding():
    calls = []

    def check():
        calls.append(1)
        if len(calls) > 3:
            raise TimeoutError

    with pytest.raises(TimeoutError):
        decode_bounded([zeros_gzip(1)], ["gzip"], max_bytes=10**9, max_codings=1, check=check)


def _read_wire(data: bytes, chunk_size: int, max_bytes: int) -> tuple[bytes, bool]:
    wire = WireBody(_chunks(data, chunk_size), max_bytes)
    body, cut = decode_bounded(wire, ["gzip"], max_bytes=max_bytes, max_codings=2)
    return body, cut or wire.cut


def test_a_body_cut_on_the_wire_is_cut_even_when_it_decodes_short():
    # Random bytes grow a little under gzip: 1,001 raw bytes past the limit decode to fewer than
    # the limit, so only the bytes that followed on the wire tell the body was cut.
    data = os.urandom(100_000)
    body, cut = _read_wire(gzip_bytes(data), 1001, max_bytes=50_049)
    assert len(body) < 50_049 and body == data[:len(body)] and cut


def test_a_whole_body_just_past_the_limit_on_the_wire_is_not_cut():
    data = os.urandom(50_000)
    wire = gzip_bytes(data)
    body, cut = _read_wire(wire, len(wire), max_bytes=len(wire) - 1)
    assert body == data and not cut
