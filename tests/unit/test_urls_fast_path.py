"""core.urls fast paths: split_url gives exactly what urlsplit gives; parse_target's one-match path
gives what its general path gives."""

from __future__ import annotations

import random
from urllib.parse import urlsplit

import pytest

from copyright_guard.core.urls import (
    _CONTROL_CHARS,
    _FAST_TARGET,
    _PLAIN_URL,
    DEFAULT_PORTS,
    Target,
    URLError,
    match_path,
    normalise_host,
    parse_target,
    registered_domain,
    split_url,
)


def reference(url: str):
    parts = urlsplit(url)
    return parts.scheme.lower(), parts.hostname or "", parts.port, parts.path, parts.query


PIECES = {
    "scheme": ["http", "https", "HTTP", "Https", "ftp", "http:", ""],
    "sep": ["://", ":/", "//", ":///"],
    "host": ["example.com", "a.b-c.example", "EXAMPLE.com", "x", "", "127.0.0.1", "[::1]", "bad@host", "h_st", "é.example", "a..b"],
    "port": ["", ":80", ":0", ":65535", ":65536", ":99999", ":", ":08", ":x"],
    "path": ["", "/", "/a/b", "/a b", "/%7E", "/ツ", "/a;b", "/a:b", "/@", "abc", "/a\\\\b", "//x"],
    "query": ["", "?", "?a=1", "?a=b?c", "?u=https://x/y", "?#"],
    "fragment": ["", "#", "#f", "#f?x", "#/a"],
}


PLAIN = dict(PIECES, scheme=["http", "https"], sep=["://"], host=["example.com", "a.b-c.example", "x", "127.0.0.1", "a..b"])


def random_urls(count: int, seed: int = 9309):
    """Half arbitrary combinations, half of the plain shape the fast path takes."""
    rng = random.Random(seed)
    for number in range(count):
        pieces = PIECES if number % 2 else PLAIN
        yield "".join(rng.choice(pieces[key]) for key in pieces)


def test_same_as_urlsplit_on_random_urls():
    fast = 0
    for url in random_urls(20000):
        fast += bool(_PLAIN_URL.match(url))
        try:
            expected = reference(url)
        except ValueError:
            with pytest.raises(URLError):
                split_url(url)
            continue
        assert split_url(url) == expected, url
    assert fast > 5000, "the fast path must be exercised"


def test_the_fast_path_is_taken_for_ordinary_urls():
    assert _PLAIN_URL.match("https://www.news.example/politics/story-1?utm_source=x#top")
    assert not _PLAIN_URL.match("https://user@www.news.example/")


def general_target(url: str) -> Target:
    """parse_target's general path, step by step (control characters, strip, split, encode)."""
    if _CONTROL_CHARS.search(url):
        raise URLError("control characters")
    url = url.strip()
    scheme, hostname, port, path, query = split_url(url)
    if scheme not in DEFAULT_PORTS:
        raise URLError("scheme")
    host = normalise_host(hostname)
    if not query and url.partition("#")[0].endswith("?"):
        query = None  # an empty query is kept (RFC 3986 §6.2.3)
    return Target(url, scheme, host, DEFAULT_PORTS[scheme] if port is None else port, match_path(path, query),
                  registered_domain(host))


TARGET_PIECES = dict(
    PLAIN,
    path=PIECES["path"] + ["/a%2Fb", "/a'b(c)*", "/x~y_z.html", "/a\"b", "/a^b", "/a[1]", "/é"],
    query=PIECES["query"] + ["?a=%20b", "?a=b c", "?a=[1]", "?q=ü", "?a=b&c=d;e"],
    fragment=PIECES["fragment"] + ["#a b", "#ü", "# ", "#\t", "#x\x7f"],
)


def test_parse_target_fast_path_matches_the_general_path():
    rng = random.Random(2616)
    fast = 0
    for _ in range(20000):
        url = "".join(rng.choice(TARGET_PIECES[key]) for key in TARGET_PIECES)
        if rng.random() < 0.1:
            url = rng.choice([" ", "\u00a0", "\t"]) + url + rng.choice(["", " ", "\n", "\u2003"])
        fast += bool(_FAST_TARGET.match(url))
        try:
            expected = general_target(url)
        except URLError:
            with pytest.raises(URLError):
                parse_target.__wrapped__(url)
            continue
        assert parse_target.__wrapped__(url) == expected, url
    assert fast > 3000, "the fast path must be exercised"
