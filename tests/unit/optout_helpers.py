"""Builders shared by the opt-out unit tests: site files and responses as the fetch layer makes them."""

from __future__ import annotations

from datetime import datetime, timedelta

from copyright_guard.core.evaluate import SiteView, evaluate
from copyright_guard.core.model import Evidence, ResponseView, SiteFile, SiteFileStatus, sha256_hex
from copyright_guard.core.signals.parsers import parser_for
from copyright_guard.core.policy import load_policy, parse_policy

ORIGIN = "https://example.com"


def ev(location: str = "") -> Evidence:
    return Evidence("test", location=location)


def site_file(kind: str, body: bytes, now: datetime, url: str | None = None) -> SiteFile:
    url = url or f"{ORIGIN}/{'.well-known/' if kind == 'tdmrep.json' else ''}{kind}"
    evidence = Evidence(kind, url=url, final_url=url, status=200, fetched_at=now, sha256=sha256_hex(body), body=body)
    return SiteFile(kind, ORIGIN, SiteFileStatus.PARSED, evidence, now, now + timedelta(hours=24),
                    parsed=parser_for(kind)(body), body=body)


def response(path: str = "/", headers: dict[str, list[str]] | None = None, body: bytes = b"",
             content_type: str = "text/html; charset=utf-8") -> ResponseView:
    headers = {k.lower(): v for k, v in (headers or {}).items()}
    if content_type:
        headers.setdefault("content-type", [content_type])
    return ResponseView(f"{ORIGIN}{path}", 200, headers, body)


def policy(extra: str = "", token: str = "CopyrightGuardBot"):
    if not extra and token == "CopyrightGuardBot":
        return load_policy()
    return parse_policy(f'[crawler]\nproduct_token = "{token}"\nuser_agent = "{token}/1.0"\n{extra}', "test.toml")


def decide(path: str, now: datetime, site: SiteView = SiteView(), resp: ResponseView | None = None,
           pol=None, purpose: str | None = None):
    return evaluate(f"{ORIGIN}{path}", pol or load_policy(), now=now, site=site, response=resp, purpose=purpose)


def codes(decision) -> list[str]:
    return [r.code for r in decision.reasons]
