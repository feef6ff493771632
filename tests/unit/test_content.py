"""Content facts and the modality table (core/content.py), and what evaluate() says it consulted."""

from __future__ import annotations

import hashlib
from datetime import datetime, timezone

import pytest

from copyright_guard.core.content import content_facts, modality_of
from copyright_guard.core.evaluate import SiteView, evaluate
from copyright_guard.core.model import ResponseView
from copyright_guard.core.policy import load_policy
from optout_helpers import site_file

NOW = datetime(2026, 11, 23, 12, tzinfo=timezone.utc)


@pytest.mark.parametrize(("media_type", "modality"), [
    ("text/html", "text"), ("text/plain", "text"), ("application/pdf", "text"), ("application/epub+zip", "text"),
    ("application/xhtml+xml", "text"), ("application/vnd.api+json", "text"), ("image/jpeg", "image"),
    ("image/svg+xml", "image"), ("audio/mpeg", "audio"), ("video/mp4", "video"),
    ("application/octet-stream", "other"), ("application/zip", "other"), (None, "other"), ("", "other"),
])
def test_the_modality_table(media_type, modality):
    assert modality_of(media_type) == modality


def test_content_facts_fingerprint_the_body_as_received():
    body = b"<html>hello</html>"
    facts = content_facts(ResponseView("https://a.example/", 200, {"content-type": ["Text/HTML; charset=utf-8"]}, body))
    assert (facts.sha256, facts.media_type, facts.bytes, facts.status, facts.modality) == (
        hashlib.sha256(body).hexdigest(), "text/html", len(body), 200, "text")
    bare = content_facts(ResponseView("https://a.example/x", 203, {}, b""))
    assert (bare.media_type, bare.bytes, bare.modality) == (None, 0, "other")


def test_decisions_carry_the_site_files_and_the_sources_examined():
    policy = load_policy()
    site = SiteView(robots=site_file("robots.txt", b"User-agent: *\nAllow: /\n", NOW))
    pre = evaluate("https://example.com/a", policy, now=NOW, site=site)
    assert pre.consulted == (site.robots,) and pre.examined == () and pre.content is None
    assert pre.as_dict()["consulted"][0]["kind"] == "robots.txt"
    page = ResponseView("https://example.com/a", 200, {"content-type": ["text/html"]}, b"<html><head></head></html>")
    post = evaluate("https://example.com/a", policy, now=NOW, site=site, response=page)
    assert post.consulted is pre.consulted  # one tuple per site view, shared by its decisions
    assert post.examined == ("headers", "html-meta", "access-restrictions")
    jpeg = ResponseView("https://example.com/p.jpg", 200, {"content-type": ["image/jpeg"]}, b"\xff\xd8\xff\xe0rest")
    image = evaluate("https://example.com/p.jpg", policy, now=NOW, site=site, response=jpeg)
    assert image.examined == ("headers", "embedded-metadata:JPEG", "access-restrictions")
    assert image.content.modality == "image"
