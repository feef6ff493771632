"""Public pages for rightsholders: the point of contact, the complaint form, the status page
(reachable only with the tracking token) and the public figures."""

from __future__ import annotations

from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from starlette.datastructures import UploadFile

from ..core.complaints import workflow as wf
from ..store import complaints as store
from . import security
from .app import render

router = APIRouter(include_in_schema=False)

FORM_FIELDS = ("name", "organisation", "email", "role", "type", "description", "works", "urls", "domains")


def status_path(reference: str, token: str) -> str:
    return "/status?" + urlencode({"reference": reference, "token": token})


@router.get("/")
def home(request: Request) -> Response:
    return render(request, "index.html")


@router.get("/complaints/new")
def complaint_form(request: Request) -> Response:
    return render(request, "form.html", {"values": {}, "errors": {}})


@router.post("/complaints/new")
async def submit_complaint(request: Request) -> Response:
    # Parse with our limits first (Starlette caches the parsed form for the CSRF check).
    form = await request.form(max_files=wf.MAX_ATTACHMENTS + 1, max_fields=len(FORM_FIELDS) + 5)
    await security.require_csrf_form(request)
    values = {name: security.form_text(form, name) for name in FORM_FIELDS}
    submission, errors = wf.validate_submission(values)
    uploads = []
    for index, item in enumerate(f for f in form.getlist("attachments") if isinstance(f, UploadFile) and f.filename):
        data = await item.read(wf.MAX_ATTACHMENT_BYTES + 1)
        problem = wf.check_attachment(item.filename or "", item.content_type or "", data, already=index)
        if problem:
            errors.setdefault("attachments", problem)
        uploads.append(store.Upload(item.filename or "", item.content_type or "", data))
    if errors or submission is None:
        return render(request, "form.html", {"values": values, "errors": errors}, status=422)
    # Only complete submissions count against the limit: a rightsholder fixing a typo is not a flood.
    security.enforce(request.app.state.submit_limiter, request, "complaints")
    app = request.app
    record, token = store.submit(app.state.engine, submission, now=app.state.clock(),
                                 rules=app.state.policy.complaints, channel="web", uploads=uploads)
    # Post/redirect/get: the token is shown once, from the session, never put in a redirect URL.
    request.session["submitted"] = {"reference": record.complaint.reference, "token": token}
    return RedirectResponse("/complaints/submitted", status_code=303)


@router.get("/complaints/submitted")
def submitted(request: Request) -> Response:
    receipt = request.session.pop("submitted", None)
    if not receipt:
        return RedirectResponse("/complaints/new", status_code=303)
    return render(request, "submitted.html", {**receipt, "status_url": status_path(receipt["reference"], receipt["token"])})


@router.get("/status")
def status(request: Request, reference: str = "", token: str = "") -> Response:
    if not reference and not token:
        return render(request, "status.html", {"record": None, "asked": False})
    record = store.load_with_token(request.app.state.engine, reference[:40], token[:200])
    if record is None:
        # The same answer for an unknown reference and a wrong token: nothing is revealed.
        return render(request, "status.html", {"record": None, "asked": True, "reference": reference[:40]}, status=404)
    return render(request, "status.html", {"record": record, "asked": True,
                                           "events": [e for e in record.events if e.public]})


@router.get("/figures")
def public_figures(request: Request, period: str = "month") -> Response:
    if period not in wf.PERIODS:
        period = "month"
    rows = store.figures(request.app.state.engine, period)
    return render(request, "figures.html", {"rows": rows, "period": period, "periods": wf.PERIODS})


@router.get("/login")
def login_form(request: Request, next: str = "/review") -> Response:
    return render(request, "login.html", {"next": _safe_next(next), "error": ""})


@router.post("/login")
async def login(request: Request) -> Response:
    await security.require_csrf_form(request)
    throttle = request.app.state.login_limiter
    form = await request.form()
    username, password = security.form_text(form, "username"), security.form_text(form, "password")
    security.refuse_if_throttled(throttle, request, username)
    next_path = _safe_next(security.form_text(form, "next") or "/review")
    name = security.authenticate(request, username, password)
    if name is None:
        throttle.failed(security.client_key(request), username)
        return render(request, "login.html", {"next": next_path, "error": "The user name or password is not right.",
                                              "username": username}, status=401)
    throttle.succeeded(security.client_key(request), username)
    security.start_session(request, name)
    return RedirectResponse(next_path, status_code=303)


@router.post("/logout")
async def logout(request: Request) -> Response:
    await security.require_csrf_form(request)
    security.end_session(request)
    return RedirectResponse("/", status_code=303)


def _safe_next(path: str) -> str:
    """Only a local reviewer path: never an open redirect (``//evil.example``, ``https://...``)."""
    return path if path.startswith("/review") and "//" not in path and "\\" not in path else "/review"
