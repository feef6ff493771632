"""Reviewer pages (login required): triage, decide, act on upheld complaints, export."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response

from ..core import complaints as wf
from ..store import complaints as store
from . import security
from .app import attachment_download, csv_download, render

router = APIRouter(prefix="/review", include_in_schema=False, dependencies=[Depends(security.reviewer_page)])


@router.get("")
def complaints_list(request: Request, status: str = "", overdue: str = "") -> Response:
    app = request.app
    now = app.state.clock()
    if overdue:
        items = store.overdue(app.state.engine, now)
    else:
        chosen = status if status in {s.value for s in wf.Status} else None
        items = [(c, wf.overdue(c, now)) for c in store.list_complaints(app.state.engine, status=chosen)]
    return render(request, "review_list.html", {"items": items, "status": status, "overdue": bool(overdue),
                                                "statuses": list(wf.Status)})


@router.get("/complaints/{reference}")
def complaint_detail(request: Request, reference: str) -> Response:
    return _detail(request, reference)


def _detail(request: Request, reference: str, *, affected: list | None = None, error: str = "", status: int = 200) -> Response:
    app = request.app
    record = store.load(app.state.engine, reference)
    complaint = record.complaint
    return render(request, "review_detail.html", {
        "record": record, "c": complaint, "late": wf.overdue(complaint, app.state.clock()),
        "next_statuses": sorted(wf.TRANSITIONS[complaint.status], key=list(wf.Status).index),
        "proposals": wf.proposed_exclusions(complaint), "affected": affected, "error": error,
    }, status=status)


def _status(exc: wf.WorkflowError) -> int:
    """422 for a value as typed (a reason, a reference), 409 for a step the workflow refuses."""
    return 422 if isinstance(exc, wf.InputError) else 409


@router.post("/complaints/{reference}/transition")
async def transition(request: Request, reference: str, reviewer: str = Depends(security.reviewer_page)) -> Response:
    await security.require_csrf_form(request)
    form = await request.form()
    app = request.app
    try:
        store.transition(app.state.engine, reference, security.form_text(form, "to"), actor=reviewer,
                         why=security.form_text(form, "why"), now=app.state.clock(), rules=app.state.policy.complaints,
                         duplicate_of=security.form_text(form, "duplicate_of"))
    except wf.WorkflowError as exc:
        return _detail(request, reference, error=str(exc), status=_status(exc))
    return RedirectResponse(f"/review/complaints/{reference}", status_code=303)


@router.post("/complaints/{reference}/note")
async def note(request: Request, reference: str, reviewer: str = Depends(security.reviewer_page)) -> Response:
    await security.require_csrf_form(request)
    form = await request.form()
    try:
        store.add_note(request.app.state.engine, reference, actor=reviewer, text=security.form_text(form, "text"),
                       now=request.app.state.clock(), public=security.form_text(form, "public") == "yes")
    except wf.WorkflowError as exc:
        return _detail(request, reference, error=str(exc), status=_status(exc))
    return RedirectResponse(f"/review/complaints/{reference}", status_code=303)


@router.post("/complaints/{reference}/exclusions")
async def exclusions(request: Request, reference: str, reviewer: str = Depends(security.reviewer_page)) -> Response:
    await security.require_csrf_form(request)
    form = await request.form()
    kind = security.form_text(form, "kind")
    values = [line.strip() for line in security.form_text(form, "values").splitlines() if line.strip()]
    try:
        store.add_exclusions(request.app.state.engine, reference, [wf.ProposedExclusion(kind, v) for v in values],
                             actor=reviewer, why=security.form_text(form, "why"), now=request.app.state.clock())
    except wf.WorkflowError as exc:
        return _detail(request, reference, error=str(exc), status=_status(exc))
    return RedirectResponse(f"/review/complaints/{reference}", status_code=303)


@router.post("/complaints/{reference}/affected")
async def affected(request: Request, reference: str, reviewer: str = Depends(security.reviewer_page)) -> Response:
    await security.require_csrf_form(request)
    items = store.affected_items(request.app.state.engine, reference, actor=reviewer, now=request.app.state.clock())
    return _detail(request, reference, affected=items)


@router.get("/complaints/{reference}/attachments/{attachment_id}")
def attachment(request: Request, reference: str, attachment_id: int) -> Response:
    return attachment_download(request, reference, attachment_id)


@router.get("/export.csv")
def export_csv(request: Request) -> Response:
    return csv_download(store.export_rows(request.app.state.engine))
