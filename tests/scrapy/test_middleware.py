"""The downloader middlewares with a mocked crawler (scrapy.utils.test.get_crawler), Scrapy style."""

from __future__ import annotations

from pathlib import Path

import asyncio

import pytest
from scrapy import Request, Spider
from scrapy.exceptions import IgnoreRequest, NotConfigured
from scrapy.http import HtmlResponse
from scrapy.utils.test import get_crawler

from copyright_guard.core.lists.exclusions import ExclusionEntry, ExclusionIndex
from copyright_guard.core.policy import load_policy
from copyright_guard.scrapy import (
    DECISION_ID_META,
    Addon,
    CopyrightGuardMiddleware,
    IdentityGuardMiddleware,
    decision_made,
)
from copyright_guard.scrapy.middleware import PRE_FETCH_ID_META
from copyright_guard.scrapy.transport import SITE_FILE_META

from helpers import NOW, ORIGIN, FakeSiteFiles, site_view

TEST_POLICY = str(Path(__file__).resolve().parents[1] / "data" / "policies" / "identity.toml")  # a concrete identity

UA = load_policy().crawler.user_agent


def _middleware(recorder, views=None, exclusions=None):
    site_files = FakeSiteFiles(views if views is not None else {ORIGIN: site_view()})
    middleware = CopyrightGuardMiddleware(load_policy(), site_files, recorder,
                                          exclusions=lambda: exclusions, clock=lambda: NOW)
    return middleware, site_files


def _pre(middleware, request):
    return asyncio.run(middleware.process_request(request))


def _response(url, body=b"<html><body>text</body></html>", status=200, headers=None, request=None):
    request = request or Request(url)
    return HtmlResponse(url, status=status, body=body, headers=headers or {}, request=request)


def test_an_allowed_request_is_recorded_and_passes(recorder):
    middleware, site_files = _middleware(recorder)
    request = Request(f"{ORIGIN}/articles/1")
    assert _pre(middleware, request) is None
    [decision] = recorder.decisions
    assert (decision.stage.value, decision.verdict.value, decision.url) == ("pre-fetch", "allow", request.url)
    assert request.meta[PRE_FETCH_ID_META] == "d1"
    assert site_files.fetched == [ORIGIN]


def test_a_disallowed_request_raises_ignore_request_with_the_reason(recorder, crawler):
    middleware, _ = _middleware(recorder)
    with pytest.raises(IgnoreRequest, match=r"pre-fetch deny \[robots.disallowed\]: .*robots.txt line 2: Disallow: /private/"):
        _pre(middleware, Request(f"{ORIGIN}/private/page"))
    [decision] = recorder.decisions
    assert [r.code for r in decision.deny_reasons] == ["robots.disallowed"]
    recorder.publish()  # the extension does this every second and when the spider closes
    stats = crawler.stats.get_stats()
    assert stats["copyright_guard/decisions/deny"] == 1
    assert stats["copyright_guard/decisions/pre-fetch/deny"] == 1
    assert stats["copyright_guard/reasons/robots.disallowed"] == 1


def test_an_unreachable_robots_txt_denies_everything(recorder):
    views = {ORIGIN: site_view(robots=b"<html>Service Unavailable</html>", robots_status=503)}
    middleware, _ = _middleware(recorder, views)
    with pytest.raises(IgnoreRequest, match=r"robots.unreachable"):
        _pre(middleware, Request(f"{ORIGIN}/articles/1"))


def test_a_listed_origin_gets_no_request_of_any_kind(recorder):
    index = ExclusionIndex([ExclusionEntry("court-order-7", 1, "news.example", "domain", "A court", reference="case 12")])
    middleware, site_files = _middleware(recorder, exclusions=index)
    with pytest.raises(IgnoreRequest, match=r"exclusion.listed"):
        _pre(middleware, Request(f"{ORIGIN}/articles/1"))
    assert site_files.fetched == []  # not even robots.txt
    assert [r.code for r in recorder.decisions[0].deny_reasons] == ["exclusion.listed"]


def test_an_invalid_url_is_a_recorded_deny(recorder):
    middleware, _ = _middleware(recorder)
    with pytest.raises(IgnoreRequest, match=r"url.invalid"):
        _pre(middleware, Request("ftp://news.example/file"))
    assert recorder.decisions[0].verdict.value == "deny"


def test_the_site_file_meta_key_is_no_switch(recorder):
    """Only requests the transport created itself skip the checks; copying its meta key does nothing."""
    middleware, site_files = _middleware(recorder)
    request = Request(f"{ORIGIN}/private/page", meta={SITE_FILE_META: "robots.txt", "dont_obey_robotstxt": True})
    with pytest.raises(IgnoreRequest):
        _pre(middleware, request)
    own = Request(f"{ORIGIN}/robots.txt")
    site_files.in_flight[own] = 0
    assert _pre(middleware, own) is None
    assert middleware.process_response(own, _response(own.url, request=own)) is not None
    assert len(recorder.decisions) == 1  # the site-wide file itself is not a decision


def test_cookies_the_spider_made_up_are_refused(recorder, crawler):
    middleware, _ = _middleware(recorder)
    with pytest.raises(IgnoreRequest, match="cookies the site did not set"):
        _pre(middleware, Request(f"{ORIGIN}/articles/1", cookies={"consent": "yes"}))
    with pytest.raises(IgnoreRequest, match="cookies the site did not set"):
        _pre(middleware, Request(f"{ORIGIN}/articles/1", headers={"Cookie": "session=stolen"}))
    # A redirect carries the jar's own Cookie header forward: not refused.
    redirected = Request(f"{ORIGIN}/articles/1", headers={"Cookie": "sid=from-site"}, meta={"redirect_times": 1})
    assert _pre(middleware, redirected) is None
    assert crawler.stats.get_value("copyright_guard/refused/cookies") == 2


@pytest.mark.parametrize(("headers", "code"), [
    ({"tdm-reservation": "1"}, "tdmrep.reserved"),
    ({"X-Robots-Tag": "noai"}, "robots-meta.reserved"),
    ({"Content-Usage": "train-ai=n"}, "aipref.reserved"),
])
def test_a_reserved_response_never_reaches_the_spider(recorder, headers, code):
    middleware, _ = _middleware(recorder)
    request = Request(f"{ORIGIN}/articles/1")
    with pytest.raises(IgnoreRequest, match=rf"post-fetch deny \[{code}\]"):
        middleware.process_response(request, _response(request.url, headers=headers, request=request))
    assert DECISION_ID_META not in request.meta
    [decision] = recorder.decisions
    assert (decision.stage.value, decision.verdict.value) == ("post-fetch", "deny")


def test_an_allowed_response_carries_its_decision_id(recorder, crawler):
    middleware, _ = _middleware(recorder)
    request = Request(f"{ORIGIN}/articles/1")
    response = _response(request.url, request=request)
    assert middleware.process_response(request, response) is response
    assert response.meta[DECISION_ID_META] == "d1"
    recorder.publish()
    assert crawler.stats.get_value("copyright_guard/decisions/post-fetch/allow") == 1


def test_every_decision_is_announced_as_the_decision_made_event(recorder, crawler):
    seen = []

    def handler(decision, decision_id, request, response):
        seen.append((decision.stage.value, decision.verdict.value, decision_id, request.url, response))

    crawler.signals.connect(handler, signal=decision_made)
    middleware, _ = _middleware(recorder)
    request = Request(f"{ORIGIN}/articles/1")
    _pre(middleware, request)
    response = _response(request.url, request=request)
    middleware.process_response(request, response)
    assert seen == [("pre-fetch", "allow", "d1", request.url, None), ("post-fetch", "allow", "d2", request.url, response)]


def test_a_decision_that_cannot_be_recorded_is_not_acted_on(recorder):
    middleware, _ = _middleware(recorder)
    recorder.submit = None  # the audit log is not open
    with pytest.raises(IgnoreRequest, match="audit log"):
        _pre(middleware, Request(f"{ORIGIN}/articles/1"))


def test_identity_guard_requires_the_product_token_on_the_wire(recorder, crawler):
    guard = IdentityGuardMiddleware("CopyrightGuardBot", recorder)
    assert guard.process_request(Request(f"{ORIGIN}/", headers={"User-Agent": UA})) is None
    with pytest.raises(IgnoreRequest, match="lacks the policy's product token 'CopyrightGuardBot'"):
        guard.process_request(Request(f"{ORIGIN}/", headers={"User-Agent": "Mozilla/5.0"}))
    with pytest.raises(IgnoreRequest, match="Authorization"):
        guard.process_request(Request(f"{ORIGIN}/", headers={"User-Agent": UA, "Authorization": "Basic eDp5"}))
    stats = crawler.stats.get_stats()
    assert stats["copyright_guard/refused/user-agent"] == 1
    assert stats["copyright_guard/refused/credentials"] == 1


def test_from_crawler_wires_the_shared_runtime():
    crawler = get_crawler(Spider, settings_dict={"ADDONS": {Addon: 100}, "COPYRIGHT_GUARD_POLICY": TEST_POLICY, "COPYRIGHT_GUARD_PURPOSE": "search"})
    first = CopyrightGuardMiddleware.from_crawler(crawler)
    second = IdentityGuardMiddleware.from_crawler(crawler)
    assert first.purpose == "search"
    assert second._recorder is first.recorder  # one recorder, one cache per crawler


def test_from_crawler_is_not_configured_when_disabled():
    crawler = get_crawler(Spider, settings_dict={"COPYRIGHT_GUARD_ENABLED": False})
    with pytest.raises(NotConfigured):
        CopyrightGuardMiddleware.from_crawler(crawler)


def test_a_redirect_to_a_login_page_is_an_access_restriction(recorder):
    middleware, _ = _middleware(recorder)
    request = Request(f"{ORIGIN}/login", meta={"redirect_urls": [f"{ORIGIN}/articles/9"]})
    with pytest.raises(IgnoreRequest, match=r"access.restricted"):
        middleware.process_response(request, _response(f"{ORIGIN}/login", request=request))


@pytest.mark.parametrize("status", [401, 402, 403, 407, 451])
def test_access_restricted_statuses_are_denied_post_fetch(recorder, status):
    middleware, _ = _middleware(recorder)
    request = Request(f"{ORIGIN}/articles/1")
    with pytest.raises(IgnoreRequest, match=r"access.restricted"):
        middleware.process_response(request, _response(request.url, status=status, request=request))
