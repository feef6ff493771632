"""The public crawler information page and the Atom feed (RFC 4287) of its changes
(Code of Practice, Measure 1.3: publish the crawlers used, their robots.txt features and the
reservations honoured, and let rightsholders be notified automatically when that changes)."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request
from fastapi.responses import Response

from ..store.transparency import PolicyVersion, policy_versions
from .app import render

router = APIRouter(include_in_schema=False)

SOURCE_LABELS = {
    "peer_tokens": "robots.txt rules for well-known AI-training crawlers (GPTBot, CCBot, Google-Extended, …) "
                   "are honoured as reservations against AI training",
    "content_usage": "IETF AIPREF Content-Usage (robots.txt and HTTP header)",
    "content_signal": "Content-Signal lines in robots.txt",
    "tdmrep": "W3C TDMRep (/.well-known/tdmrep.json, HTTP headers, HTML meta, EPUB and PDF metadata)",
    "ai_txt": "/ai.txt",
    "rsl": "RSL licences (robots.txt License:, Link header, HTML link)",
    "robots_meta": "X-Robots-Tag and <meta name=\"robots\"> noai / noimageai",
    "embedded_metadata": "IPTC/PLUS Data Mining and C2PA/CAWG training-and-mining assertions embedded in files",
    "access_restrictions": "paywalls and access controls (HTTP 401, 402, 403, 407, 451 and paywall markup) "
                           "are recorded and never circumvented",
}


def _entry_id(version: PolicyVersion) -> str:
    # Atom ids must be permanent IRIs (RFC 4287 §4.2.6); the policy hash is permanent.
    return uuid.UUID(bytes=bytes.fromhex(version.hash[:32]), version=5).urn


def _context(request: Request) -> dict:
    policy = request.app.state.policy
    honoured = [label for key, label in SOURCE_LABELS.items() if getattr(policy.sources, key, False)]
    return {"honoured": honoured, "versions": policy_versions(request.app.state.engine),
            "current_hash": policy.hash}


@router.get("/crawler")
def crawler_page(request: Request) -> Response:
    return render(request, "crawler.html", _context(request))


@router.get("/crawler/feed.atom")
def crawler_feed(request: Request) -> Response:
    context = _context(request)
    versions = context["versions"]
    context.update({
        "entries": [(v, _entry_id(v)) for v in versions],
        "updated": versions[0].first_seen if versions else request.app.state.clock(),
        "base": str(request.base_url).rstrip("/"),
    })
    response = render(request, "crawler_feed.xml", context)
    response.headers["content-type"] = "application/atom+xml; charset=utf-8"
    return response
