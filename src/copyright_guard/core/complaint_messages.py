"""The emails a complainant receives (acknowledgement, decision), as plain text. Pure.

Plain text only: nothing a complainant typed is ever interpreted as markup by a mail client.
"""

from __future__ import annotations

from .complaints import LABELS, OUTCOMES, Complaint, Status

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
