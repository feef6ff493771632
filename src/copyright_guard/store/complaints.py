"""Complaint persistence: intake, transitions with their history, actions, figures.

Each function is one transaction. The workflow rules live in :mod:`copyright_guard.core.complaints.workflow`;
this module loads a complaint, asks the core for the next state and its :class:`Event`, and writes
both (plus any email owed, into the outbox) atomically.
"""

from __future__ import annotations

import hmac
import secrets
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Connection, Engine, func, insert, select, update
from sqlalchemy import text as sql_text
from sqlalchemy.exc import IntegrityError

from ..core.complaints import workflow as wf
from ..core.complaints.messages import message_for, receipt_message
from ..core.complaints.workflow import Complaint, ComplaintTarget, Event, ProposedExclusion, Status, Submission, WorkflowError
from ..core.policy import Complaints as ComplaintRules
from ..core.lists.files import ListDefaults, ListFileError, rows_from_records
from ..core.model import sha256_hex
from ..core.urls import registered_domain
from . import audit, lists, outbox
from .chain import format_optional_time, format_time, parse_optional_time, parse_time
from .schema_complaints import complaint_attachments, complaint_events, complaint_targets, complaints

_REFERENCE_LOCK = zlib.crc32(b"copyright-guard complaint references")
SYSTEM = "copyright-guard"  # the actor of automatic events (duplicate detection, emails queued)


class ComplaintNotFound(LookupError):
    def __str__(self) -> str:
        return f"no complaint {self.args[0]!r}"


@dataclass(frozen=True, slots=True)
class Attachment:
    id: int
    filename: str
    content_type: str
    size: int
    sha256: str

    def as_dict(self) -> dict:
        return {"id": self.id, "filename": self.filename, "content_type": self.content_type,
                "size": self.size, "sha256": self.sha256}


@dataclass(frozen=True, slots=True)
class Upload:
    filename: str
    content_type: str
    data: bytes


@dataclass(frozen=True, slots=True)
class ComplaintRecord:
    """A complaint with its history and attachments, as reviewers see it."""

    complaint: Complaint
    channel: str
    events: tuple[Event, ...] = ()
    attachments: tuple[Attachment, ...] = ()
    id: int = field(default=0, compare=False)

    def as_dict(self, *, now: datetime | None = None) -> dict:
        c = self.complaint
        data = {
            "reference": c.reference, "status": c.status.value, "channel": self.channel,
            "received_at": c.received_at.isoformat(),
            "complainant": {"name": c.complainant.name, "organisation": c.complainant.organisation,
                            "email": c.complainant.email, "role": c.complainant.role.value},
            "targets": [{"kind": t.kind.value, "value": t.value} for t in c.targets],
            "type": c.type.value, "description": c.description,
            "acknowledge_due": c.acknowledge_due.isoformat(), "decide_due": c.decide_due.isoformat(),
            "acknowledged_at": _iso(c.acknowledged_at), "decided_at": _iso(c.decided_at), "closed_at": _iso(c.closed_at),
            "outcome": c.outcome.value if c.outcome else None, "duplicate_of": c.duplicate_of or None,
            "exclusion_list": c.exclusion_list,
            "events": [event_dict(e) for e in self.events],
            "attachments": [a.as_dict() for a in self.attachments],
        }
        if now is not None:
            data["overdue"] = wf.overdue(c, now)
        return data


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def event_dict(event: Event) -> dict:
    return {"at": event.at.isoformat(), "actor": event.actor, "kind": event.kind, "what": event.what,
            "why": event.why, "public": event.public}


def token_hash(token: str) -> str:
    return sha256_hex(token.encode("utf-8"))


# -- reading ------------------------------------------------------------------------------------


def _complaint(row, targets: Sequence[ComplaintTarget]) -> Complaint:
    return Complaint(
        reference=row.reference, received_at=parse_time(row.received_at),
        complainant=wf.Complainant(row.name, row.email, wf.Role(row.role), row.organisation),
        targets=tuple(targets), type=wf.ComplaintType(row.type), description=row.description,
        status=Status(row.status), acknowledge_due=parse_time(row.acknowledge_due),
        decide_due=parse_time(row.decide_due),
        acknowledged_at=parse_optional_time(row.acknowledged_at),
        decided_at=parse_optional_time(row.decided_at),
        closed_at=parse_optional_time(row.closed_at),
        outcome=Status(row.outcome) if row.outcome else None, duplicate_of=row.duplicate_of or "")


def _targets_by_id(connection: Connection, ids: list[int] | None = None) -> dict[int, list[ComplaintTarget]]:
    query = select(complaint_targets).order_by(complaint_targets.c.complaint_id, complaint_targets.c.position)
    if ids is not None:
        query = query.where(complaint_targets.c.complaint_id.in_(ids))
    found: dict[int, list[ComplaintTarget]] = {}
    for row in connection.execute(query):
        found.setdefault(row.complaint_id, []).append(ComplaintTarget(wf.TargetKind(row.kind), row.value))
    return found


def _reference_key(reference: str) -> str | None:
    """The reference as stored, or None when the text cannot be one: nothing that is not a
    reference reaches a query (PostgreSQL refuses NUL in text: a 500, not "not found")."""
    key = (reference or "").strip().upper()
    return key if wf.REFERENCE_RE.fullmatch(key) else None


def _row(connection: Connection, reference: str):
    key = _reference_key(reference)
    row = connection.execute(select(complaints).where(complaints.c.reference == key)).first() if key else None
    if row is None:
        raise ComplaintNotFound((reference or "").strip()[:40])
    return row


def _record(connection: Connection, row) -> ComplaintRecord:
    targets = _targets_by_id(connection, [row.id]).get(row.id, [])
    events = tuple(
        Event(parse_time(e.at), e.actor, e.kind, e.what, e.why, bool(e.public))
        for e in connection.execute(select(complaint_events).where(complaint_events.c.complaint_id == row.id)
                                    .order_by(complaint_events.c.id)))
    attachments = tuple(
        Attachment(a.id, a.filename, a.content_type, a.size, a.sha256)
        for a in connection.execute(
            select(complaint_attachments.c.id, complaint_attachments.c.filename, complaint_attachments.c.content_type,
                   complaint_attachments.c.size, complaint_attachments.c.sha256)
            .where(complaint_attachments.c.complaint_id == row.id).order_by(complaint_attachments.c.id)))
    return ComplaintRecord(_complaint(row, targets), row.channel, events, attachments, id=row.id)


def load(engine: Engine, reference: str) -> ComplaintRecord:
    """The complaint ``reference`` with its history. Raises :class:`ComplaintNotFound`."""
    with engine.connect() as connection:
        return _record(connection, _row(connection, reference))


# Compared against when the reference is unknown, so that a miss costs what a wrong token costs.
_NO_TOKEN = token_hash(secrets.token_urlsafe(32))


def load_with_token(engine: Engine, reference: str, token: str) -> ComplaintRecord | None:
    """The complaint, only if ``token`` is its tracking token (constant-time compare); else None."""
    key = _reference_key(reference)
    with engine.connect() as connection:
        row = connection.execute(select(complaints).where(complaints.c.reference == key)).first() if key else None
        stored = row.token_sha256 if row is not None else _NO_TOKEN
        if not hmac.compare_digest(stored, token_hash(token or "")) or row is None:
            return None
        return _record(connection, row)


def list_complaints(engine: Engine, *, status: str | None = None) -> list[Complaint]:
    query = select(complaints).order_by(complaints.c.id)
    if status:
        if status not in {s.value for s in Status}:
            raise wf.InputError("status", f"unknown status {status[:40]!r} (one of {', '.join(s.value for s in Status)})")
        query = query.where(complaints.c.status == status)
    with engine.connect() as connection:
        rows = connection.execute(query).all()
        targets = _targets_by_id(connection)
    return [_complaint(row, targets.get(row.id, [])) for row in rows]


def overdue(engine: Engine, now: datetime) -> list[tuple[Complaint, list[str]]]:
    """Open complaints with a deadline passed at ``now``, the most overdue first."""
    late = [(c, wf.overdue(c, now)) for c in list_complaints(engine) if c.status in wf.OPEN]
    return sorted(((c, why) for c, why in late if why), key=lambda item: item[0].decide_due)


def figures(engine: Engine, period: str = "month") -> list[wf.PeriodFigures]:
    return wf.figures(list_complaints(engine), period)


# The largest id of an Integer column on PostgreSQL (32 bits; SQLite's reach further, but attachment
# ids never get there): a bigger number names no attachment.
_MAX_ID = 2**31 - 1


def attachment(engine: Engine, reference: str, attachment_id: int) -> tuple[Attachment, bytes]:
    with engine.connect() as connection:
        row = _row(connection, reference)
        a = connection.execute(select(complaint_attachments).where(
            complaint_attachments.c.id == attachment_id, complaint_attachments.c.complaint_id == row.id)).first() \
            if 0 < attachment_id <= _MAX_ID else None  # a bigger one overflows the driver: not found, not a 500
    if a is None:
        raise ComplaintNotFound(f"{reference} attachment {attachment_id}")
    return Attachment(a.id, a.filename, a.content_type, a.size, a.sha256), a.body


# -- writing ------------------------------------------------------------------------------------


def _append(connection: Connection, complaint_id: int, event: Event) -> None:
    connection.execute(insert(complaint_events).values(
        complaint_id=complaint_id, at=format_time(event.at), actor=event.actor, kind=event.kind,
        what=event.what, why=event.why, public=event.public))


def submit(
    engine: Engine,
    submission: Submission,
    *,
    now: datetime,
    rules: ComplaintRules,
    channel: str = "web",
    uploads: Sequence[Upload] = (),
) -> tuple[ComplaintRecord, str]:
    """Store a new complaint; returns it and its tracking token (shown once, stored only hashed).

    Attachments are checked first (count, size, declared type against content); a refused one
    refuses the whole submission with :class:`WorkflowError`, so nothing half-stored remains.
    """
    for index, upload in enumerate(uploads):
        problem = wf.check_attachment(upload.filename, upload.content_type, upload.data, already=index)
        if problem:
            raise WorkflowError(problem)
    token = secrets.token_urlsafe(32)  # 256 bits: unguessable (the status page's only key)
    for attempt in range(10):
        try:
            with engine.begin() as connection:
                record = _insert(connection, submission, now=now, rules=rules, channel=channel,
                                 uploads=uploads, token=token)
            return record, token
        except IntegrityError:
            # Another submission took the same yearly number at the same moment: take the next.
            if attempt == 9:
                raise
    raise AssertionError("unreachable")


def _insert(connection: Connection, submission: Submission, *, now: datetime, rules: ComplaintRules, channel: str,
            uploads: Sequence[Upload], token: str) -> ComplaintRecord:
    year = now.year
    if connection.dialect.name == "postgresql":
        # Numbers are consecutive per year: serialise allocation across processes for the rest of
        # this transaction (SQLite serialises writers itself; a rare clash there is retried).
        connection.execute(sql_text("SELECT pg_advisory_xact_lock(:key)"), {"key": _REFERENCE_LOCK})
    number = (connection.execute(select(func.max(complaints.c.number)).where(complaints.c.year == year)).scalar() or 0) + 1
    reference = wf.format_reference(year, number)
    complaint, event = wf.receive(submission, reference=reference, now=now, channel=channel,
                                  acknowledge_within_days=rules.acknowledge_within_days,
                                  decide_within_days=rules.decide_within_days)
    c = complaint
    complaint_id = connection.execute(insert(complaints).values(
        reference=reference, year=year, number=number, received_at=format_time(now), channel=channel,
        name=c.complainant.name, organisation=c.complainant.organisation, email=c.complainant.email,
        role=c.complainant.role.value, type=c.type.value, description=c.description, status=c.status.value,
        outcome=None, duplicate_of="", acknowledge_due=format_time(c.acknowledge_due),
        decide_due=format_time(c.decide_due), token_sha256=token_hash(token))).inserted_primary_key[0]
    connection.execute(insert(complaint_targets), [
        {"complaint_id": complaint_id, "position": i, "kind": t.kind.value, "value": t.value}
        for i, t in enumerate(c.targets)])
    _append(connection, complaint_id, event)
    for upload in uploads:
        content_type = upload.content_type.split(";", 1)[0].strip().lower()
        connection.execute(insert(complaint_attachments).values(
            complaint_id=complaint_id, filename=wf.safe_filename(upload.filename, content_type),
            content_type=content_type, size=len(upload.data),
            sha256=sha256_hex(upload.data), body=upload.data))
    # The receipt, in the same transaction: a stored complaint always owes it (Measure 1.5: the
    # complainant knows at once that the complaint arrived, not only at acknowledgement).
    kind, subject, body = receipt_message(c, operator_name=rules.operator_name, contact_email=rules.contact_email)
    outbox.queue(connection, complaint_id=complaint_id, kind=kind, to_addr=c.complainant.email,
                 subject=subject, body=body, now=now)
    _append(connection, complaint_id, Event(now, SYSTEM, "message", f"{kind} email queued to the complainant",
                                            subject, public=False))
    # Duplicate detection (same complainant, same target) only flags: a reviewer decides.
    earlier = connection.execute(select(complaints).where(
        func.lower(complaints.c.email) == c.complainant.email.lower(), complaints.c.id != complaint_id)).all()
    if earlier:
        targets = _targets_by_id(connection, [row.id for row in earlier])
        same = wf.find_duplicates(c, [_complaint(row, targets.get(row.id, [])) for row in earlier])
        if same:
            _append(connection, complaint_id, wf.note(
                actor=SYSTEM, now=now, text=f"possible duplicate of {', '.join(same)} (same complainant and target)"))
    return _record(connection, _row(connection, reference))


def transition(
    engine: Engine,
    reference: str,
    to: str,
    *,
    actor: str,
    why: str,
    now: datetime,
    rules: ComplaintRules,
    duplicate_of: str = "",
) -> ComplaintRecord:
    """Apply one workflow step, record it, and queue the email it owes (acknowledgement, decision)."""
    with engine.begin() as connection:
        row = _row(connection, reference)
        current = _record(connection, row).complaint
        updated, event = wf.transition(current, to, actor=actor, why=why, now=now, duplicate_of=duplicate_of)
        if updated.status is Status.DUPLICATE:
            try:
                _row(connection, updated.duplicate_of)  # the original must exist
            except ComplaintNotFound:
                raise wf.InputError("duplicate_of", f"no complaint {updated.duplicate_of} to be a duplicate of") from None
        # Optimistic concurrency: only if nobody moved it meanwhile (two reviewers, one click each).
        result = connection.execute(update(complaints).where(
            complaints.c.id == row.id, complaints.c.status == current.status.value).values(
            status=updated.status.value, outcome=updated.outcome.value if updated.outcome else None,
            duplicate_of=updated.duplicate_of, acknowledged_at=format_optional_time(updated.acknowledged_at),
            decided_at=format_optional_time(updated.decided_at), closed_at=format_optional_time(updated.closed_at)))
        if result.rowcount != 1:
            raise WorkflowError(f"{current.reference} was changed by someone else meanwhile; reload and retry")
        _append(connection, row.id, event)
        owed = message_for(updated, event.why, operator_name=rules.operator_name, contact_email=rules.contact_email)
        if owed is not None:
            kind, subject, body = owed
            outbox.queue(connection, complaint_id=row.id, kind=kind, to_addr=updated.complainant.email,
                         subject=subject, body=body, now=now)
            _append(connection, row.id, Event(now, SYSTEM, "message", f"{kind} email queued to the complainant",
                                              subject, public=False))
        return _record(connection, _row(connection, reference))


def add_note(engine: Engine, reference: str, *, actor: str, text: str, now: datetime, public: bool = False) -> ComplaintRecord:
    event = wf.note(actor=actor, text=text, now=now, public=public)
    with engine.begin() as connection:
        row = _row(connection, reference)
        _append(connection, row.id, event)
        return _record(connection, row)


# -- actions when upheld --------------------------------------------------------------------------

def add_exclusions(
    engine: Engine,
    reference: str,
    entries: Sequence[ProposedExclusion],
    *,
    actor: str,
    why: str,
    now: datetime,
) -> ComplaintRecord:
    """Add domains or hosts to the complaint's own exclusion list (``complaint-<reference>``), as a
    new version of that list, and log what changed. Only for an upheld complaint.

    A domain named where the list has that name as a host replaces the host entry (the domain
    covers it and every name under it); a name already listed otherwise is left as it is. If
    nothing would change, :class:`WorkflowError` says so and nothing is logged."""
    record = load(engine, reference)
    if record.complaint.outcome is not Status.UPHELD:
        raise WorkflowError(f"{record.complaint.reference} is not upheld; exclusions follow an upheld complaint only")
    wanted = check_exclusions(record.complaint.reference, entries, actor=actor, why=why, now=now)
    list_name = record.complaint.exclusion_list
    rows = [_list_entry(record.complaint.reference, e) for e in wanted]
    try:
        result = lists.extend(engine, list_name, rows, now=now, source=f"complaint {record.complaint.reference}")
    except (ListFileError, lists.ListError) as exc:
        raise WorkflowError(str(exc)) from None
    if result.unchanged:
        raise WorkflowError(f"nothing to add: {', '.join(e.value for e in wanted)} already on exclusion list "
                            f"{list_name} (version {result.snapshot.version})")
    changes = [f"added {', '.join(f'{e.kind} {e.entry}' for e in result.diff.added)}"] if result.diff.added else []
    changes += [f"{old.kind} {old.entry} is now a {new.kind} entry (with every name under it)"
                for old, new in result.diff.changed]
    event = wf.action(actor=actor, what=f"exclusion list {list_name} version {result.snapshot.version}: "
                                        + "; ".join(changes), why=why, now=now)
    with engine.begin() as connection:
        _append(connection, record.id, event)
        return _record(connection, _row(connection, reference))


def check_exclusions(reference: str, entries: Sequence[ProposedExclusion], *, actor: str, why: str,
                     now: datetime) -> list[ProposedExclusion]:
    """``entries`` normalised, checked as :func:`add_exclusions` checks them (each name, the count,
    the reason, the list entries they become), without touching the database; raises
    :class:`WorkflowError` naming the bad one. ``complaints decide`` calls it before the decision,
    so that a refused exclusion never leaves an upheld complaint without the exclusion it asked for."""
    wanted = wf.exclusion_entries(entries)
    wf.action(actor=actor, what="", why=why, now=now)  # a reason is checked before anything is stored
    key = _reference_key(reference) or (reference or "").strip()
    try:
        rows_from_records([(None, _list_entry(key, e)) for e in wanted], f"complaint {key[:40]}",
                          ListDefaults(listed_at=now), unit="entry")
    except ListFileError as exc:
        raise WorkflowError(str(exc)) from None
    return wanted


def _list_entry(reference: str, entry: ProposedExclusion) -> dict:
    """One entry for the versioned list; ``reference`` makes later decisions cite the complaint."""
    return {"entry": entry.value, "kind": entry.kind, "authority": "complaint",
            "reference": f"complaint {reference}"}


def audit_per_target(engine: Engine, complaint: Complaint) -> list[tuple[ComplaintTarget, dict | None]]:
    """For each target, what the audit log holds (:func:`audit.target_summary`): a URL target that
    URL, a domain target its whole registered domain (as the exclusion it proposes); a work has no
    address to look up (``None``). For the reviewer, before deciding."""
    out: list[tuple[ComplaintTarget, dict | None]] = []
    for target in complaint.targets:
        if target.kind is wf.TargetKind.DOMAIN:
            out.append((target, audit.target_summary(engine, domain=registered_domain(target.value))))
        elif target.kind is wf.TargetKind.URL:
            out.append((target, audit.target_summary(engine, url=target.value)))
        else:
            out.append((target, None))
    return out


def affected_items(engine: Engine, reference: str, *, actor: str, now: datetime) -> list[dict]:
    """Items already collected (allowed decisions in the audit log) that the complaint's targets
    cover, one per URL, to be purged; the listing itself is logged as an action. A domain target
    covers its whole registered domain, as the exclusion it proposes does; a URL target that URL."""
    record = load(engine, reference)
    found: dict[str, dict] = {}
    for target in record.complaint.targets:
        if target.kind is wf.TargetKind.DOMAIN:
            rows = audit.allowed_decisions_matching(engine, domain=registered_domain(target.value))
        elif target.kind is wf.TargetKind.URL:
            rows = audit.allowed_decisions_matching(engine, url_pattern=target.value + "$")
        else:
            continue
        for item in rows:
            found.setdefault(item.url, item._asdict())  # audit.AllowedDecision, oldest first
    items = sorted(found.values(), key=lambda item: item["url"])
    event = wf.action(actor=actor, what=f"listed {len(items)} already-collected item(s) for purging",
                      why="items collected before the complaint was upheld must be removed", now=now)
    with engine.begin() as connection:
        _append(connection, record.id, event)
    return items


def export_rows(engine: Engine) -> list[dict]:
    """One flat row per complaint (for CSV / JSON export)."""
    rows = []
    with engine.connect() as connection:
        # Three queries for the whole export (not three per complaint): only the counts of events
        # and attachments are exported.
        targets = _targets_by_id(connection)
        events = _counts(connection, complaint_events.c.complaint_id)
        attachments = _counts(connection, complaint_attachments.c.complaint_id)
        for row in connection.execute(select(complaints).order_by(complaints.c.id)).all():
            c = _complaint(row, targets.get(row.id, []))
            rows.append({
                "reference": c.reference, "received_at": c.received_at.isoformat(), "channel": row.channel,
                "status": c.status.value, "outcome": c.outcome.value if c.outcome else "",
                "name": c.complainant.name, "organisation": c.complainant.organisation,
                "email": c.complainant.email, "role": c.complainant.role.value, "type": c.type.value,
                "targets": "\n".join(f"{t.kind.value}: {t.value}" for t in c.targets),
                "description": c.description, "acknowledge_due": c.acknowledge_due.isoformat(),
                "decide_due": c.decide_due.isoformat(), "acknowledged_at": _iso(c.acknowledged_at) or "",
                "decided_at": _iso(c.decided_at) or "", "closed_at": _iso(c.closed_at) or "",
                "duplicate_of": c.duplicate_of, "events": events.get(row.id, 0),
                "attachments": attachments.get(row.id, 0),
            })
    return rows


def _counts(connection: Connection, complaint_id_column) -> dict[int, int]:
    """Rows per complaint in the table of ``complaint_id_column``."""
    query = select(complaint_id_column, func.count()).group_by(complaint_id_column)
    return {complaint_id: count for complaint_id, count in connection.execute(query)}
