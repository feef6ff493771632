"""The public crawler information page (HTML at ``/crawler``, JSON at ``/crawler.json``), the Atom
feed (RFC 4287) of its changes, and the Web Bot Auth key directory.

Code of Practice, Measure 1.3: publish the crawlers used, their robots.txt features and the
reservations honoured, and let rightsholders be notified automatically when that changes. Everything
shown is derived from the running policy (opt-out snippets: core/optout.py; what changed between
versions: core/policy_changes.py), so it cannot drift from what the crawler does.
"""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from ..core.optout import PURPOSE_WORDS, all_snippets
from ..core.policy import Policy, PolicyError, parse_policy
from ..core.policy_changes import SOURCE_WORDS, describe_changes, first_version
from ..store.transparency import PolicyVersion, policy_versions
from ..webbotauth.sign import DIRECTORY_MEDIA_TYPE, DIRECTORY_PATH
from .app import render

router = APIRouter(include_in_schema=False)



def _entry_id(version: PolicyVersion) -> str:
    # Atom ids must be permanent IRIs (RFC 4287 §4.2.6); the policy hash is permanent.
    return uuid.UUID(bytes=bytes.fromhex(version.hash[:32]), version=5).urn


def _parsed(version: PolicyVersion) -> Policy | None:
    try:
        return parse_policy(version.text, version.name)
    except PolicyError:  # written by an older copyright-guard with keys this one no longer reads
        return None


def version_changes(versions: list[PolicyVersion]) -> list[tuple[PolicyVersion, list[str]]]:
    """Each version (newest first) with the sentences saying what changed from the one before it."""
    parsed = [_parsed(v) for v in versions]
    out = []
    for index, version in enumerate(versions):
        new, old = parsed[index], parsed[index + 1] if index + 1 < len(versions) else None
        if new is None:
            lines = [f"The policy changed (sha256 {version.hash}); this version of copyright-guard cannot read it."]
        elif index + 1 == len(versions):
            lines = first_version(new)
        elif old is None:
            lines = [f"The policy changed (sha256 {version.hash}); the previous version cannot be read to compare."]
        else:
            lines = describe_changes(old, new) or ["Only comments or wording changed; the crawler behaves as before."]
        out.append((version, lines))
    return out


def crawler_info(request: Request) -> dict:
    """What the page and its JSON show: one dict, so the two never disagree."""
    app = request.app
    policy: Policy = app.state.policy
    signer = app.state.signer
    base = str(request.base_url).rstrip("/")
    return {
        "operator": policy.complaints.operator_name,
        "contact_email": policy.complaints.contact_email,
        "complaints_url": f"{base}/complaints/new",
        "product_token": policy.crawler.product_token,
        "user_agent": policy.crawler.user_agent,
        "purpose": policy.purposes.default,
        "purpose_words": PURPOSE_WORDS[policy.purposes.default],
        "policy": {"name": policy.policy.name, "sha256": policy.hash},
        "honoured": [words for key, words in SOURCE_WORDS.items() if getattr(policy.sources, key)],
        "opt_out": {purpose: {"words": PURPOSE_WORDS[purpose], "snippets": [s.as_dict() for s in snippets]}
                    for purpose, snippets in all_snippets(policy).items()},
        "verification": {
            "signed": signer is not None,
            "scheme": "Web Bot Auth (RFC 9421 HTTP Message Signatures, Ed25519)" if signer else None,
            "key_id": signer.key_id if signer else None,
            "key_directory": policy.crawler.key_directory,
            "directory_here": f"{base}{DIRECTORY_PATH}" if signer else None,
            "covered_components": ["@authority", "signature-agent"] if signer else [],
            "tag": "web-bot-auth" if signer else None,
        },
        "politeness": {
            "robots_txt": "RFC 9309: the group naming our product token, else the * group; longest match wins",
            "robots_unreachable": "robots.txt unreachable (5xx, 429, network error): the site is not crawled",
            "robots_cache_hours": policy.cache.max_age_hours,
            "robots_min_bytes_read": policy.cache.max_bytes,
            "obey_crawl_delay": policy.crawl.obey_crawl_delay,
            "max_crawl_delay_seconds": policy.crawl.max_crawl_delay_seconds,
            "access_restrictions": "401, 402, 403, 407 and 451 and paywalls are recorded, never retried or circumvented",
            "credentials": "never sent",
        },
        "feed": f"{base}/crawler/feed.atom",
    }


@router.get("/crawler")
def crawler_page(request: Request) -> Response:
    versions = policy_versions(request.app.state.engine)
    return render(request, "crawler.html", {"info": crawler_info(request), "changes": version_changes(versions),
                                            "current_hash": request.app.state.policy.hash})


@router.get("/crawler.json")
def crawler_json(request: Request) -> Response:
    return JSONResponse(crawler_info(request))


@router.get("/crawler/feed.atom")
def crawler_feed(request: Request) -> Response:
    versions = policy_versions(request.app.state.engine)
    context = {
        "entries": [(v, _entry_id(v), lines) for v, lines in version_changes(versions)],
        "updated": versions[0].first_seen if versions else request.app.state.clock(),
        "base": str(request.base_url).rstrip("/"),
    }
    response = render(request, "crawler_feed.xml", context)
    response.headers["content-type"] = "application/atom+xml; charset=utf-8"
    return response


@router.get(DIRECTORY_PATH)
def key_directory(request: Request) -> Response:
    """The crawler's public key as a JWKS, with the key directory media type, the response signed
    with the key it lists (draft-meunier-http-message-signatures-directory); 404 without a key."""
    signer = request.app.state.signer
    if signer is None:
        return JSONResponse({"detail": "this crawler does not sign its requests (no [crawler] signing_key)"},
                            status_code=404)
    headers = signer.directory_headers(str(request.url), request.app.state.clock())
    return Response(signer.key.directory(), media_type=DIRECTORY_MEDIA_TYPE,
                    headers={**headers, "Cache-Control": "max-age=86400"})
