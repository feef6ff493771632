"""AuditExtension (the audit run's lifecycle) and Crawl-delay on Scrapy's download slots."""

from __future__ import annotations

from pathlib import Path

import pytest
from scrapy import Request, Spider
from scrapy.core.downloader import Slot
from scrapy.exceptions import CloseSpider
from scrapy.utils.test import get_crawler

from copyright_guard.core.evaluate import evaluate
from copyright_guard.core.policy import load_policy
from copyright_guard.scrapy import Addon, AuditExtension
from copyright_guard.scrapy.extension import CLOSE_REASON, progress_line
from copyright_guard.scrapy.runtime import CrawlDelays
from copyright_guard.store.audit import Filters, search
from copyright_guard.store.db import connect

from helpers import NOW, site_file, site_view

TEST_POLICY = str(Path(__file__).resolve().parents[1] / "data" / "policies" / "identity.toml")  # a concrete identity


class NamedSpider(Spider):
    name = "named"


def _extension(db_url):
    crawler = get_crawler(NamedSpider, settings_dict={"ADDONS": {Addon: 100}, "COPYRIGHT_GUARD_POLICY": TEST_POLICY, "COPYRIGHT_GUARD_DB": db_url,
                                                      "COPYRIGHT_GUARD_PROGRESS_INTERVAL": 0,
                                                      "COPYRIGHT_GUARD_GC_FREEZE": False})
    return crawler, AuditExtension.from_crawler(crawler)


def test_a_run_is_opened_recorded_and_finished(tmp_path):
    url = f"sqlite:///{tmp_path / 'audit.db'}"
    crawler, extension = _extension(url)
    spider = NamedSpider()
    extension.spider_opened(spider)
    run_id = crawler.stats.get_value("copyright_guard/run_id")
    assert run_id and extension.runtime.exclusions is not None
    decision = evaluate("https://news.example/private/x", load_policy(), now=NOW, site=site_view())
    decision_id = extension.recorder.record(decision)
    extension.spider_closed(spider, "finished")
    [row] = list(search(connect(url), Filters(run=run_id)))
    assert row["id"] == decision_id and row["verdict"] == "deny"
    assert row["reasons"][0]["code"] == "robots.disallowed"
    assert crawler.stats.get_value("copyright_guard/audit/written") == 1
    assert extension.recorder.submit is None  # nothing is recorded after the run is finished


def test_an_unusable_database_closes_the_spider_before_any_request(tmp_path):
    not_a_db = tmp_path / "notes.db"
    not_a_db.write_text("these are my notes, not a database\n")
    _, extension = _extension(f"sqlite:///{not_a_db}")
    with pytest.raises(CloseSpider) as closed:
        extension.spider_opened(NamedSpider())
    assert closed.value.reason == CLOSE_REASON
    assert extension.recorder.submit is None


def test_the_progress_line_counts_pages_and_denials_by_reason(recorder):
    policy = load_policy()
    recorder.record(evaluate("https://news.example/private/x", policy, now=NOW, site=site_view()))
    recorder.record(evaluate("https://news.example/a", policy, now=NOW, site=site_view()))
    assert progress_line(recorder) == "pages 0, allowed 0, denied 1 (robots.disallowed 1)"


class FakeDownloader:
    def __init__(self):
        self.per_slot_settings = {}
        self.slots = {"news.example": Slot(8, 0.0, 0.5)}

    def get_slot_key(self, request):
        return request.meta.get("download_slot") or "news.example"


class FakeEngine:
    def __init__(self):
        self.downloader = FakeDownloader()


class FakeCrawler:
    def __init__(self):
        self.engine = FakeEngine()


def test_crawl_delay_becomes_the_slot_delay_capped_by_the_policy():
    crawler = FakeCrawler()
    delays = CrawlDelays(crawler, "CopyrightGuardBot", cap=5.0, enabled=True)
    robots = site_file("robots.txt", "https://news.example", 200,
                       b"User-agent: CopyrightGuardBot\nCrawl-delay: 2.5\nAllow: /\n\nUser-agent: *\nCrawl-delay: 30\n")
    delays.learn(robots)
    delays.apply("https://news.example", Request("https://news.example/a"))
    downloader = crawler.engine.downloader
    assert downloader.slots["news.example"].delay == 2.5
    assert downloader.slots["news.example"].jitter == 0.0
    assert downloader.per_slot_settings["news.example"] == {"delay": 2.5, "jitter": 0.0}  # survives slot clean-up
    slow = site_file("robots.txt", "https://slow.example", 200, b"User-agent: *\nCrawl-delay: 600\n")
    delays.learn(slow)
    assert delays.by_origin["https://slow.example"] == 5.0


def test_crawl_delay_is_ignored_when_the_policy_says_so():
    crawler = FakeCrawler()
    delays = CrawlDelays(crawler, "CopyrightGuardBot", cap=60.0, enabled=False)
    delays.learn(site_file("robots.txt", "https://news.example", 200, b"User-agent: *\nCrawl-delay: 3\n"))
    delays.apply("https://news.example", Request("https://news.example/a"))
    assert crawler.engine.downloader.slots["news.example"].delay == 0.0


def test_a_changed_crawl_delay_is_applied_again_and_never_below_download_delay():
    crawler = FakeCrawler()
    crawler.engine.downloader.slots["news.example"].delay = 1.0  # DOWNLOAD_DELAY = 1
    delays = CrawlDelays(crawler, "CopyrightGuardBot", cap=60.0, enabled=True)
    request = Request("https://news.example/a")
    delays.learn(site_file("robots.txt", "https://news.example", 200, b"User-agent: *\nCrawl-delay: 0.5\n"))
    delays.apply("https://news.example", request)
    assert crawler.engine.downloader.slots["news.example"].delay == 1.0
    delays.learn(site_file("robots.txt", "https://news.example", 200, b"User-agent: *\nCrawl-delay: 4\n"))
    delays.apply("https://news.example", request)
    assert crawler.engine.downloader.slots["news.example"].delay == 4.0
