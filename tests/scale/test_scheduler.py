"""The shared queue's short path against the real Redis server: a page's links checked and queued
in one step, requests taken TAKE at a time, and the ones taken but not started given back on close."""

from __future__ import annotations

from scrapy import Request, Spider
from scrapy.utils.test import get_crawler

from copyright_guard.scale.scheduler import TAKE, FailClosedScheduler
from copyright_guard.scrapy.runner import shared_queue_settings

from scale_helpers import REDIS_URL


class _Spider(Spider):
    name = "queue-test"


def _scheduler(crawl_name):
    crawler = get_crawler(_Spider, shared_queue_settings(REDIS_URL, crawl_name))
    crawler.spider = _Spider.from_crawler(crawler)
    scheduler = FailClosedScheduler.from_crawler(crawler)
    scheduler.open(crawler.spider)
    return scheduler


def test_links_are_queued_once_and_taken_requests_go_back_on_close(redis_client, crawl_name):
    queue = f"copyright-guard:{crawl_name}:queue"
    one = _scheduler(crawl_name)
    # Round robin over the origins within a priority, first in, first out within an origin: a
    # page's links (all of one origin) do not fill a worker's buffer with one origin.
    pushed = [f"https://{host}.example/p/{i}" for host in ("b", "a") for i in range(TAKE)]
    urls = sorted(pushed, key=lambda url: (int(url.rsplit("/", 1)[1]), url))  # a/0, b/0, a/1, b/1, ...
    assert urls[:4] == ["https://a.example/p/0", "https://b.example/p/0", "https://a.example/p/1",
                        "https://b.example/p/1"]
    for url in pushed + pushed[:3]:  # three seen again
        assert one.enqueue_request(Request(url))
    assert one.has_pending_requests() and redis_client.zcard(queue) == 0  # not sent yet: one step later
    first = one.next_request()  # sends the pushes first, then takes TAKE
    assert first.url == urls[0]
    assert redis_client.zcard(queue) == len(urls) - TAKE
    assert redis_client.scard(f"copyright-guard:{crawl_name}:seen") == len(urls)
    other = _scheduler(crawl_name)  # another worker sees only what was not taken
    assert [other.next_request().url for _ in range(len(urls) - TAKE)] == urls[TAKE:]
    assert other.next_request() is None
    one.close("shutdown")  # the TAKE - 1 taken but not started go back, with their priority order
    assert redis_client.zcard(queue) == TAKE - 1
    assert [other.next_request().url for _ in range(TAKE - 1)] == urls[1:TAKE]
    for url in ("https://z.example/late", "https://a.example/urgent"):
        other.enqueue_request(Request(url, priority=1 if "urgent" in url else 0))
    assert [other.next_request().url for _ in range(2)] == ["https://a.example/urgent", "https://z.example/late"]
    other.close("finished")
