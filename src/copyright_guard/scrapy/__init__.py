"""copyright-guard for Scrapy: ``ADDONS = {"copyright_guard.scrapy.Addon": 100}``.

Components (README "Crawling with Scrapy"): :class:`Addon`, :class:`CopyrightGuardMiddleware`
(downloader, pre- and post-fetch decisions), :class:`IdentityGuardMiddleware` (the wire identity),
:class:`ProvenanceMiddleware` (decision id on items), :class:`AuditExtension` (the audit run), the
``decision_made`` event, and the ``COPYRIGHT_GUARD_*`` settings.
"""

from __future__ import annotations

from .addon import Addon
from .events import decision_made
from .extension import AuditExtension
from .middleware import DECISION_ID_META, CopyrightGuardMiddleware, IdentityGuardMiddleware
from .provenance import ProvenanceMiddleware
from .settings import SettingsError

__all__ = [
    "Addon",
    "AuditExtension",
    "CopyrightGuardMiddleware",
    "DECISION_ID_META",
    "IdentityGuardMiddleware",
    "ProvenanceMiddleware",
    "SettingsError",
    "decision_made",
]
