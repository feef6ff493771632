"""SiteFileCache: the last known state of each site-wide file, one entry per (kind, origin).

RFC 9309 §2.3: there is one robots.txt per scheme, host and port, so the key is the whole origin
(``http://example.com`` and ``https://example.com`` never share an entry - Scrapy's cache does,
see peers.md). RSL licences are also keyed by their URL, since one origin may name several.

An entry is *fresh* until its ``expires_at`` (24 h for a parsed file, §2.4; the backoff wait for an
unreachable one). Stale entries are kept: the state machine needs them as ``previous`` (for
``unreachable_since``, the backoff step and the last good copy). Size is bounded (least recently
used entries go first), so a long crawl over many origins cannot grow it without limit.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from datetime import datetime

from ..core.model import SiteFile
from .states import site_file_url

Key = tuple[str, str, str]


class SiteFileCache:
    def __init__(self, max_entries: int = 50_000) -> None:
        if max_entries < 1:
            raise ValueError("max_entries must be at least 1")
        self.max_entries = max_entries
        self._entries: OrderedDict[Key, SiteFile] = OrderedDict()
        self._lock = threading.Lock()

    @staticmethod
    def key(kind: str, origin: str, url: str | None = None) -> Key:
        return (kind, origin, url or site_file_url(kind, origin))

    def get(self, kind: str, origin: str, url: str | None = None) -> SiteFile | None:
        """The last known state, fresh or not (the ``previous`` of the next fetch)."""
        key = self.key(kind, origin, url)
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None:
                self._entries.move_to_end(key)
            return entry

    def get_fresh(self, kind: str, origin: str, now: datetime, url: str | None = None) -> SiteFile | None:
        """The state to use at ``now`` without a new request, or ``None`` if a fetch is due."""
        entry = self.get(kind, origin, url)
        return entry if entry is not None and now < entry.expires_at else None

    def put(self, site_file: SiteFile) -> None:
        key = self.key(site_file.kind, site_file.origin, site_file.evidence.url)
        with self._lock:
            self._entries[key] = site_file
            self._entries.move_to_end(key)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
