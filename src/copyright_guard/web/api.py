"""The JSON API (described at /openapi.json): public submission, status and figures; everything
else needs a reviewer (HTTP Basic, or a logged-in session plus ``X-CSRF-Token``)."""

from __future__ import annotations

import base64
import binascii
from typing import Literal

from fastapi import APIRouter, Depends, Header, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.security import HTTPBasic
from pydantic import BaseModel, ConfigDict, Field

from ..core.complaints import workflow as wf
from ..store import complaints as store
from ..store.complaints_export import to_json
from . import security
from .app import attachment_download, csv_download
from ..core.complaints.messages import public_wording
from .public import status_path

# -- the error answers, as the handlers in app.py send them (issue 13: the schema said otherwise) --


class Problem(BaseModel):
    """Every error answer of the API: one sentence fit to show a person."""

    detail: str


class FieldProblem(BaseModel):
    field: str = Field(description="The field, dotted for nested ones (attachments.0.filename)")
    message: str


class InvalidInput(BaseModel):
    """A 422: a summary and one message per field. The submitted values are never echoed back."""

    detail: str
    errors: list[FieldProblem]


_RETRY_AFTER = {"Retry-After": {"description": "Seconds to wait", "schema": {"type": "integer"}}}
INVALID = {422: {"model": InvalidInput, "description": "Invalid fields, one message each"}}
LIMITED = {429: {"model": Problem, "description": "Too many requests (or failed logins) from this address",
                 "headers": _RETRY_AFTER}}
TOO_LARGE = {413: {"description": "Request body over the size limit",
                   "content": {"text/plain": {"schema": {"type": "string"}}}}}
UNKNOWN = {404: {"model": Problem, "description": "No such complaint"}}
REFUSED = {409: {"model": Problem, "description": "Not possible in the complaint's current state"}}
REVIEWERS = {
    401: {"model": Problem, "description": "No or wrong reviewer credentials",
          "headers": {"WWW-Authenticate": {"description": "Basic", "schema": {"type": "string"}}}},
    403: {"model": Problem, "description": "A session write without its X-CSRF-Token header"},
    **LIMITED,
}

BAD_BODY = {400: {"model": Problem, "description": "A body that cannot be read as JSON"}}


def _known_query_only(request: Request) -> None:
    """422 for a query parameter the operation does not declare: a typo (``?stauts=open``) would
    otherwise be ignored silently and answer something other than what was asked."""
    route = request.scope.get("route")
    if route is None or not request.query_params:
        return
    known = _query_names(route.dependant)
    unknown = sorted({name for name in request.query_params if name not in known})
    if unknown:
        raise RequestValidationError([{"loc": ("query", name[:60]), "msg": "unknown query parameter",
                                       "type": "extra_forbidden"} for name in unknown[:10]])


def _query_names(dependant) -> set[str]:
    names = {param.alias for param in dependant.query_params}
    for sub in dependant.dependencies:
        names |= _query_names(sub)
    return names


router = APIRouter(prefix="/api", responses={**BAD_BODY, **INVALID, **TOO_LARGE},
                   dependencies=[Depends(_known_query_only)])
# Declared for OpenAPI (the security scheme); the check itself is security.reviewer_api.
_basic = HTTPBasic(auto_error=False, description="A reviewer account (copyright-guard reviewers add)")
reviewer = [Depends(_basic), Depends(security.reviewer_api)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _at_least_one_target(schema: dict) -> None:
    # The real rule (core.complaints.validate_submission): at least one work, URL or domain. Said
    # in the schema so a client (or a test generator) can build a complaint that is accepted.
    schema["anyOf"] = [{"required": [f], "properties": {f: {"minItems": 1}}} for f in ("works", "urls", "domains")]


class AttachmentIn(_Model):
    filename: str = Field(max_length=255)
    content_type: str = Field(max_length=100, examples=["application/pdf"])
    data_base64: str


class ComplaintIn(_Model):
    """A complaint. The constraints are those core.complaints.validate_submission applies; its
    messages (one per field) are what a 422 lists."""

    model_config = ConfigDict(extra="forbid", json_schema_extra=_at_least_one_target)

    # Schema-only constraints (json_schema_extra): the check itself stays in validate_submission,
    # whose messages say what to do ("Enter your name.") where pydantic's would not.
    name: str = Field(max_length=wf.MAX_NAME, json_schema_extra={"minLength": 1, "pattern": r"\S"})
    organisation: str = Field("", max_length=wf.MAX_NAME)
    email: str = Field(max_length=254, json_schema_extra={"format": "email"})
    role: Literal["rightsholder", "representative", "collective-management-organisation"]
    type: Literal["opt-out-not-honoured", "infringing-site-crawled", "infringing-output", "other"]
    description: str = Field(max_length=wf.MAX_DESCRIPTION,
                             json_schema_extra={"minLength": wf.MIN_DESCRIPTION,
                                                "description": f"At least {wf.MIN_DESCRIPTION} characters"})
    works: list[str] = Field(default_factory=list, max_length=wf.MAX_TARGETS)
    urls: list[str] = Field(default_factory=list, max_length=wf.MAX_TARGETS)
    domains: list[str] = Field(default_factory=list, max_length=wf.MAX_TARGETS)
    attachments: list[AttachmentIn] = Field(default_factory=list, max_length=wf.MAX_ATTACHMENTS)


class Receipt(BaseModel):
    reference: str
    tracking_token: str = Field(description="Keep it: the only key to the status of this complaint.")
    status_url: str
    status: str
    acknowledge_due: str
    decide_due: str


class PublicEvent(BaseModel):
    at: str
    what: str  # the recorded step (``acknowledged -> under_review``), for programs
    said: str  # the same in plain words, as the status page says it ("We started reviewing your complaint")
    why: str


class PublicStatus(BaseModel):
    reference: str
    status: str
    received_at: str
    acknowledge_due: str
    decide_due: str
    decided_at: str | None
    outcome: str | None
    history: list[PublicEvent]


class TransitionIn(_Model):
    to: Literal["acknowledged", "under_review", "upheld", "rejected", "manifestly_unfounded", "duplicate", "closed"]
    why: str = Field(min_length=1, max_length=wf.MAX_WHY)
    duplicate_of: str = ""


class NoteIn(_Model):
    text: str = Field(min_length=1, max_length=wf.MAX_WHY)
    public: bool = False


class ExclusionIn(_Model):
    kind: Literal["domain", "host"]
    value: str = Field(max_length=wf.MAX_TARGET_LENGTH)


class ExclusionsIn(_Model):
    entries: list[ExclusionIn] = Field(min_length=1, max_length=wf.MAX_TARGETS)
    why: str = Field(min_length=1, max_length=wf.MAX_WHY)


# -- public -----------------------------------------------------------------------------------------


@router.post("/complaints", status_code=201, response_model=Receipt, tags=["public"], responses={**LIMITED})
def submit(request: Request, body: ComplaintIn) -> JSONResponse:
    """Lodge a complaint. The answer holds the tracking token: it is shown only this once."""
    submission, errors = wf.validate_submission(body.model_dump(exclude={"attachments"}))
    uploads = []
    for index, item in enumerate(body.attachments):
        try:
            data = base64.b64decode(item.data_base64, validate=True)
        except (binascii.Error, ValueError):
            errors.setdefault("attachments", f"{item.filename[:80]!r}: data_base64 is not valid base64.")
            continue
        problem = wf.check_attachment(item.filename, item.content_type, data, already=index)
        if problem:
            errors.setdefault("attachments", problem)
        uploads.append(store.Upload(item.filename, item.content_type, data))
    if errors or submission is None:
        return JSONResponse({"detail": "invalid complaint",
                             "errors": [{"field": f, "message": m} for f, m in errors.items()]}, status_code=422)
    security.enforce(request.app.state.submit_limiter, request, "complaints")
    app = request.app
    record, token = store.submit(app.state.engine, submission, now=app.state.clock(),
                                 rules=app.state.policy.complaints, channel="api", uploads=uploads)
    c = record.complaint
    receipt = Receipt(reference=c.reference, tracking_token=token, status_url=status_path(c.reference, token),
                      status=c.status.value, acknowledge_due=c.acknowledge_due.isoformat(),
                      decide_due=c.decide_due.isoformat())
    return JSONResponse(receipt.model_dump(), status_code=201)


@router.get("/status/{reference}", response_model=PublicStatus, tags=["public"],
            responses={404: {"model": Problem, "description": "Unknown reference or wrong token (indistinguishable)"}})
def public_status(request: Request, reference: str,
                  x_tracking_token: str = Header("", description="The tracking token given at submission")) -> dict:
    """A complaint's status and public history, for the holder of its tracking token."""
    record = store.load_with_token(request.app.state.engine, reference[:40], x_tracking_token[:200])
    if record is None:
        raise store.ComplaintNotFound(reference[:40])
    c = record.complaint
    return PublicStatus(
        reference=c.reference, status=c.status.value, received_at=c.received_at.isoformat(),
        acknowledge_due=c.acknowledge_due.isoformat(), decide_due=c.decide_due.isoformat(),
        decided_at=c.decided_at.isoformat() if c.decided_at else None,
        outcome=c.outcome.value if c.outcome else None,
        history=[PublicEvent(at=e.at.isoformat(), what=e.what, said=public_wording(e.kind, e.what), why=e.why)
                 for e in record.events if e.public],
    ).model_dump()


@router.get("/figures", tags=["public"])
def public_figures(request: Request, period: Literal["month", "quarter", "year"] = "month") -> list[dict]:
    """Complaints received, decided, and the median days to decision, per period."""
    return [row.as_dict() for row in store.figures(request.app.state.engine, period)]


# -- reviewers --------------------------------------------------------------------------------------


@router.get("/complaints", dependencies=reviewer, tags=["reviewers"], responses={**REVIEWERS})
def list_complaints(request: Request, status: wf.Status | None = None, overdue: bool = False) -> list[dict]:
    app = request.app
    now = app.state.clock()
    if overdue:
        found = [c for c, _ in store.overdue(app.state.engine, now)]
    else:
        found = store.list_complaints(app.state.engine, status=status.value if status else None)
    return [{"reference": c.reference, "status": c.status.value, "received_at": c.received_at.isoformat(),
             "email": c.complainant.email, "type": c.type.value, "decide_due": c.decide_due.isoformat(),
             "overdue": wf.overdue(c, now)} for c in found]


@router.get("/complaints/{reference}", dependencies=reviewer, tags=["reviewers"], responses={**REVIEWERS, **UNKNOWN})
def show(request: Request, reference: str) -> dict:
    return store.load(request.app.state.engine, reference).as_dict(now=request.app.state.clock())


@router.post("/complaints/{reference}/transitions", tags=["reviewers"], responses={**REVIEWERS, **UNKNOWN, **REFUSED})
def transition(request: Request, reference: str, body: TransitionIn, actor: str = Depends(security.reviewer_api),
               _: object = Depends(_basic)) -> dict:
    app = request.app
    record = store.transition(app.state.engine, reference, body.to, actor=actor, why=body.why, now=app.state.clock(),
                              rules=app.state.policy.complaints, duplicate_of=body.duplicate_of)
    return record.as_dict(now=app.state.clock())


@router.post("/complaints/{reference}/notes", tags=["reviewers"], responses={**REVIEWERS, **UNKNOWN, **REFUSED})
def add_note(request: Request, reference: str, body: NoteIn, actor: str = Depends(security.reviewer_api),
             _: object = Depends(_basic)) -> dict:
    record = store.add_note(request.app.state.engine, reference, actor=actor, text=body.text,
                            now=request.app.state.clock(), public=body.public)
    return record.as_dict()


@router.post("/complaints/{reference}/exclusions", tags=["reviewers"], responses={**REVIEWERS, **UNKNOWN, **REFUSED})
def add_exclusions(request: Request, reference: str, body: ExclusionsIn, actor: str = Depends(security.reviewer_api),
                   _: object = Depends(_basic)) -> dict:
    """Exclude domains or hosts from crawling, on the complaint's own versioned exclusion list."""
    record = store.add_exclusions(request.app.state.engine, reference,
                                  [wf.ProposedExclusion(e.kind, e.value) for e in body.entries],
                                  actor=actor, why=body.why, now=request.app.state.clock())
    return record.as_dict()


@router.post("/complaints/{reference}/affected-items", tags=["reviewers"], responses={**REVIEWERS, **UNKNOWN, **REFUSED})
def affected_items(request: Request, reference: str, actor: str = Depends(security.reviewer_api),
                   _: object = Depends(_basic)) -> list[dict]:
    """Already-collected items the complaint's targets cover, to purge (the listing is logged)."""
    return store.affected_items(request.app.state.engine, reference, actor=actor, now=request.app.state.clock())


@router.get("/complaints/{reference}/attachments/{attachment_id}", dependencies=reviewer, tags=["reviewers"],
            response_class=Response, responses={
                200: {"description": "The file, always as a download (Content-Disposition: attachment)",
                      "content": {"*/*": {"schema": {"type": "string", "format": "binary"}}}},
                **REVIEWERS, 404: {"model": Problem, "description": "No such complaint or attachment"}})
def attachment(request: Request, reference: str, attachment_id: int) -> Response:
    return attachment_download(request, reference, attachment_id)


@router.get("/export", dependencies=reviewer, tags=["reviewers"], response_class=Response, responses={
    200: {"description": "Every complaint: JSON (format=json) or a CSV download (format=csv)",
          "content": {"application/json": {"schema": {"type": "array", "items": {"type": "object"}}},
                      "text/csv": {"schema": {"type": "string"}}}},
    **REVIEWERS})
def export(request: Request, format: Literal["csv", "json"] = "json") -> Response:
    rows = store.export_rows(request.app.state.engine)
    if format == "csv":
        return csv_download(rows)
    return Response(to_json(rows), media_type="application/json")
