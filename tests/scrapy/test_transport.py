"""Site-wide files through Scrapy's engine: the pure state machine decides, Scrapy only moves bytes."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from scrapy.exceptions import StopDownload
from scrapy.http import Response, TextResponse
from twisted.internet.error import ConnectionRefusedError

from copyright_guard.core.lists.exclusions import ExclusionEntry, ExclusionIndex
from copyright_guard.core.model import SiteFileStatus
from copyright_guard.core.policy import load_policy
from copyright_guard.scrapy.transport import SITE_FILE_META, EngineSiteFiles

from helpers import NOW

ORIGIN = "http://127.0.0.2:8080"


class FakeEngine:
    """``download_async`` stand-in: answers from a table, or leaves a request pending until released."""

    def __init__(self, answers: dict[str, object], hold: bool = False) -> None:
        self.answers = answers
        self.requests = []
        self.hold = hold
        self.released = asyncio.Event()

    async def download(self, request):
        self.requests.append(request)
        answer = self.answers.get(request.url, (404, {}, b""))
        await asyncio.sleep(0)  # a real download always yields to the loop, however fast
        if self.hold:
            await self.released.wait()
        if isinstance(answer, Exception):
            raise answer
        status, headers, body = answer
        return TextResponse(request.url, status=status, headers=headers, body=body, request=request)



def _site_files(engine, clock=lambda: NOW, exclusions=None, **kw):
    return EngineSiteFiles(load_policy(), engine.download, clock=clock, exclusions=lambda: exclusions, **kw)


def _run(coroutine):
    """Run on an asyncio loop, as Scrapy's default (asyncio) reactor does."""
    return [asyncio.run(coroutine)]


def test_each_file_is_fetched_once_and_concurrent_pages_share_the_fetch():
    engine = FakeEngine({f"{ORIGIN}/robots.txt": (200, {}, b"User-agent: *\nDisallow: /x\n")}, hold=True)
    site_files = _site_files(engine)

    async def four_pages():
        # Four, not two: awaiting one shared Deferred consumes its result, so a third waiter once
        # got None (and its request was refused as undecidable).
        pages = [asyncio.ensure_future(site_files.view(ORIGIN)) for _ in range(4)]
        await asyncio.sleep(0.01)
        assert not any(page.done() for page in pages)  # all waiting on the same fetch
        engine.released.set()
        return [await page for page in pages]

    views = asyncio.run(four_pages())
    assert views[0] is not None and all(view is views[0] for view in views)
    first = views[:1]
    assert sorted(r.url.removeprefix(ORIGIN) for r in engine.requests) == ["/.well-known/tdmrep.json", "/ai.txt", "/robots.txt"]
    assert first[0].robots.status is SiteFileStatus.PARSED
    assert site_files.cached(ORIGIN, NOW) is first[0]


def test_a_failed_assembly_fails_every_concurrent_waiter(monkeypatch):
    engine = FakeEngine({}, hold=True)
    site_files = _site_files(engine)

    async def broken(origin):
        await engine.released.wait()
        raise RuntimeError("a bug")

    monkeypatch.setattr(site_files, "_assemble", broken)

    async def three_pages():
        pages = [asyncio.ensure_future(site_files.view(ORIGIN)) for _ in range(3)]
        await asyncio.sleep(0.01)
        engine.released.set()
        return await asyncio.gather(*pages, return_exceptions=True)

    results = asyncio.run(three_pages())
    assert [type(r) for r in results] == [RuntimeError] * 3


def test_site_file_requests_leave_every_decision_to_the_state_machine():
    engine = FakeEngine({})
    site_files = _site_files(engine, priority=777)
    _run(site_files.view(ORIGIN))
    request = engine.requests[0]
    assert request.priority == 777
    for key in ("dont_redirect", "dont_retry", "handle_httpstatus_all", "dont_obey_robotstxt"):
        assert request.meta[key] is True
    assert request.meta["download_maxsize"] == 0
    assert request.meta[SITE_FILE_META] in ("robots.txt", "tdmrep.json", "ai.txt")
    assert not site_files.in_flight  # forgotten once downloaded


def test_redirects_are_followed_by_the_state_machine_and_a_404_is_unavailable():
    engine = FakeEngine({
        f"{ORIGIN}/robots.txt": (301, {"Location": "/moved/robots.txt"}, b""),
        f"{ORIGIN}/moved/robots.txt": (200, {}, b"User-agent: *\nDisallow: /\n"),
    })
    [view] = _run(_site_files(engine).view(ORIGIN))
    assert view.robots.status is SiteFileStatus.PARSED
    assert view.robots.evidence.final_url == f"{ORIGIN}/moved/robots.txt"
    assert view.tdmrep.status is SiteFileStatus.UNAVAILABLE


@pytest.mark.parametrize("answer, error", [
    ((503, {}, b"User-agent: *\nAllow: /\n"), "HTTP 503"),
    (ConnectionRefusedError("Connection was refused by other side: 111"), "ConnectionRefusedError"),
])
def test_5xx_and_network_errors_are_unreachable_and_retried_after_the_backoff(answer, error):
    engine = FakeEngine({f"{ORIGIN}/robots.txt": answer})
    clock = [NOW]
    site_files = _site_files(engine, clock=lambda: clock[0])
    [view] = _run(site_files.view(ORIGIN))
    assert view.robots.status is SiteFileStatus.UNREACHABLE
    assert error in view.robots.error
    assert site_files.cached(ORIGIN, NOW + timedelta(seconds=30)) is view  # within the backoff
    clock[0] = NOW + timedelta(seconds=61)
    assert site_files.cached(ORIGIN, clock[0]) is None
    [again] = _run(site_files.view(ORIGIN))
    robots_requests = [r for r in engine.requests if r.url.endswith("/robots.txt")]
    assert len(robots_requests) == 2
    assert again.robots.unreachable_since == NOW  # the outage is remembered across retries
    # complete disallow covers the whole origin: nothing else is requested (as `check` does)
    assert {r.url for r in engine.requests} == {f"{ORIGIN}/robots.txt"}
    assert view.tdmrep is None and view.ai_txt is None


def test_a_redirect_into_an_excluded_origin_is_not_followed():
    index = ExclusionIndex([ExclusionEntry("list", 1, "127.0.0.9", "ip", "A court")])
    engine = FakeEngine({f"{ORIGIN}/robots.txt": (302, {"Location": "http://127.0.0.9/robots.txt"}, b"")})
    [view] = _run(_site_files(engine, exclusions=index).view(ORIGIN))
    assert not [r for r in engine.requests if "127.0.0.9" in r.url]
    assert view.robots.status is SiteFileStatus.UNREACHABLE
    assert "exclusion list" in view.robots.error


def test_a_site_file_download_stops_at_the_policy_byte_limit():
    engine = FakeEngine({})
    site_files = _site_files(engine)
    request = object()
    site_files.in_flight[request] = 0
    limit = load_policy().cache.max_bytes
    site_files.bytes_received(b"x" * limit, request)  # exactly the limit: keep reading
    with pytest.raises(StopDownload) as stopped:
        site_files.bytes_received(b"x", request)
    assert stopped.value.fail is False  # the partial body is kept and parsed (RFC 9309 §2.5)
    site_files.bytes_received(b"x" * (limit + 1), object())  # a page download is never cut


def test_a_truncated_download_is_marked_in_the_evidence():
    class Cut(FakeEngine):
        async def download(self, request):
            self.requests.append(request)
            if request.url.endswith("/robots.txt"):
                return Response(request.url, status=200, body=b"User-agent: *\nDisallow: /a\n", request=request,
                                flags=["download_stopped"])
            return Response(request.url, status=404, request=request)

    [view] = _run(_site_files(Cut({})).view(ORIGIN))
    assert "body cut" in view.robots.evidence.location


# -- issue 17: every waiter of a shared site-file fetch gets the one decision basis -----------------

WAITERS = (1, 2, 3, 10, 100)


class _Timeout(Exception):
    """What Scrapy raises for a download past ``download_timeout`` (twisted's TimeoutError)."""


@pytest.mark.parametrize("waiters", WAITERS)
@pytest.mark.parametrize("robots, status", [
    ("fast", SiteFileStatus.PARSED),
    ("slow", SiteFileStatus.PARSED),
    ("503", SiteFileStatus.UNREACHABLE),
    ("timeout", SiteFileStatus.UNREACHABLE),
])
def test_every_concurrent_waiter_gets_the_same_site_view(waiters, robots, status):
    answer = {
        "fast": (200, {}, b"User-agent: *\nAllow: /\n"),
        "slow": (200, {}, b"User-agent: *\nAllow: /\n"),
        "503": (503, {}, b""),
        "timeout": _Timeout("User timeout caused connection failure: getting http://x took longer than 10.0 seconds."),
    }[robots]
    engine = FakeEngine({f"{ORIGIN}/robots.txt": answer}, hold=robots in ("slow", "timeout"))
    site_files = _site_files(engine)

    async def pages():
        views = [asyncio.ensure_future(site_files.view(ORIGIN)) for _ in range(waiters)]
        await asyncio.sleep(0.01)
        engine.released.set()
        return await asyncio.gather(*views)

    views = asyncio.run(pages())
    assert len(views) == waiters
    assert all(view is views[0] for view in views)  # one view, never None
    assert views[0].robots.status is status
    assert [r.url for r in engine.requests].count(f"{ORIGIN}/robots.txt") == 1  # fetched once


@pytest.mark.parametrize("waiters", WAITERS)
def test_every_concurrent_waiter_of_one_file_gets_it(waiters):
    # The file level (robots.txt, tdmrep.json, ...) shares its fetch the same way as the view level.
    engine = FakeEngine({f"{ORIGIN}/robots.txt": (200, {}, b"User-agent: *\nDisallow: /x\n")}, hold=True)
    site_files = _site_files(engine)

    async def files():
        pending = [asyncio.ensure_future(site_files._file("robots.txt", ORIGIN, None, NOW)) for _ in range(waiters)]
        await asyncio.sleep(0.01)
        engine.released.set()
        return await asyncio.gather(*pending)

    results = asyncio.run(files())
    assert all(result is results[0] for result in results)
    assert results[0].status is SiteFileStatus.PARSED
    assert len(engine.requests) == 1


@pytest.mark.parametrize("waiters", WAITERS)
def test_a_bug_while_assembling_fails_every_waiter_closed_with_the_same_error(waiters, monkeypatch):
    import copyright_guard.scrapy.transport as transport

    def bug(policy, robots):
        raise ValueError("a bug while assembling the view")

    monkeypatch.setattr(transport, "files_after_robots", bug)
    engine = FakeEngine({f"{ORIGIN}/robots.txt": (200, {}, b"User-agent: *\nAllow: /\n")}, hold=True)
    site_files = _site_files(engine)

    async def pages():
        views = [asyncio.ensure_future(site_files.view(ORIGIN)) for _ in range(waiters)]
        await asyncio.sleep(0.01)
        engine.released.set()
        return await asyncio.gather(*views, return_exceptions=True)

    results = asyncio.run(pages())
    assert len(results) == waiters
    assert all(isinstance(result, ValueError) and "assembling" in str(result) for result in results)
    assert not site_files._pending_views  # the next request for the origin tries again
