"""Ready-to-paste opt-out snippets for site owners, generated from the running policy.

For each purpose the crawler can collect for, and each protocol the policy honours, the text a site
owner puts on their site to reserve that purpose against us: the crawler page (web/crawler.py) shows
them, so they must always be true. They are built from the same tables the decision uses - our
product token, ``policy.sources`` and :mod:`core.purposes` - choosing per protocol the narrowest
label that covers the purpose (a search opt-out should not also reserve AI training). A protocol
with no label for a purpose gets no snippet. tests/web/test_crawler_snippets.py puts every snippet
on a local site and checks that the crawler then does not collect for that purpose.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from .model import PURPOSES
from .policy import Policy
from .purposes import TABLE


@dataclass(frozen=True, slots=True)
class Snippet:
    protocol: str  # a stable key: robots-txt, content-usage, content-usage-header, content-signal, ...
    title: str  # what it is, in words
    where: str  # where to put it
    text: str  # what to paste
    scope: str  # what it reserves, in words

    def as_dict(self) -> dict[str, str]:
        return {"protocol": self.protocol, "title": self.title, "where": self.where, "text": self.text,
                "scope": self.scope}


PURPOSE_WORDS = {
    "train-ai": "training AI models",
    "train-genai": "training generative AI models",
    "ai-input": "use as input to AI models (retrieval, grounding, answers)",
    "search": "building a search index",
    "tdm": "text and data mining",
}


def _label(vocabulary: str, purpose: str) -> str | None:
    """The narrowest label of ``vocabulary`` whose purposes include ``purpose`` (table order breaks
    ties: the table lists each source's current labels before older drafts')."""
    candidates = [(len(purposes), index, label) for index, (label, purposes) in enumerate(TABLE[vocabulary].items())
                  if purpose in purposes]
    return min(candidates)[2] if candidates else None


def _words(vocabulary: str, label: str) -> str:
    covered = TABLE[vocabulary][label]
    return ", ".join(PURPOSE_WORDS[p] for p in PURPOSES if p in covered)


def snippets_for(policy: Policy, purpose: str) -> list[Snippet]:
    """Every snippet that reserves ``purpose`` against the policy's crawler, one per protocol."""
    token = policy.crawler.product_token
    sources = policy.sources
    out = [Snippet("robots-txt", f"robots.txt group for {token}", "/robots.txt",
                   f"User-agent: {token}\nDisallow: /\n",
                   "every purpose: we fetch nothing but robots.txt from the site (RFC 9309)")]
    if sources.content_usage and (label := _label("aipref", purpose)):
        out.append(Snippet("content-usage", "IETF AIPREF Content-Usage rule in robots.txt", "/robots.txt",
                           f"User-agent: {token}\nAllow: /\nContent-Usage: {label}=n\n", _words("aipref", label)))
        out.append(Snippet("content-usage-header", "IETF AIPREF Content-Usage HTTP response header",
                           "every response (server configuration)", f"Content-Usage: {label}=n",
                           _words("aipref", label)))
    if sources.content_signal and (label := _label("content-signal", purpose)):
        out.append(Snippet("content-signal", "Cloudflare Content-Signal line in robots.txt", "/robots.txt",
                           f"User-agent: *\nContent-Signal: {label}=no\nAllow: /\n", _words("content-signal", label)))
    if sources.tdmrep and _label("tdmrep", purpose):
        scope = _words("tdmrep", "tdm-reservation")
        out.append(Snippet("tdmrep", "W3C TDMRep file", "/.well-known/tdmrep.json",
                           json.dumps([{"location": "/*", "tdm-reservation": 1}]), scope))
        out.append(Snippet("tdmrep-meta", "W3C TDMRep HTML meta tag", "<head> of each page",
                           '<meta name="tdm-reservation" content="1">', scope))
    if sources.robots_meta and _label("robots-meta", purpose):
        out.append(Snippet("robots-meta", "noai robots meta tag", "<head> of each page",
                           '<meta name="robots" content="noai">', _words("robots-meta", "noai")))
    if sources.ai_txt and _label("ai-txt", purpose):
        out.append(Snippet("ai-txt", "Spawning ai.txt", "/ai.txt", "User-Agent: *\nDisallow: /\n",
                           _words("ai-txt", "disallow")))
    return out


def all_snippets(policy: Policy) -> dict[str, list[Snippet]]:
    """``{purpose: [Snippet, ...]}`` for every purpose, in the order of ``core.model.PURPOSES``."""
    return {purpose: snippets_for(policy, purpose) for purpose in PURPOSES}
