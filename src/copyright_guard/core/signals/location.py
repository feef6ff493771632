"""Location-based reservations (pre-fetch): what site-wide files say about a URL's path.

``location_signals(target, site, policy) -> list[Signal]`` combines, for the sources the policy
honours (``policy.sources``):

- robots.txt ``Content-Usage`` rules of our group (IETF AIPREF attach §4, core/signals/aipref.py);
- robots.txt ``Content-Signal`` lines of our group and outside any group (core/signals/content_signal.py);
- ``/.well-known/tdmrep.json``: the first matching entry (core/signals/tdmrep.py);
- ``/ai.txt`` evaluated for user agent ``*`` (core/signals/ai_txt.py);
- RSL licences named by robots.txt ``License:`` whose ``content@url`` matches (core/signals/rsl.py).

core/evaluate.py calls this only for paths robots.txt lets us crawl (AIPREF: preferences apply
only to crawlable paths). Every signal's evidence is the site file's (URL, final URL, status,
fetch time, sha256 and bytes) with ``location`` naming the exact line or entry, e.g.
``robots.txt line 7: Content-Usage: train-ai=n`` or ``tdmrep.json entry 2: {"location": ...}``.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Callable

from . import ai_txt, aipref, content_signal, rsl, tdmrep
from ..model import Evidence, SiteFile, SiteFileStatus, Signal, sha256_hex
from .parsers import parser_for


def site_parsed(site_file: SiteFile | None) -> object | None:
    """The parsed content of a site file that applies (parsed, or the last good copy), else None."""
    if site_file is None:
        return None
    if site_file.parsed is not None:
        return site_file.parsed
    if site_file.status is SiteFileStatus.PARSED:  # a fetch layer that left parsing to us
        return parser_for(site_file.kind)(site_file.body)
    return None


_BASES: dict[int, tuple[SiteFile, Evidence]] = {}  # id(site file) -> its filled-in evidence


def _base_evidence(site_file: SiteFile) -> Evidence:
    """A site file's evidence with hash and bytes filled in; computed once per SiteFile object
    (a crawl decides many URLs against the same cached files)."""
    cached = _BASES.get(id(site_file))
    if cached is not None and cached[0] is site_file:
        return cached[1]
    use_last_good = (site_file.parsed is not None and site_file.status is not SiteFileStatus.PARSED
                     and site_file.last_good is not None)
    source = site_file.last_good if use_last_good else site_file
    base = source.evidence
    body = base.body if base.body is not None else (source.body or None)
    sha = base.sha256 or (sha256_hex(body) if body is not None else None)
    evidence = replace(base, sha256=sha, body=body)
    if len(_BASES) >= 64:  # it holds the bodies: keep a handful of origins, not a crawl's worth
        _BASES.clear()
    _BASES[id(site_file)] = (site_file, evidence)
    return evidence


def site_evidence(site_file: SiteFile) -> Callable[[str], Evidence]:
    """Evidence builder for a site file: its evidence with ``location`` set, hash and bytes filled."""

    def make(location: str) -> Evidence:
        base = _base_evidence(site_file)
        # Evidence(...) directly: dataclasses.replace() costs several µs per call on this path.
        return Evidence(base.source, location, base.url, base.final_url, base.status, base.fetched_at,
                        base.sha256, base.body)

    return make


def _cite(line: object) -> str:
    cite = getattr(line, "cite", None)
    if callable(cite):
        return cite()
    return f"robots.txt line {getattr(line, 'number', '?')}: {getattr(line, 'raw', '')}"


def content_signal_lines(robots, token: str) -> tuple[list, str]:
    """``(Content-Signal lines, scope)`` that speak to ``token`` from within a group.

    No spec says whether the line is group-scoped (protocols.md §4). Our reading: the lines of our
    own group when it has any - a site that tells us something specifically means it for us (as
    crawler-commons' group-scoped test files expect) - else those of the ``*`` group, which is
    where Cloudflare's managed robots.txt writes its site-wide reservation (``search=yes,
    ai-train=no``), even when the file has a group naming us for Disallow rules only.
    Returns ``([], "")`` when neither has one.
    """
    group = robots.group_for(token)
    lines = group.records("content-signal")
    if lines:
        return lines, "group" if robots.has_group(token) else "star"
    if robots.has_group(token):
        star = robots.group_for("*").records("content-signal")
        if star:
            return star, "star"
    return [], ""


def may_signal(site, policy) -> bool:
    """False when :func:`location_signals` gives no signal for any URL of ``site``: no Content-Usage
    or Content-Signal record for our group or the whole file, and no tdmrep.json, ai.txt or RSL
    licence that applies. core/evaluate.py then skips the call for every URL of the origin."""
    sources = policy.sources
    robots = site_parsed(site.robots)
    if robots is not None and (sources.content_usage or sources.content_signal):
        group = robots.group_for(policy.crawler.product_token)
        if sources.content_usage and group.records("content-usage"):
            return True
        if sources.content_signal and (content_signal_lines(robots, policy.crawler.product_token)[0]
                                       or robots.global_records("content-signal")):
            return True
    if sources.tdmrep and site_parsed(site.tdmrep) is not None:
        return True
    if sources.ai_txt and site_parsed(site.ai_txt) is not None:
        return True
    return bool(sources.rsl and any(site_parsed(licence) is not None for licence in site.rsl))


def location_signals(target, site, policy) -> list[Signal]:
    signals: list[Signal] = []
    sources = policy.sources
    robots = site_parsed(site.robots)
    if robots is not None and (sources.content_usage or sources.content_signal):
        make = site_evidence(site.robots)

        def line_evidence(line: object) -> Evidence:
            return make(_cite(line))

        group = robots.group_for(policy.crawler.product_token)
        if sources.content_usage:
            signals.extend(aipref.robots_signals(group.records("content-usage"), target.path, line_evidence))
        if sources.content_signal:
            lines, scope = content_signal_lines(robots, policy.crawler.product_token)
            for line in lines:
                signals.extend(content_signal.line_signals(line, line_evidence, scope))
            for line in robots.global_records("content-signal"):
                signals.extend(content_signal.line_signals(line, line_evidence, "global"))
    if sources.tdmrep:
        tdm = site_parsed(site.tdmrep)
        if isinstance(tdm, tdmrep.TdmrepFile):
            signals.extend(tdmrep.file_signals(tdm, target.path, site_evidence(site.tdmrep)))
    if sources.ai_txt:
        parsed = site_parsed(site.ai_txt)
        if isinstance(parsed, ai_txt.AiTxtFile):
            signals.extend(ai_txt.file_signals(parsed, target.path, site_evidence(site.ai_txt)))
    if sources.rsl:
        for licence in site.rsl:
            doc = site_parsed(licence)
            if isinstance(doc, rsl.RslDocument):
                url = licence.evidence.url or licence.origin
                signals.extend(rsl.document_signals(doc, target.origin, target.path, url,
                                                    site_evidence(licence), "rsl", "path"))
    return signals
