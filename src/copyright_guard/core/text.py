"""Checks on text that is shown to people: reviewers' terminals, pages, reports."""

from __future__ import annotations

import unicodedata


def has_hidden_characters(value: str, allowed: str = "") -> bool:
    """Does ``value`` hold a control character (Unicode Cc: NUL, ESC, line breaks) or a format
    character (Cf: bidi overrides such as U+202E, zero-width characters), other than those in
    ``allowed``? Either can forge or hide what a reader sees: a line break forges a history line,
    an escape sequence drives a terminal, U+202E prints "Arcom" backwards."""
    return any(unicodedata.category(c) in ("Cc", "Cf") and c not in allowed for c in value)
