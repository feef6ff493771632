"""Scrapy project settings for ``scrapy crawl`` run from the repository root (see scrapy.cfg)."""

BOT_NAME = "copyright-guard"
SPIDER_MODULES = ["copyright_guard.spiders"]  # the spiders live in the installed package
ADDONS = {"copyright_guard.scrapy.Addon": 100}
# COPYRIGHT_GUARD_POLICY = "policies/default.toml"   # the bundled strict default when unset
# COPYRIGHT_GUARD_DB = "sqlite:///copyright-guard.db"
TELNETCONSOLE_ENABLED = False
