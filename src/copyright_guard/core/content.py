"""What a post-fetch decision judged: the response's fingerprint, media type, size and modality.

Pure: bytes and headers in, :class:`ContentFacts` out. The sha256 is of the body exactly as the
spider receives it (after HTTP content decoding), so an item in a dataset can be tied back to its
decision by hashing the bytes it holds, without the URL (docs/proof-of-collection.md).

The modality is the one the Commission's Template for the public summary of training content
(C(2025) 8311, sections 2.3 and 1.3) counts by: ``text``, ``image``, ``audio``, ``video`` or
``other``. :data:`MODALITY_TABLE` is the whole mapping; docs/proof-of-collection.md prints it.
"""

from __future__ import annotations

from dataclasses import dataclass

from .model import ResponseView, sha256_hex

MODALITIES = ("text", "image", "audio", "video", "other")

# Media types that are text to a reader, though not under text/*: documents and markup. The
# order of MODALITY_TABLE is the order of the checks; the first match wins.
TEXT_TYPES = frozenset({
    "application/xhtml+xml", "application/xml", "application/json", "application/ld+json",
    "application/rss+xml", "application/atom+xml", "application/pdf", "application/epub+zip",
    "application/rtf", "application/msword", "application/x-tex",
    "application/vnd.oasis.opendocument.text",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
})

MODALITY_TABLE: tuple[tuple[str, str], ...] = (
    ("text/*", "text"),
    ("image/*", "image"),
    ("audio/*", "audio"),
    ("video/*", "video"),
    (", ".join(sorted(TEXT_TYPES)), "text"),
    ("application/*+xml, application/*+json", "text"),
    ("anything else, or no Content-Type", "other"),
)


@dataclass(frozen=True, slots=True)
class ContentFacts:
    """The response a post-fetch decision judged (glossary: "content fingerprint")."""

    sha256: str  # of the body as the spider receives it
    media_type: str | None  # Content-Type without parameters, lower-case; None when absent
    bytes: int
    status: int  # HTTP status
    modality: str  # one of MODALITIES

    def as_dict(self) -> dict:
        """The export contract's ``content`` object (the HTTP status is a column of its own)."""
        return {"sha256": self.sha256, "media_type": self.media_type, "bytes": self.bytes, "modality": self.modality}


def modality_of(media_type: str | None) -> str:
    """The Template modality of a media type (``type/subtype``, no parameters), by MODALITY_TABLE."""
    if not media_type:
        return "other"
    major, _, minor = media_type.partition("/")
    if major in ("text", "image", "audio", "video"):
        return major
    if media_type in TEXT_TYPES or (major == "application" and minor.endswith(("+xml", "+json"))):
        return "text"
    return "other"


def content_facts(response: ResponseView) -> ContentFacts:
    media_type = response.content_type or None
    body = response.body
    return ContentFacts(sha256_hex(body), media_type, len(body), response.status, modality_of(media_type))
