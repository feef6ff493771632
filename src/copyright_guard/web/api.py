"""The JSON API (described at /openapi.json): public submission, status and figures; everything
else needs a reviewer (HTTP Basic, or a logged-in session plus ``X-CSRF-Token``)."""

from __future__ import annotations

import base64
import binascii
from typing import Literal

from fastapi import APIRouter, Depends, Header, Request
from fastapi.responses import JSONResponse, Response
from fastapi.security import HTTPBasic
from pydantic import BaseModel, ConfigDict, Field

from ..core import complaints as wf
from ..store import complaints as store
from ..store.complaints_export import to_json
from . import security
from .app import attachment_download, csv_download
from ..core.complaint_messages import public_wording
from .public import status_path

router = APIRouter(prefix="/api")
# Declared for OpenAPI (the security scheme); the check itself is security.reviewer_api.
_basic = HTTPBasic(auto_error=False, description="A reviewer account (copyright-guard reviewers add)")
reviewer = [Depends(_basic), Depends(security.reviewer_api)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class AttachmentIn(_Model):
    filename: str = Field(max_length=255)
    content_type: str = Field(max_length=100, examples=["application/pdf"])
    data_base64: str


class ComplaintIn(_Model):
    name: str = Field(max_length=wf.MAX_NAME)
    organisation: str = Field("", max_length=wf.MAX_NAME)
    email: str = Field(max_length=254)
    role: Literal["rightsholder", "representative", "collective-management-organisation"]
    type: Literal["opt-out-not-honoured", "infringing-site-crawled", "infringing-output", "other"]
    description: str = Field(max_length=wf.MAX_DESCRIPTION)
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


@router.post("/complaints", status_code=201, response_model=Receipt, tags=["public"],
             responses={422: {"description": "Invalid fields, one message each"}, 429: {"description": "Rate limited"}})
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
            responses={404: {"description": "Unknown reference or wrong token (indistinguishable)"}})
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


@router.get("/complaints", dependencies=reviewer, tags=["reviewers"])
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


@router.get("/complaints/{reference}", dependencies=reviewer, tags=["reviewers"])
def show(request: Request, reference: str) -> dict:
    return store.load(request.app.state.engine, reference).as_dict(now=request.app.state.clock())


@router.post("/complaints/{reference}/transitions", tags=["reviewers"])
def transition(request: Request, reference: str, body: TransitionIn, actor: str = Depends(security.reviewer_api),
               _: object = Depends(_basic)) -> dict:
    app = request.app
    record = store.transition(app.state.engine, reference, body.to, actor=actor, why=body.why, now=app.state.clock(),
                              rules=app.state.policy.complaints, duplicate_of=body.duplicate_of)
    return record.as_dict(now=app.state.clock())


@router.post("/complaints/{reference}/notes", tags=["reviewers"])
def add_note(request: Request, reference: str, body: NoteIn, actor: str = Depends(security.reviewer_api),
             _: object = Depends(_basic)) -> dict:
    record = store.add_note(request.app.state.engine, reference, actor=actor, text=body.text,
                            now=request.app.state.clock(), public=body.public)
    return record.as_dict()


@router.post("/complaints/{reference}/exclusions", tags=["reviewers"])
def add_exclusions(request: Request, reference: str, body: ExclusionsIn, actor: str = Depends(security.reviewer_api),
                   _: object = Depends(_basic)) -> dict:
    """Exclude domains or hosts from crawling, on the complaint's own versioned exclusion list."""
    record = store.add_exclusions(request.app.state.engine, reference,
                                  [wf.ProposedExclusion(e.kind, e.value) for e in body.entries],
                                  actor=actor, why=body.why, now=request.app.state.clock())
    return record.as_dict()


@router.post("/complaints/{reference}/affected-items", tags=["reviewers"])
def affected_items(request: Request, reference: str, actor: str = Depends(security.reviewer_api),
                   _: object = Depends(_basic)) -> list[dict]:
    """Already-collected items the complaint's targets cover, to purge (the listing is logged)."""
    return store.affected_items(request.app.state.engine, reference, actor=actor, now=request.app.state.clock())


@router.get("/complaints/{reference}/attachments/{attachment_id}", dependencies=reviewer, tags=["reviewers"])
def attachment(request: Request, reference: str, attachment_id: int) -> Response:
    return attachment_download(request, reference, attachment_id)


@router.get("/export", dependencies=reviewer, tags=["reviewers"])
def export(request: Request, format: Literal["csv", "json"] = "json") -> Response:
    rows = store.export_rows(request.app.state.engine)
    if format == "csv":
        return csv_download(rows)
    return Response(to_json(rows), media_type="application/json")
