"""robots.txt bytes that used to fail open (issue 13), each against the pure parser and matcher."""

from __future__ import annotations

import pytest

from copyright_guard.core.robots.rules import parse_robots
from copyright_guard.core.urls import parse_target


def _allowed(robots: bytes, url: str) -> bool:
    return parse_robots(robots).group_for("CopyrightGuardBot").allowed(parse_target(url).path)[0]


@pytest.mark.parametrize("url", ["https://a.example/caf%E9/x", "https://a.example/caf%e9/x"])
def test_a_latin1_rule_denies_the_url_with_those_octets(url):
    # RFC 9309 §2.2.2: octets outside the allowed set are percent-encoded; U+FFFD matched nothing.
    assert not _allowed(b"User-agent: *\nDisallow: /caf\xe9/\n", url)


def test_the_utf8_spelling_of_the_same_word_is_a_different_resource():
    assert _allowed(b"User-agent: *\nDisallow: /caf\xe9/\n", "https://a.example/caf%C3%A9/x")


def test_an_empty_query_is_kept_so_a_query_rule_applies():
    robots = b"User-agent: *\nDisallow: /*?\n"
    assert not _allowed(robots, "https://a.example/page?")  # RFC 3986 §6.2.3
    assert not _allowed(robots, "https://a.example/page?#frag")
    assert not _allowed(robots, "https://A.example/pa%20ge?")  # the general (not fast) path too
    assert _allowed(robots, "https://a.example/page")
    assert parse_target("https://a.example/page?").path == "/page?"


def test_a_rule_ending_in_a_no_break_space_keeps_it():
    robots = "User-agent: *\nDisallow: /x\u00a0\n".encode()
    assert not _allowed(robots, "https://a.example/x%C2%A0")
    assert _allowed(robots, "https://a.example/x")  # trimmed, the rule would disallow all of /x...


def test_only_space_and_tab_are_trimmed_around_values():
    robots = parse_robots(b"User-agent: *\nDisallow:\t /private/ \t\n")
    assert robots.group_for("bot").rules[0].value == "/private/"


@pytest.mark.parametrize("rule", ["/a/./b", "/a/x/../b", "/a/%2E/b", "/./a/b"])
def test_dot_segments_in_rules_are_resolved_like_in_urls(rule):
    robots = f"User-agent: *\nDisallow: {rule}\n".encode()
    assert not _allowed(robots, "https://a.example/a/b/c")
    assert not _allowed(robots, "https://a.example/a/./b/c")
    assert _allowed(robots, "https://a.example/a/c")


@pytest.mark.parametrize("body, suspicious", [
    (b"<!DOCTYPE html><html><body>Not found</body></html>", "an HTML document"),
    (b"\n  <html><head></head></html>", "an HTML document"),
    (b"this is not a robots.txt\nat all\n", "no valid robots.txt line"),
    (b"", ""),
    (b"# nothing to say\n\n", ""),
    (b"User-agent: *\nDisallow:\n", ""),
])
def test_a_file_that_is_no_robots_txt_is_flagged(body, suspicious):
    assert parse_robots(body).suspicious.startswith(suspicious)


def test_a_url_with_a_lone_surrogate_is_a_one_line_url_error():
    # Found by the property tests: urllib's quote() raised UnicodeEncodeError.
    from copyright_guard.core.urls import URLError

    with pytest.raises(URLError, match="lone surrogate"):
        parse_target("https://a.example/\ud800")
