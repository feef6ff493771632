"""Build the portal: :func:`create_app` wires the store, the policy, the clock and the defences.

Every response is either a page rendered by Jinja2 (autoescaped) or JSON; any unexpected error is
answered with a generic message and logged server-side - a stack trace never reaches a client.
"""

from __future__ import annotations

import logging
import secrets
from typing import Any
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from sqlalchemy import Engine
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.sessions import SessionMiddleware
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .. import __version__
from ..core.complaints import workflow as wf
from ..core.complaints.messages import public_wording
from ..core.policy import Policy
from ..store import complaints as store
from ..store.complaints import ComplaintNotFound
from ..store.complaints_export import to_csv
from . import security

HERE = Path(__file__).parent
LOG = logging.getLogger("copyright_guard.web")

# The largest acceptable request: every attachment at its limit plus the form fields.
MAX_BODY = wf.MAX_ATTACHMENTS * wf.MAX_ATTACHMENT_BYTES * 4 // 3 + 256 * 1024  # base64 in JSON is 4/3


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


def create_app(
    engine: Engine,
    policy: Policy,
    *,
    secret_key: str | None = None,
    secure_cookies: bool = False,
    submissions_per_hour: int = 10,
    logins_per_15_minutes: int = 20,
    max_body_bytes: int = MAX_BODY,
    session_lifetime: int = security.SESSION_LIFETIME,
    clock: Callable[[], datetime] = utc_now,
    signer: Any = None,
) -> FastAPI:
    """The portal for ``engine`` under ``policy``. ``secret_key`` signs session cookies (a random
    one per process when absent: sessions then end when the server restarts). A reviewer's login
    lasts ``session_lifetime`` seconds, however active the session. ``signer`` (a
    webbotauth.RequestSigner, from the policy's ``[crawler] signing_key``) publishes the crawler's
    Web Bot Auth key directory."""
    app = FastAPI(
        title="copyright-guard complaints",
        version=__version__,
        description="Lodge and follow copyright complaints (Code of Practice, Measure 1.5); reviewer API.",
        docs_url=None,  # the interactive docs load scripts from a CDN; the portal runs none
        redoc_url=None,
        openapi_url="/openapi.json",
    )
    app.state.engine = engine
    app.state.policy = policy
    app.state.signer = signer
    app.state.clock = clock
    app.state.submit_limiter = security.RateLimiter(submissions_per_hour, 3600)
    # Failed logins: growing delays per (address, account), at most this many per address (security.py).
    app.state.login_limiter = security.LoginThrottle(logins_per_15_minutes, 900)
    app.state.session_lifetime = session_lifetime
    app.state.ended_sessions = security.EndedSessions()
    app.state.templates = _templates()

    from . import api, crawler, public, review

    app.include_router(public.router)
    app.include_router(crawler.router)
    app.include_router(review.router)
    app.include_router(api.router)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    _error_handlers(app)

    # Outermost last: headers on every answer, then the body cap, then sessions. The cookie's
    # max_age is renewed on every response; the login time inside it is what ends a session.
    app.add_middleware(SessionMiddleware, secret_key=secret_key or secrets.token_urlsafe(32),
                       session_cookie="cg_session", same_site="lax", https_only=secure_cookies,
                       max_age=session_lifetime)
    app.add_middleware(security.BodyLimitMiddleware, max_bytes=max_body_bytes)
    app.add_middleware(security.SecurityHeadersMiddleware)
    app.add_middleware(HeadAsGetMiddleware)
    return app


class HeadAsGetMiddleware:
    """HEAD wherever GET works (RFC 9110 §9.3.2: the same header fields as GET, no content).

    FastAPI routes answer only the methods they declare; a HEAD runs as the GET it mirrors and
    its body is dropped. HEAD is a safe method (RFC 9110 §9.2.1), so it never changes the session
    either: a Set-Cookie the GET would send is dropped too (a HEAD must not use up the one-time
    receipt of /complaints/submitted)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "HEAD":
            await self.app(scope, receive, send)
            return

        async def headers_only(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [(k, v) for k, v in message.get("headers") or []
                                                  if k.lower() != b"set-cookie"]}
            elif message["type"] == "http.response.body":
                if message.get("more_body", False):
                    return
                message = {"type": "http.response.body", "body": b"", "more_body": False}
            await send(message)

        await self.app({**scope, "method": "GET"}, receive, headers_only)


def _templates() -> Jinja2Templates:
    templates = Jinja2Templates(directory=str(HERE / "templates"))
    env = templates.env
    assert env.autoescape, "templates must autoescape: complaint text is untrusted"
    env.globals["labels"] = {str(k): v for k, v in wf.LABELS.items()}
    env.filters["public_wording"] = lambda event: public_wording(event.kind, event.what)
    env.globals["Status"] = wf.Status
    env.globals["outcome_order"] = wf.OUTCOME_ORDER
    env.globals["Role"] = wf.Role
    env.globals["ComplaintType"] = wf.ComplaintType
    env.filters["number"] = lambda value: f"{value:g}"
    env.filters["day"] = lambda moment: moment.strftime("%Y-%m-%d") if moment else ""
    env.filters["minute"] = lambda moment: moment.strftime("%Y-%m-%d %H:%M UTC") if moment else ""
    return templates


def render(request: Request, name: str, context: dict | None = None, status: int = 200) -> Response:
    app = request.app
    base = {
        "policy": app.state.policy,
        "rules": app.state.policy.complaints,
        "csrf_token": security.csrf_token(request),
        "reviewer": security.session_reviewer(request),
        "now": app.state.clock(),
    }
    return app.state.templates.TemplateResponse(request, name, {**base, **(context or {})}, status_code=status)


def attachment_download(request: Request, reference: str, attachment_id: int) -> Response:
    """A complaint's attachment, always as a download, never rendered inline: an uploaded file
    cannot act as a page of this site."""
    meta, body = store.attachment(request.app.state.engine, reference, attachment_id)
    return Response(body, media_type=meta.content_type,
                    headers={"content-disposition": content_disposition(meta.filename, meta.content_type)})


def content_disposition(filename: str, content_type: str) -> str:
    """``attachment`` with the file's name. Header values are Latin-1 at most, so a name in another
    script travels in ``filename*`` as percent-encoded UTF-8 (RFC 8187 §3.2, which replaced RFC
    5987), after an ASCII ``filename`` for clients that do not read it (RFC 6266 §4.3)."""
    name = wf.safe_filename(filename, content_type)
    fallback = wf.ascii_filename(name)
    if fallback == name:
        return f'attachment; filename="{name}"'
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"


def csv_download(rows: list[dict]) -> Response:
    """The complaints export as a CSV download."""
    return Response(to_csv(rows), media_type="text/csv; charset=utf-8",
                    headers={"content-disposition": 'attachment; filename="complaints.csv"'})


def _wants_json(request: Request) -> bool:
    return request.url.path.startswith("/api/") or request.url.path == "/openapi.json"


_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


def _allowed_methods(request: Request) -> list[str]:
    """The methods some route answers at this path (asked of the router itself, which knows its
    included routers); HEAD wherever GET works (HeadAsGetMiddleware)."""
    allowed = set()
    for method in _METHODS:
        scope = {**request.scope, "method": method}
        if any(route.matches(scope)[0] is Match.FULL for route in request.app.router.routes):
            allowed.add(method)
    if "GET" in allowed:
        allowed.add("HEAD")
    return sorted(allowed)


def _error_handlers(app: FastAPI) -> None:
    titles = {400: "Bad request", 401: "Login required", 403: "Forbidden", 404: "Not found",
              405: "Method not allowed", 413: "Too large", 422: "Invalid input", 429: "Too many requests"}

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        detail = exc.detail if isinstance(exc.detail, str) else titles.get(exc.status_code, "Error")
        if exc.status_code == 404 and detail == "Not Found":
            detail = "There is no page at this address."
        headers = getattr(exc, "headers", None)
        if exc.status_code == 405:
            # Starlette names the methods of the first route whose path matched; a resource is
            # often several routes (GET and POST /api/complaints). RFC 9110 §15.5.6: all of them.
            headers = {**(headers or {}), "Allow": ", ".join(_allowed_methods(request))}
        if _wants_json(request):
            return JSONResponse({"detail": detail}, status_code=exc.status_code, headers=headers)
        response = render(request, "error.html", {"title": titles.get(exc.status_code, "Error"), "detail": detail},
                          status=exc.status_code)
        response.headers.update(headers or {})
        return response

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> Response:
        # Field and message only: never echo the submitted input back.
        errors = [{"field": ".".join(str(p) for p in e["loc"] if p != "body"), "message": e["msg"]} for e in exc.errors()]
        return JSONResponse({"detail": "invalid input", "errors": errors}, status_code=422)

    @app.exception_handler(wf.InputError)
    async def unusable(request: Request, exc: wf.InputError) -> Response:
        # A value as typed (RFC 9110 §15.5.21: the content is understood but cannot be processed).
        if _wants_json(request):
            return JSONResponse({"detail": str(exc), "errors": [{"field": exc.field, "message": str(exc)}]},
                                status_code=422)
        return render(request, "error.html", {"title": "Invalid input", "detail": str(exc)}, status=422)

    @app.exception_handler(wf.WorkflowError)
    async def refused(request: Request, exc: wf.WorkflowError) -> Response:
        if _wants_json(request):
            return JSONResponse({"detail": str(exc)}, status_code=409)
        return render(request, "error.html", {"title": "Not possible", "detail": str(exc)}, status=409)

    @app.exception_handler(ComplaintNotFound)
    async def not_found(request: Request, exc: ComplaintNotFound) -> Response:
        if _wants_json(request):
            return JSONResponse({"detail": str(exc)}, status_code=404)
        return render(request, "error.html", {"title": "Not found", "detail": str(exc)}, status=404)

    @app.exception_handler(security.LoginRequired)
    async def login(request: Request, exc: security.LoginRequired) -> Response:
        return RedirectResponse(f"/login?next={exc.next_path}", status_code=303)

    @app.exception_handler(Exception)
    async def crashed(request: Request, exc: Exception) -> Response:
        incident = secrets.token_hex(4)
        LOG.exception("unhandled error %s on %s %s", incident, request.method, request.url.path)
        message = f"Something went wrong on our side (incident {incident}). Nothing you sent is lost if you saw a reference; please try again later."
        # Starlette answers this from ServerErrorMiddleware, outside SecurityHeadersMiddleware:
        # the headers every other answer gets are set here.
        headers = {**security.SECURITY_HEADERS, "cache-control": "no-store"}
        if _wants_json(request):
            return JSONResponse({"detail": message}, status_code=500, headers=headers)
        return Response(f"<!doctype html><title>Error</title><p>{message}</p>", status_code=500, media_type="text/html",
                        headers=headers)
