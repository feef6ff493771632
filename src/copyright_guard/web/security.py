"""The portal's defences, each small and separately tested: CSRF tokens, a per-client rate limit,
a request-body cap, reviewer authentication, and response headers.

Sessions are Starlette's signed cookies (itsdangerous): HttpOnly, SameSite=Lax, and Secure when
the portal is served over HTTPS (``--secure-cookies``). They hold only the reviewer's name, a random
session id, the login time and the CSRF token, never complaint data. A signed cookie cannot be
recalled, so two checks bound what a copied one is worth: a login lasts :data:`SESSION_LIFETIME`
from the moment of login however active the session is, and logging out records the session id as
ended (:class:`EndedSessions`), so the same cookie replayed afterwards is refused (OWASP Session
Management Cheat Sheet: absolute timeout; invalidate the session on logout).
"""

from __future__ import annotations

import base64
import binascii
import hmac
import math
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable

from fastapi import HTTPException, Request
from starlette.datastructures import FormData
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..core.complaints.workflow import has_control_characters
from ..store import reviewers

SESSION_LIFETIME = 8 * 3600  # seconds from login, whatever the activity (absolute timeout)

CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


# -- CSRF (synchronizer token pattern, OWASP CSRF Prevention Cheat Sheet) -------------------------


def csrf_token(request: Request) -> str:
    """The session's CSRF token, created on first use; every form embeds it."""
    token = request.session.get("csrf")
    if not token:
        token = secrets.token_urlsafe(32)
        request.session["csrf"] = token
    return token


def csrf_valid(request: Request, submitted: str | None) -> bool:
    expected = request.session.get("csrf")
    return bool(expected and submitted) and hmac.compare_digest(str(expected), str(submitted))


def form_text(form: FormData, name: str) -> str:
    """A text field of a parsed form. A file sent under a text field's name (a multipart part with
    a filename) is not its text: it counts as the field left empty."""
    value = form.get(name)
    return value if isinstance(value, str) else ""


async def require_csrf_form(request: Request) -> None:
    """For HTML form posts: the hidden field must carry the session's token."""
    form = await request.form()
    if not csrf_valid(request, form_text(form, CSRF_FIELD)):
        raise HTTPException(403, "This form has expired or did not come from this site. Reload the page and try again.")


# -- rate limiting ----------------------------------------------------------------------------------


class RateLimiter:
    """At most ``limit`` hits per ``window`` seconds per key (the client address): a sliding window
    kept in memory. Enough for one portal process; behind a proxy, limit there as well."""

    def __init__(self, limit: int, window: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.limit, self.window, self.clock = limit, window, clock
        self._hits: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, key: str, now: float) -> deque[float]:
        hits = self._hits.setdefault(key, deque())
        while hits and hits[0] <= now - self.window:
            hits.popleft()
        return hits

    def allows(self, key: str) -> bool:
        """Whether ``key`` is under its limit (nothing is counted)."""
        with self._lock:
            return len(self._recent(key, self.clock())) < self.limit

    def record(self, key: str) -> None:
        now = self.clock()
        with self._lock:
            self._recent(key, now).append(now)
            if len(self._hits) > 100_000:  # forget idle clients rather than grow without bound
                for idle in [k for k, v in self._hits.items() if not v or v[-1] <= now - self.window]:
                    del self._hits[idle]

    def hit(self, key: str) -> bool:
        """Count one hit; False if the key is over its limit (the hit is then not counted)."""
        with self._lock:
            if len(self._recent(key, self.clock())) >= self.limit:
                return False
        self.record(key)
        return True

    def retry_after(self, key: str) -> int:
        with self._lock:
            hits = self._hits.get(key)
            return max(1, int(hits[0] + self.window - self.clock()) + 1) if hits else 1


class LoginThrottle:
    """Failed logins, throttled per (address, account) and capped per address (OWASP ASVS V2.2.1).

    * Per (address, account): the first ``free`` failures cost nothing; after that each failure makes
      the next attempt on that account from that address wait ``base_delay`` seconds, doubling with
      every further failure up to ``max_delay``. A success clears the pair.
    * Per address: at most ``per_address`` failures in ``window`` seconds, whatever the accounts
      (one address trying many accounts); then the address waits for the window to slide.
    * Nothing is counted per account alone: failures from one address never refuse the right
      password from another address (ASVS V2.2.1: no lockout an attacker can impose on others).
      Behind a proxy every client is the proxy's address unless ``--forwarded-allow-ips`` names it.

    Only failures are counted, so a busy API client is never slowed by its own successes. Kept in
    memory: enough for one portal process.
    """

    def __init__(self, per_address: int = 20, window: float = 900.0, *, free: int = 3, base_delay: float = 1.0,
                 max_delay: float = 900.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.per_address = RateLimiter(per_address, window, clock)
        self.free, self.base_delay, self.max_delay, self.window = free, base_delay, max_delay, window
        self.clock = clock
        self._pairs: dict[tuple[str, str], tuple[int, float]] = {}  # -> (failures, time of the last)
        self._lock = threading.Lock()

    def wait(self, address: str, account: str) -> int:
        """Seconds ``address`` must wait before trying ``account`` again; 0 if it may try now."""
        if not self.per_address.allows(address):
            return self.per_address.retry_after(address)
        with self._lock:
            entry = self._pairs.get((address, account[:256]))
        if entry is None:
            return 0
        left = entry[1] + self._delay(entry[0]) - self.clock()
        return max(1, math.ceil(left)) if left > 0 else 0

    def _delay(self, failures: int) -> float:
        if failures <= self.free:
            return 0.0
        return min(self.max_delay, self.base_delay * 2 ** min(failures - self.free - 1, 30))

    def failed(self, address: str, account: str) -> None:
        now = self.clock()
        self.per_address.record(address)
        key = (address, account[:256])
        with self._lock:
            failures, last = self._pairs.get(key, (0, now))
            if now - last > self.window + self.max_delay:
                failures = 0  # an old run of failures is forgotten
            self._pairs[key] = (failures + 1, now)
            if len(self._pairs) > 100_000:  # forget idle pairs rather than grow without bound
                horizon = now - self.window - self.max_delay
                for idle in [k for k, (_, at) in self._pairs.items() if at <= horizon]:
                    del self._pairs[idle]

    def succeeded(self, address: str, account: str) -> None:
        with self._lock:
            self._pairs.pop((address, account[:256]), None)


def refuse_if_throttled(throttle: LoginThrottle, request: Request, account: str) -> None:
    """429 with ``Retry-After`` if this address must wait before trying ``account`` again."""
    wait = throttle.wait(client_key(request), account)
    if wait:
        raise HTTPException(429, "Too many failed login attempts from your address. Please try again later.",
                            headers={"Retry-After": str(wait)})


def client_key(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def enforce(limiter: RateLimiter, request: Request, what: str) -> None:
    """Count this request against the client's limit; 429 when over it."""
    key = client_key(request)
    if not limiter.hit(key):
        raise _too_many(limiter, key, what)


def refuse_if_limited(limiter: RateLimiter, request: Request, what: str) -> None:
    """429 if the client is over its limit, without counting (failures are counted separately)."""
    key = client_key(request)
    if not limiter.allows(key):
        raise _too_many(limiter, key, what)


def _too_many(limiter: RateLimiter, key: str, what: str) -> HTTPException:
    return HTTPException(429, f"Too many {what} from your address. Please try again later.",
                         headers={"Retry-After": str(limiter.retry_after(key))})


# -- request body cap -------------------------------------------------------------------------------


class BodyLimitMiddleware:
    """Refuse request bodies over ``max_bytes`` - by Content-Length at once, and by counting the
    bytes actually received (a chunked upload has no Content-Length). Past the cap the client gets
    413 and the application sees the client disconnect, whatever it was parsing."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app, self.max_bytes = app, max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_bytes):
            await _plain(send, 413, b"Request too large.")
            return
        received = 0
        refused = False
        started = False

        async def counting() -> Message:
            nonlocal received, refused
            if refused:
                return {"type": "http.disconnect"}
            message = await receive()
            received += len(message.get("body", b""))
            if received > self.max_bytes:
                refused = True
                if not started:
                    await _plain(send, 413, b"Request too large.")
                return {"type": "http.disconnect"}
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if refused:
                return  # the 413 has been sent; whatever the app answers to the disconnect is dropped
            started = True
            await send(message)

        await self.app(scope, counting, guarded_send)


async def _plain(send: Send, status: int, body: bytes) -> None:
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"text/plain; charset=utf-8"), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


# -- headers ----------------------------------------------------------------------------------------

# No script at all: the portal works without JavaScript, and any markup that slipped through
# escaping still could not run (defence in depth behind Jinja's autoescape).
SECURITY_HEADERS = {
    "content-security-policy": "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
                               "frame-ancestors 'none'; base-uri 'none'",
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",  # status URLs carry the tracking token: never leak it onward
}


class SecurityHeadersMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers") or [])
                present = {name.lower() for name, _ in headers}
                headers += [(k.encode(), v.encode()) for k, v in SECURITY_HEADERS.items() if k.encode() not in present]
                if scope.get("path", "").startswith(("/review", "/api/", "/status", "/complaints/submitted")):
                    headers.append((b"cache-control", b"no-store"))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, with_headers)


# -- reviewer authentication -----------------------------------------------------------------------


class LoginRequired(Exception):
    """Raised by HTML reviewer routes; the app answers with a redirect to the login page."""

    def __init__(self, next_path: str) -> None:
        self.next_path = next_path


class EndedSessions:
    """Session ids ended by a logout, each kept until the session would have expired anyway.

    Held in memory, per process: several ``serve`` processes, or a restart with a fixed secret key,
    do not share it - the absolute lifetime still ends every session at most
    :data:`SESSION_LIFETIME` after its login."""

    def __init__(self) -> None:
        self._ended: dict[str, float] = {}
        self._lock = threading.Lock()

    def end(self, session_id: str, expires_at: float, now: float) -> None:
        with self._lock:
            self._ended[session_id] = expires_at
            for old in [k for k, until in self._ended.items() if until <= now]:
                del self._ended[old]

    def __contains__(self, session_id: object) -> bool:
        with self._lock:
            return session_id in self._ended


def _timestamp(request: Request) -> float:
    return request.app.state.clock().timestamp()


def start_session(request: Request, name: str) -> None:
    """Log ``name`` in: a fresh session (new CSRF token: no session fixation), a random session id
    that logout can end, and the login time the absolute lifetime counts from."""
    request.session.clear()
    request.session["reviewer"] = name
    request.session["sid"] = secrets.token_urlsafe(16)
    request.session["login_at"] = int(_timestamp(request))
    request.state.reviewer_checked = None


def end_session(request: Request) -> None:
    """Log out: this session id is refused from now on, even in a copy of the cookie."""
    session_id, login_at = request.session.get("sid"), request.session.get("login_at")
    if isinstance(session_id, str) and isinstance(login_at, int):
        request.app.state.ended_sessions.end(session_id, login_at + request.app.state.session_lifetime,
                                             _timestamp(request))
    request.session.clear()
    request.state.reviewer_checked = None


def _session_current(request: Request) -> bool:
    """The session was started by a login, is within its absolute lifetime and was not ended."""
    session_id, login_at = request.session.get("sid"), request.session.get("login_at")
    if not isinstance(session_id, str) or not isinstance(login_at, int):
        return False  # a cookie from before login times were recorded: log in again
    now = _timestamp(request)
    return login_at <= now + 60 and now < login_at + request.app.state.session_lifetime \
        and session_id not in request.app.state.ended_sessions


def session_reviewer(request: Request) -> str | None:
    """The reviewer logged in on this session, if the session is current (not expired, not logged
    out) and the account is still active (a disabled account loses access at its next request)."""
    name = request.session.get("reviewer")
    # Asked twice per reviewer page (the dependency, then render): one query per request, re-asked
    # only if the session's reviewer changed in between (login, logout).
    checked = getattr(request.state, "reviewer_checked", None)
    if checked is not None and checked[0] == name:
        return checked[1]
    found = name if name and _session_current(request) and reviewers.is_active(request.app.state.engine, name) else None
    if name and found is None:
        for key in ("reviewer", "sid", "login_at"):
            request.session.pop(key, None)
    request.state.reviewer_checked = (name, found)
    return found


def reviewer_page(request: Request) -> str:
    """Dependency for reviewer HTML pages."""
    name = session_reviewer(request)
    if name is None:
        raise LoginRequired(request.url.path)
    return name


def authenticate(request: Request, username: str, password: str) -> str | None:
    """The active reviewer these credentials name, else None. A name with control characters is
    no account's name: it is checked as an unknown one (same cost), never sent to the database,
    which may refuse it (PostgreSQL refuses NUL in text)."""
    if has_control_characters(username):
        username = ""
    return reviewers.authenticate(request.app.state.engine, username, password)


def basic_credentials(request: Request) -> tuple[str, str] | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "basic" or not value:
        return None
    try:
        user, sep, password = base64.b64decode(value.strip(), validate=True).decode("utf-8").partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None
    return (user, password) if sep else None


def reviewer_api(request: Request) -> str:
    """Dependency for reviewer API routes: HTTP Basic (RFC 7617) credentials of an active reviewer,
    or a logged-in session - which must then send its CSRF token in ``X-CSRF-Token`` on writes."""
    credentials = basic_credentials(request)
    if credentials is not None:
        # Only failed attempts count, so a busy API client is never locked out by its own success.
        throttle = request.app.state.login_limiter
        refuse_if_throttled(throttle, request, credentials[0])
        name = authenticate(request, *credentials)
        if name:
            throttle.succeeded(client_key(request), credentials[0])
            return name
        throttle.failed(client_key(request), credentials[0])
    else:
        name = session_reviewer(request)
        if name and (request.method in SAFE_METHODS or csrf_valid(request, request.headers.get(CSRF_HEADER))):
            return name
        if name:
            raise HTTPException(403, "missing or wrong X-CSRF-Token header")
    raise HTTPException(401, "reviewer authentication required", headers={"WWW-Authenticate": 'Basic realm="copyright-guard reviewers"'})
