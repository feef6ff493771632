"""A small multi-origin HTTP server on loopback, for tests and for the bundled demo site.

Each *origin* (a name such as ``"news"``) gets its own ``ThreadingHTTPServer`` on its own loopback
address (127.0.0.2, 127.0.0.3, ...), so origins differ by host as they would on the web, and every
server binds port 0 (a free port) unless a port is given. Routes map ``(origin, path)`` to a
:class:`Route` or to a callable ``(RequestRecord) -> Route``; a route can redirect, answer slowly,
stream a huge body or drop the connection. Every request is logged (origin, method, path, headers)
in a thread-safe list, so a test can assert what was - and what was not - requested, and with
which User-Agent, cookies or credentials.

stdlib only. Optional TLS per origin (``tls={"name"}``) uses a throw-away self-signed certificate
made with ``cryptography`` (already a Scrapy dependency); clients that verify certificates reject
it, which is how tests produce a real TLS failure.

Example::

    routes = {("site", "/robots.txt"): Route.text("User-agent: *\\nDisallow: /private/\\n")}
    with MultiOriginServer(routes) as server:
        url = server.url("site", "/private/page")
        ...
        assert server.paths("site") == ["/robots.txt"]
"""

from __future__ import annotations

import ipaddress
import socket
import ssl
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

__all__ = ["MultiOriginServer", "RequestRecord", "Route", "unused_port_url"]

Headers = tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Route:
    """One canned answer.

    ``headers`` may repeat a name. ``delay`` waits that many seconds before the status line (a slow
    server); ``drop`` closes the connection without answering; ``stream`` (a callable returning an
    iterable of byte chunks) sends a body of any size without Content-Length, then closes.
    """

    status: int = 200
    headers: Headers = ()
    body: bytes = b""
    delay: float = 0.0
    drop: bool = False
    stream: Callable[[], Iterable[bytes]] | None = None

    def __post_init__(self) -> None:
        if isinstance(self.headers, Mapping):
            object.__setattr__(self, "headers", tuple(self.headers.items()))
        if isinstance(self.body, str):
            object.__setattr__(self, "body", self.body.encode("utf-8"))

    @classmethod
    def text(cls, body: str | bytes, status: int = 200, content_type: str = "text/plain; charset=utf-8",
             headers: Iterable[tuple[str, str]] = (), **kw) -> Route:
        return cls(status, (("Content-Type", content_type), *headers), body, **kw)

    @classmethod
    def html(cls, body: str | bytes, status: int = 200, headers: Iterable[tuple[str, str]] = (), **kw) -> Route:
        return cls.text(body, status, "text/html; charset=utf-8", headers, **kw)

    @classmethod
    def json(cls, body: str | bytes, status: int = 200, **kw) -> Route:
        return cls.text(body, status, "application/json", **kw)

    @classmethod
    def redirect(cls, location: str, status: int = 301) -> Route:
        return cls(status, (("Location", location),), b"")

    @classmethod
    def huge(cls, size: int, chunk: bytes = b"# filler\n", content_type: str = "text/plain") -> Route:
        """A body of ``size`` bytes made of repeated ``chunk``, streamed (never held in memory)."""

        def chunks() -> Iterable[bytes]:
            block = (chunk * (65536 // len(chunk) + 1))[:65536]
            left = size
            while left > 0:
                yield block[:left]
                left -= len(block)

        return cls(200, (("Content-Type", content_type),), b"", stream=chunks)


RouteLike = Route | Callable[["RequestRecord"], Route]


@dataclass(frozen=True)
class RequestRecord:
    """One request as the server saw it. Header names keep their case; look up with :meth:`header`."""

    origin: str
    method: str
    path: str  # path and query as sent
    headers: Headers
    client: str = ""
    body: bytes = field(default=b"", repr=False)
    # When the request arrived (time.time()): politeness tests measure the gaps between requests.
    received_at: float = field(default_factory=time.time, compare=False)

    def header(self, name: str) -> list[str]:
        name = name.lower()
        return [value for key, value in self.headers if key.lower() == name]


NOT_FOUND = Route.text("not found\n", 404)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _OriginServer

    def do_GET(self) -> None:  # noqa: N802 - http.server naming
        self._answer()

    def do_HEAD(self) -> None:  # noqa: N802
        self._answer()

    def do_POST(self) -> None:  # noqa: N802
        self._answer()

    def log_message(self, format: str, *args) -> None:  # noqa: A002 - quiet: tests read the log instead
        pass

    def _answer(self) -> None:
        owner = self.server.owner
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if 0 < length <= 1 << 20 else b""
        record = RequestRecord(self.server.name, self.command, self.path, tuple(self.headers.items()),
                               self.client_address[0], body)
        owner._log(record)
        route = owner._route(record)
        if route.delay and owner._stopping.wait(route.delay):
            return  # shutting down: do not keep a slow answer alive
        try:
            if route.drop:
                self.close_connection = True
                self.connection.shutdown(socket.SHUT_RDWR)
                return
            self._send(route)
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError, OSError):
            self.close_connection = True  # the client gave up (a timeout test): nothing to do

    def _send(self, route: Route) -> None:
        self.send_response_only(route.status)
        names = {name.lower() for name, _ in route.headers}
        for name, value in route.headers:
            self.send_header(name, value)
        if route.stream is not None:
            self.send_header("Connection", "close")
            self.close_connection = True
        elif "content-length" not in names:
            self.send_header("Content-Length", str(len(route.body)))
        self.end_headers()
        if self.command == "HEAD":
            return
        if route.stream is not None:
            for chunk in route.stream():
                self.wfile.write(chunk)
        else:
            self.wfile.write(route.body)


class _OriginServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], name: str, owner: MultiOriginServer,
                 context: ssl.SSLContext | None) -> None:
        self.name = name
        self.owner = owner
        self._context = context
        super().__init__(address, _Handler)

    def get_request(self):
        sock, address = super().get_request()
        if self._context is not None:
            sock.settimeout(5)
            try:
                sock = self._context.wrap_socket(sock, server_side=True)
            except (ssl.SSLError, OSError):
                sock.close()
                raise OSError("TLS handshake failed") from None  # socketserver drops this request
        return sock, address

    def handle_error(self, request, client_address) -> None:  # quiet: a reset client is not news
        pass


class MultiOriginServer:
    """Serve ``routes`` from one loopback address per origin. Use as a context manager.

    ``origins`` names the origins to start (default: every origin named in ``routes``); ``hosts``
    and ``ports`` pin an origin's address or port; ``tls`` lists origins served over HTTPS.
    """

    FIRST_HOST = ipaddress.IPv4Address("127.0.0.2")

    def __init__(self, routes: Mapping[tuple[str, str], RouteLike] | None = None, *,
                 origins: Iterable[str] = (), hosts: Mapping[str, str] | None = None,
                 ports: Mapping[str, int] | None = None, tls: Iterable[str] = (),
                 default: RouteLike = NOT_FOUND) -> None:
        self._routes: dict[tuple[str, str], RouteLike] = dict(routes or {})
        names = list(dict.fromkeys([*origins, *(origin for origin, _ in self._routes)]))
        if not names:
            raise ValueError("MultiOriginServer needs at least one origin")
        self._names = names
        self._hosts = dict(hosts or {})
        self._ports = dict(ports or {})
        self._tls = set(tls)
        self.default = default
        self._lock = threading.Lock()
        self._requests: list[RequestRecord] = []
        self._servers: dict[str, _OriginServer] = {}
        self._threads: list[threading.Thread] = []
        self._stopping = threading.Event()
        self._tmp: tempfile.TemporaryDirectory | None = None
        self.cert_file: Path | None = None  # PEM of the self-signed certificate, when tls is used

    # -- lifecycle -------------------------------------------------------------------------------

    def start(self) -> MultiOriginServer:
        context = self._tls_context() if self._tls else None
        try:
            for index, name in enumerate(self._names):
                host = self._hosts.get(name, str(self.FIRST_HOST + index))
                server = _OriginServer((host, self._ports.get(name, 0)), name, self,
                                       context if name in self._tls else None)
                self._servers[name] = server
                thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                                          name=f"origin-{name}", daemon=True)
                thread.start()
                self._threads.append(thread)
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        self._stopping.set()
        for server in self._servers.values():
            server.shutdown()
            server.server_close()
        for thread in self._threads:
            thread.join(timeout=5)
        self._servers.clear()
        self._threads.clear()
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    def __enter__(self) -> MultiOriginServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # -- addresses -------------------------------------------------------------------------------

    def origin(self, name: str) -> str:
        """``scheme://host:port`` of an origin."""
        host, port = self._servers[name].server_address[:2]
        scheme = "https" if name in self._tls else "http"
        return f"{scheme}://{host}:{port}"

    def url(self, name: str, path: str = "/") -> str:
        return self.origin(name) + path

    def name_of(self, url: str) -> str | None:
        """The origin name serving ``url``, if any."""
        parts = urlsplit(url)
        for name in self._servers:
            if self.origin(name) == f"{parts.scheme}://{parts.hostname}:{parts.port}":
                return name
        return None

    @property
    def origins(self) -> list[str]:
        return list(self._names)

    # -- routes and the request log --------------------------------------------------------------

    def set(self, origin: str, path: str, route: RouteLike) -> None:
        """Add or replace a route while serving (e.g. a robots.txt that starts answering 200)."""
        with self._lock:
            self._routes[(origin, path)] = route

    @property
    def requests(self) -> list[RequestRecord]:
        with self._lock:
            return list(self._requests)

    def requests_to(self, origin: str, path: str | None = None) -> list[RequestRecord]:
        return [r for r in self.requests if r.origin == origin and (path is None or r.path == path)]

    def paths(self, origin: str) -> list[str]:
        return [r.path for r in self.requests_to(origin)]

    def clear_log(self) -> None:
        with self._lock:
            self._requests.clear()

    def _log(self, record: RequestRecord) -> None:
        with self._lock:
            self._requests.append(record)

    def _route(self, record: RequestRecord) -> Route:
        path_only = record.path.split("?", 1)[0]
        with self._lock:
            found = self._routes.get((record.origin, record.path)) or self._routes.get((record.origin, path_only))
        found = found or self.default
        try:
            return found(record) if callable(found) else found
        except Exception as exc:  # noqa: BLE001 - a broken test route answers 500, it must not hang
            return Route.text(f"route failed: {exc}\n", 500)

    # -- TLS -------------------------------------------------------------------------------------

    def _tls_context(self) -> ssl.SSLContext:
        self._tmp = tempfile.TemporaryDirectory(prefix="cg-tls-")
        cert, key = _self_signed(Path(self._tmp.name))
        self.cert_file = cert
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert, key)
        return context


def _self_signed(directory: Path) -> tuple[Path, Path]:
    """A throw-away certificate for 127.0.0.0/24 (valid one day)."""
    from datetime import datetime, timedelta, timezone

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "copyright-guard test origin")])
    start = datetime.now(timezone.utc) - timedelta(minutes=5)
    addresses = [x509.IPAddress(ipaddress.IPv4Address("127.0.0.1") + i) for i in range(64)]
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(start)
            .not_valid_after(start + timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost"), *addresses]), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


def unused_port_url(host: str = "127.0.0.9", path: str = "/") -> str:
    """An http URL on a loopback port nobody listens on (connection refused), for failure tests."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port = sock.getsockname()[1]
    return f"http://{host}:{port}{path}"
