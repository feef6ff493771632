"""Builders for the Scrapy tests: site views built by the real fetch state machine, a fake site-file
source for the middleware, and a recorder that keeps decisions in a list."""

from __future__ import annotations

from datetime import datetime, timezone

from copyright_guard.core.evaluate import SiteView
from copyright_guard.core.policy import load_policy
from copyright_guard.fetch.states import FetchOutcome, SiteFileFetch, site_file_url
from copyright_guard.scrapy.recorder import DecisionRecorder

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=timezone.utc)
ORIGIN = "https://news.example"


def site_file(kind: str, origin: str, status: int, body: bytes = b"", policy=None):
    machine = SiteFileFetch(kind, origin, policy or load_policy(), NOW)
    machine.feed(FetchOutcome(site_file_url(kind, origin), status=status, body=body, fetched_at=NOW))
    return machine.result()


def site_view(origin: str = ORIGIN, robots: bytes | None = b"User-agent: *\nDisallow: /private/\n",
              robots_status: int = 200, tdmrep: bytes | None = None, ai_txt: bytes | None = None) -> SiteView:
    return SiteView(
        robots=site_file("robots.txt", origin, robots_status, robots or b""),
        tdmrep=site_file("tdmrep.json", origin, 200 if tdmrep else 404, tdmrep or b""),
        ai_txt=site_file("ai.txt", origin, 200 if ai_txt else 404, ai_txt or b""),
    )


class FakeSiteFiles:
    """Stands in for EngineSiteFiles: serves prepared site views and notes which origins were asked."""

    def __init__(self, views: dict[str, SiteView]) -> None:
        self.views = views
        self.in_flight: dict = {}
        self.fetched: list[str] = []

    def cached(self, origin, now):
        return None

    async def view(self, origin):
        self.fetched.append(origin)
        return self.views[origin]

    def latest(self, origin):
        return self.views.get(origin)


def recording(crawler) -> DecisionRecorder:
    """A recorder whose audit writer is a list (``recorder.decisions``); ids are d1, d2, ..."""
    decisions = []
    recorder = DecisionRecorder(crawler.stats, crawler.signals.send_catch_log, crawler.signals.sender)

    def submit(decision):
        decisions.append(decision)
        return f"d{len(decisions)}"

    recorder.submit = submit
    recorder.decisions = decisions
    return recorder
