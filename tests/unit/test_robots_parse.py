"""core.robots: parsing, group selection (RFC 9309 §2.2.1) and matching (§2.2.2-2.2.3)."""

from __future__ import annotations

import random
import time

import pytest

from copyright_guard.core.robots.rules import parse_robots


def group(text: str | bytes, token: str):
    data = text.encode("utf-8") if isinstance(text, str) else text
    return parse_robots(data).group_for(token)


def allowed(text: str | bytes, token: str, path: str) -> bool:
    return group(text, token).allowed(path)[0]


# --- group selection ----------------------------------------------------------------------


def test_a_longer_token_group_is_not_ours():
    robots = "User-agent: GPTBot-EU\nDisallow: /\n\nUser-agent: *\nDisallow: /private/\n"
    # GPTBot has no group of its own: the * group applies, not GPTBot-EU's (Protego would pick it).
    assert allowed(robots, "GPTBot", "/page")
    assert not allowed(robots, "GPTBot", "/private/x")
    assert not allowed(robots, "GPTBot-EU", "/page")


def test_a_shorter_token_group_is_not_ours():
    robots = "User-agent: Google\nDisallow: /\n"
    assert allowed(robots, "Googlebot", "/page")


def test_tokens_match_case_insensitively():
    assert not allowed("User-agent: gptbot\nDisallow: /x\n", "GPTBot", "/x")
    assert not allowed("USER-AGENT: GPTBOT\nDISALLOW: /x\n", "gptbot", "/x")


def test_groups_for_the_same_token_are_merged():
    robots = (
        "User-agent: FooBot\nDisallow: /a\n\n"
        "User-agent: *\nDisallow: /c\n\n"
        "User-agent: foobot\nDisallow: /b\n"
    )
    g = group(robots, "FooBot")
    assert not g.allowed("/a")[0] and not g.allowed("/b")[0]
    assert g.allowed("/c")[0], "a group naming the token replaces * entirely"
    assert [line.number for line in g.rules] == [2, 8]


def test_star_applies_only_without_a_named_group():
    robots = "User-agent: *\nDisallow: /\n\nUser-agent: FooBot\nAllow: /\n"
    assert allowed(robots, "FooBot", "/x")
    assert not allowed(robots, "OtherBot", "/x")


def test_no_group_at_all_means_no_rules():
    g = group("User-agent: FooBot\nDisallow: /\n", "OtherBot")
    assert not g and g.allowed("/x") == (True, None)


def test_consecutive_user_agents_share_a_group_and_other_records_do_not_end_it():
    robots = "User-agent: a\nSitemap: https://e.example/s.xml\nCrawl-delay: 5\nUser-agent: b\nDisallow: /x\n"
    assert not allowed(robots, "a", "/x")
    assert not allowed(robots, "b", "/x")


def test_rules_before_the_first_user_agent_are_ignored():
    assert allowed("Disallow: /\nUser-agent: FooBot\nDisallow: /x\n", "FooBot", "/y")


def test_invalid_user_agent_values_read_as_their_leading_token():
    robots = parse_robots(b"User-agent: MistralAI-User/1.0\nUser-agent: Foo Bar\nDisallow: /\n")
    assert not robots.group_for("MistralAI-User").allowed("/x")[0]
    assert not robots.group_for("Foo").allowed("/x")[0]
    assert robots.group_for("Bar").allowed("/x")[0]
    assert any("not a product token" in p for p in robots.problems)


def test_a_user_agent_line_with_no_token_still_opens_a_group():
    # "42bot" has no leading token characters: its rules must not leak into the group above.
    robots = "User-agent: FooBot\nAllow: /\nUser-agent: 42bot\nDisallow: /\n"
    assert allowed(robots, "FooBot", "/x")


def test_star_followed_by_text_is_still_the_catch_all():
    assert not allowed("User-agent: * foo\nDisallow: /\n", "AnyBot", "/x")


# --- matching -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rules", "path", "expected"),
    [
        ("Disallow: /x\nAllow: /x/", "/x", False),
        ("Disallow: /x\nAllow: /x/", "/x/", True),
        ("Allow: /page\nDisallow: /*.html", "/page.html", False),
        ("Allow: /p\nDisallow: /p", "/p", True),  # tie: allow wins
        ("Disallow: /*.php$", "/a.php", False),
        ("Disallow: /*.php$", "/a.php?x=1", True),
        ("Disallow: /*.php$", "/a.php5", True),
        ("Disallow: /foo/*/qux", "/foo/bar/baz/qux", False),
        ("Allow: /$\nDisallow: /", "/", True),
        ("Allow: /$\nDisallow: /", "/a", False),
        ("Disallow: /Fish", "/fish", True),  # paths are case-sensitive
        ("Disallow: /foo/quz#qux", "/foo/quz", False),
        ("Disallow:", "/anything", True),
        ("Disallow: /", "/robots.txt", True),  # §2.2.2: implicitly allowed
        ("Disallow: /ツ", "/%E3%83%84", False),
        ("Disallow: /%e3%83%84", "/%E3%83%84", False),
        ("Disallow: /a%2Fb", "/a/b", True),  # %2F in a path is not "/"
        ("Disallow: /%7Euser", "/~user", False),  # unreserved escapes are decoded
        ("Disallow: /a%2Ab", "/a*b", False),  # %2A is a literal "*"
        ("Disallow: /a%2Ab", "/axb", True),
        ("Disallow: /a$b", "/a$b", False),  # "$" is special only at the end
        ("Disallow: /q?u=https://x", "/q?u=https%3A%2F%2Fx", False),  # RFC 9309 Figure 4 row 2
    ],
)
def test_rfc9309_matching(rules, path, expected):
    assert allowed("User-agent: *\n" + rules + "\n", "bot", path) is expected


def test_the_deciding_line_is_returned():
    robots = "User-agent: *\n# comment\nDisallow: /private/\nAllow: /private/ok\n"
    ok, line = group(robots, "bot").allowed("/private/secret")
    assert not ok
    assert (line.number, line.name, line.value) == (3, "disallow", "/private/")
    assert line.cite() == "robots.txt line 3: Disallow: /private/"
    assert group(robots, "bot").allowed("/private/ok")[1].number == 4


def test_hostile_wildcards_stay_fast():
    robots = "User-agent: *\nDisallow: /" + "*a" * 40 + "*b\n"
    g = group(robots, "bot")
    start = time.perf_counter()
    assert g.allowed("/" + "a" * 5000)[0]
    assert time.perf_counter() - start < 0.5


# --- bytes, encodings, line endings -----------------------------------------------------------


@pytest.mark.parametrize("bom", [b"\xef\xbb\xbf", b"\xef\xbb", b"\xef", b""])
@pytest.mark.parametrize("eol", [b"\n", b"\r\n", b"\r"])
def test_boms_and_line_endings(bom, eol):
    data = bom + eol.join([b"User-agent: FooBot", b"Disallow: /x", b"", b"Allow: /x/y"])
    robots = parse_robots(data)
    g = robots.group_for("FooBot")
    assert not g.allowed("/x")[0] and g.allowed("/x/y")[0]
    assert [r.number for r in robots.records] == [1, 2, 4]
    assert not robots.problems


def test_mixed_line_endings_count_lines_once():
    robots = parse_robots(b"User-agent: a\r\nDisallow: /a\rUser-agent: b\n\r\nDisallow: /b")
    assert [r.number for r in robots.records] == [1, 2, 3, 5]


def test_invalid_utf8_is_read_as_percent_escapes_and_reported():
    robots = parse_robots(b"User-agent: *\nDisallow: /\xff\xfe\nDisallow: /private/\n")
    assert not robots.group_for("bot").allowed("/private/a")[0]
    assert not robots.group_for("bot").allowed("/%FF%FEx")[0]
    assert any("line 2: bytes that are not UTF-8" in p for p in robots.problems)


def test_utf16_with_bom_is_read_and_reported():
    robots = parse_robots("User-agent: *\nDisallow: /x\n".encode("utf-16"))
    assert not robots.group_for("bot").allowed("/x")[0]
    assert any("UTF-16" in p for p in robots.problems)


@pytest.mark.parametrize(
    "text",
    ["useragent: FooBot\ndissallow: /x\n", "User agent: FooBot\ndisalow: /x\n", "user-agent FooBot\ndisallow /x\n"],
)
def test_tolerated_typos(text):
    assert not allowed(text, "FooBot", "/x")


def test_garbage_lines_are_problems_not_exceptions():
    robots = parse_robots(b"<html><body>Not found</body></html>\nUser-agent: *\nDisallow: /x\n")
    assert not robots.group_for("bot").allowed("/x")[0]
    assert robots.problems and "line 1" in robots.problems[0]


def test_not_bytes_never_raises():
    assert parse_robots("User-agent: *").problems == ["not bytes"]  # type: ignore[arg-type]


def test_five_megabytes_of_binary_garbage_parse_quickly():
    rng = random.Random(9309)
    data = rng.randbytes(5 * 1024 * 1024)
    start = time.perf_counter()
    robots = parse_robots(data)
    assert time.perf_counter() - start < 5
    assert robots.group_for("bot").allowed("/x")[0] in (True, False)
    assert len(robots.problems) <= 51  # capped


def test_a_half_megabyte_file_keeps_its_last_rule():
    filler = "".join(f"Disallow: /filler/{i}/\n" for i in range(25_000))
    data = ("User-agent: *\n" + filler + "Disallow: /last/\n").encode()
    assert len(data) > 512_000
    robots = parse_robots(data)
    assert not robots.group_for("bot").allowed("/last/x")[0]
    assert robots.group_for("bot").allowed("/other")[0]


# --- extension records ----------------------------------------------------------------------


def test_records_are_kept_per_group_and_globally():
    robots = parse_robots(
        b"Content-Signal: search=yes\nLicense: https://e.example/license.xml\n"
        b"User-agent: FooBot\nContent-Usage: train-ai=n\nCrawl-delay: 2.5\nDisallow: /x\n"
        b"Sitemap: https://e.example/sitemap.xml\nLicense: https://e.example/other.xml\n"
    )
    g = robots.group_for("FooBot")
    assert [r.value for r in g.records("content-usage")] == ["train-ai=n"]
    assert [r.value for r in g.records("Crawl-Delay")] == ["2.5"]
    assert [r.value for r in robots.global_records("content-signal")] == ["search=yes"]
    assert [r.number for r in robots.global_records("license")] == [2, 8]
    assert robots.sitemaps == ["https://e.example/sitemap.xml"]
    assert robots.crawl_delay("FooBot") == 2.5
    assert robots.crawl_delay("OtherBot") is None


def test_crawl_delay_takes_the_largest_valid_value():
    robots = parse_robots(b"User-agent: *\nCrawl-delay: 1\nCrawl-delay: abc\nCrawl-delay: 4\nCrawl-delay: -3\n")
    assert robots.crawl_delay("bot") == 4.0


def test_has_group_names_only_explicit_groups():
    robots = parse_robots(b"User-agent: *\nDisallow: /\nUser-agent: CCBot\nDisallow: /x\n")
    assert robots.has_group("ccbot") and not robots.has_group("GPTBot") and not robots.has_group("*")
