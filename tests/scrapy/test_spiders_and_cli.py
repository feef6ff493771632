"""The bundled spiders (link following, depth, sites, sitemaps), provenance on items, and the
crawl command's one-line errors."""

from __future__ import annotations

from pathlib import Path

import dataclasses

import pytest
import scrapy
from click.testing import CliRunner
from scrapy.http import HtmlResponse, Request

from copyright_guard.cli import main
from copyright_guard.scrapy import ProvenanceMiddleware
from copyright_guard.spiders import SeedSpider, SitemapCrawlSpider
from copyright_guard.spiders.common import SeedError, read_seeds

TEST_POLICY = str(Path(__file__).resolve().parents[1] / "data" / "policies" / "identity.toml")  # a concrete identity


def _html(url, body, depth=0):
    request = Request(url, cb_kwargs={"depth": depth})
    return HtmlResponse(url, body=body.encode(), encoding="utf-8", request=request)


def test_seeds_come_from_a_file_and_urls_and_must_be_http(tmp_path):
    seeds = tmp_path / "seeds.txt"
    seeds.write_text("# our seeds\nhttps://a.example/\n\nhttps://b.example/x  # trailing comment\nhttps://a.example/\n")
    assert read_seeds(str(seeds), "https://c.example/") == ["https://a.example/", "https://b.example/x", "https://c.example/"]
    seeds.write_text("https://a.example/\nftp://b.example/\n")
    with pytest.raises(SeedError, match=r"seeds.txt line 2: 'ftp://b.example/' is not a usable seed"):
        read_seeds(str(seeds))
    with pytest.raises(SeedError, match="no seeds"):
        read_seeds(None, None)
    with pytest.raises(SeedError, match="cannot read seed file"):
        read_seeds(str(tmp_path / "missing.txt"))


def test_the_seed_spider_follows_links_within_the_seeds_sites_to_its_depth():
    spider = SeedSpider(urls="https://www.news.example/,http://127.0.0.2:8080/", depth=1)
    page = _html("https://www.news.example/", '<a href="/a">a</a><a href="https://cdn.news.example/i.jpg">i</a>'
                 '<img src="/logo.png"><a href="https://elsewhere.example/">x</a><a href="http://127.0.0.3:8080/">y</a>'
                 '<a href="https://user:pw@www.news.example/members">credentials are never sent</a>')
    output = list(spider.parse(page, depth=0))
    item, *requests = output
    assert item["url"] == "https://www.news.example/" and item["copyright_guard_decision_id"] is None
    assert [r.url for r in requests] == ["https://www.news.example/a", "https://cdn.news.example/i.jpg",
                                         "https://www.news.example/logo.png"]
    assert all(r.cb_kwargs == {"depth": 1} for r in requests)
    assert [type(x) for x in spider.parse(_html("https://www.news.example/a", '<a href="/b">b</a>', 1), depth=1)] == [dict]


@pytest.mark.parametrize("bad", ["-1", "two"])
def test_the_seed_spider_rejects_a_bad_depth(bad):
    with pytest.raises(ValueError, match="depth"):
        SeedSpider(urls="https://a.example/", depth=bad)


def test_the_sitemap_spider_reads_sitemaps_or_the_sites_robots_txt():
    spider = SitemapCrawlSpider(urls="https://a.example/,https://b.example/sitemap.xml,https://c.example/robots.txt")
    assert spider.sitemap_urls == ["https://a.example/robots.txt", "https://b.example/sitemap.xml",
                                   "https://c.example/robots.txt"]


@dataclasses.dataclass
class WithField:
    url: str
    copyright_guard_decision_id: str | None = None


@dataclasses.dataclass
class WithoutField:
    url: str


class PageItem(scrapy.Item):
    url = scrapy.Field()
    copyright_guard_decision_id = scrapy.Field()


def test_provenance_stamps_items_that_can_carry_the_decision_id():
    middleware = ProvenanceMiddleware("copyright_guard_decision_id")
    response = _html("https://a.example/", "<p>x</p>")
    response.meta["copyright_guard_decision_id"] = "abc123"
    follow = Request("https://a.example/next")
    items = [{"url": "u"}, {"url": "u", "copyright_guard_decision_id": "kept"}, WithField("u"), WithoutField("u"),
             PageItem(url="u"), follow]
    out = list(middleware.process_spider_output(response, items))
    assert out[0]["copyright_guard_decision_id"] == "abc123"
    assert out[1]["copyright_guard_decision_id"] == "kept"
    assert out[2].copyright_guard_decision_id == "abc123"
    assert not hasattr(out[3], "copyright_guard_decision_id")
    assert out[4]["copyright_guard_decision_id"] == "abc123"
    assert out[5] is follow and "copyright_guard_decision_id" not in follow.meta


def _one_line_error(result, *words):
    assert result.exit_code == 2, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.output
    for word in words:
        assert word in lines[0]


def test_crawl_without_seeds_is_a_one_line_error():
    _one_line_error(CliRunner().invoke(main, ["crawl"]), "no seeds")


def test_crawl_with_a_bad_policy_is_a_one_line_error(tmp_path):
    policy = tmp_path / "p.toml"
    policy.write_text("[crawl]\nobey_crawl_delay = 'yes'\n")
    result = CliRunner().invoke(main, ["crawl", "--url", "https://a.example/", "--policy", str(policy)])
    _one_line_error(result, "COPYRIGHT_GUARD_POLICY", "obey_crawl_delay")


def test_crawl_with_a_bad_setting_is_a_one_line_error():
    _one_line_error(CliRunner().invoke(main, ["crawl", "--url", "https://a.example/", "--set", "NOEQUALS"]),
                    "NAME=VALUE")
    _one_line_error(CliRunner().invoke(main, ["crawl", "--url", "https://a.example/", "--policy", TEST_POLICY,
                                              "--set", "USER_AGENT=Mozilla/5.0"]), "product token")


def test_crawl_with_the_shipped_default_policy_names_the_identity_keys_and_init():
    result = CliRunner().invoke(main, ["crawl", "--url", "https://a.example/"])
    _one_line_error(result, "placeholder identity", "[crawler] user_agent", "[complaints] contact_email",
                    "copyright-guard init")
