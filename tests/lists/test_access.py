"""Access restrictions: status codes, login walls and schema.org paywall markup are recorded as
``access.restricted`` (never collected); ordinary pages are not."""

from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest

from copyright_guard.core.signals.access import access_reasons, is_login_url
from copyright_guard.core.evaluate import evaluate
from copyright_guard.core.model import Effect, ResponseView, Verdict
from copyright_guard.core.policy import parse_policy

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=timezone.utc)
URL = "https://news.example/2026/11/story.html"


def html(body: str, status: int = 200, url: str = URL, final_url: str | None = None, content_type: str = "text/html; charset=utf-8"):
    headers = {"content-type": [content_type]} if content_type else {}
    return ResponseView(url, status, headers, body.encode("utf-8"), final_url=final_url, fetched_at=NOW)


def page(head: str = "", body: str = "<p>Story</p>") -> str:
    return f"<!doctype html><html><head><title>Story</title>{head}</head><body>{body}</body></html>"


def ld(document) -> str:
    return f'<script type="application/ld+json">{json.dumps(document)}</script>'


def restricted(response: ResponseView) -> bool:
    reasons = access_reasons(response)
    assert all(r.code == "access.restricted" and r.effect is Effect.DENY for r in reasons)
    return bool(reasons)


@pytest.mark.parametrize("status", [401, 402, 403, 407, 451])
def test_restricting_statuses(status):
    (reason,) = access_reasons(html("<h1>Subscribe</h1>", status))
    assert f"HTTP {status}" in reason.detail and "never retried with credentials" in reason.detail
    assert reason.evidence.status == status and reason.evidence.url == URL and reason.evidence.body is None


@pytest.mark.parametrize("status", [200, 204, 301, 404, 410, 429, 500, 503])
def test_other_statuses_are_not_access_restrictions(status):
    assert not restricted(html(page(), status))


@pytest.mark.parametrize(
    "final",
    [
        "https://news.example/login?next=/2026/11/story.html",
        "https://news.example/account/sign-in",
        "https://news.example/users/sign_in",
        "https://news.example/Login.aspx?ReturnUrl=%2f2026",
        "https://login.news-group.example/authorize?client=news",
        "https://sso.example.org/idp/profile",
        "https://accounts.example.com/ServiceLogin?continue=x",
    ],
)
def test_a_redirect_to_a_login_page_is_a_login_wall(final):
    (reason,) = access_reasons(html(page("", "<form><input type=password></form>"), final_url=final))
    assert "login wall" in reason.detail and final in reason.detail and reason.evidence.final_url == final


@pytest.mark.parametrize(
    ("url", "final"),
    [
        (URL, URL),  # no redirect
        (URL, "https://news.example/2026/11/story-updated.html"),  # an ordinary redirect
        ("https://news.example/login", "https://news.example/login/"),  # asked for the login page itself
        (URL, "https://news.example/blog/logins-explained"),  # a word that only contains "login"
        (URL, "https://authors.example/list"),
    ],
)
def test_not_login_walls(url, final):
    assert not restricted(html(page(), url=url, final_url=final))


def test_a_page_with_a_sign_in_box_is_not_a_login_wall():
    sidebar = '<aside><form action="/login" method="post"><input name="user"><input type="password" name="pw"></form></aside>'
    assert not restricted(html(page("", "<article>Full story text</article>" + sidebar)))


def test_a_meta_refresh_to_a_login_page_is_a_login_wall():
    (reason,) = access_reasons(html(page('<meta http-equiv="Refresh" content="0; URL=\'/signin?next=/2026\'">')))
    assert "https://news.example/signin?next=/2026" in reason.detail
    assert restricted(html(page('<meta http-equiv="refresh" content="5 ; url = /login">')))
    assert restricted(html(page('<meta http-equiv="refresh" content="0;https://sso.news.example/start">')))
    assert not restricted(html(page('<meta http-equiv="refresh" content="30">')))
    assert not restricted(html(page('<meta http-equiv="refresh" content="0; url=/2026/11/">')))


@pytest.mark.parametrize(
    "markup",
    [
        ld({"@context": "https://schema.org", "@type": "NewsArticle", "isAccessibleForFree": False}),
        ld({"@context": "https://schema.org", "@type": "NewsArticle", "isAccessibleForFree": "False"}),
        ld({"@context": "https://schema.org", "@type": "NewsArticle", "isAccessibleForFree": "false"}),
        ld({"@context": "https://schema.org", "@type": "NewsArticle", "isAccessibleForFree": " FALSE "}),
        ld({"@context": "https://schema.org", "@type": "NewsArticle", "isAccessibleForFree": "https://schema.org/False"}),
        ld({"@context": "https://schema.org", "@type": "NewsArticle", "isAccessibleForFree": {"@value": "false"}}),
        ld({"@context": "https://schema.org", "@type": "NewsArticle", "isAccessibleForFree": "True",
            "hasPart": {"@type": "WebPageElement", "isAccessibleForFree": False, "cssSelector": ".paywall"}}),
        ld({"@context": "https://schema.org", "@type": "NewsArticle",
            "hasPart": [{"@type": "WebPageElement", "isAccessibleForFree": True, "cssSelector": ".free"},
                        {"@type": "WebPageElement", "isAccessibleForFree": "False", "cssSelector": ".paywall"}]}),
        ld({"@context": "https://schema.org", "@graph": [{"@type": "WebSite", "name": "News"},
                                                         {"@type": "Article", "isAccessibleForFree": False}]}),
        ld({"@context": "https://schema.org", "@type": "WebPage",
            "mainEntity": {"@type": "Article", "isAccessibleForFree": "false"}}),
        ld([{"@type": "Organization"}, {"@context": "https://schema.org", "@type": "Article", "isAccessibleForFree": False}]),
        ld({"@context": "http://schema.org/", "@type": "Article", "http://schema.org/isAccessibleForFree": False}),
        '<div itemscope itemtype="https://schema.org/NewsArticle"><meta itemprop="isAccessibleForFree" content="False"></div>',
        "<div itemscope itemtype='https://schema.org/NewsArticle'><META ITEMPROP='isAccessibleForFree' CONTENT='false'></div>",
        '<div itemscope itemtype="https://schema.org/Article"><span itemprop="isAccessibleForFree">False</span></div>',
    ],
)
def test_paywall_markup_variants(markup):
    (reason,) = access_reasons(html(page(markup)))
    assert "isAccessibleForFree" in reason.detail and "paywall" in reason.detail
    # The evidence is the markup itself, never the page (its content must not be stored).
    assert reason.evidence.body and b"Story" not in reason.evidence.body
    assert len(reason.evidence.sha256) == 64


@pytest.mark.parametrize(
    "markup",
    [
        ld({"@context": "https://schema.org", "@type": "NewsArticle", "isAccessibleForFree": True}),
        ld({"@context": "https://schema.org", "@type": "NewsArticle", "isAccessibleForFree": "True"}),
        ld({"@context": "https://schema.org", "@type": "NewsArticle", "isAccessibleForFree": "no"}),
        # A free page listing other, paywalled articles is not itself restricted.
        ld({"@context": "https://schema.org", "@type": "ItemList", "itemListElement": [
            {"@type": "ListItem", "item": {"@type": "NewsArticle", "isAccessibleForFree": False}}]}),
        ld({"@context": "https://schema.org", "@type": "Article", "about": {"@type": "Thing", "isAccessibleForFree": False}}),
        '<script type="application/ld+json">{"isAccessibleForFree": false,,}</script>',  # malformed: ignored
        '<meta itemprop="isAccessibleForFree" content="True">',
        '<p>This article "isAccessibleForFree": false is a quote in the text</p>',
        # A commented-out paywall block is no markup (an HTML comment is not parsed).
        "<!-- " + ld({"@context": "https://schema.org", "@type": "NewsArticle", "isAccessibleForFree": False}) + " -->",
    ],
)
def test_markup_that_is_not_a_paywall(markup):
    assert not restricted(html(page(markup)))


def test_markup_is_only_read_from_html():
    markup = json.dumps({"@type": "Article", "isAccessibleForFree": False})
    assert not restricted(html(markup, content_type="application/ld+json"))
    assert restricted(html(page(ld({"@type": "Article", "isAccessibleForFree": False})), content_type=""))


def test_every_restriction_is_listed():
    response = html(page(ld({"@type": "Article", "isAccessibleForFree": False})), 402,
                    final_url="https://news.example/subscribe/login")
    assert len(access_reasons(response)) == 3


def test_hostile_json_ld_is_bounded():
    deep = '{"hasPart":' * 5000 + '{"isAccessibleForFree": false}' + "}" * 5000
    wide = [{"@type": "Article", "hasPart": [{"isAccessibleForFree": True}] * 50}] * 400
    assert not restricted(html(page(ld(wide))))
    assert not restricted(html(page('<script type="application/ld+json">' + "[" * 100000 + "</script>")))
    # Deeper than any real page: not followed (bounded work), so not found either.
    assert not restricted(html(page('<script type="application/ld+json">' + deep + "</script>")))


def test_login_url_words():
    assert is_login_url("https://x.example/signin.php")
    assert not is_login_url("https://x.example/blog/how-to-login-safely")
    assert not is_login_url("not a url at all [")


def test_evaluate_denies_a_paywalled_page_post_fetch_and_a_licence_does_not_lift_it():
    policy = parse_policy('[[licences]]\nsource = "https://news.example"\ncontract = "C-7"\n', "p.toml")
    response = html(page(ld({"@type": "NewsArticle", "isAccessibleForFree": False})))
    decision = evaluate(URL, policy, now=NOW, response=response)
    assert decision.verdict is Verdict.DENY
    assert [r.code for r in decision.deny_reasons] == ["access.restricted"]
    switched_off = parse_policy("[sources]\naccess_restrictions = false\n", "off.toml")
    assert all(r.code != "access.restricted" for r in evaluate(URL, switched_off, now=NOW, response=response).reasons)
