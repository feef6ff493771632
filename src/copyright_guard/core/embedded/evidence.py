"""Evidence for signals read from inside a fetched asset (image, PDF, EPUB).

The evidence hashes and keeps the *metadata bytes* a signal was read from (the XMP packet, the
C2PA assertion payload, the EPUB package document), not the whole asset: a 20 MB image must not
land in the evidence store for every decision, and the metadata bytes are what a reviewer needs to
see. The asset itself is identified by its sha256 in the evidence location, so the two can be tied
together later (README "Embedded asset metadata").
"""

from __future__ import annotations

from ..model import Evidence, ResponseView, Signal, Value, sha256_hex

SOURCE = "embedded metadata"


class AssetEvidence:
    """Builds signals and evidence for one response; hashes the asset only if a signal is made."""

    __slots__ = ("response", "kind", "_asset_sha256")

    def __init__(self, response: ResponseView, kind: str) -> None:
        self.response = response
        self.kind = kind  # "JPEG", "PNG", "PDF", "EPUB", ... (for details a reviewer reads)
        self._asset_sha256: str | None = None

    @property
    def asset_sha256(self) -> str:
        if self._asset_sha256 is None:
            self._asset_sha256 = sha256_hex(self.response.body)
        return self._asset_sha256

    def evidence(self, location: str, raw: bytes) -> Evidence:
        response = self.response
        return Evidence(
            SOURCE,
            location=f"{self.kind} {location} (asset sha256 {self.asset_sha256})",
            url=response.url,
            final_url=response.final_url,
            status=response.status,
            fetched_at=response.fetched_at,
            sha256=sha256_hex(raw) if raw else None,
            body=raw or None,
        )

    def signal(
        self, vocabulary: str, category: str, value: Value, location: str, raw: bytes, detail: str = ""
    ) -> Signal:
        return Signal(SOURCE, vocabulary, category, value, self.evidence(location, raw), "asset", ("*",), detail)

    def unreadable(self, vocabulary: str, category: str, detail: str, raw: bytes = b"") -> Signal:
        """A source we found but could not read: ``Value.UNKNOWN`` with the reason (DESIGN.md "Layers")."""
        return self.signal(vocabulary, category, Value.UNKNOWN, detail, raw, f"{self.kind}: {detail}")
