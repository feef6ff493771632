"""URLs as decisions see them: origin, RFC 9309 match path, registered domain.

Pure: the public-suffix data is tldextract's bundled snapshot, never a download.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import quote, unquote, urlsplit

import tldextract

DEFAULT_PORTS = {"http": 80, "https": 443}

# suffix_list_urls=() and cache_dir=None: use the snapshot shipped inside tldextract, never fetch.
# Private suffixes (blogspot.com, github.io) count: a listed "bad.blogspot.com" must not exclude
# every other blog on blogspot.com.
_EXTRACT = tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None, include_psl_private_domains=True)


class URLError(ValueError):
    """A URL copyright-guard cannot decide on. ``str()`` is one line naming what is wrong."""


@dataclass(frozen=True, slots=True)
class Target:
    """A URL split the way the decision procedure needs it."""

    url: str
    scheme: str
    host: str  # lower-case, IDNA (punycode) form, no trailing dot; IPv6 without brackets
    port: int
    path: str  # RFC 9309 §2.2.2 match path: percent-encoded path plus "?query", never empty
    registered_domain: str  # eTLD+1, or the host itself for IP addresses and bare suffixes

    @property
    def origin(self) -> str:
        return origin_of(self.scheme, self.host, self.port)


# Target(...) with the slots set through their descriptors: a frozen dataclass's __init__ costs
# twice as much, a third of parsing a new URL (tests/unit/test_model_fast.py checks both agree).
_new = object.__new__
_set_url, _set_scheme, _set_host, _set_port, _set_path, _set_domain = (getattr(Target, n).__set__ for n in Target.__slots__)


def _target(url: str, scheme: str, host: str, port: int, path: str, registered_domain: str) -> Target:
    target = _new(Target)
    _set_url(target, url)
    _set_scheme(target, scheme)
    _set_host(target, host)
    _set_port(target, port)
    _set_path(target, path)
    _set_domain(target, registered_domain)
    return target


@lru_cache(maxsize=65536)  # Target.origin is read for every decision; a crawl sees few origins
def origin_of(scheme: str, host: str, port: int) -> str:
    shown = f"[{host}]" if ":" in host else host
    if DEFAULT_PORTS.get(scheme) == port:
        return f"{scheme}://{shown}"
    return f"{scheme}://{shown}:{port}"


# WHATWG URL §3.5 forbidden domain code points (":" only occurs in IPv6, handled before).
_FORBIDDEN_HOST_CHARS = frozenset(" #%/:<>?@[\\]^|\x7f" + "".join(map(chr, range(0x20))))


_IDNA_DOTS = str.maketrans({"\u3002": ".", "\uff0e": ".", "\uff61": "."})


@lru_cache(maxsize=65536)  # a crawl sees few hosts; the IP-address probe below is costly
def normalise_host(host: str) -> str:
    """Lower-case, strip one trailing dot, IDNA-encode. Raises URLError for an unusable host."""
    if "%" in host:
        # WHATWG URL §3.5 host parser: a host is percent-decoded before anything else, so
        # "bad%2Eexample" names bad.example.
        try:
            host = unquote(host, errors="strict")
        except UnicodeDecodeError:
            raise URLError(f"invalid percent-encoding in host {host!r}") from None
    if not host.isascii():
        # IDNA (RFC 3490 §3.1) reads U+3002, U+FF0E and U+FF61 as label dots: "example.com。" is
        # example.com with its trailing dot, and must meet the exclusion lists as such (issue 13).
        host = host.translate(_IDNA_DOTS)
    host = host.strip().rstrip(".").lower()
    if not host:
        raise URLError("URL has no host")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    try:
        return str(ipaddress.ip_address(host))
    except ValueError:
        pass
    if _ends_in_number(host):
        return _whatwg_ipv4(host)
    if any(c in _FORBIDDEN_HOST_CHARS for c in host):
        raise URLError(f"invalid host name {host!r}")
    if host.isascii():
        labels = host.split(".")
        if any(not label or len(label) > 63 for label in labels) or len(host) > 253:
            raise URLError(f"invalid host name {host!r}")
        return _checked_punycode(host)
    try:
        encoded = host.encode("idna").decode("ascii")
    except UnicodeError:
        raise URLError(f"invalid international host name {host!r}") from None
    return _checked_punycode(encoded)


def _checked_punycode(host: str) -> str:
    """``host``, if each of its ``xn--`` labels is valid Punycode for an international name.

    An ASCII host is otherwise taken as it is, but ``xn--a`` is no name at all: no resolver or
    HTTP stack can use it (httpx fails with "InvalidCodepoint"), so it is a URL error here, not a
    robots.txt that turns out "unreachable" later. Decoding with the idna codec checks the label
    round-trips (IDNA 2003 ToUnicode, RFC 3490 §4.2).
    """
    if "xn--" not in host:  # the usual case: no work
        return host
    for label in host.split("."):
        if label.startswith("xn--"):
            try:
                label.encode("ascii").decode("idna")
            except (UnicodeError, ValueError):
                raise URLError(f"invalid international host name {host!r}: {label!r} is not valid Punycode") from None
    return host


def _ends_in_number(host: str) -> bool:
    """WHATWG URL §3.5 "ends in a number checker": the last label is decimal or 0x-hex."""
    last = host.rsplit(".", 1)[-1]
    if last.isascii() and last.isdigit():
        return True
    return last[:2] == "0x" and all(c in "0123456789abcdef" for c in last[2:])


def _whatwg_ipv4(host: str) -> str:
    """WHATWG URL §3.5 IPv4 parser: "0x7f.1", "2130706433" and "0177.0.0.1" all name 127.0.0.1.

    HTTP stacks resolve these forms (glibc inet_aton does, so Twisted and httpx connect to
    127.0.0.1), so an exclusion entry for an IP must match them; anything else ending in a
    number is not a usable host.
    """
    parts = host.split(".")
    numbers: list[int] = []
    for part in parts:
        try:
            if part[:2] == "0x":
                numbers.append(int(part[2:] or "0", 16))
            elif len(part) > 1 and part[0] == "0":
                numbers.append(int(part, 8))
            else:
                numbers.append(int(part, 10))
        except ValueError:
            raise URLError(f"invalid IPv4 address {host!r}") from None
    if len(numbers) > 4 or any(n > 255 for n in numbers[:-1]) or numbers[-1] >= 256 ** (5 - len(numbers)):
        raise URLError(f"invalid IPv4 address {host!r}")
    value = numbers[-1] + sum(n * 256 ** (3 - i) for i, n in enumerate(numbers[:-1]))
    return str(ipaddress.IPv4Address(value))


@lru_cache(maxsize=65536)
def registered_domain(host: str) -> str:
    """eTLD+1 of a normalised host (``www.bbc.co.uk`` -> ``bbc.co.uk``); IPs and suffixes as is."""
    if not host or ":" in host or host.replace(".", "").isdigit():
        return host
    parts = _EXTRACT.extract_str(host)
    if parts.top_domain_under_public_suffix:
        return parts.top_domain_under_public_suffix
    if not parts.suffix and parts.domain and "." in host:
        # A TLD the snapshot does not know (.example, .test, .internal): the PSL algorithm's
        # default rule "*" makes the last label the suffix, so sub.bad.example -> bad.example.
        return ".".join(host.split(".")[-2:])
    return host


def is_public_suffix(host: str) -> bool:
    """True for a public suffix, ICANN or private (``co.uk``, ``blogspot.com``): not one site."""
    parts = _EXTRACT.extract_str(host)
    return bool(parts.suffix) and not parts.domain


_SAFE_PATH = "/%:@!$&'()*+,;=-._~"
_SAFE_QUERY = _SAFE_PATH + "?"


# What quote() with those safe sets leaves unchanged: skipping the call for such input (nearly
# every URL) changes no result and halves the cost of a cold parse_target.
_PATH_UNCHANGED = re.compile(r"[A-Za-z0-9_.~/%:@!$&'()*+,;=-]*\Z")
_QUERY_UNCHANGED = re.compile(r"[A-Za-z0-9_.~/%:@!$&'()*+,;=?-]*\Z")


def match_path(path: str, query: str | None = "") -> str:
    """RFC 9309 §2.2.2: the path (and query) as sent, with non-ASCII and unsafe octets %-encoded,
    and its dot segments resolved (:func:`resolve_dots`). ``query=""`` is no query; ``None`` an
    empty one (``/page?``), kept: RFC 3986 §6.2.3 keeps a delimiter whose component is empty, and
    that is what httpx sends (docs/conformance.md "Empty query")."""
    path = path or "/"
    if not _PATH_UNCHANGED.match(path):
        path = quote(path, safe=_SAFE_PATH)
    if "/." in path or "%2" in path:
        path = resolve_dots(path)
    if query is None:
        return f"{path}?"
    if query:
        if not _QUERY_UNCHANGED.match(query):
            query = quote(query, safe=_SAFE_QUERY)
        return f"{path}?{query}"
    return path


_DOT_ESCAPE = re.compile("%2[eE]")


def resolve_dots(path: str) -> str:
    """The path with ``.`` and ``..`` segments removed (RFC 3986 §5.2.4), ``%2E`` read as ``.``
    (§6.2.2.2: it is unreserved).

    An absolute link to ``/./private/x`` reaches Scrapy unchanged (urljoin resolves dots only in
    relative references) and a server answers it with ``/private/x``: matched as written, it would
    slip past ``Disallow: /private/``. Rules are matched against the resource the server serves.
    """
    segments = path.split("/")
    if "%2" in path:
        segments = [_plain_dots(segment) for segment in segments]
    if "." not in segments and ".." not in segments:
        return path
    resolved: list[str] = []
    for segment in segments[1:]:  # segments[0] is "" (the path starts with "/")
        if segment == "..":
            if resolved:
                resolved.pop()
        elif segment != ".":
            resolved.append(segment)
    if segments[-1] in (".", ".."):
        resolved.append("")  # "/a/." is the directory "/a/"
    return "/" + "/".join(resolved)


def _plain_dots(segment: str) -> str:
    plain = _DOT_ESCAPE.sub(".", segment)
    return plain if plain in (".", "..") else segment


_CONTROL_CHARS = re.compile("[\x00-\x1f\x7f]")


# A URL is parsed by the pre-fetch hook, evaluate, the post-fetch hook and evaluate again; the
# cache needs to span only the requests in flight between the first and the last of those (about
# CONCURRENT_REQUESTS). Every cached Target is an object the garbage collector rescans in each
# full collection (gc.freeze() at spider open does not cover objects made later), so the cache is
# kept small: at 65,536 entries a long crawl carried 65,536 of them, more than Scrapy's own
# live objects after the freeze (~20,000-50,000 in benchmarks/bench_crawl.py).
@lru_cache(maxsize=4096)
def parse_target(url: str) -> Target:
    """Split an absolute http(s) URL. Raises :class:`URLError` with a one-line reason otherwise."""
    if not isinstance(url, str) or not url.strip():
        raise URLError("empty URL")
    if len(url) > 8192:
        raise URLError(f"URL too long ({len(url)} characters, limit 8192)")
    fast = _FAST_TARGET.match(url)
    if fast is not None:
        scheme, hostname, port, path, query = fast.groups()
        if port is None or int(port) <= 65535:
            host = normalise_host(hostname)
            path = path or "/"
            if "/." in path or "%2" in path:
                path = resolve_dots(path)
            # query None: no "?"; "" : an empty query, kept (RFC 3986 §6.2.3, match_path).
            return _target(url, scheme, host, int(port) if port else DEFAULT_PORTS[scheme],
                           path if query is None else f"{path}?{query}", registered_domain(host))
    if _CONTROL_CHARS.search(url):
        raise URLError("URL contains control characters")
    if not url.isascii():
        try:
            url.encode("utf-8")
        except UnicodeEncodeError:  # found by tests/unit/test_properties.py: quote() raised
            raise URLError("URL contains a lone surrogate code point (not encodable text)") from None
    scheme, hostname, port, path, query = split_url(url.strip())
    if scheme not in DEFAULT_PORTS:
        raise URLError(f"unsupported scheme {scheme or '(none)'!r}: only http and https URLs can be checked")
    host = normalise_host(hostname)
    port = port if port is not None else DEFAULT_PORTS[scheme]
    if not query and url.strip().partition("#")[0].endswith("?"):
        query = None  # an empty query, kept (RFC 3986 §6.2.3; match_path)
    return Target(
        url=url.strip(),
        scheme=scheme,
        host=host,
        port=port,
        path=match_path(path, query),
        registered_domain=registered_domain(host),
    )


# The shape nearly every crawled URL has: lower-case http(s) scheme and host name, no userinfo,
# no IPv6 literal, a decimal port or none. For it these groups are exactly what urlsplit gives
# (tests/unit/test_urls_fast_path.py checks it on random URLs) at a fifth of the cost; every
# other URL goes through urlsplit.
_PLAIN_URL = re.compile(r"(https?)://([a-z0-9.-]+)(?::([0-9]{1,5}))?(/[^?#]*)?(?:\?([^#]*))?(?:#.*)?\Z", re.DOTALL)


# parse_target in one match for the URLs nearly every crawl consists of: _PLAIN_URL's shape with
# a path and query match_path leaves unchanged (_PATH_UNCHANGED, _QUERY_UNCHANGED) and a printable
# ASCII fragment, so there is no control character or surrounding white space to reject or strip.
# tests/unit/test_urls_fast_path.py checks it gives what the general path gives.
_FAST_TARGET = re.compile(
    r"(https?)://([a-z0-9.-]+)(?::([0-9]{1,5}))?"
    r"(/[A-Za-z0-9_.~/%:@!$&'()*+,;=-]*)?(?:\?([A-Za-z0-9_.~/%:@!$&'()*+,;=?-]*))?(?:#[!-~]*)?\Z"
)


def is_plain_url(url: str) -> bool:
    """Whether ``url`` is an http(s) URL of the plain form :func:`parse_target` takes as written
    (lower-case host name or address, no user info, only unreserved and sub-delimiter path and
    query characters): a caller that knows the origin need not parse it again."""
    return _FAST_TARGET.match(url) is not None


def split_url(url: str) -> tuple[str, str, int | None, str, str]:
    """``(scheme lower-cased, hostname, port or None, path, query)`` as ``urlsplit`` gives them.

    Raises :class:`URLError` for a malformed URL (e.g. a port that is not a number).
    """
    plain = _PLAIN_URL.match(url)
    if plain is not None:
        scheme, hostname, port, path, query = plain.groups()
        if port is None or int(port) <= 65535:
            return scheme, hostname, int(port) if port else None, path or "", query or ""
    try:
        parts = urlsplit(url)
        port_number = parts.port
    except ValueError as exc:
        raise URLError(f"malformed URL: {exc}") from None
    # urlsplit resolves userinfo tricks: in http://good.example@bad.example/ the host is bad.example.
    return parts.scheme.lower(), parts.hostname or "", port_number, parts.path, parts.query
