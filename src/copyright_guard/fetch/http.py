"""The plain-HTTP transport (httpx) used by ``copyright-guard check``.

A transport only moves bytes: one request per call, no redirect following (the state machine in
states.py decides about redirects), no cookies, no credentials (userinfo in a URL is dropped, no
.netrc, no proxy or auth from the environment), the body read as a stream and cut at
``max_bytes``. Every failure becomes ``FetchOutcome.error``, one line such as
``connection refused``, ``timeout after 10s``, ``DNS lookup failed: ...`` or ``TLS error: ...``;
nothing is raised.

Bounds (docs/hardening.md): ``timeout`` is ONE deadline for the whole request - connect, TLS,
headers and body - because httpx's timeouts are per socket read and a server sending one byte of
header per second never trips them (:class:`_DeadlineBackend` gives every socket operation only
the time left). The body is taken raw and decoded here by :func:`~.decoding.decode_bounded`:
decoded size at most ``max_bytes``, at most ``max_codings`` stacked codings.
"""

from __future__ import annotations

import errno
import socket
import ssl
import threading
import time
from datetime import datetime, timezone
from http.cookiejar import CookieJar, DefaultCookiePolicy
from urllib.parse import urlsplit, urlunsplit

import httpcore
import httpx

from .decoding import DecodingError, WireBody, accept_encoding, codings, decode_bounded
from .states import FetchOutcome, one_line

__all__ = ["HttpxTransport", "describe_error"]


def _no_cookies() -> CookieJar:
    # An empty allow-list refuses every cookie: a compliance check must not carry state between
    # sites (or between our own requests) that could change what a server shows us.
    return CookieJar(policy=DefaultCookiePolicy(allowed_domains=[]))


def _without_userinfo(url: str) -> str:
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    return urlunsplit(parts._replace(netloc=parts.netloc.rsplit("@", 1)[1]))


class _DeadlineStream(httpcore.NetworkStream):
    """A socket stream whose every read and write gets at most the time left before the deadline."""

    def __init__(self, stream: httpcore.NetworkStream, backend: _DeadlineBackend) -> None:
        self._stream, self._backend = stream, backend

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._stream.read(max_bytes, self._backend.left(timeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._stream.write(buffer, self._backend.left(timeout))

    def close(self) -> None:
        self._stream.close()

    def start_tls(self, ssl_context, server_hostname=None, timeout=None) -> httpcore.NetworkStream:
        tls = self._stream.start_tls(ssl_context, server_hostname, self._backend.left(timeout))
        return _DeadlineStream(tls, self._backend)

    def get_extra_info(self, info: str):
        return self._stream.get_extra_info(info)


class _DeadlineBackend(httpcore.SyncBackend):
    """httpcore's socket backend with one overall deadline per request (``deadline``, monotonic).

    The deadline is kept per thread: one transport serves concurrent requests from several threads
    (``check --urls``, ``recheck``), each with its own deadline; a pooled connection is used by one
    request, on one thread, at a time."""

    def __init__(self) -> None:
        super().__init__()
        self._local = threading.local()

    @property
    def deadline(self) -> float | None:
        return getattr(self._local, "deadline", None)

    @deadline.setter
    def deadline(self, value: float | None) -> None:
        self._local.deadline = value

    def left(self, timeout: float | None) -> float:
        if self.deadline is None:
            return timeout
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise httpcore.ReadTimeout("deadline passed")
        return left if timeout is None else min(timeout, left)

    def connect_tcp(self, host, port, timeout=None, local_address=None, socket_options=None):
        stream = super().connect_tcp(host, port, self.left(timeout), local_address, socket_options)
        return _DeadlineStream(stream, self)


class HttpxTransport:
    """``fetch(url, *, user_agent, timeout, max_bytes) -> FetchOutcome`` over httpx.

    ``verify`` is passed to httpx (``True``, a CA bundle path, or an ``ssl.SSLContext``); tests use
    it to trust their throw-away certificate. ``max_codings`` bounds the stacked content codings
    decoded (``policy.cache.max_content_codings``). Use as a context manager, or call :meth:`close`.
    """

    def __init__(self, *, verify: bool | str | ssl.SSLContext = True, max_codings: int = 2, signer=None) -> None:
        # signer: a webbotauth.RequestSigner; every request (site-wide files too) is then signed
        # for Web Bot Auth just before it is sent.
        self._signer = signer
        self._backend = _DeadlineBackend()
        transport = httpx.HTTPTransport(verify=verify, trust_env=False)
        # httpx has no option for httpcore's network backend: the pool is rebuilt with the same
        # TLS context and our deadline backend (a plain pool: proxies are never used, trust_env=False).
        transport._pool = httpcore.ConnectionPool(
            ssl_context=httpx.create_ssl_context(verify=verify, trust_env=False),
            network_backend=self._backend,
        )
        self._max_codings = max_codings
        self._client = httpx.Client(
            transport=transport,
            follow_redirects=False,
            trust_env=False,
            cookies=_no_cookies(),
            headers={"Accept": "*/*", "Accept-Encoding": accept_encoding()},
        )

    def fetch(self, url: str, *, user_agent: str, timeout: float, max_bytes: int,
              method: str = "GET", conditional: dict[str, str] | None = None) -> FetchOutcome:
        """``conditional``: If-None-Match / If-Modified-Since to send (fetch/page.py, ``recheck --pages``)."""
        deadline = self._backend.deadline = time.monotonic() + timeout
        try:
            target = _without_userinfo(url)
            headers = {"User-Agent": user_agent, **(conditional or {})}
            if self._signer is not None:
                headers.update(self._signer.request_headers(method, target, _now()))
            with self._client.stream(
                method, target, headers=headers,
                timeout=httpx.Timeout(timeout),
            ) as response:
                self._client.cookies.clear()  # belt and braces: the jar refuses them anyway
                body, truncated = self._read(response, max_bytes, deadline, timeout, self._max_codings)
                headers: dict[str, list[str]] = {}
                for name, value in response.headers.multi_items():
                    headers.setdefault(name.lower(), []).append(value)
                return FetchOutcome(url, response.status_code, headers, body, fetched_at=_now(), truncated=truncated)
        except _Timeout:
            return FetchOutcome(url, error=f"timeout after {timeout:g}s", fetched_at=_now())
        except DecodingError as exc:
            return FetchOutcome(url, error=one_line(str(exc)), fetched_at=_now())
        except Exception as exc:  # noqa: BLE001 - every failure is an outcome, never an exception
            return FetchOutcome(url, error=describe_error(exc, timeout), fetched_at=_now())
        finally:
            self._backend.deadline = None

    @staticmethod
    def _read(response: httpx.Response, max_bytes: int, deadline: float, timeout: float,
              max_codings: int) -> tuple[bytes, bool]:
        def check() -> None:
            # Each socket read is bounded by the backend; this bounds the decoding work between reads.
            if time.monotonic() > deadline:
                raise _Timeout(timeout)

        # The raw bytes on the wire are cut at max_bytes too (RFC 9309 §2.5 lets us stop reading).
        wire = WireBody(response.iter_raw(), max_bytes)
        applied = codings(response.headers.get_list("content-encoding"))
        body, cut = decode_bounded(wire, applied, max_bytes=max_bytes, max_codings=max_codings, check=check)
        return body, cut or wire.cut

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> HttpxTransport:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class _Timeout(Exception):
    pass


def _now() -> datetime:
    return datetime.now(timezone.utc)


def describe_error(exc: BaseException, timeout: float) -> str:
    """One line naming what went wrong on the wire."""
    if isinstance(exc, httpx.TimeoutException):
        return f"timeout after {timeout:g}s"
    chain = list(_causes(exc))
    for cause in chain:
        if isinstance(cause, ssl.SSLCertVerificationError):
            return f"TLS error: certificate verify failed: {one_line(cause.verify_message or str(cause))}"
        if isinstance(cause, ssl.SSLError):
            return f"TLS error: {one_line(cause.reason or str(cause))}"
        if isinstance(cause, socket.gaierror):
            return f"DNS lookup failed: {one_line(cause.strerror or str(cause))}"
        if isinstance(cause, ConnectionRefusedError):
            return "connection refused"
        if isinstance(cause, ConnectionResetError):
            return "connection reset by peer"
    text = one_line(str(exc)) or type(exc).__name__
    lowered = text.lower()
    if "connection refused" in lowered or f"errno {errno.ECONNREFUSED}" in lowered:
        return "connection refused"
    if "name or service not known" in lowered or "nodename nor servname" in lowered or "getaddrinfo" in lowered \
            or "temporary failure in name resolution" in lowered or "no address associated" in lowered:
        return f"DNS lookup failed: {text}"
    if "ssl" in lowered or "certificate" in lowered or "tls" in lowered:
        return f"TLS error: {text}"
    if isinstance(exc, httpx.RemoteProtocolError) and "complete message body" in lowered:
        return "connection closed mid-body"  # the headers came, the body did not end
    if isinstance(exc, httpx.RemoteProtocolError) and "without sending" in lowered:
        return "connection closed without a response"
    if isinstance(exc, httpx.RemoteProtocolError):
        return f"HTTP protocol error: {text}"
    if isinstance(exc, (httpx.ReadError, httpx.WriteError)):
        return f"connection error: {text}"
    if isinstance(exc, (httpx.InvalidURL, httpx.UnsupportedProtocol)):
        return f"invalid URL: {text}"
    if isinstance(exc, httpx.DecodingError):
        return f"undecodable response body: {text}"
    return f"{type(exc).__name__}: {text}"


def _causes(exc: BaseException):
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        yield exc
        exc = exc.__cause__ or exc.__context__
