"""Bounded decoding of a response body's content codings (RFC 9110 §8.4), shared by both transports.

A few KiB of gzip inside gzip decode to gigabytes: a library that decodes "the body" decodes all of
it (httpx did: 4.25 GB for a 6.8 KB robots.txt sent as ``Content-Encoding: gzip, gzip``; Scrapy's
guard is off when ``download_maxsize`` is 0). Here every layer is decoded lazily, at most
``CHUNK`` bytes at a time, and the consumer stops pulling once it holds ``max_bytes`` decoded
bytes, so memory is bounded by ``max_bytes + layers x CHUNK`` whatever the ratio. The number of
codings is bounded too (``policy.cache.max_content_codings``): more, or a coding we cannot decode,
is a :class:`DecodingError` - the caller records the file as unreachable (fail closed) instead of
parsing bytes it cannot read.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Iterable, Iterator

try:  # brotli is what httpx and Scrapy use for "br"; without it "br" is not offered
    import brotli
except ImportError:  # pragma: no cover - brotli is a dependency
    brotli = None

__all__ = ["CHUNK", "DecodingError", "WireBody", "accept_encoding", "codings", "decode_bounded"]

CHUNK = 64 * 1024

SUPPORTED = ("gzip", "x-gzip", "deflate", *(("br",) if brotli is not None else ()))


class DecodingError(Exception):
    """The body cannot be decoded within the bounds; ``str()`` is one line."""


def accept_encoding() -> str:
    """The ``Accept-Encoding`` value to send: only what :func:`decode_bounded` can decode."""
    return ", ".join(c for c in SUPPORTED if c != "x-gzip")


def codings(header_values: Iterable[str]) -> list[str]:
    """The content codings of a response, in the order they were applied (RFC 9110 §8.4: a list,
    possibly over several header lines); ``identity`` is no coding."""
    found = [part.strip().lower() for value in header_values for part in value.split(",")]
    return [c for c in found if c and c != "identity"]


def decode_bounded(
    raw: Iterable[bytes],
    applied: list[str],
    *,
    max_bytes: int,
    max_codings: int,
    check: Callable[[], None] = lambda: None,
) -> tuple[bytes, bool]:
    """``(decoded body cut at max_bytes, cut)`` of the ``raw`` chunks coded with ``applied``.

    ``check`` is called between chunks of every layer (the caller's deadline: an endless run of
    empty deflate blocks produces no output but must not spin forever).
    """
    if len(applied) > max_codings:
        raise DecodingError(f"{len(applied)} stacked content codings ({', '.join(applied)}); "
                            f"at most {max_codings} are decoded")
    for coding in applied:
        if coding not in SUPPORTED:
            raise DecodingError(f"unsupported content coding {coding!r}")
    stream: Iterator[bytes] = iter(raw)
    for coding in reversed(applied):  # the last coding applied is undone first
        stream = _layer(stream, coding, check)
    chunks: list[bytes] = []
    size = 0
    for chunk in stream:
        chunks.append(chunk)
        size += len(chunk)
        if size > max_bytes:
            return b"".join(chunks)[:max_bytes], True
        check()
    return b"".join(chunks), False


class WireBody:
    """The raw chunks of a body as they come off the wire, no longer read once more than
    ``max_bytes`` have come; ``cut`` then says whether the body went on.

    A body cut on the wire must be reported cut even when it decodes to fewer than ``max_bytes``
    (incompressible bytes grow a little under gzip), so one more - bounded - read asks whether
    anything followed.
    """

    def __init__(self, chunks: Iterable[bytes], max_bytes: int) -> None:
        self._chunks = iter(chunks)
        self._max_bytes = max_bytes
        self.cut = False

    def __iter__(self) -> Iterator[bytes]:
        size = 0
        for chunk in self._chunks:
            yield chunk
            size += len(chunk)
            if size > self._max_bytes:
                self.cut = next(self._chunks, None) is not None
                return


def _layer(source: Iterator[bytes], coding: str, check: Callable[[], None]) -> Iterator[bytes]:
    if coding == "br":
        yield from _brotli(source, check)
        return
    # gzip: wbits 16+; deflate is "zlib" format (RFC 9110 §8.4.1.2) but servers often send raw
    # deflate, so the first bytes decide (as browsers do).
    decoder = zlib.decompressobj(16 + zlib.MAX_WBITS) if coding in ("gzip", "x-gzip") else None
    pending = b""
    for data in source:
        if decoder is None:
            pending += data
            if len(pending) < 2:
                continue
            decoder = zlib.decompressobj(zlib.MAX_WBITS if _is_zlib_header(pending) else -zlib.MAX_WBITS)
            data, pending = pending, b""
        try:
            while data and not decoder.eof:
                out = decoder.decompress(data, CHUNK)
                data = decoder.unconsumed_tail
                if out:
                    yield out
                check()
        except zlib.error as exc:
            raise DecodingError(f"undecodable {coding} body: {exc}") from None
        if decoder.eof:
            return  # trailing bytes after the end of the stream are ignored (as zlib and httpx do)
    if decoder is None and pending:
        raise DecodingError(f"undecodable {coding} body: only {len(pending)} byte")


def _is_zlib_header(data: bytes) -> bool:
    # RFC 1950 §2.2: CM = 8 (deflate) and the first two bytes, read as a big-endian number, are a
    # multiple of 31.
    return data[0] & 0x0F == 8 and (data[0] << 8 | data[1]) % 31 == 0


def _brotli(source: Iterator[bytes], check: Callable[[], None]) -> Iterator[bytes]:
    decoder = brotli.Decompressor()
    try:
        for data in source:
            # brotli >= 1.2: process() takes an output limit; the rest of the input stays buffered
            # in the decoder and is drained with empty input while it has more to give.
            out = decoder.process(data, output_buffer_limit=CHUNK)
            while True:
                if out:
                    yield out
                check()
                if decoder.is_finished() or decoder.can_accept_more_data():
                    break
                out = decoder.process(b"", output_buffer_limit=CHUNK)
            if decoder.is_finished():
                return
    except brotli.error as exc:
        raise DecodingError(f"undecodable br body: {exc}") from None
