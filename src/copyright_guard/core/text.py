"""Checks on text that is shown to people: reviewers' terminals, pages, reports."""

from __future__ import annotations

import unicodedata


def has_hidden_characters(value: str, allowed: str = "") -> bool:
    """Does ``value`` hold a control character (Unicode Cc: NUL, ESC, line breaks) or a format
    character (Cf: bidi overrides such as U+202E, zero-width characters), other than those in
    ``allowed``? Either can forge or hide what a reader sees: a line break forges a history line,
    an escape sequence drives a terminal, U+202E prints "Arcom" backwards."""
    return any(unicodedata.category(c) in ("Cc", "Cf") and c not in allowed for c in value)


MAX_LISTED_PROBLEMS = 20


def problems_line(problems: list[str], limit: int = MAX_LISTED_PROBLEMS) -> str:
    """Every problem of a validation in one line ("a; b; c"), the first ``limit`` of them, and how
    many more there are: fixing one problem at a time, one run each, wastes the user's time, while
    an error stays one line."""
    shown = "; ".join(problems[:limit])
    rest = len(problems) - limit
    return shown + (f"; and {rest} more problem{'s' if rest > 1 else ''}" if rest > 0 else "")
