"""A fault-injection HTTP server for the tests: one origin per fault, on 127.0.0.x and a free port.

``FaultServer(fault, path="/robots.txt")`` answers ``path`` with the fault and every other path
normally (``/robots.txt``: ``User-agent: *`` / ``Allow: /``; ``/`` and ``/page``: a small HTML
page with a link to ``/page``; anything else: 404). It
speaks HTTP/1.1 by hand on a raw socket, because the faults are exactly what a well-behaved server
library refuses to do (drip headers, send a broken body, reset mid-body). Used by the ``check``
tests (tests/integration/test_check_faults.py) and the crawl tests (tests/scrapy/test_crawl_faults.py), and by
``python tests/faults.py FAULT [PATH]`` to reproduce one by hand.

Faults (issue 13, docs/hardening.md):

``hang``            accepts, reads the request, never answers
``header-drip``     the status line, then one header byte every ``DRIP`` seconds, forever
``body-drip``       complete headers, then one body byte every ``DRIP`` seconds
``reset-mid-body``  headers announcing 100,000 bytes, 1,000 sent, then a TCP reset
``close-mid-body``  the same, then an orderly close (FIN)
``gzip-bomb``       ``Content-Encoding: gzip``: about 1 MB on the wire, 1 GiB of zeros decoded
``gzip-gzip``       ``Content-Encoding: gzip, gzip``: a few KB on the wire, 4 GiB decoded
``gzip-x3``         three stacked gzip codings (more than ``max_content_codings``)
``redirect-loop``   302 to itself, with a growing query, forever
``5xx-then-200``    503 on the first request for the path, then the normal answer
``html-200``        200 ``text/html``: an error page where robots.txt should be
"""

from __future__ import annotations

import functools
import socket
import threading
import time
import zlib

DRIP = 0.5  # seconds between dripped bytes
FAULTS = ("hang", "header-drip", "body-drip", "reset-mid-body", "close-mid-body", "gzip-bomb", "gzip-gzip",
          "gzip-x3", "redirect-loop", "5xx-then-200", "html-200")

ROBOTS_OK = b"User-agent: *\nAllow: /\n"
PAGE = b'<!doctype html><html><head><title>ok</title></head><body><a href="/page">more</a></body></html>'
HTML_ERROR = b"<!doctype html><html><head><title>Not found</title></head><body>Sorry, no such page.</body></html>"


# What both the `check` and the crawl tests run with: a concrete identity (a crawl refuses the
# placeholder) and a short deadline, so every fault ends within seconds.
DEADLINE = 3  # policy cache.timeout_seconds: one deadline per request
POLICY = f"""
[crawler]
product_token = "FaultTestBot"
user_agent = "FaultTestBot/1.0 (+https://crawler.test/about; ops@crawler.test)"
[complaints]
contact_email = "ops@crawler.test"
operator_name = "Fault Test Operator"
[cache]
timeout_seconds = {DEADLINE}
"""
# fault -> (verdict, a reason code that must be among the reasons; None: none required). The crawl
# must decide what `check` says.
EXPECTED = {
    "hang": ("deny", "robots.unreachable"),
    "header-drip": ("deny", "robots.unreachable"),
    "body-drip": ("deny", "robots.unreachable"),
    "reset-mid-body": ("deny", "robots.unreachable"),
    "close-mid-body": ("deny", "robots.unreachable"),
    "gzip-bomb": ("deny", "robots.unreachable"),
    "gzip-gzip": ("deny", "robots.unreachable"),
    "gzip-x3": ("deny", "robots.unreachable"),
    # RFC 9309 §2.3.1.2: redirects that never end make the file unavailable: no restrictions.
    "redirect-loop": ("allow", "robots.unavailable"),
    "5xx-then-200": ("deny", "robots.unreachable"),  # the first answer counts; retried after backoff
    "html-200": ("allow", "robots.suspicious"),
}


@functools.lru_cache(maxsize=None)
def zeros_gzip(gib: int) -> bytes:
    """gzip of ``gib`` GiB of zero bytes, built from one compressed MiB repeated (each segment ends
    with a full flush, so it does not refer to the one before). No trailer: nobody reads that far."""
    chunk = bytes(1 << 20)
    compressor = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    head = compressor.compress(chunk) + compressor.flush(zlib.Z_FULL_FLUSH)
    segment = compressor.compress(chunk) + compressor.flush(zlib.Z_FULL_FLUSH)
    return head + segment * ((gib << 10) - 1)


def gzip_bytes(data: bytes) -> bytes:
    compressor = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    return compressor.compress(data) + compressor.flush()


def _response(status: str, headers: dict[str, str], body: bytes) -> bytes:
    head = f"HTTP/1.1 {status}\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    head += f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    return head.encode("latin-1") + body


class FaultServer:
    """One origin serving ``fault`` at ``path``; ``origin`` is its ``http://127.0.0.x:port``."""

    def __init__(self, fault: str, *, path: str = "/robots.txt", host: str = "127.0.0.1") -> None:
        if fault not in FAULTS:
            raise ValueError(f"unknown fault {fault!r}; one of {', '.join(FAULTS)}")
        self.fault, self.path = fault, path
        self.requests: list[str] = []  # request targets, in order
        self._stop = threading.Event()
        self._sock = socket.create_server((host, 0))
        self._sock.settimeout(0.2)
        port = self._sock.getsockname()[1]
        self.origin = f"http://{host}:{port}"
        self._thread = threading.Thread(target=self._serve, daemon=True)
        if fault in ("gzip-bomb", "gzip-gzip", "gzip-x3"):
            self._bomb()  # built before the first request, not on the clock of the client's deadline

    def start(self) -> FaultServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)
        self._sock.close()

    def __enter__(self) -> FaultServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # -- serving -----------------------------------------------------------------------------------

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except (TimeoutError, OSError):
                continue
            threading.Thread(target=self._handle, args=(conn,), daemon=True).start()

    def _handle(self, conn: socket.socket) -> None:
        with conn:
            conn.settimeout(5)
            try:
                request = b""
                while b"\r\n\r\n" not in request and len(request) < 65536:
                    data = conn.recv(4096)
                    if not data:
                        return
                    request += data
                target = request.split(b" ", 2)[1].decode("latin-1")
                first = not any(t.split("?")[0] == target.split("?")[0] for t in self.requests)
                self.requests.append(target)
                if target.split("?")[0] == self.path:
                    self._fault(conn, target, first)
                else:
                    self._normal(conn, target)
            except OSError:
                return

    def _normal(self, conn: socket.socket, target: str) -> None:
        path = target.split("?")[0]
        if path == "/robots.txt":
            conn.sendall(_response("200 OK", {"Content-Type": "text/plain"}, ROBOTS_OK))
        elif path in ("/", "/page"):
            conn.sendall(_response("200 OK", {"Content-Type": "text/html; charset=utf-8"}, PAGE))
        else:
            conn.sendall(_response("404 Not Found", {"Content-Type": "text/plain"}, b"not found"))

    def _wait(self, seconds: float) -> bool:
        """Sleep; False once the server is stopping."""
        return not self._stop.wait(seconds)

    def _fault(self, conn: socket.socket, target: str, first: bool) -> None:
        fault = self.fault
        if fault == "hang":
            while self._wait(0.2):
                pass
        elif fault == "header-drip":
            conn.sendall(b"HTTP/1.1 200 OK\r\nX-Drip: ")
            while self._wait(DRIP):
                conn.sendall(b"a")
        elif fault == "body-drip":
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 100000\r\n\r\n")
            while self._wait(DRIP):
                conn.sendall(b"#")
        elif fault in ("reset-mid-body", "close-mid-body"):
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 100000\r\n\r\n"
                         + b"# comment\n" * 100)
            time.sleep(0.1)
            if fault == "reset-mid-body":  # SO_LINGER 0: close() sends RST instead of FIN
                conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        elif fault in ("gzip-bomb", "gzip-gzip", "gzip-x3"):
            coding, body = self._bomb()
            conn.sendall(_response("200 OK", {"Content-Type": "text/plain", "Content-Encoding": coding}, body))
        elif fault == "redirect-loop":
            conn.sendall(_response("302 Found", {"Location": f"{self.path}?n={len(self.requests)}"}, b""))
        elif fault == "5xx-then-200":
            if first:
                conn.sendall(_response("503 Service Unavailable", {"Retry-After": "1"}, b"busy"))
            else:
                self._normal(conn, target)
        elif fault == "html-200":
            conn.sendall(_response("200 OK", {"Content-Type": "text/html"}, HTML_ERROR))

    def _bomb(self) -> tuple[str, bytes]:
        if self.fault == "gzip-bomb":
            return "gzip", zeros_gzip(1)
        if self.fault == "gzip-gzip":
            return "gzip, gzip", _gzip_gzip()
        return "gzip, gzip, gzip", _gzip_x3()


@functools.lru_cache(maxsize=None)
def _gzip_gzip() -> bytes:
    return gzip_bytes(zeros_gzip(4))


@functools.lru_cache(maxsize=None)
def _gzip_x3() -> bytes:
    return gzip_bytes(gzip_bytes(ROBOTS_OK))


# Forks the command from a small Python process and reports the command's own peak RSS. Measured
# from pytest directly, a child's ru_maxrss also counts the parent's resident size at fork time
# (Linux carries the old memory's high-water mark across exec), which would hide the figure.
_LAUNCHER = """
import os, sys
pid = os.fork()
if pid == 0:
    os.execvp(sys.argv[1], sys.argv[1:])
_, status, usage = os.wait4(pid, 0)
sys.stderr.write(f"\\nPEAK_KIB={usage.ru_maxrss}\\n")
sys.exit(os.waitstatus_to_exitcode(status))
"""


def run_measured(argv: list[str], *, timeout: float, cwd=None) -> dict:
    """Run ``argv`` to its end; ``{"code", "stdout", "stderr", "seconds", "peak_mb"}``. The peak
    resident memory is the command's own (``wait4``'s ``ru_maxrss``, KiB on Linux), so tests
    running several at once still measure each. Killed after ``timeout`` seconds (code -9)."""
    import os
    import signal
    import subprocess
    import sys
    import tempfile

    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.monotonic()
        process = subprocess.Popen([sys.executable, "-c", _LAUNCHER, *argv], stdout=out, stderr=err, cwd=cwd,
                                   start_new_session=True)
        try:
            code = process.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            code = process.wait()
        seconds = time.monotonic() - started
        out.seek(0)
        err.seek(0)
        stderr = err.read().decode()
        stderr, _, peak = stderr.rpartition("\nPEAK_KIB=")
        return {"code": code, "stdout": out.read().decode(), "stderr": stderr,
                "seconds": seconds, "peak_mb": int(peak.strip() or 0) / 1024 if peak.strip().isdigit() else float("nan")}


if __name__ == "__main__":  # python tests/faults.py gzip-gzip: serve one fault until Ctrl-C
    import sys

    with FaultServer(sys.argv[1], path=sys.argv[2] if len(sys.argv) > 2 else "/robots.txt") as server:
        print(f"{server.fault} at {server.origin}{server.path}", flush=True)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass
