"""The bundled demo site: several origins on 127.0.0.x, each exhibiting one kind of rights signal.

Every origin has a home page ``/`` (the crawl's seeds) linking to its other pages. ``EXPECTED``
says, per origin and path, what the default policy decides and why - the demo prints it beside the
audit log's own answer, and the tests check the two agree.

The two images under ``demo/site/images`` come from the embedded-metadata fixtures
(tests/data/assets, made by its make_fixtures.py): ``reserved.jpg`` carries an XMP
``plus:DataMining`` value of ``DMI-PROHIBITED-AIMLTRAINING``; ``free.jpg`` carries none.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import resources

from .server import Route

# The origin whose registered "domain" (its IP address) the demo puts on an exclusion list.
EXCLUDED = "pirated"
EXCLUSION_LIST = "demo-infringing-sites"


@dataclass(frozen=True)
class Expectation:
    verdict: str  # "allow" | "deny" | "not requested"
    reason: str  # the reason code that decides it ("" for an allow)
    shows: str  # the signal, in a few words


def _page(title: str, body: str = "", links: tuple[str, ...] = (), head: str = "") -> str:
    anchors = "".join(f'<li><a href="{href}">{href}</a></li>' for href in links)
    return (f"<!doctype html><html><head><meta charset=utf-8><title>{title}</title>{head}</head>"
            f"<body><h1>{title}</h1><p>{body or 'Demo text for ' + title + '.'}</p><ul>{anchors}</ul></body></html>")


def _image(name: str) -> bytes:
    return resources.files("copyright_guard.demo").joinpath("site", "images", name).read_bytes()


_PAYWALL_JSONLD = json.dumps({
    "@context": "https://schema.org", "@type": "NewsArticle", "headline": "Premium story",
    "isAccessibleForFree": False,
    "hasPart": {"@type": "WebPageElement", "isAccessibleForFree": False, "cssSelector": ".paywalled"},
})

# origin name -> {path: Route}
SITE: dict[str, dict[str, Route]] = {
    "news": {
        "/robots.txt": Route.text("User-agent: *\nDisallow: /private/\n"),
        "/": Route.html(_page("Demo News", "An open news site with a few reserved pages.", (
            "/articles/1", "/articles/2", "/private/drafts", "/opinion/meta-noai", "/opinion/meta-tdm",
            "/reports/header-tdm", "/reports/header-noai", "/reports/header-usage", "/photos/",
            "/premium/story", "/premium/locked",
        ))),
        "/articles/1": Route.html(_page("Article one", "No reservation anywhere: collected.")),
        "/articles/2": Route.html(_page("Article two", "No reservation anywhere: collected.")),
        "/private/drafts": Route.html(_page("Drafts", "robots.txt disallows /private/: never requested.")),
        "/opinion/meta-noai": Route.html(_page("Opinion (noai)", "HTML meta robots noai.",
                                               head='<meta name="robots" content="noai, noimageai">')),
        "/opinion/meta-tdm": Route.html(_page("Opinion (TDMRep meta)", "HTML meta tdm-reservation.",
                                              head='<meta name="tdm-reservation" content="1">')),
        "/reports/header-tdm": Route.html(_page("Report (TDMRep header)"), headers=[("tdm-reservation", "1")]),
        "/reports/header-noai": Route.html(_page("Report (X-Robots-Tag)"), headers=[("X-Robots-Tag", "noai")]),
        "/reports/header-usage": Route.html(_page("Report (Content-Usage)"), headers=[("Content-Usage", "train-ai=n")]),
        "/photos/": Route.html(_page("Photos", "Two photos; one reserves AI training in its XMP metadata.")
                               .replace("</ul>", '</ul><img src="/photos/reserved.jpg"><img src="/photos/free.jpg">')),
        "/photos/reserved.jpg": Route(200, (("Content-Type", "image/jpeg"),), _image("reserved.jpg")),
        "/photos/free.jpg": Route(200, (("Content-Type", "image/jpeg"),), _image("free.jpg")),
        "/premium/story": Route.html(_page("Premium story", "Subscribers only.",
                                           head=f'<script type="application/ld+json">{_PAYWALL_JSONLD}</script>')
                                     .replace("</body>", '<div class="paywalled">The rest of the story.</div></body>')),
        "/premium/locked": Route.html(_page("Payment required", "HTTP 402."), status=402),
    },
    "down": {
        "/robots.txt": Route.text("<html><body>Service Unavailable</body></html>", 503, "text/html"),
        "/": Route.html(_page("A site whose robots.txt answers 503", "", ("/page",))),
        "/page": Route.html(_page("A page")),
    },
    "peers": {
        "/robots.txt": Route.text("User-agent: GPTBot\nDisallow: /\n\nUser-agent: *\nAllow: /\n"),
        "/": Route.html(_page("A site that blocks GPTBot", "", ("/page",))),
        "/page": Route.html(_page("A page")),
    },
    "aipref": {
        "/robots.txt": Route.text("User-agent: *\nAllow: /\nContent-Usage: train-ai=n\n"),
        "/": Route.html(_page("A site with AIPREF Content-Usage in robots.txt", "", ("/page",))),
        "/page": Route.html(_page("A page")),
    },
    "signals": {
        "/robots.txt": Route.text("User-agent: *\nContent-Signal: search=yes, ai-train=no\nAllow: /\n"),
        "/": Route.html(_page("A site with Cloudflare Content-Signal", "", ("/page",))),
        "/page": Route.html(_page("A page")),
    },
    "books": {
        "/robots.txt": Route.text("User-agent: *\nAllow: /\n"),
        "/.well-known/tdmrep.json": Route.json(json.dumps([
            {"location": "/books/*", "tdm-reservation": 1, "tdm-policy": "https://books.example/tdm-policy.json"},
            {"location": "/*", "tdm-reservation": 0},
        ])),
        "/": Route.html(_page("A publisher with tdmrep.json", "", ("/books/1", "/blog/1"))),
        "/books/1": Route.html(_page("A book", "Reserved by tdmrep.json.")),
        "/blog/1": Route.html(_page("A blog post", "tdmrep.json says tdm-reservation 0 here: collected.")),
    },
    "aitxt": {
        "/robots.txt": Route.text("User-agent: *\nAllow: /\n"),
        "/ai.txt": Route.text("User-Agent: *\nDisallow: /gallery/\n"),
        "/": Route.html(_page("A site with ai.txt", "", ("/gallery/1", "/about"))),
        "/gallery/1": Route.html(_page("Gallery", "ai.txt disallows /gallery/.")),
        "/about": Route.html(_page("About", "Not covered by ai.txt: collected.")),
    },
    EXCLUDED: {
        "/robots.txt": Route.text("User-agent: *\nAllow: /\n"),
        "/": Route.html(_page("An infringing site", "On an exclusion list: never requested, not even robots.txt.")),
    },
}

EXPECTED: dict[tuple[str, str], Expectation] = {
    ("news", "/"): Expectation("allow", "", "no reservation"),
    ("news", "/articles/1"): Expectation("allow", "", "no reservation"),
    ("news", "/articles/2"): Expectation("allow", "", "no reservation"),
    ("news", "/photos/"): Expectation("allow", "", "a page showing two photos"),
    ("news", "/private/drafts"): Expectation("deny", "robots.disallowed", "robots.txt Disallow: /private/"),
    ("news", "/opinion/meta-noai"): Expectation("deny", "robots-meta.reserved", '<meta name="robots" content="noai">'),
    ("news", "/opinion/meta-tdm"): Expectation("deny", "tdmrep.reserved", '<meta name="tdm-reservation" content="1">'),
    ("news", "/reports/header-tdm"): Expectation("deny", "tdmrep.reserved", "header tdm-reservation: 1"),
    ("news", "/reports/header-noai"): Expectation("deny", "robots-meta.reserved", "header X-Robots-Tag: noai"),
    ("news", "/reports/header-usage"): Expectation("deny", "aipref.reserved", "header Content-Usage: train-ai=n"),
    ("news", "/photos/reserved.jpg"): Expectation("deny", "iptc.reserved", "XMP plus:DataMining prohibited"),
    ("news", "/photos/free.jpg"): Expectation("allow", "", "image without embedded reservation"),
    ("news", "/premium/story"): Expectation("deny", "access.restricted", "isAccessibleForFree: false (paywall)"),
    ("news", "/premium/locked"): Expectation("deny", "access.restricted", "HTTP 402 Payment Required"),
    ("down", "/"): Expectation("deny", "robots.unreachable", "robots.txt answers 503"),
    ("peers", "/"): Expectation("deny", "robots.peer-disallowed", "robots.txt blocks GPTBot"),
    ("aipref", "/"): Expectation("deny", "aipref.reserved", "robots.txt Content-Usage: train-ai=n"),
    ("signals", "/"): Expectation("deny", "content-signal.reserved", "robots.txt Content-Signal: ai-train=no"),
    ("books", "/"): Expectation("allow", "", "tdmrep.json tdm-reservation 0 for /*"),
    ("books", "/books/1"): Expectation("deny", "tdmrep.reserved", "tdmrep.json reserves /books/*"),
    ("books", "/blog/1"): Expectation("allow", "", "tdmrep.json tdm-reservation 0"),
    ("aitxt", "/gallery/1"): Expectation("deny", "ai-txt.reserved", "ai.txt Disallow: /gallery/"),
    ("aitxt", "/"): Expectation("allow", "", "not covered by ai.txt"),
    ("aitxt", "/about"): Expectation("allow", "", "not covered by ai.txt"),
    (EXCLUDED, "/"): Expectation("deny", "exclusion.listed", "on the demo exclusion list"),
}


def routes() -> dict[tuple[str, str], Route]:
    return {(origin, path): route for origin, pages in SITE.items() for path, route in pages.items()}


def origins() -> list[str]:
    return list(SITE)
