"""The plain-HTTP transport (httpx) used by ``copyright-guard check``.

A transport only moves bytes: one request per call, no redirect following (the state machine in
states.py decides about redirects), no cookies, no credentials (userinfo in a URL is dropped, no
.netrc, no proxy or auth from the environment), the body read as a stream and cut at
``max_bytes``. Every failure becomes ``FetchOutcome.error``, one line such as
``connection refused``, ``timeout after 10s``, ``DNS lookup failed: ...`` or ``TLS error: ...``;
nothing is raised.
"""

from __future__ import annotations

import errno
import socket
import ssl
import time
from datetime import datetime, timezone
from http.cookiejar import CookieJar, DefaultCookiePolicy
from urllib.parse import urlsplit, urlunsplit

import httpx

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


class HttpxTransport:
    """``fetch(url, *, user_agent, timeout, max_bytes) -> FetchOutcome`` over httpx.

    ``verify`` is passed to httpx (``True``, a CA bundle path, or an ``ssl.SSLContext``); tests use
    it to trust their throw-away certificate. Use as a context manager, or call :meth:`close`.
    """

    def __init__(self, *, verify: bool | str | ssl.SSLContext = True, signer=None) -> None:
        # signer: a webbotauth.RequestSigner; every request (site-wide files too) is then signed
        # for Web Bot Auth just before it is sent.
        self._signer = signer
        self._client = httpx.Client(
            follow_redirects=False,
            trust_env=False,
            cookies=_no_cookies(),
            verify=verify,
            headers={"Accept": "*/*"},
        )

    def fetch(self, url: str, *, user_agent: str, timeout: float, max_bytes: int,
              method: str = "GET") -> FetchOutcome:
        deadline = time.monotonic() + timeout
        try:
            target = _without_userinfo(url)
            headers = {"User-Agent": user_agent}
            if self._signer is not None:
                headers.update(self._signer.request_headers(method, target, _now()))
            with self._client.stream(
                method, target, headers=headers,
                timeout=httpx.Timeout(timeout),
            ) as response:
                self._client.cookies.clear()  # belt and braces: the jar refuses them anyway
                body, truncated = self._read(response, max_bytes, deadline, timeout)
                headers: dict[str, list[str]] = {}
                for name, value in response.headers.multi_items():
                    headers.setdefault(name.lower(), []).append(value)
                return FetchOutcome(url, response.status_code, headers, body, fetched_at=_now(), truncated=truncated)
        except _Timeout:
            return FetchOutcome(url, error=f"timeout after {timeout:g}s", fetched_at=_now())
        except Exception as exc:  # noqa: BLE001 - every failure is an outcome, never an exception
            return FetchOutcome(url, error=describe_error(exc, timeout), fetched_at=_now())

    @staticmethod
    def _read(response: httpx.Response, max_bytes: int, deadline: float, timeout: float) -> tuple[bytes, bool]:
        chunks: list[bytes] = []
        size = 0
        for chunk in response.iter_bytes():  # decoded (gzip etc.), so the limit counts real bytes
            chunks.append(chunk)
            size += len(chunk)
            if size > max_bytes:
                return b"".join(chunks)[:max_bytes], True
            # Each read has its own timeout; this bounds the whole body (a server dripping bytes).
            if time.monotonic() > deadline:
                raise _Timeout(timeout)
        return b"".join(chunks), False

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
