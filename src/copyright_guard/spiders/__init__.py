"""The bundled spiders, a Scrapy ``SPIDER_MODULES`` package: ``seeds`` and ``sitemap``.

In any Scrapy project: ``SPIDER_MODULES = ["copyright_guard.spiders"]`` and
``ADDONS = {"copyright_guard.scrapy.Addon": 100}``, then ``scrapy crawl seeds -a seeds=urls.txt``.
``copyright-guard crawl`` uses them directly. The top-level ``spiders/`` directory of the source
tree is a thin Scrapy project module over these (see ``scrapy.cfg``).
"""

from __future__ import annotations

from .seeds import SeedSpider
from .sitemap import SitemapCrawlSpider

SPIDERS = {SeedSpider.name: SeedSpider, SitemapCrawlSpider.name: SitemapCrawlSpider}

__all__ = ["SPIDERS", "SeedSpider", "SitemapCrawlSpider"]
