"""The httpx transport against the loopback server: one request, no redirects, no cookies, no
credentials, streamed size cut, and every failure as a one-line error (never an exception)."""

from __future__ import annotations

import gzip
import socket
import ssl

import httpx
import pytest

from copyright_guard.demo.server import MultiOriginServer, Route, unused_port_url
from copyright_guard.fetch.http import HttpxTransport, describe_error

UA = "CopyrightGuardBot/0.1 (+test)"


def fetch(transport, url, timeout=5.0, max_bytes=512_000):
    return transport.fetch(url, user_agent=UA, timeout=timeout, max_bytes=max_bytes)


@pytest.fixture(scope="module")
def server():
    routes = {
        ("a", "/robots.txt"): Route.text("User-agent: *\nDisallow: /x\n",
                                         headers=[("Set-Cookie", "session=abc; Path=/"), ("X-Two", "1"), ("X-Two", "2")]),
        ("a", "/moved"): Route.redirect("http://127.0.0.3/elsewhere", 302),
        ("a", "/huge"): Route.huge(5_000_000),
        ("a", "/gzip"): Route(200, (("Content-Encoding", "gzip"),), gzip.compress(b"A" * 2_000_000)),
        ("a", "/slow"): Route.text("late", delay=3),
        ("a", "/drop"): Route(drop=True),
        ("a", "/head"): Route.text("body"),
    }
    with MultiOriginServer(routes, origins=["tls"], tls={"tls"}) as running:
        yield running


@pytest.fixture
def transport():
    with HttpxTransport() as client:
        yield client


def test_one_get_with_our_user_agent_and_headers_kept(server, transport):
    outcome = fetch(transport, server.url("a", "/robots.txt"))
    assert outcome.status == 200 and outcome.error == ""
    assert outcome.body == b"User-agent: *\nDisallow: /x\n"
    assert outcome.header("X-Two") == ["1", "2"]
    assert outcome.fetched_at is not None and not outcome.truncated
    (request,) = server.requests_to("a", "/robots.txt")[-1:]
    assert request.header("User-Agent") == [UA]


def test_cookies_are_never_sent_back(server, transport):
    fetch(transport, server.url("a", "/robots.txt"))
    fetch(transport, server.url("a", "/robots.txt"))
    assert all(not r.header("Cookie") for r in server.requests_to("a"))


def test_credentials_in_the_url_are_never_sent(server, transport):
    url = server.url("a", "/robots.txt").replace("http://", "http://user:secret@")
    outcome = fetch(transport, url)
    assert outcome.status == 200 and outcome.url == url
    assert not server.requests_to("a")[-1].header("Authorization")


def test_redirects_are_not_followed(server, transport):
    server.clear_log()
    outcome = fetch(transport, server.url("a", "/moved"))
    assert outcome.status == 302 and outcome.header("location") == ["http://127.0.0.3/elsewhere"]
    assert [r.path for r in server.requests] == ["/moved"]


def test_huge_body_is_cut_while_streaming(server, transport):
    outcome = fetch(transport, server.url("a", "/huge"), max_bytes=600_000)
    assert outcome.status == 200 and len(outcome.body) == 600_000 and outcome.truncated


def test_limit_counts_decoded_bytes(server, transport):
    outcome = fetch(transport, server.url("a", "/gzip"), max_bytes=512_000)
    assert outcome.body == b"A" * 512_000 and outcome.truncated


def test_slow_server_is_a_timeout(server, transport):
    outcome = fetch(transport, server.url("a", "/slow"), timeout=0.3)
    assert outcome.status is None and outcome.error == "timeout after 0.3s"


def test_dropped_connection(server, transport):
    outcome = fetch(transport, server.url("a", "/drop"))
    assert outcome.status is None and outcome.error == "connection closed without a response"


def test_refused_connection(transport):
    outcome = fetch(transport, unused_port_url())
    assert outcome.status is None and outcome.error == "connection refused"


def test_untrusted_certificate_is_a_tls_error(server, transport):
    outcome = fetch(transport, server.url("tls", "/robots.txt"))
    assert outcome.status is None
    assert outcome.error.startswith("TLS error: certificate verify failed")


def test_trusted_certificate_works(server):
    context = ssl.create_default_context(cafile=str(server.cert_file))
    with HttpxTransport(verify=context) as transport:
        outcome = fetch(transport, server.url("tls", "/robots.txt"))
    assert outcome.status == 404 and outcome.error == ""


def test_head_method(server, transport):
    outcome = transport.fetch(server.url("a", "/head"), user_agent=UA, timeout=5, max_bytes=100, method="HEAD")
    assert outcome.status == 200 and outcome.body == b""
    assert server.requests_to("a", "/head")[-1].method == "HEAD"


@pytest.mark.parametrize("url", ["http://[::1", "http://exa mple.com/", "gopher://x/"])
def test_unusable_urls_are_outcomes_not_exceptions(transport, url):
    outcome = fetch(transport, url)
    assert outcome.status is None and outcome.error and "\n" not in outcome.error


def test_dns_failure_is_named():
    cause = socket.gaierror(socket.EAI_NONAME, "Name or service not known")
    exc = httpx.ConnectError("[Errno -2] Name or service not known")
    exc.__cause__ = cause
    assert describe_error(exc, 10) == "DNS lookup failed: Name or service not known"
    assert describe_error(httpx.ReadTimeout("timed out"), 10) == "timeout after 10s"
    assert describe_error(httpx.ConnectError("boom\nsecond line"), 10) == "ConnectError: boom"


def test_a_connection_closed_mid_body_says_so():
    # Issue 13: it read "connection closed without a response" although the headers had come.
    import httpx

    from copyright_guard.fetch.http import describe_error

    closed = httpx.RemoteProtocolError("peer closed connection without sending complete message body (received 1000 bytes, expected 100000)")
    assert describe_error(closed, 10) == "connection closed mid-body"
    assert describe_error(httpx.RemoteProtocolError("Server disconnected without sending a response."), 10) \
        == "connection closed without a response"
