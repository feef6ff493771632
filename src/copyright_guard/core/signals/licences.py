"""Licences from the policy: a contract with a rightsholder lifts *their reservations*, nothing else.

A rightsholder who reserved text-and-data-mining rights (Directive 2019/790 Art. 4(3)) can still
license the use. A ``[[licences]]`` entry of the policy names the licensed source, the contract and
its validity; while it is valid for the decision's purpose, every reservation-based denial for that
source becomes an ALLOW-effect reason and one ``licence.applied`` reason cites the contract.

What a licence never changes (they are not reservations of the licensor's rights):

- ``exclusion.*`` - a court or authority's finding about a site is not the licensor's to waive;
- ``access.*`` - a contract is no licence to get past a paywall or login with the crawler;
- ``url.*`` - nothing can be decided for an invalid URL;
- ``robots.disallowed`` and ``robots.unreachable`` - robots.txt rules for *our* crawler are access
  control (RFC 9309), Code of Practice Measure 1.3(1)(a) asks us to follow them as written; a
  licensor who wants us in changes robots.txt. Only ``robots.peer-disallowed`` (a block aimed at
  other AI crawlers, read as a reservation against AI training) is a reservation a licence lifts.

Source patterns: an origin (``https://news.example``: every URL of that scheme, host and port), or
a URL pattern where ``*`` matches any characters and a final ``$`` anchors the end, matched against
the URL's origin + RFC 9309 match path (``https://news.example/archive/*.pdf$``); without ``$`` a
pattern is a prefix, like a robots.txt rule. The first valid licence (policy order) that matches is
the one cited. ``valid_from`` / ``valid_to`` are inclusive UTC days; outside them it does nothing.
"""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import datetime, timezone
from functools import lru_cache
from urllib.parse import urlsplit
from typing import TYPE_CHECKING

from ..model import Effect, Evidence, Reason
from ..urls import DEFAULT_PORTS, URLError, match_path, normalise_host, origin_of

if TYPE_CHECKING:  # pragma: no cover
    from ..policy import Licence, Policy
    from ..urls import Target

# Reason codes that record a rights reservation (or a file that may hold one) - what a licence lifts.
_RESERVATION_VOCABULARIES = ("aipref", "content-signal", "tdmrep", "ai-txt", "ai_txt", "rsl", "robots-meta", "iptc", "c2pa")
LICENSABLE_CODES = frozenset(
    {"robots.peer-disallowed", "tdmrep.unreachable", "rsl.unreachable", "ai-txt.unreachable"}
    | {f"{v}.reserved" for v in _RESERVATION_VOCABULARIES}
    # A malformed reservation denied under on_failure.unreadable_signal = "deny": the licence
    # covers whatever it would have said.
    | {f"{v}.unreadable" for v in _RESERVATION_VOCABULARIES}
)


class LicenceSourceError(ValueError):
    """A licence ``source`` that is neither an origin nor a URL pattern. One line."""


def apply_licences(
    reasons: list[Reason], target: Target, policy: Policy, purpose: str, now: datetime
) -> list[Reason]:
    """``reasons`` with reservation-based denials lifted by the first valid matching licence."""
    licensable = [r for r in reasons if r.effect is Effect.DENY and r.code in LICENSABLE_CODES]
    if not licensable or not policy.licences:
        return reasons
    licence = licence_for(target, policy, purpose, now)
    if licence is None:
        return reasons
    citation = cite(licence)
    lifted = []
    result: list[Reason] = []
    for reason in reasons:
        if reason.effect is Effect.DENY and reason.code in LICENSABLE_CODES:
            result.append(replace(reason, effect=Effect.ALLOW, detail=f"{reason.detail} [lifted by {citation}]"))
            lifted.append(reason.code)
        else:
            result.append(reason)
    detail = f"{citation} covers {licence.source} for {purpose}; lifted: {', '.join(lifted)}"
    evidence = Evidence(source="policy", location=f"licence {licence.source!r}: contract {licence.contract}")
    result.append(Reason("licence.applied", "policy", detail, Effect.ALLOW, evidence))
    return result


def licence_for(target: Target, policy: Policy, purpose: str, now: datetime) -> Licence | None:
    """The first licence of the policy valid on ``now``'s UTC day for ``purpose`` covering ``target``."""
    day = (now if now.tzinfo is None else now.astimezone(timezone.utc)).date()
    url = target.origin + target.path
    for licence in policy.licences:
        if purpose not in licence.purposes or not licence.valid_on(day):
            continue
        try:
            if source_matcher(licence.source)(url):
                return licence
        except LicenceSourceError:
            continue  # the policy validator reports it; a bad pattern licenses nothing
    return None


def cite(licence: Licence) -> str:
    valid = f"{licence.valid_from or 'open'}..{licence.valid_to or 'open'}"
    return f"licence contract {licence.contract!r} (valid {valid})"


@lru_cache(maxsize=1024)
def source_matcher(source: str):
    """A predicate on ``origin + match path`` for a licence source. Raises LicenceSourceError."""
    scheme, sep, rest = source.strip().partition("://")
    scheme = scheme.lower()
    if not sep or scheme not in DEFAULT_PORTS:
        raise LicenceSourceError(f"licence source {source!r} must start with http:// or https://")
    authority, _, path = rest.partition("/")
    origin = _origin(scheme, authority, source)
    anchored = path.endswith("$")
    path = path.removesuffix("$")
    if not path and not anchored and "*" not in origin:
        # An origin: every URL of that scheme, host and port.
        return lambda url: url == origin or url.startswith(origin + "/")
    path, _, query = path.partition("?")
    encoded = match_path("/" + path, query)
    # RFC 9309 §2.2.3-style pattern: "*" any characters, "$" end of URL, otherwise a prefix.
    # A "*" in the host stays inside the host: https://*.news.example must not match
    # https://evil.example/x.news.example/.
    host_part = "[^/]*".join(re.escape(part) for part in origin.split("*"))
    body = host_part + ".*".join(re.escape(part) for part in encoded.split("*"))
    pattern = re.compile(body + (r"\Z" if anchored else ""), re.DOTALL)
    return lambda url: pattern.match(url) is not None


def _origin(scheme: str, authority: str, source: str) -> str:
    if "@" in authority or not authority:
        raise LicenceSourceError(f"licence source {source!r}: expected scheme://host[:port][/pattern]")
    if "*" in authority:
        # A wildcard host (https://*.news.example) is kept as written, lower-cased.
        return f"{scheme}://{authority.lower()}"
    try:
        parts = urlsplit(f"{scheme}://{authority}")
        port = parts.port if parts.port is not None else DEFAULT_PORTS[scheme]
        return origin_of(scheme, normalise_host(parts.hostname or ""), port)
    except (URLError, ValueError):
        raise LicenceSourceError(f"licence source {source!r}: invalid host or port {authority!r}") from None
