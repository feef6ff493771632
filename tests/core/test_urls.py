"""URL splitting: origins (one per scheme+host+port), RFC 9309 match paths, registered domains."""

from __future__ import annotations

import pytest

from copyright_guard.core.urls import URLError, parse_target, registered_domain


@pytest.mark.parametrize(
    ("url", "origin", "path", "domain"),
    [
        ("https://www.bbc.co.uk/news?id=1", "https://www.bbc.co.uk", "/news?id=1", "bbc.co.uk"),
        ("HTTP://Example.COM./a", "http://example.com", "/a", "example.com"),
        ("http://example.com:8080", "http://example.com:8080", "/", "example.com"),
        ("https://example.com:443/x", "https://example.com", "/x", "example.com"),
        ("http://good.example@bad.example/", "http://bad.example", "/", "bad.example"),
        ("http://someone.blogspot.com/p", "http://someone.blogspot.com", "/p", "someone.blogspot.com"),
        ("http://bücher.de/ツ", "http://xn--bcher-kva.de", "/%E3%83%84", "xn--bcher-kva.de"),
        ("http://www.XN--BCHER-KVA.de/", "http://www.xn--bcher-kva.de", "/", "xn--bcher-kva.de"),
        ("https://xn--d1acufc.xn--p1ai/", "https://xn--d1acufc.xn--p1ai", "/", "xn--d1acufc.xn--p1ai"),
        ("http://127.0.0.2:8000/a b", "http://127.0.0.2:8000", "/a%20b", "127.0.0.2"),
        ("http://[::1]:8080/", "http://[::1]:8080", "/", "::1"),
    ],
)
def test_targets(url, origin, path, domain):
    target = parse_target(url)
    assert (target.origin, target.path, target.registered_domain) == (origin, path, domain)


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("", "empty URL"),
        ("ftp://example.com/file", "unsupported scheme 'ftp'"),
        ("example.com/page", "unsupported scheme"),
        ("http://", "no host"),
        ("http://exa mple.com\n/", "control characters"),
        ("http://example.com:99999/", "malformed URL"),
        ("http://" + "a" * 9000 + ".com/", "URL too long"),
        ("http://a..b.com/", "invalid host name"),
        # not Punycode: used to pass as a URL, then end as "robots.txt unreachable InvalidCodepoint"
        ("http://xn--a/", "'xn--a' is not valid Punycode"),
        ("http://www.xn--zz.example/", "'xn--zz' is not valid Punycode"),
        ("http://xn--abc-.example/", "'xn--abc-' is not valid Punycode"),
        ("http://XN--A.example/", "'xn--a' is not valid Punycode"),
        ("http://bücher.xn--a/", "'xn--a' is not valid Punycode"),
    ],
)
def test_bad_urls_are_one_line_errors(url, message):
    with pytest.raises(URLError, match=message):
        parse_target(url)


def test_registered_domain_uses_the_bundled_suffix_list_only(monkeypatch):
    # tldextract must never download: a socket attempt would fail this test.
    import socket

    def no_network(*args, **kwargs):
        raise AssertionError("network access attempted")

    monkeypatch.setattr(socket, "create_connection", no_network)
    monkeypatch.setattr(socket.socket, "connect", no_network)
    registered_domain.cache_clear()
    assert registered_domain("a.b.example.co.uk") == "example.co.uk"
    assert registered_domain("co.uk") == "co.uk"


@pytest.mark.parametrize(("url", "path"), [
    ("https://a.example/./private/x", "/private/x"),
    ("https://a.example/pub/../private/x", "/private/x"),
    ("https://a.example/%2e/private/x", "/private/x"),  # %2E is "." (RFC 3986 §6.2.2.2)
    ("https://a.example/%2E%2E/x", "/x"),
    ("https://a.example/a/.", "/a/"),
    ("https://a.example/../x?next=/./y", "/x?next=/./y"),  # the query is not a path
    ("https://a.example/.well-known/tdmrep.json", "/.well-known/tdmrep.json"),
    ("https://a.example/a/.b/..c/%2efoo", "/a/.b/..c/%2efoo"),
    ("https://a.example/caf\u00e9/../x", "/x"),  # the general (non-ASCII) path too
])
def test_dot_segments_are_resolved_before_matching(url, path):
    # RFC 3986 §5.2.4: a server serves /./private/x as /private/x, so rules must see that path
    # (urljoin leaves an absolute link's dots alone and Scrapy requests it as written).
    assert parse_target(url).path == path
