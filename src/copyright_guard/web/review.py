"""Reviewer pages (login required): triage, decide, act on upheld complaints, export."""

from __future__ import annotations

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import RedirectResponse, Response

from ..core.complaints import workflow as wf
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


def _detail(request: Request, reference: str, *, affected: list | None = None, error: str = "", status: int = 200,
            form: str = "", given: dict | None = None) -> Response:
    """The complaint page. After a refused action, ``form`` names the form that failed and
    ``given`` holds what the reviewer typed in it, shown again (nothing typed is lost)."""
    app = request.app
    record = store.load(app.state.engine, reference)
    complaint = record.complaint
    return render(request, "review_detail.html", {
        "record": record, "c": complaint, "late": wf.overdue(complaint, app.state.clock()),
        "next_statuses": sorted(wf.TRANSITIONS[complaint.status], key=list(wf.Status).index),
        "proposals": wf.proposed_exclusions(complaint), "affected": affected, "error": error,
        "audit": store.audit_per_target(app.state.engine, complaint),
        "failed_form": form, "given": given or {},
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
        given = {name: security.form_text(form, name) for name in ("to", "why", "duplicate_of")}
        return _detail(request, reference, error=str(exc), status=_status(exc), form="transition", given=given)
    return RedirectResponse(f"/review/complaints/{reference}", status_code=303)


@router.post("/complaints/{reference}/note")
async def note(request: Request, reference: str, reviewer: str = Depends(security.reviewer_page)) -> Response:
    await security.require_csrf_form(request)
    form = await request.form()
    try:
        store.add_note(request.app.state.engine, reference, actor=reviewer, text=security.form_text(form, "text"),
                       now=request.app.state.clock(), public=security.form_text(form, "public") == "yes")
    except wf.WorkflowError as exc:
        given = {name: security.form_text(form, name) for name in ("text", "public")}
        return _detail(request, reference, error=str(exc), status=_status(exc), form="note", given=given)
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
        given = {"kind": kind, "values": security.form_text(form, "values"), "why": security.form_text(form, "why")}
        return _detail(request, reference, error=str(exc), status=_status(exc), form="exclusions", given=given)
    return RedirectResponse(f"/review/complaints/{reference}", status_code=303)


@router.post("/complaints/{reference}/affected")
async def affected(request: Request, reference: str, reviewer: str = Depends(security.reviewer_page)) -> Response:
    await security.require_csrf_form(request)
    items = store.affected_items(request.app.state.engine, reference, actor=reviewer, now=request.app.state.clock())
    return _detail(request, reference, affected=items)


@router.get("/complaints/{reference}/attachments/{attachment_id}")
def attachment(request: Request, reference: str, attachment_id: int) -> Response:
    return attachment_download(request, reference, attachment_id)


@router.get("/evidence")
def evidence_page(request: Request, url: str = "") -> Response:
    """Every decision recorded for one URL with its reasons and evidence (``audit explain``)."""
    from ..store.audit import explain

    if not url.strip():
        return RedirectResponse("/review", status_code=303)
    return render(request, "review_evidence.html", {"explanation": explain(request.app.state.engine, url[:4000])})


@router.get("/evidence/{sha256}")
def evidence_bytes(request: Request, sha256: str) -> Response:
    """The evidence bytes with that hash, as a download (never rendered: they are a site's bytes)."""
    from sqlalchemy import select

    from ..store.schema import evidence

    if not (len(sha256) == 64 and all(ch in "0123456789abcdef" for ch in sha256)):
        raise HTTPException(404)
    with request.app.state.engine.connect() as connection:
        row = connection.execute(select(evidence.c.body).where(evidence.c.sha256 == sha256)).first()
    if row is None or row.body is None:
        raise HTTPException(404)
    return Response(bytes(row.body), media_type="application/octet-stream",
                    headers={"Content-Disposition": f'attachment; filename="evidence-{sha256[:16]}.bin"',
                             "X-Content-Type-Options": "nosniff"})


@router.get("/export.csv")
def export_csv(request: Request) -> Response:
    return csv_download(store.export_rows(request.app.state.engine))
