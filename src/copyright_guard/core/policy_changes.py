"""What changed between two policy versions, in words a site owner reads (the crawler feed).

Code of Practice Measure 1.3: rightsholders are told when the crawler's behaviour changes; a hash
says *that* it changed, these sentences say *what*. Pure: two :class:`Policy` objects in, a list of
sentences out. Only what a site sees or relies on is described (identity, purposes, protocols,
failure handling, politeness, exclusion lists, licences, the point of contact, signing).
"""

from __future__ import annotations

from .policy import Policy

SOURCE_WORDS = {
    "peer_tokens": "robots.txt rules for well-known AI-training crawlers (GPTBot, CCBot, Google-Extended, …) "
                   "as reservations against AI training",
    "content_usage": "IETF AIPREF Content-Usage (robots.txt and HTTP header)",
    "content_signal": "Content-Signal lines in robots.txt",
    "tdmrep": "W3C TDMRep (/.well-known/tdmrep.json, HTTP headers, HTML meta, EPUB and PDF metadata)",
    "ai_txt": "/ai.txt",
    "rsl": "RSL licences (robots.txt License:, Link header, HTML link)",
    "robots_meta": "X-Robots-Tag and <meta name=\"robots\"> noai / noimageai",
    "embedded_metadata": "IPTC/PLUS Data Mining and C2PA/CAWG training-and-mining assertions embedded in files",
    "access_restrictions": "paywalls and access controls (HTTP 401, 402, 403, 407, 451 and paywall markup), "
                           "recorded and never circumvented",
}

FAILURE_WORDS = {
    "tdmrep_unreachable": "an unreachable tdmrep.json",
    "ai_txt_unreachable": "an unreachable ai.txt",
    "rsl_unreachable": "an unreachable RSL licence",
    "unreadable_signal": "an unreadable header or file",
    "audit_unavailable": "an unavailable audit log",
}


def _seconds(value: float) -> str:
    return f"{value:g} seconds"


def first_version(policy: Policy) -> list[str]:
    """The sentences for the first version the crawler ran under (nothing to compare with)."""
    honoured = [words for key, words in SOURCE_WORDS.items() if getattr(policy.sources, key)]
    lines = [f"The crawler {policy.crawler.product_token} started collecting for {policy.purposes.default}, "
             f"with the User-Agent {policy.crawler.user_agent!r}.",
             "It follows robots.txt (RFC 9309) and honours: " + "; ".join(honoured) + "."]
    if policy.crawler.key_directory:
        lines.append(f"Its requests are signed (Web Bot Auth); keys at {policy.crawler.key_directory}.")
    return lines


def describe_changes(old: Policy, new: Policy) -> list[str]:
    """Every difference a site owner would care about, one sentence each; ``[]`` when the policies
    differ only in comments or wording that changes nothing."""
    lines: list[str] = []
    o, n = old.crawler, new.crawler
    if o.product_token != n.product_token:
        lines.append(f"The product token changed from {o.product_token} to {n.product_token}: "
                     f"robots.txt groups must now name {n.product_token}.")
    if o.user_agent != n.user_agent:
        lines.append(f"The User-Agent changed from {o.user_agent!r} to {n.user_agent!r}.")
    if o.key_directory != n.key_directory:
        if n.key_directory is None:
            lines.append("Requests are no longer signed (Web Bot Auth).")
        elif o.key_directory is None:
            lines.append(f"Requests are now signed (Web Bot Auth); keys at {n.key_directory}.")
        else:
            lines.append(f"The signing key directory moved from {o.key_directory} to {n.key_directory}.")
    if old.purposes.default != new.purposes.default:
        lines.append(f"The crawler now collects for {new.purposes.default} (was {old.purposes.default}).")
    for key, words in SOURCE_WORDS.items():
        before, after = getattr(old.sources, key), getattr(new.sources, key)
        if before != after:
            lines.append(f"We {'now' if after else 'no longer'} honour {words}.")
    if new.sources.peer_tokens and old.peer_tokens != new.peer_tokens:
        added, removed = sorted(new.peer_tokens - old.peer_tokens), sorted(old.peer_tokens - new.peer_tokens)
        if added:
            lines.append("robots.txt blocks aimed at these crawlers now also stop us: " + ", ".join(added) + ".")
        if removed:
            lines.append("robots.txt blocks aimed at these crawlers no longer stop us: " + ", ".join(removed) + ".")
    for key, words in FAILURE_WORDS.items():
        before, after = getattr(old.on_failure, key), getattr(new.on_failure, key)
        if before != after:
            lines.append(f"On {words} we now {after} (was {before}).")
    oc, nc = old.crawl, new.crawl
    if oc.obey_crawl_delay != nc.obey_crawl_delay:
        lines.append("We now honour Crawl-delay." if nc.obey_crawl_delay else "We no longer honour Crawl-delay.")
    elif nc.obey_crawl_delay and oc.max_crawl_delay_seconds != nc.max_crawl_delay_seconds:
        lines.append(f"The longest Crawl-delay we honour changed from {_seconds(oc.max_crawl_delay_seconds)} "
                     f"to {_seconds(nc.max_crawl_delay_seconds)}.")
    if old.cache.max_age_hours != new.cache.max_age_hours:
        lines.append(f"We now keep robots.txt and other site-wide files for up to {new.cache.max_age_hours:g} hours "
                     f"(was {old.cache.max_age_hours:g}).")
    if old.exclusions.lists != new.exclusions.lists:
        described = ", ".join(new.exclusions.lists) or "every active list"
        lines.append(f"The exclusion lists consulted before every request are now: {described}.")
    if old.licences != new.licences:
        lines.append(f"Licences applied: {len(new.licences)} (was {len(old.licences)}); "
                     "a licence lets us collect what a reservation would otherwise stop, citing the contract.")
    if old.complaints.contact_email != new.complaints.contact_email:
        lines.append(f"The point of contact is now {new.complaints.contact_email}.")
    if old.complaints.operator_name != new.complaints.operator_name:
        lines.append(f"The operator is now {new.complaints.operator_name}.")
    return lines
