"""What a post-fetch decision judged: the response's fingerprint, media type, size and modality.

Pure: bytes and headers in, :class:`ContentFacts` out. The sha256 is of the body exactly as the
spider receives it (after HTTP content decoding), so an item in a dataset can be tied back to its
decision by hashing the bytes it holds, without the URL (docs/proof-of-collection.md).

The modality is the one the Commission's Template for the public summary of training content
(C(2025) 8311, sections 2.3 and 1.3) counts by: ``text``, ``image``, ``audio``, ``video`` or
``other``. :data:`MODALITY_TABLE` is the whole mapping; docs/proof-of-collection.md prints it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

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
    # The response's validators (RFC 9110 §8.8), as sent, when well-formed: a recheck with --pages
    # asks "changed since?" with them (§13.1.2 If-None-Match, §13.1.3 If-Modified-Since).
    etag: str | None = None
    last_modified: str | None = None

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
    return ContentFacts(sha256_hex(body), media_type, len(body), response.status, modality_of(media_type),
                        etag_of(response.header("etag")), last_modified_of(response.header("last-modified")))


# A validator is stored with the decision and sent back to the server: a hostile or broken header
# is not recorded at all (the recheck then fetches the page unconditionally), never cut or repaired.
MAX_ETAG = 256  # real ETags are hashes or counters, tens of characters
# RFC 9110 §8.8.3: entity-tag = [ "W/" ] DQUOTE *etagc DQUOTE, etagc = %x21 / %x23-7E / obs-text
# (obs-text, bytes >= 0x80, is left out: it has no reliable text form once decoded).
_ETAG = re.compile(r'(?:W/)?"[\x21\x23-\x7e]*"')
# RFC 9110 §5.6.7: IMF-fixdate, the one HTTP-date form a sender generates ("Sun, 06 Nov 1994 08:49:37 GMT").
_FIXDATE = re.compile(r"(Mon|Tue|Wed|Thu|Fri|Sat|Sun), (\d\d) (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) "
                      r"(\d{4}) (\d\d):(\d\d):(\d\d) GMT")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def etag_of(values: list[str]) -> str | None:
    """The response's ETag, if it sent exactly one well-formed entity-tag of at most MAX_ETAG characters."""
    if len(values) != 1:
        return None  # absent, or several: which one would the server compare?
    value = values[0].strip(" \t")
    return value if len(value) <= MAX_ETAG and _ETAG.fullmatch(value) else None


def last_modified_of(values: list[str]) -> str | None:
    """The response's Last-Modified, if it sent exactly one IMF-fixdate naming a real moment."""
    if len(values) != 1:
        return None
    value = values[0].strip(" \t")
    found = _FIXDATE.fullmatch(value)
    if found is None:
        return None  # the obsolete forms (RFC 850, asctime) are not sent back: fetch unconditionally
    _, day, month, year, hour, minute, second = found.groups()
    try:
        datetime(int(year), _MONTHS.index(month) + 1, int(day), int(hour), int(minute), int(second))
    except ValueError:
        return None  # 31 Feb, 25:00
    return value
