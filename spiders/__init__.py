"""The source tree's Scrapy project module: ``scrapy crawl seeds -a seeds=FILE`` from the repository
root (``scrapy.cfg`` points here). The spiders themselves live in the installed package
``copyright_guard.spiders``, so ``copyright-guard crawl`` and any project with
``SPIDER_MODULES = ["copyright_guard.spiders"]`` get the same code; this module only re-exports them.
"""

from copyright_guard.spiders import SeedSpider, SitemapCrawlSpider

__all__ = ["SeedSpider", "SitemapCrawlSpider"]
