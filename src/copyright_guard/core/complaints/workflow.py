"""The complaint workflow (Code of Practice, Measure 1.5) as a pure state machine.

A rightsholder, their representative or a collective management organisation lodges a complaint
(glossary: "complaint"); reviewers move it through

    received -> acknowledged -> under_review -> upheld | rejected | manifestly_unfounded | duplicate -> closed

Every transition names who made it and why, and yields an :class:`Event` for the append-only
history. Nothing here does I/O or reads the clock: ``now`` is passed in, the store persists.
"""

from __future__ import annotations

import re
import statistics
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from enum import Enum

from ..lists.exclusions import EntryError, normalise_entry
from ..urls import URLError, parse_target, registered_domain


class _StrEnum(str, Enum):
    def __str__(self) -> str:
        return self.value


class Status(_StrEnum):
    RECEIVED = "received"
    ACKNOWLEDGED = "acknowledged"
    UNDER_REVIEW = "under_review"
    UPHELD = "upheld"
    REJECTED = "rejected"
    MANIFESTLY_UNFOUNDED = "manifestly_unfounded"  # the Code lets these go without full handling
    DUPLICATE = "duplicate"  # already answered for the same rightsholder and target
    CLOSED = "closed"


OUTCOMES = frozenset({Status.UPHELD, Status.REJECTED, Status.MANIFESTLY_UNFOUNDED, Status.DUPLICATE})
OPEN = frozenset({Status.RECEIVED, Status.ACKNOWLEDGED, Status.UNDER_REVIEW})
OUTCOME_ORDER = ("upheld", "rejected", "manifestly_unfounded", "duplicate")  # as the figures list them

TRANSITIONS: Mapping[Status, frozenset[Status]] = {
    Status.RECEIVED: frozenset({Status.ACKNOWLEDGED}),
    Status.ACKNOWLEDGED: frozenset({Status.UNDER_REVIEW}),
    Status.UNDER_REVIEW: OUTCOMES,
    **{outcome: frozenset({Status.CLOSED}) for outcome in OUTCOMES},
    Status.CLOSED: frozenset(),
}


class Role(_StrEnum):
    RIGHTSHOLDER = "rightsholder"
    REPRESENTATIVE = "representative"
    CMO = "collective-management-organisation"


class ComplaintType(_StrEnum):
    OPT_OUT_NOT_HONOURED = "opt-out-not-honoured"
    INFRINGING_SITE_CRAWLED = "infringing-site-crawled"
    INFRINGING_OUTPUT = "infringing-output"
    OTHER = "other"


class TargetKind(_StrEnum):
    WORK = "work"
    URL = "url"
    DOMAIN = "domain"


LABELS = {
    Status.RECEIVED: "Received",
    Status.ACKNOWLEDGED: "Acknowledged",
    Status.UNDER_REVIEW: "Under review",
    Status.UPHELD: "Upheld",
    Status.REJECTED: "Rejected",
    Status.MANIFESTLY_UNFOUNDED: "Manifestly unfounded",
    Status.DUPLICATE: "Duplicate",
    Status.CLOSED: "Closed",
    Role.RIGHTSHOLDER: "Rightsholder",
    Role.REPRESENTATIVE: "Representative of a rightsholder",
    Role.CMO: "Collective management organisation",
    ComplaintType.OPT_OUT_NOT_HONOURED: "An opt-out (rights reservation) was not honoured",
    ComplaintType.INFRINGING_SITE_CRAWLED: "An infringing site was crawled",
    ComplaintType.INFRINGING_OUTPUT: "A model output infringes my work",
    ComplaintType.OTHER: "Other",
}

# Limits a reviewer can still read in one sitting; bigger evidence goes in attachments.
MAX_NAME = 200
MIN_DESCRIPTION = 20  # "sufficiently precise and adequately substantiated" (Measure 1.5)
MAX_DESCRIPTION = 20_000
MAX_TARGETS = 100
MAX_TARGET_LENGTH = 2_000
MAX_WHY = 5_000

MAX_ATTACHMENTS = 5
MAX_ATTACHMENT_BYTES = 5 * 1024 * 1024
# Declared type -> magic bytes the content must start with (None: checked as UTF-8 text).
# The declared type alone is never trusted: a file is stored only if its bytes agree.
ATTACHMENT_TYPES: Mapping[str, tuple[bytes, ...] | None] = {
    "application/pdf": (b"%PDF-",),
    "image/png": (b"\x89PNG\r\n\x1a\n",),
    "image/jpeg": (b"\xff\xd8\xff",),
    "text/plain": None,
}
# The extensions a stored file may keep for each accepted type (the first is added otherwise): a
# download opens as what its bytes were checked to be, never as the page its name claims
# (an "evil.html" accepted as plain text is saved as "evil.html.txt").
ATTACHMENT_EXTENSIONS: Mapping[str, tuple[str, ...]] = {
    "application/pdf": (".pdf",),
    "image/png": (".png",),
    "image/jpeg": (".jpg", ".jpeg"),
    "text/plain": (".txt",),
}

# ASCII digits only: \d would also take other scripts' digits (CG-2026-٠٠٠١).
REFERENCE_RE = re.compile(r"CG-([0-9]{4})-([0-9]{4,})")
# Control characters (C0 but tab, LF and CR; DEL; C1) and lone surrogates are not text: PostgreSQL
# refuses NUL in a text value, UTF-8 cannot encode a surrogate, and the rest would reach reviewers'
# terminals and emails. One-line fields refuse tab, LF and CR as well (``str.isprintable``).
_CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")
# A pragmatic address check (RFC 5322's full grammar is not what a form wants): one @, a dot in the
# domain, no spaces, angle brackets or control characters (header injection).
_EMAIL_CHAR = r"[^@\s<>,;\"\x00-\x1f\x7f-\x9f\ud800-\udfff"
EMAIL_RE = re.compile(rf"{_EMAIL_CHAR}]+@{_EMAIL_CHAR}]+\.{_EMAIL_CHAR}.]+")


class WorkflowError(ValueError):
    """A transition or an input the workflow refuses. ``str()`` is one line naming what is wrong."""


class InputError(WorkflowError):
    """A value as typed is unusable (the portal answers 422, not 409): ``field`` names it."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def has_control_characters(text: str) -> bool:
    """Whether ``text`` holds a control character other than tab, LF and CR, or a lone surrogate."""
    return _CONTROL_RE.search(text) is not None


@dataclass(frozen=True, slots=True)
class Complainant:
    name: str
    email: str
    role: Role
    organisation: str = ""


@dataclass(frozen=True, slots=True)
class ComplaintTarget:
    """A work, URL or domain a complaint concerns; ``value`` is normalised (URLs and hosts)."""

    kind: TargetKind
    value: str

    @property
    def key(self) -> tuple[str, str]:
        return (self.kind.value, self.value.casefold())


@dataclass(frozen=True, slots=True)
class Submission:
    """What a complainant lodged, validated."""

    complainant: Complainant
    targets: tuple[ComplaintTarget, ...]
    type: ComplaintType
    description: str


@dataclass(frozen=True, slots=True)
class Event:
    """One entry of a complaint's append-only history.

    ``kind``: ``status`` (a transition), ``note``, ``action`` (exclusion added, items listed) or
    ``message`` (an email queued). ``public`` events are shown on the complainant's status page.
    """

    at: datetime
    actor: str
    kind: str
    what: str
    why: str = ""
    public: bool = False


@dataclass(frozen=True, slots=True)
class Complaint:
    reference: str
    received_at: datetime
    complainant: Complainant
    targets: tuple[ComplaintTarget, ...]
    type: ComplaintType
    description: str
    status: Status
    acknowledge_due: datetime
    decide_due: datetime
    acknowledged_at: datetime | None = None
    decided_at: datetime | None = None
    closed_at: datetime | None = None
    outcome: Status | None = None
    duplicate_of: str = ""

    @property
    def exclusion_list(self) -> str:
        """The exclusion list this complaint owns (architecture: ``complaint-<reference>``)."""
        return f"complaint-{self.reference}"


# -- references -------------------------------------------------------------------------------


def format_reference(year: int, number: int) -> str:
    """``CG-2026-0001``: the public reference, numbered per calendar year."""
    if number < 1:
        raise WorkflowError(f"reference number must be positive, got {number}")
    return f"CG-{year:04d}-{number:04d}"


def parse_reference(text: str) -> tuple[int, int]:
    match = REFERENCE_RE.fullmatch(text.strip().upper())
    if not match:
        raise WorkflowError(f"not a complaint reference: {text[:40]!r} (expected e.g. CG-2026-0001)")
    return int(match.group(1)), int(match.group(2))


# -- intake -------------------------------------------------------------------------------------


def _lines(value: object) -> list[str]:
    if value is None:
        return []
    items = [value] if isinstance(value, str) else list(value)  # type: ignore[arg-type]
    return [line.strip() for item in items for line in str(item).splitlines() if line.strip()]


def parse_target_value(kind: TargetKind, raw: str) -> ComplaintTarget:
    """Normalise one target. Raises :class:`WorkflowError` naming the bad value."""
    raw = raw.strip()
    if len(raw) > MAX_TARGET_LENGTH:
        raise WorkflowError(f"{kind.value} is longer than {MAX_TARGET_LENGTH} characters")
    if kind is TargetKind.URL:
        try:
            target = parse_target(raw)
        except URLError as exc:
            raise WorkflowError(f"{raw[:80]!r} is not a usable URL: {exc}") from None
        # origin + RFC 9309 match path: the host lower-cased, default port dropped, the path
        # percent-encoded, so the same page named two ways is one target (duplicate detection).
        return ComplaintTarget(kind, target.origin + target.path)
    if kind is TargetKind.DOMAIN:
        # The rules of the exclusion entry it may become if upheld: a domain named here can be excluded.
        return ComplaintTarget(kind, exclusion_value("domain", raw))
    if not raw:
        raise WorkflowError("a work needs a title or identifier")
    return ComplaintTarget(kind, raw)


TARGET_FIELDS = (("works", TargetKind.WORK), ("urls", TargetKind.URL), ("domains", TargetKind.DOMAIN))
TARGET_LABELS = {"works": "Works", "urls": "URLs", "domains": "Domains"}


def validate_submission(fields: Mapping[str, object]) -> tuple[Submission | None, dict[str, str]]:
    """Validate a complaint as typed into the form, the API or the CLI.

    ``fields``: name, organisation, email, role, type, description, and works / urls / domains
    (one per line, or lists). Returns ``(submission, {})`` or ``(None, {field: message})`` with one
    clear message per field, in form order.
    """
    errors: dict[str, str] = {}

    def text(name: str) -> str:
        value = fields.get(name)
        return value.strip() if isinstance(value, str) else ""

    name, organisation, email = text("name"), text("organisation"), text("email")
    if not name:
        errors["name"] = "Enter your name."
    elif len(name) > MAX_NAME:
        errors["name"] = f"Name must be {MAX_NAME} characters or fewer."
    elif not name.isprintable():
        errors["name"] = "Name must be one line of text."
    if len(organisation) > MAX_NAME:
        errors["organisation"] = f"Organisation must be {MAX_NAME} characters or fewer."
    elif not organisation.isprintable():
        errors["organisation"] = "Organisation must be one line of text."
    if not email:
        errors["email"] = "Enter your email address, so we can send you the acknowledgement and decision."
    elif len(email) > 254 or not EMAIL_RE.fullmatch(email):
        errors["email"] = "Enter an email address in the form name@example.com."
    role = _enum(Role, text("role"))
    if role is None:
        errors["role"] = "Choose whether you are the rightsholder, a representative or a collective management organisation."
    kind = _enum(ComplaintType, text("type"))
    if kind is None:
        errors["type"] = "Choose what the complaint is about."

    targets: list[ComplaintTarget] = []
    keys: set[tuple[str, str]] = set()
    too_many = ""  # the field whose targets went past MAX_TARGETS
    for field, target_kind in TARGET_FIELDS:
        raw = fields.get(field)
        if any(has_control_characters(str(item)) for item in ([raw] if isinstance(raw, str) else raw or ())):
            errors[field] = f"{TARGET_LABELS[field]} must not contain control characters."
            continue
        for line in _lines(raw):
            try:
                target = parse_target_value(target_kind, line)
            except WorkflowError as exc:
                errors.setdefault(field, f"{str(exc)[0].upper()}{str(exc)[1:]}.")
                continue
            if target.key not in keys:
                keys.add(target.key)
                targets.append(target)
                if len(targets) > MAX_TARGETS and not too_many:
                    too_many = field
    if not targets and not any(f in errors for f, _ in TARGET_FIELDS):
        # On the field the complainant used, if any (blank lines only), else on the URLs.
        used = [f for f, _ in TARGET_FIELDS if fields.get(f)]
        errors[used[0] if used else "urls"] = "Name at least one work, URL or domain the complaint concerns."
    elif too_many:
        errors[too_many] = f"Name at most {MAX_TARGETS} works, URLs and domains in one complaint."

    description = text("description")
    if len(description) < MIN_DESCRIPTION:
        errors["description"] = (f"Describe the complaint in at least {MIN_DESCRIPTION} characters: what was used, "
                                 "where, and why you believe your rights were not respected.")
    elif len(description) > MAX_DESCRIPTION:
        errors["description"] = f"Description must be {MAX_DESCRIPTION} characters or fewer (attach longer evidence)."
    elif has_control_characters(description):
        errors["description"] = "Description must not contain control characters."
    if errors:
        return None, errors
    assert role is not None and kind is not None
    complainant = Complainant(name=name, email=email, role=role, organisation=organisation)
    return Submission(complainant, tuple(targets), kind, description), {}


def _enum(enum: type, value: str):
    try:
        return enum(value)
    except ValueError:
        return None


def check_attachment(filename: str, content_type: str, data: bytes, already: int = 0) -> str | None:
    """Why this upload is refused, or ``None``. ``already``: attachments accepted before this one."""
    shown = (filename or "file")[:80]
    if already >= MAX_ATTACHMENTS:
        return f"At most {MAX_ATTACHMENTS} attachments per complaint ({shown!r} was not accepted)."
    if len(data) > MAX_ATTACHMENT_BYTES:
        return f"{shown!r} is larger than {MAX_ATTACHMENT_BYTES // (1024 * 1024)} MiB."
    if not data:
        return f"{shown!r} is empty."
    declared = (content_type or "").split(";", 1)[0].strip().lower()
    if declared not in ATTACHMENT_TYPES:
        return f"{shown!r} has type {declared or 'unknown'!r}; accepted types are PDF, PNG, JPEG and plain text."
    magic = ATTACHMENT_TYPES[declared]
    if magic is None:
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            return f"{shown!r} is declared as plain text but is not UTF-8 text."
        if "\x00" in text:
            return f"{shown!r} is declared as plain text but contains binary data."
    elif not data.startswith(magic):
        return f"{shown!r} is declared as {declared} but its content is not."
    return None


def safe_filename(filename: str, content_type: str = "") -> str:
    """A file name fit for a Content-Disposition header: no path, no control or quote characters,
    and (given the accepted ``content_type``) an extension matching it. Letters of any script are
    kept: :func:`ascii_filename` gives the ASCII fallback a header also needs."""
    base = re.split(r"[\\/]", unicodedata.normalize("NFC", filename or ""))[-1]
    base = re.sub(r"[^\w.\- ()]", "_", base).strip(" .")[:120].strip(" .") or "attachment"
    extensions = ATTACHMENT_EXTENSIONS.get((content_type or "").split(";", 1)[0].strip().lower())
    if extensions and not base.lower().endswith(extensions):
        base += extensions[0]
    return base


def ascii_filename(filename: str) -> str:
    """The ASCII-only ``filename`` parameter of Content-Disposition (RFC 6266 §4.3), for a name
    from :func:`safe_filename`: accents dropped (café -> cafe), other non-ASCII letters as ``_``."""
    decomposed = unicodedata.normalize("NFKD", filename)
    base = "".join(c for c in decomposed if not unicodedata.combining(c))
    return re.sub(r"[^A-Za-z0-9.\- ()_]", "_", base) or "attachment"


# -- workflow ---------------------------------------------------------------------------------


def due_dates(received_at: datetime, acknowledge_within_days: float, decide_within_days: float) -> tuple[datetime, datetime]:
    """Both deadlines run from receipt (policy ``[complaints]``)."""
    return (received_at + timedelta(days=acknowledge_within_days),
            received_at + timedelta(days=decide_within_days))


def receive(
    submission: Submission,
    *,
    reference: str,
    now: datetime,
    acknowledge_within_days: float,
    decide_within_days: float,
    channel: str = "web",
) -> tuple[Complaint, Event]:
    """A new complaint in status ``received``, and the first event of its history."""
    parse_reference(reference)
    ack_due, decide_due = due_dates(now, acknowledge_within_days, decide_within_days)
    complaint = Complaint(
        reference=reference,
        received_at=now,
        complainant=submission.complainant,
        targets=submission.targets,
        type=submission.type,
        description=submission.description,
        status=Status.RECEIVED,
        acknowledge_due=ack_due,
        decide_due=decide_due,
    )
    event = Event(now, submission.complainant.email, "status", "received", f"submitted via {channel}", public=True)
    return complaint, event


def _require_actor_and_why(actor: str, why: str, field: str = "why") -> tuple[str, str]:
    actor, why = (actor or "").strip(), (why or "").strip()
    what = "note" if field == "text" else "reason"
    if not actor:
        raise WorkflowError("every step must name who takes it (actor is empty)")
    if not why:
        raise InputError(field, f"every step must say why ({what} is empty)")
    if len(why) > MAX_WHY:
        raise InputError(field, f"the {what} is longer than {MAX_WHY} characters")
    if has_control_characters(why):
        raise InputError(field, f"the {what} must not contain control characters")
    return actor, why


def transition(
    complaint: Complaint,
    to: Status | str,
    *,
    actor: str,
    why: str,
    now: datetime,
    duplicate_of: str = "",
) -> tuple[Complaint, Event]:
    """Move ``complaint`` to ``to``. Raises :class:`WorkflowError` if the step is not allowed."""
    target = _enum(Status, str(to))
    if target is None:
        raise InputError("to", f"unknown status {str(to)[:40]!r} (one of {', '.join(s.value for s in Status)})")
    actor, why = _require_actor_and_why(actor, why)
    duplicate_of = (duplicate_of or "").strip().upper()
    if duplicate_of and target is not Status.DUPLICATE:
        raise InputError("duplicate_of", f"duplicate_of names the earlier complaint only when the complaint moves to "
                                         f"duplicate, not to {target.value}")
    if target not in TRANSITIONS[complaint.status]:
        allowed = ", ".join(sorted(s.value for s in TRANSITIONS[complaint.status])) or "nothing (it is closed)"
        raise WorkflowError(f"{complaint.reference} is {complaint.status.value}; it can move to {allowed}, not {target.value}")
    if now < complaint.received_at:
        raise WorkflowError("a step cannot happen before the complaint was received")
    changes: dict[str, object] = {"status": target}
    what = f"{complaint.status.value} -> {target.value}"
    if target is Status.DUPLICATE:
        if not duplicate_of:
            raise InputError("duplicate_of", "a duplicate must name the complaint it duplicates (duplicate_of)")
        try:
            parse_reference(duplicate_of)
        except WorkflowError as exc:
            raise InputError("duplicate_of", str(exc)) from None
        if duplicate_of == complaint.reference:
            raise InputError("duplicate_of", "a complaint cannot duplicate itself")
        changes["duplicate_of"] = duplicate_of
        what += f" (duplicate of {changes['duplicate_of']})"
    if target is Status.ACKNOWLEDGED:
        changes["acknowledged_at"] = now
    elif target in OUTCOMES:
        changes["decided_at"] = now
        changes["outcome"] = target
    elif target is Status.CLOSED:
        changes["closed_at"] = now
    return replace(complaint, **changes), Event(now, actor, "status", what, why, public=True)


def note(*, actor: str, text: str, now: datetime, public: bool = False) -> Event:
    """A reviewer's note (internal unless ``public``)."""
    actor, text = _require_actor_and_why(actor, text, field="text")
    return Event(now, actor, "note", "note", text, public=public)


def action(*, actor: str, what: str, why: str, now: datetime) -> Event:
    """An action taken on a complaint (an exclusion added, affected items listed)."""
    actor, why = _require_actor_and_why(actor, why)
    return Event(now, actor, "action", what, why, public=False)


def overdue(complaint: Complaint, now: datetime) -> list[str]:
    """What is late on ``complaint`` at ``now`` (empty: nothing)."""
    late = []
    if complaint.status is Status.RECEIVED and now > complaint.acknowledge_due:
        late.append(f"acknowledgement due {complaint.acknowledge_due.isoformat()}")
    if complaint.status in OPEN and now > complaint.decide_due:
        late.append(f"decision due {complaint.decide_due.isoformat()}")
    return late


def find_duplicates(submission: Submission | Complaint, existing: Iterable[Complaint]) -> list[str]:
    """References of earlier complaints from the same complainant (email) about a same target."""
    email = submission.complainant.email.casefold()
    keys = {t.key for t in submission.targets}
    own = getattr(submission, "reference", None)
    found = []
    for other in existing:
        if other.reference == own or other.status is Status.DUPLICATE:
            continue
        if other.complainant.email.casefold() == email and keys & {t.key for t in other.targets}:
            found.append(other.reference)
    return sorted(found)


EXCLUSION_KINDS = ("domain", "host")


@dataclass(frozen=True, slots=True)
class ProposedExclusion:
    """An exclusion-list entry an upheld complaint can add: a ``domain`` (that registered domain
    and every name under it) or a ``host`` (that host only) - the kinds core/lists/exclusions.py matches."""

    kind: str  # "domain" | "host"
    value: str


def exclusion_value(kind: str, raw: str) -> str:
    """``raw`` as the exclusion-list entry of ``kind`` (``domain`` or ``host``) it names, by the
    rules every exclusion list follows (:func:`core.exclusions.normalise_entry`: no IP address, no
    single label, no public suffix). Stricter for what a person types: no URL (its path would be
    silently dropped), and a wildcard only as the ``*.`` of a domain. Raises :class:`WorkflowError`."""
    raw = raw.strip()
    if len(raw) > MAX_TARGET_LENGTH:
        raise WorkflowError(f"{kind} is longer than {MAX_TARGET_LENGTH} characters")
    bare = raw.removeprefix("*.")
    what = "domain name" if kind == "domain" else "host name"
    # normalise_entry reads a whole URL (list files hold them); typed here, its path, query or
    # user part would be dropped without a word.
    if any(c in bare for c in "/?#@\\") or ":" in bare.strip("[]"):
        raise WorkflowError(f"{raw[:80]!r} is not a {what} (give e.g. example.com, without https:// or a path)")
    if kind == "host" and raw.startswith("*."):
        raise WorkflowError(f"{raw[:80]!r} is a wildcard, and a host entry excludes that one host: to exclude "
                            f"{bare[:80]} and every name under it, add it as a domain")
    if "*" in bare:
        raise WorkflowError(f"{raw[:80]!r}: a wildcard can only be the leading *. of a domain")
    try:
        entry, _ = normalise_entry(raw, kind)
    except EntryError as exc:
        raise WorkflowError(f"{raw[:80]!r} is not a usable {what}: {exc}") from None
    return entry


def exclusion_entries(proposed: Iterable[ProposedExclusion]) -> list[ProposedExclusion]:
    """The entries an upheld complaint asks to exclude, normalised (:func:`exclusion_value`),
    at most :data:`MAX_TARGETS` at a time, each name once (as a domain if named both ways: the
    domain covers the host). Raises :class:`InputError` (field ``entries``) naming the bad one."""
    proposed = list(proposed)
    if not proposed:
        raise InputError("entries", "name at least one domain or host to exclude")
    if len(proposed) > MAX_TARGETS:
        raise InputError("entries", f"name at most {MAX_TARGETS} domains or hosts to exclude at a time "
                                    f"({len(proposed)} were given)")
    chosen: dict[str, ProposedExclusion] = {}
    for entry in proposed:
        if entry.kind not in EXCLUSION_KINDS:
            raise InputError("entries", f"unknown exclusion kind {entry.kind[:40]!r} (one of {', '.join(EXCLUSION_KINDS)})")
        try:
            value = exclusion_value(entry.kind, entry.value)
        except WorkflowError as exc:
            raise InputError("entries", str(exc)) from None
        if value not in chosen or entry.kind == "domain":
            chosen[value] = ProposedExclusion(entry.kind, value)
    return list(chosen.values())


def proposed_exclusions(complaint: Complaint) -> list[ProposedExclusion]:
    """What upholding this complaint could exclude: the registered domain of each domain target,
    and the host of each URL target. Works have no address; a reviewer adds those by hand."""
    proposals: list[ProposedExclusion] = []
    for target in complaint.targets:
        if target.kind is TargetKind.DOMAIN:
            proposals.append(ProposedExclusion("domain", registered_domain(target.value)))
        elif target.kind is TargetKind.URL:
            proposals.append(ProposedExclusion("host", parse_target(target.value).host))
    seen: set[ProposedExclusion] = set()
    return [p for p in proposals if not (p in seen or seen.add(p))]


# -- public figures -----------------------------------------------------------------------------

PERIODS = ("month", "quarter", "year")


def period_of(moment: datetime, period: str) -> str:
    if period == "month":
        return f"{moment.year:04d}-{moment.month:02d}"
    if period == "quarter":
        return f"{moment.year:04d}-Q{(moment.month - 1) // 3 + 1}"
    if period == "year":
        return f"{moment.year:04d}"
    raise WorkflowError(f"unknown period {period!r} (one of {', '.join(PERIODS)})")


@dataclass(frozen=True, slots=True)
class PeriodFigures:
    period: str
    received: int
    decided: int
    median_days_to_decision: float | None  # over complaints decided in this period
    # Complaints decided in this period, per outcome (upheld, rejected, manifestly_unfounded, duplicate).
    by_outcome: Mapping[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict:
        return {"period": self.period, "received": self.received, "decided": self.decided,
                "median_days_to_decision": self.median_days_to_decision, "by_outcome": dict(self.by_outcome)}


def figures(complaints: Iterable[Complaint], period: str = "month") -> list[PeriodFigures]:
    """Complaints received and decided per period, and the median time to decision (days)."""
    if period not in PERIODS:
        raise WorkflowError(f"unknown period {period!r} (one of {', '.join(PERIODS)})")
    received: dict[str, int] = {}
    durations: dict[str, list[float]] = {}
    outcomes: dict[str, dict[str, int]] = {}
    for complaint in complaints:
        key = period_of(complaint.received_at, period)
        received[key] = received.get(key, 0) + 1
        if complaint.decided_at is not None:
            days = (complaint.decided_at - complaint.received_at).total_seconds() / 86400
            decided_in = period_of(complaint.decided_at, period)
            durations.setdefault(decided_in, []).append(days)
            if complaint.outcome is not None:
                counts = outcomes.setdefault(decided_in, {})
                counts[complaint.outcome.value] = counts.get(complaint.outcome.value, 0) + 1
    rows = []
    for key in sorted(set(received) | set(durations)):
        spans = durations.get(key, [])
        median = round(statistics.median(spans), 2) if spans else None
        by_outcome = {o: outcomes.get(key, {}).get(o, 0) for o in OUTCOME_ORDER}
        rows.append(PeriodFigures(key, received.get(key, 0), len(spans), median, by_outcome))
    return rows
