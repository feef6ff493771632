"""``sitemap``: collect the pages listed in the seeds' sitemaps.

Arguments: ``seeds`` (a file) and/or ``urls`` (comma-separated) - each either a sitemap URL
(``.../sitemap.xml``, sitemap indexes are followed) or a site's ``/robots.txt`` whose ``Sitemap:``
lines are read; a bare site URL (``https://example.com/``) means its ``/robots.txt``. Every
sitemap, robots.txt and page request goes through the add-on like any other request. Items are
the same as the ``seeds`` spider's.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from scrapy.http import Response
from scrapy.spiders import SitemapSpider

from .common import page_item, read_seeds


def _sitemap_source(url: str) -> str:
    parts = urlsplit(url)
    if parts.path in ("", "/") and not parts.query:
        return urlunsplit((parts.scheme, parts.netloc, "/robots.txt", "", ""))
    return url


class SitemapCrawlSpider(SitemapSpider):
    name = "sitemap"

    def __init__(self, seeds: str | None = None, urls: str | None = None, **kwargs: Any) -> None:
        kwargs.pop("depth", None)  # accepted for symmetry with `seeds`; sitemaps have no depth
        super().__init__(**kwargs)
        self.sitemap_urls = [_sitemap_source(url) for url in read_seeds(seeds, urls)]

    def parse(self, response: Response) -> Iterator[dict[str, Any]]:
        yield page_item(response)
