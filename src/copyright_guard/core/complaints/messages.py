"""The emails a complainant receives (acknowledgement, decision), as plain text. Pure.

Plain text only: nothing a complainant typed is ever interpreted as markup by a mail client.
"""

from __future__ import annotations

from .workflow import LABELS, OUTCOMES, Complaint, Status

ACKNOWLEDGEMENT = "acknowledgement"
DECISION = "decision"


def _clean(text: str) -> str:
    # A subject line is a header: no CR/LF may reach it (header injection).
    return " ".join(text.split())


def message_for(complaint: Complaint, why: str, *, operator_name: str, contact_email: str) -> tuple[str, str, str] | None:
    """``(kind, subject, body)`` of the email owed after ``complaint`` reached its current status,
    or ``None`` when that status owes none."""
    greeting = f"Dear {_clean(complaint.complainant.name)},\n\n"
    footer = (f"\n\nPlease quote {complaint.reference} in any message about this complaint.\n"
              f"{operator_name} - copyright complaints - {contact_email}\n")
    if complaint.status is Status.ACKNOWLEDGED:
        subject = f"[{complaint.reference}] We have received your copyright complaint"
        body = (greeting
                + f"we acknowledge your complaint {complaint.reference}, received on "
                  f"{complaint.received_at:%Y-%m-%d}. A reviewer will examine it and we will tell you "
                  f"our decision by {complaint.decide_due:%Y-%m-%d}.\n\n"
                  "You can follow its status with the tracking link you were given when you submitted it."
                + footer)
        return ACKNOWLEDGEMENT, _clean(subject), body
    if complaint.status in OUTCOMES:
        label = LABELS[complaint.status]
        subject = f"[{complaint.reference}] Decision on your copyright complaint: {label}"
        body = (greeting
                + f"we have decided on your complaint {complaint.reference}: {label.lower()}.\n\n"
                  f"Reason given by the reviewer:\n{why}\n"
                + (f"\nIt duplicates complaint {complaint.duplicate_of}.\n" if complaint.duplicate_of else "")
                + ("\nWe will exclude the content concerned from our crawling and identify content "
                   "already collected so that it can be removed.\n" if complaint.status is Status.UPHELD else "")
                + footer)
        return DECISION, _clean(subject), body
    return None


RECEIPT = "receipt"


def receipt_message(complaint: Complaint, *, operator_name: str, contact_email: str) -> tuple[str, str, str]:
    """``(kind, subject, body)`` of the receipt sent the moment a complaint is stored: what we
    received, its reference and the deadlines. The tracking token is deliberately not in it: it is
    stored only hashed, and an email (and the outbox) is no place for the only key to the status page."""
    greeting = f"Dear {_clean(complaint.complainant.name)},\n\n"
    targets = "".join(f"  - {t.kind.value}: {_clean(t.value)}\n" for t in complaint.targets)
    subject = f"[{complaint.reference}] Receipt of your copyright complaint"
    body = (greeting
            + f"we received your complaint on {complaint.received_at:%Y-%m-%d %H:%M} UTC and gave it the reference "
              f"{complaint.reference}. It concerns:\n{targets}\n"
              f"We will acknowledge it by {complaint.acknowledge_due:%Y-%m-%d} and tell you our decision by "
              f"{complaint.decide_due:%Y-%m-%d}.\n\n"
              "Follow its status with the reference and the tracking token shown when you submitted it. "
              "If you did not send this complaint, tell us at the address below.\n"
            + f"\nPlease quote {complaint.reference} in any message about this complaint.\n"
              f"{operator_name} - copyright complaints - {contact_email}\n")
    return RECEIPT, _clean(subject), body


# What the complainant's status page says for each history entry: plain words, not state names.
_STATUS_WORDS = {
    "received": "We received your complaint",
    "acknowledged": "We acknowledged your complaint",
    "under_review": "We started reviewing your complaint",
    "upheld": "We upheld your complaint",
    "rejected": "We rejected your complaint",
    "manifestly_unfounded": "We found your complaint manifestly unfounded",
    "duplicate": "We found your complaint to duplicate one already answered",
    "closed": "We closed your complaint: the actions are done",
}


def public_wording(kind: str, what: str) -> str:
    """One history entry as the complainant reads it. ``what`` of a status event is
    ``"<from> -> <to>[ (duplicate of REF)]"`` (or ``"received"``); a note is shown as written."""
    if kind != "status":
        return "A note from the reviewer" if kind == "note" else what
    target = what.split(" -> ")[-1]
    status, _, rest = target.partition(" (")
    words = _STATUS_WORDS.get(status.strip(), what)
    if rest.startswith("duplicate of "):
        words += f" ({rest.rstrip(')')})"
    return words
