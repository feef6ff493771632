"""Property tests (Hypothesis) of the parsers, the robots.txt matcher and the URL canonicaliser
(issue 13): the kind of test that finds the next "bytes that fail open".

Budgets are small and the runs derandomised, so the suite stays fast and deterministic; set
``HYPOTHESIS_PROFILE=explore`` for a longer random search (a failure prints its example).
"""

from __future__ import annotations

import os
import re
import sys
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import quote, quote_from_bytes

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from copyright_guard.core.signals import aipref, content_signal, robots_meta, rsl
from copyright_guard.core.signals.ai_txt import parse_ai_txt
from copyright_guard.core.evaluate import SiteView, evaluate
from copyright_guard.core.signals.html import scan_html
from copyright_guard.core.model import ResponseView
from copyright_guard.core.policy import load_policy
from copyright_guard.core.robots.rules import parse_robots
from copyright_guard.core.robots.match import canonical_path
from copyright_guard.core.signals.tdmrep import parse_tdmrep_file
from copyright_guard.core.urls import URLError, parse_target
from copyright_guard.core.embedded.xmp import find_packets

sys.path.insert(0, str(Path(__file__).parents[1] / "scrapy"))
from helpers import site_view  # noqa: E402

settings.register_profile("ci", max_examples=60, deadline=2000, derandomize=True, database=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("explore", max_examples=2000, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=timezone.utc)
POLICY = load_policy()
TOKEN = POLICY.crawler.product_token

# robots.txt-like text: real record names and the characters that matter to the parser.
_NAMES = st.sampled_from(["User-agent", "user-agent", "Disallow", "Allow", "disallow", "Sitemap", "Crawl-delay",
                          "Content-Usage", "Content-Signal", "License", "useragent", "dissallow", "Foo"])
_VALUES = st.text(alphabet=st.sampled_from(list("/*$?#%:=.,; \t-_aZ09é\u00a0\ufeffツ")) | st.characters(), max_size=30)
_LINES = st.builds(lambda n, sep, v: f"{n}{sep}{v}", _NAMES, st.sampled_from([":", ": ", " ", ":\t", ""]), _VALUES)
_ROBOTS = st.lists(_LINES, max_size=25).flatmap(
    lambda lines: st.sampled_from(["\n", "\r\n", "\r"]).map(lambda eol: eol.join(lines).encode("utf-8", "surrogatepass")))


# -- robots.txt ---------------------------------------------------------------------------------


@given(st.binary(max_size=2000) | _ROBOTS)
def test_robots_parser_and_matcher_never_raise(data):
    robots = parse_robots(data)
    group = robots.group_for(TOKEN)
    for path in ("/", "/a/b?c=d", "/%E9", "/robots.txt"):
        group.allowed(path)
    assert isinstance(robots.problems, list) and isinstance(robots.suspicious, str)


RESERVED = ":/?@!&'()+,;="  # RFC 3986 §2.2 gen-delims and sub-delims ("#", "[", "]", "*", "$" aside)

# Bytes of a rule that a URL can carry as the same octets: not the rule syntax ("*", "$", "#"
# comment, "%" escape) nor line ends.
_RULE_BYTES = st.binary(min_size=1, max_size=24).filter(lambda b: not set(b) & set(b"*$#%\r\n"))


@given(_RULE_BYTES)
def test_a_rule_and_a_url_built_from_the_same_bytes_always_match(raw):
    robots = parse_robots(b"User-agent: *\nDisallow: /" + raw + b"\n")
    # The URL carries the same octets, percent-encoded where a URL must (RFC 9309 §2.2.2);
    # reserved characters stay as they are on both sides ("&" and "%26" are different URLs).
    url = "https://a.example/" + quote_from_bytes(raw, safe=RESERVED) + "tail"
    assert not robots.group_for(TOKEN).allowed(parse_target(url).path)[0], (raw, url)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return
    if text.isprintable() and not (set(text) & set(" \t\x0b\x0c")):
        # The same rule against the URL written with the characters themselves (an IRI).
        iri = "https://a.example/" + text + "tail"
        try:
            path = parse_target(iri).path
        except URLError:
            return
        assert not robots.group_for(TOKEN).allowed(path)[0], (raw, iri)


_UNRESERVED = st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~", min_size=1,
                      max_size=12)


@given(_UNRESERVED, st.booleans())
def test_escapes_of_unreserved_characters_are_the_characters(word, upper):
    # RFC 9309 §2.2.2 (Figure 4, last row: /foo/bar/%62%61%7A matches /foo/bar/baz), both ways.
    escaped = "".join(f"%{ord(c):02X}" if upper else f"%{ord(c):02x}" for c in word)
    for rule, url_path in ((word, escaped), (escaped, word)):
        robots = parse_robots(f"User-agent: *\nDisallow: /x/{rule}\n".encode())
        assert not robots.group_for(TOKEN).allowed(parse_target(f"https://a.example/x/{url_path}").path)[0]


@given(st.text(min_size=1, max_size=12).filter(lambda t: not set(t) & set("*$#%\r\n\t []" + RESERVED)))
def test_a_character_and_its_utf8_escape_are_the_same_octets(text):
    # Figure 4, row 3: /foo/bar/ツ matches /foo/bar/%E3%83%84 (and the other way round).
    encoded = quote(text.encode("utf-8", "surrogatepass"), safe="")
    lower_hex = re.sub("%[0-9A-F]{2}", lambda m: m.group().lower(), encoded)
    for rule, url_path in ((text, encoded), (encoded, lower_hex)):
        robots = parse_robots(f"User-agent: *\nDisallow: /x/{rule}\n".encode("utf-8", "surrogatepass"))
        path = parse_target(f"https://a.example/x/{url_path}").path
        assert not robots.group_for(TOKEN).allowed(path)[0], (rule, url_path)


@given(st.binary(min_size=1, max_size=16).filter(lambda b: not set(b) & set(b"*$#%?/\r\n")))
def test_octets_that_are_not_utf8_are_matched_as_their_escapes(raw):
    latin1 = raw + b"\xe9"  # never valid UTF-8 at the end of a rule
    robots = parse_robots(b"User-agent: *\nDisallow: /" + latin1 + b"\n")
    url = "https://a.example/" + quote_from_bytes(latin1, safe=RESERVED) + "/x"
    assert not robots.group_for(TOKEN).allowed(parse_target(url).path)[0]


# -- the other opt-out parsers ------------------------------------------------------------------

_JSONISH = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(
        st.sampled_from(["location", "tdm-reservation", "tdm-policy", "x", ""]) | st.text(max_size=8), children,
        max_size=4),
    max_leaves=20,
)


@given(st.binary(max_size=1500) | _JSONISH.map(lambda v: __import__("json").dumps(v).encode()))
def test_site_file_parsers_never_raise(data):
    parse_tdmrep_file(data)
    parse_ai_txt(data)
    rsl.parse_rsl(data)


_HEADER_TEXT = st.text(max_size=80) | st.builds(
    lambda parts: ", ".join(parts),
    st.lists(st.sampled_from(["train-ai=n", "train-ai=y", "search=n", "ai-input=no", "noai", "noimageai",
                              "GPTBot: noai", "1", "0", '<https://x.example/l.xml>; rel="license"', "tdm=n",
                              "a=", "=", ";", "\"", "bots: none", "unavailable_after: x"]), max_size=6))


@given(_HEADER_TEXT)
def test_header_and_line_parsers_never_raise(value):
    aipref.parse_preferences(value)
    aipref.parse_preferences(value.encode("utf-8", "surrogatepass"))
    content_signal.parse_line(value)
    robots_meta.parse_directives(value, TOKEN)
    rsl.link_header_licences([value])


_HTML = st.lists(st.sampled_from(['<meta name="robots" content="noai">', '<meta name="tdm-reservation" content="1">',
                                  "<head>", "</head>", "<html>", "<!--", "-->", "<script>", "</script>", '<link rel="license" href="',
                                  "<?xpacket begin=", "<x:xmpmeta", "\x00", "é", "\"", "'", ">", "<"]),
                 max_size=30).map(lambda parts: "".join(parts).encode("utf-8"))


@given(_HTML | st.binary(max_size=1500))
def test_html_and_embedded_scanners_never_raise(body):
    scan_html(body)
    find_packets(body)


_CONTENT_TYPES = st.sampled_from(["text/html", "image/jpeg", "image/png", "application/pdf", "application/epub+zip",
                                  "text/plain", "", "text/html; charset=\"x\""])


@given(_HTML | st.binary(max_size=1500), _CONTENT_TYPES, _HEADER_TEXT, _HEADER_TEXT, st.sampled_from([200, 401, 403, 451]))
def test_a_post_fetch_decision_on_any_response_never_raises(body, content_type, usage, robots_tag, status):
    # Every post-fetch source at once, through the one decision entry point.
    response = ResponseView(url="https://a.example/p", status=status, body=body, fetched_at=NOW, headers={
        "content-type": [content_type], "content-usage": [usage], "x-robots-tag": [robots_tag],
        "tdm-reservation": [usage[:5]], "link": [robots_tag],
    })
    decision = evaluate("https://a.example/p", POLICY, now=NOW, site=SITE, response=response)
    assert decision.verdict.value in ("allow", "deny")


SITE: SiteView = site_view("https://a.example")


# -- the URL canonicaliser ----------------------------------------------------------------------

_URLS = st.builds(
    lambda scheme, host, path, query: f"{scheme}://{host}{path}{query}",
    st.sampled_from(["http", "https", "HTTP", "ftp"]),
    st.sampled_from(["a.example", "A.Example.", "xn--caf-dma.example", "café.example", "127.0.0.1", "[::1]",
                     "a.example:8080", "user@a.example", "a.example:99999", ""]),
    st.text(alphabet=st.sampled_from(list("/./../%2e%2E%41é ツ?#&=*$;:@+~\t")) | st.characters(), max_size=40)
    .map(lambda p: "/" + p),
    st.sampled_from(["", "?", "?a=b", "?a=/:", "#frag", "?#"]),
)


@given(_URLS | st.text(max_size=60))
def test_the_url_canonicaliser_gives_a_canonical_match_path_or_a_one_line_error(url):
    try:
        target = parse_target(url)
    except URLError as exc:
        assert "\n" not in str(exc)
        return
    path = target.path
    assert path.startswith("/") and path.isascii() and " " not in path
    assert canonical_path(canonical_path(path)) == canonical_path(path)  # idempotent
    head = path.split("?", 1)[0]
    assert "/./" not in head + "/" and "/../" not in head + "/"  # dot segments resolved
    assert parse_target(target.url).path == path  # stable
