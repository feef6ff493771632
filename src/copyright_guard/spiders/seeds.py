"""``seeds``: start from a list of URLs and follow links within the seeds' sites, to a depth.

Arguments (``-a name=value`` with ``scrapy crawl``; options of ``copyright-guard crawl``):

* ``seeds`` - a file with one URL per line (``#`` comments allowed); and/or ``urls`` - URLs
  separated by commas;
* ``depth`` - how many links deep to follow from a seed (default 2; 0 = the seeds only).

A link is followed when its registered domain is one of the seeds' (``www.example.com`` and
``example.com`` are one site; an IP address is its own site). Links from ``<a href>``,
``<img src>`` and ``<link rel=alternate>`` are followed, so images and feeds are checked too.
Each collected response becomes one item (``url``, ``status``, ``content_type``, ``length``,
``title``, ``text``, ``copyright_guard_decision_id``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import scrapy
from scrapy.http import Response, TextResponse

from .common import has_credentials, page_item, read_seeds, site_of

DEFAULT_DEPTH = 2


class SeedSpider(scrapy.Spider):
    name = "seeds"

    def __init__(self, seeds: str | None = None, urls: str | None = None, depth: int | str = DEFAULT_DEPTH,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.seed_urls = read_seeds(seeds, urls)
        try:
            self.max_depth = int(depth)
        except ValueError:
            raise ValueError(f"depth: expected a whole number, got {depth!r}") from None
        if self.max_depth < 0:
            raise ValueError(f"depth: must be 0 or more, got {depth!r}")
        self.sites = {site for site in map(site_of, self.seed_urls) if site}

    async def start(self) -> AsyncIterator[scrapy.Request]:
        for url in self.seed_urls:
            yield scrapy.Request(url, callback=self.parse, cb_kwargs={"depth": 0})

    def parse(self, response: Response, depth: int = 0) -> Iterator[Any]:
        yield page_item(response)
        if depth >= self.max_depth or not isinstance(response, TextResponse):
            return
        links = response.css("a::attr(href), img::attr(src), link[rel=alternate]::attr(href)").getall()
        for href in links:
            url = response.urljoin(href.strip())
            # A link carrying user:password@ is not followed: credentials are never sent (README
            # "no circumvention"), and Scrapy's downloader cannot fetch such a URL anyway.
            if site_of(url) in self.sites and not has_credentials(url):
                yield scrapy.Request(url, callback=self.parse, cb_kwargs={"depth": depth + 1})
