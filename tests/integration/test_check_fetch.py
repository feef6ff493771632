"""``copyright-guard check`` against real loopback origins: every robots.txt fetch result of
RFC 9309 §2.3.1 (and what peers.md shows Scrapy gets wrong), end to end through the CLI."""

from __future__ import annotations

import os

from copyright_guard.demo.server import Route, unused_port_url

PAGE = Route.html("<html><head><title>ok</title></head><body>hello</body></html>")
UA_TOKEN = "CopyrightGuardBot"


def codes(data: dict) -> list[str]:
    return [reason["code"] for reason in data["reasons"]]


def robots_state(data: dict, origin: str) -> dict:
    (entry,) = [f for f in data["site_files"] if f["kind"] == "robots.txt" and f["origin"] == origin]
    return entry


# -- 2xx ----------------------------------------------------------------------------------------------


def test_200_rules_deny_with_the_exact_line_and_the_page_is_never_requested(serve, check_json):
    server = serve({("site", "/robots.txt"): Route.text("# rules\nUser-agent: *\nDisallow: /private/\n"),
                    ("site", "/private/report"): PAGE})
    code, data = check_json(server.url("site", "/private/report"))
    assert code == 1 and data["verdict"] == "deny" and data["stage"] == "pre-fetch"
    (reason,) = [r for r in data["reasons"] if r["code"] == "robots.disallowed"]
    evidence = reason["evidence"]
    assert evidence["location"] == "robots.txt line 3: Disallow: /private/"
    assert evidence["status"] == 200 and evidence["url"] == server.url("site", "/robots.txt")
    assert len(evidence["sha256"]) == 64 and evidence["fetched_at"]
    assert "/private/report" not in server.paths("site")
    assert data["requests"] == []


def test_200_allow_fetches_the_page_and_decides_post_fetch(serve, check_json):
    server = serve({("site", "/robots.txt"): Route.text("User-agent: *\nDisallow: /private/\n"),
                    ("site", "/public/a"): PAGE})
    code, data = check_json(server.url("site", "/public/a"))
    assert code == 0 and data["verdict"] == "allow"
    assert [d["stage"] for d in data["decisions"]] == ["pre-fetch", "post-fetch"]
    assert server.paths("site") == ["/robots.txt", "/.well-known/tdmrep.json", "/ai.txt", "/public/a"]
    # Every request carries our User-Agent (with the product token robots.txt is matched against),
    # and never a cookie or credentials.
    for request in server.requests:
        assert UA_TOKEN in request.header("User-Agent")[0]
        assert not request.header("Cookie") and not request.header("Authorization")


def test_no_fetch_stops_after_the_pre_fetch_decision(serve, check_json):
    server = serve({("site", "/robots.txt"): Route.text("User-agent: *\nAllow: /\n"), ("site", "/a"): PAGE})
    code, data = check_json(server.url("site", "/a"), "--no-fetch")
    assert code == 0 and [d["stage"] for d in data["decisions"]] == ["pre-fetch"]
    assert "/a" not in server.paths("site")


def test_our_own_group_is_matched_by_whole_token(serve, check_json):
    # A "CopyrightGuardBot-EU" group is not ours (RFC 9309 §2.2.1; Protego would match the prefix).
    robots = "User-agent: CopyrightGuardBot-EU\nDisallow: /\n\nUser-agent: *\nAllow: /\n"
    server = serve({("site", "/robots.txt"): Route.text(robots), ("site", "/a"): PAGE})
    code, data = check_json(server.url("site", "/a"))
    assert code == 0, data["reasons"]


# -- 4xx ----------------------------------------------------------------------------------------------


def test_404_whose_body_says_disallow_means_no_restrictions(serve, check_json):
    server = serve({("site", "/robots.txt"): Route.text("User-agent: *\nDisallow: /\n", 404), ("site", "/a"): PAGE})
    code, data = check_json(server.url("site", "/a"))
    assert code == 0 and data["verdict"] == "allow"
    assert robots_state(data, server.origin("site"))["status"] == "unavailable"
    assert "robots.disallowed" not in codes(data)


def test_403_and_410_are_unavailable(serve, check_json):
    for status in (403, 410):
        server = serve({("site", "/robots.txt"): Route.text("forbidden", status), ("site", "/a"): PAGE})
        code, data = check_json(server.url("site", "/a"))
        assert code == 0, status
        assert robots_state(data, server.origin("site"))["error"] == f"HTTP {status}"


# -- 5xx, 429, network failures ---------------------------------------------------------------------


def _assert_unreachable_deny(server, data, code, error):
    assert code == 1 and data["verdict"] == "deny" and data["stage"] == "pre-fetch"
    assert "robots.unreachable" in codes(data)
    assert robots_state(data, server.origin("site") if server else data["decisions"][0]["origin"])["error"] == error
    if server:
        assert "/a" not in server.paths("site")


def test_500_with_an_html_body_is_complete_disallow(serve, check_json):
    server = serve({("site", "/robots.txt"): Route.html("<html><body>Internal error</body></html>", 500),
                    ("site", "/a"): PAGE})
    code, data = check_json(server.url("site", "/a"))
    _assert_unreachable_deny(server, data, code, "HTTP 500")


def test_503_is_complete_disallow(serve, check_json):
    server = serve({("site", "/robots.txt"): Route.text("User-agent: *\nAllow: /\n", 503), ("site", "/a"): PAGE})
    code, data = check_json(server.url("site", "/a"))
    _assert_unreachable_deny(server, data, code, "HTTP 503")


def test_429_is_complete_disallow(serve, check_json):
    server = serve({("site", "/robots.txt"): Route.text("slow down", 429, headers=[("Retry-After", "60")]),
                    ("site", "/a"): PAGE})
    code, data = check_json(server.url("site", "/a"))
    _assert_unreachable_deny(server, data, code, "HTTP 429")


def test_refused_connection_is_complete_disallow(check_json):
    code, data = check_json(unused_port_url(path="/a"))
    _assert_unreachable_deny(None, data, code, "connection refused")


def test_dropped_connection_is_complete_disallow(serve, check_json):
    server = serve({("site", "/robots.txt"): Route(drop=True), ("site", "/a"): PAGE})
    code, data = check_json(server.url("site", "/a"))
    _assert_unreachable_deny(server, data, code, "connection closed without a response")


def test_slow_server_times_out_and_is_complete_disallow(serve, check_json, policy_file):
    server = serve({("site", "/robots.txt"): Route.text("User-agent: *\nAllow: /\n", delay=5), ("site", "/a"): PAGE})
    policy = policy_file("[cache]\ntimeout_seconds = 0.3\n[sources]\ntdmrep = false\nai_txt = false\n")
    code, data = check_json(server.url("site", "/a"), "--policy", policy)
    _assert_unreachable_deny(server, data, code, "timeout after 0.3s")


def test_tls_failure_is_complete_disallow(serve, check_json):
    server = serve({("site", "/a"): PAGE}, tls={"site"})  # self-signed: verification fails
    code, data = check_json(server.url("site", "/a"))
    assert code == 1 and "robots.unreachable" in codes(data)
    assert robots_state(data, server.origin("site"))["error"].startswith("TLS error: certificate verify failed")
    assert server.requests == []  # the handshake failed: no request was ever read


# -- redirects ----------------------------------------------------------------------------------------


def test_robots_redirect_across_hosts_applies_to_the_initial_origin(serve, check_json):
    server = serve({("cdn", "/robots/site.txt"): Route.text("User-agent: *\nDisallow: /private/\n"),
                    ("cdn", "/robots.txt"): Route.text("User-agent: *\nAllow: /\n"),
                    ("site", "/private/x"): PAGE}, origins=["site"])
    server.set("site", "/robots.txt", Route.redirect(server.url("cdn", "/robots/site.txt"), 301))
    code, data = check_json(server.url("site", "/private/x"))
    assert code == 1 and "robots.disallowed" in codes(data)
    state = robots_state(data, server.origin("site"))
    assert state["status"] == "parsed"
    assert state["evidence"]["final_url"] == server.url("cdn", "/robots/site.txt")
    assert server.paths("cdn") == ["/robots/site.txt"]  # the CDN's own robots.txt is irrelevant


def _chain(server, hops: int):
    for i in range(hops):
        server.set("site", f"/hop{i}", Route.redirect(f"/hop{i + 1}", 302))
    server.set("site", "/robots.txt", Route.redirect("/hop0", 302))
    server.set("site", f"/hop{hops}", Route.text("User-agent: *\nDisallow: /\n"))


def test_five_robots_redirects_are_followed(serve, check_json):
    server = serve({("site", "/a"): PAGE})
    _chain(server, 4)  # /robots.txt -> hop0 -> ... -> hop4: five redirects
    code, data = check_json(server.url("site", "/a"))
    assert code == 1 and "robots.disallowed" in codes(data)


def test_more_than_five_robots_redirects_are_unavailable(serve, check_json):
    server = serve({("site", "/a"): PAGE})
    _chain(server, 5)  # six redirects
    code, data = check_json(server.url("site", "/a"))
    assert code == 0 and data["verdict"] == "allow"
    state = robots_state(data, server.origin("site"))
    assert state["status"] == "unavailable" and state["error"].startswith("more than 5 redirects")
    assert "/hop5" not in server.paths("site")


def test_robots_redirect_loop_is_unavailable(serve, check_json):
    server = serve({("site", "/robots.txt"): Route.redirect("/robots2.txt"),
                    ("site", "/robots2.txt"): Route.redirect("/robots.txt"), ("site", "/a"): PAGE})
    code, data = check_json(server.url("site", "/a"))
    assert code == 0
    assert "loop" in robots_state(data, server.origin("site"))["error"]
    assert server.paths("site").count("/robots.txt") == 1


def test_page_redirect_to_a_host_that_disallows_is_denied_before_the_request(serve, check_json):
    server = serve({("a", "/robots.txt"): Route.text("User-agent: *\nAllow: /\n"),
                    ("b", "/robots.txt"): Route.text("User-agent: *\nDisallow: /landing\n"),
                    ("b", "/landing"): PAGE}, origins=["a", "b"])
    server.set("a", "/start", Route.redirect(server.url("b", "/landing"), 302))
    code, data = check_json(server.url("a", "/start"))
    assert code == 1 and data["stage"] == "pre-fetch"
    assert [d["verdict"] for d in data["decisions"]] == ["allow", "deny"]
    assert data["decisions"][1]["url"] == server.url("b", "/landing")
    assert "/landing" not in server.paths("b")
    assert data["requests"] == [server.url("a", "/start")]


def test_page_redirect_to_an_allowed_host_is_followed_and_decided_post_fetch(serve, check_json):
    server = serve({("a", "/robots.txt"): Route.text(""), ("b", "/robots.txt"): Route.text(""),
                    ("b", "/landing"): PAGE}, origins=["a", "b"])
    server.set("a", "/start", Route.redirect(server.url("b", "/landing"), 307))
    code, data = check_json(server.url("a", "/start"))
    assert code == 0
    assert [d["stage"] for d in data["decisions"]] == ["pre-fetch", "pre-fetch", "post-fetch"]
    assert data["requests"] == [server.url("a", "/start"), server.url("b", "/landing")]


def test_page_redirect_loop_is_a_fetch_error(serve, check_json):
    server = serve({("a", "/robots.txt"): Route.text(""), ("a", "/x"): Route.redirect("/y"),
                    ("a", "/y"): Route.redirect("/x")})
    code, data = check_json(server.url("a", "/x"))
    assert code == 0 and data["stage"] == "pre-fetch"
    assert "redirect loop" in data["fetch_error"]


# -- size and garbage ---------------------------------------------------------------------------------


def test_rules_past_the_parse_limit_are_ignored_and_the_cut_recorded(serve, check_json):
    filler = b"# " + b"x" * 98 + b"\n"
    body = b"User-agent: *\nAllow: /\n" + filler * 6000 + b"User-agent: *\nDisallow: /\n"  # ~600 KB
    server = serve({("site", "/robots.txt"): Route.text(body), ("site", "/a"): PAGE})
    code, data = check_json(server.url("site", "/a"))
    assert code == 0, data["reasons"]
    assert "body cut at 512000 bytes" in robots_state(data, server.origin("site"))["evidence"]["location"]


def test_huge_robots_txt_is_read_only_up_to_the_limit(serve, check_json):
    server = serve({("site", "/robots.txt"): Route.huge(50_000_000, b"User-agent: *\nDisallow: /\n"),
                    ("site", "/a"): PAGE})
    code, data = check_json(server.url("site", "/a"))
    assert code == 1 and "robots.disallowed" in codes(data)
    assert "body cut" in robots_state(data, server.origin("site"))["evidence"]["location"]


def test_binary_robots_txt_never_crashes(serve, check_json):
    server = serve({("site", "/robots.txt"): Route(200, (("Content-Type", "application/octet-stream"),),
                                                    os.urandom(4096) + b"\x00\xff\xfe"),
                    ("site", "/a"): PAGE})
    code, data = check_json(server.url("site", "/a"))
    assert code == 0 and robots_state(data, server.origin("site"))["status"] == "parsed"


def test_utf8_bom_and_crlf_robots_txt(serve, check_json):
    body = "\ufeffUser-agent: *\r\nDisallow: /caf\u00e9/\r\n".encode()
    server = serve({("site", "/robots.txt"): Route.text(body), ("site", "/a"): PAGE})
    code, data = check_json(server.url("site", "/caf%C3%A9/menu"))
    assert code == 1 and "robots.disallowed" in codes(data)


# -- one robots.txt per scheme, host and port ---------------------------------------------------------


def test_http_and_https_of_one_host_are_separate_origins(serve, check_json):
    # Scrapy's cache ignores the scheme (peers.md): a failing https robots.txt must not decide for
    # http, and the http file must not decide for https.
    server = serve({("plain", "/robots.txt"): Route.text("User-agent: *\nDisallow: /private/\n"),
                    ("plain", "/public"): PAGE, ("secure", "/public"): PAGE},
                   hosts={"plain": "127.0.0.5", "secure": "127.0.0.5"}, tls={"secure"})
    code, data = check_json(server.url("plain", "/public"))
    assert code == 0
    code, data = check_json(server.url("secure", "/public"))
    assert code == 1 and "robots.unreachable" in codes(data)
    code, data = check_json(server.url("plain", "/private/x"))
    assert code == 1 and "robots.disallowed" in codes(data)


# -- other site-wide files share the machinery --------------------------------------------------------


def test_tdmrep_unreachable_denies_under_the_strict_default(serve, check_json):
    server = serve({("site", "/robots.txt"): Route.text(""), ("site", "/.well-known/tdmrep.json"): Route.text("", 503),
                    ("site", "/a"): PAGE})
    code, data = check_json(server.url("site", "/a"))
    assert code == 1 and "tdmrep.unreachable" in codes(data)
    assert "/a" not in server.paths("site")


def test_ai_txt_unreachable_is_only_a_note_under_the_strict_default(serve, check_json):
    server = serve({("site", "/robots.txt"): Route.text(""), ("site", "/ai.txt"): Route.text("", 500),
                    ("site", "/a"): PAGE})
    code, data = check_json(server.url("site", "/a"))
    assert code == 0
    (reason,) = [r for r in data["reasons"] if r["code"] == "ai-txt.unreachable"]
    assert reason["effect"] == "note"


def test_rsl_licence_named_by_robots_is_fetched_from_another_host(serve, check_json):
    server = serve({("licences", "/site.xml"): Route.text(
        '<rsl xmlns="https://rslstandard.org/rsl"><content url="/"><license>'
        '<prohibits type="usage">ai-train</prohibits></license></content></rsl>', content_type="application/rsl+xml"),
        ("site", "/a"): PAGE}, origins=["site"])
    server.set("site", "/robots.txt", Route.text(f"License: {server.url('licences', '/site.xml')}\nUser-agent: *\nAllow: /\n"))
    code, data = check_json(server.url("site", "/a"))
    assert server.paths("licences") == ["/site.xml"]
    (licence,) = [f for f in data["site_files"] if f["kind"] == "rsl"]
    assert licence["status"] == "parsed" and licence["origin"] == server.origin("site")
    assert code == 1 and "rsl.reserved" in codes(data)


def test_dns_failure_is_complete_disallow(check_json):
    # .invalid never resolves (RFC 6761 §6.4), so this needs no network and sends nothing out.
    code, data = check_json("http://no-such-host.invalid/a")
    assert code == 1 and "robots.unreachable" in codes(data)
    assert robots_state(data, "http://no-such-host.invalid")["error"].startswith("DNS lookup failed")


def test_more_than_five_page_redirects_is_a_fetch_error(serve, check_json):
    server = serve({("a", "/robots.txt"): Route.text("")})
    for i in range(7):
        server.set("a", f"/p{i}", Route.redirect(f"/p{i + 1}", 302))
    code, data = check_json(server.url("a", "/p0"))
    assert data["fetch_error"].endswith("more than 5 redirects")
    assert len(data["requests"]) == 6 and "/p6" not in server.paths("a")
    assert code == 0 and data["stage"] == "pre-fetch"


def test_page_redirect_to_a_non_http_url_is_a_fetch_error(serve, check_json):
    server = serve({("a", "/robots.txt"): Route.text(""), ("a", "/x"): Route.redirect("ftp://files.example/x")})
    code, data = check_json(server.url("a", "/x"))
    assert "unusable URL 'ftp://files.example/x'" in data["fetch_error"]


def test_a_latin1_rule_denies_and_check_lists_the_parse_problems(serve, check_json):
    # Issue 13: a non-UTF-8 rule used to read as U+FFFD and match nothing (fail open).
    server = serve({("site", "/robots.txt"): Route.text(b"User-agent: *\nDisallow: /caf\xe9/\nNonsense here\n",
                                                       content_type="text/plain; charset=iso-8859-1")})
    code, data = check_json(server.url("site", "/caf%E9/menu"))
    assert data["verdict"] == "deny"
    assert [r["code"] for r in data["reasons"]] == ["robots.disallowed"]
    [robots] = [f for f in data["site_files"] if f["kind"] == "robots.txt"]
    assert robots["problems"] == [
        "line 2: bytes that are not UTF-8 (RFC 9309 §2.3); read as %-escapes of those octets (§2.2.2)",
        "line 3: not a robots.txt record: 'Nonsense here'",
    ]


def test_an_html_robots_txt_is_allowed_with_a_note_a_reviewer_sees(serve, check_json):
    server = serve({("site", "/robots.txt"): Route.html("<!doctype html><title>Oops</title><p>Error</p>"),
                    ("site", "/page"): Route.html("<p>hello</p>")})
    code, data = check_json(server.url("site", "/page"))
    assert data["verdict"] == "allow"
    [note] = [r for r in data["reasons"] if r["code"] == "robots.suspicious"]
    assert note["effect"] == "note" and "HTML document" in note["detail"]
