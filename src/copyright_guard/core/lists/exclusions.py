"""Exclusion lists of infringing sites (Code of Practice, Measure 1.2(1)(b)), matched before any request.

An :class:`ExclusionEntry` is one line of one version of one list. Its ``entry`` is normalised by
:func:`normalise_entry` with the same host rules as URLs (core/urls.py), so ``BAD.Example.``,
``https://user@bad.example:8443/x`` and ``bad.example`` are the same entry. Three kinds:

- ``domain`` - a registered domain (``bad.co.uk``, ``bad.blogspot.com`` under the private suffix
  ``blogspot.com``) or an explicit ``*.host``: that name and every name under it;
- ``host`` - any other host name (``www.bad.example``): that host only;
- ``ip`` - an IPv4 or IPv6 address: URLs naming that address (in any spelling urls.py accepts).

A public suffix (``co.uk``, ``blogspot.com``) or a single label can never be an entry: it would
exclude every site under it. :class:`ExclusionIndex` answers ``match(target, now)`` with dict
look-ups only (one per label of the host), so it can sit in front of every request of a crawl.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timezone
from functools import lru_cache
from urllib.parse import urlsplit

from ..model import Effect, Evidence, Reason
from ..urls import Target, URLError, is_public_suffix, normalise_host, registered_domain

# An exclusion list's name: store/lists.py enforces it on import, core/policy.py on [exclusions].
LIST_NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")

KINDS = ("domain", "host", "ip")


class EntryError(ValueError):
    """An exclusion-list entry that names no usable host. ``str()`` is one line."""


@dataclass(frozen=True, slots=True)
class ExclusionEntry:
    """One entry of one version of one exclusion list (glossary: "exclusion list")."""

    list_name: str
    list_version: int
    entry: str  # normalised: lower-case, punycode, no trailing dot; IPs in canonical form
    kind: str  # "domain" | "host" | "ip"
    authority: str
    jurisdiction: str = ""
    reference: str = ""
    listed_at: datetime | None = None  # None: in force since the list was imported
    delisted_at: datetime | None = None
    list_sha256: str | None = None  # hash of the imported snapshot, so a reviewer finds the bytes

    def active(self, now: datetime) -> bool:
        """In force at ``now``: listed at or before it and not (yet) delisted."""
        now = _utc(now)
        if self.listed_at is not None and _utc(self.listed_at) > now:
            return False
        return self.delisted_at is None or now < _utc(self.delisted_at)

    def cite(self) -> str:
        """One line for a reviewer: which list version, which entry, whose decision."""
        what = {"domain": "domain and its subdomains", "host": "host", "ip": "IP address"}[self.kind]
        authority = self.authority + (f" ({self.jurisdiction})" if self.jurisdiction else "")
        text = f"listed on exclusion list {self.list_name!r} version {self.list_version}: {self.entry} ({what}); authority {authority}"
        if self.reference:
            text += f"; reference {self.reference}"
        if self.listed_at is not None:
            text += f"; listed {_utc(self.listed_at).date().isoformat()}"
        return text


def normalise_entry(text: str, kind: str | None = None) -> tuple[str, str]:
    """``(entry, kind)`` for what a list file says; :class:`EntryError` (one line) if unusable.

    Accepts a bare host, ``*.host``, a host with port, or a whole URL (scheme, userinfo, port and
    path are dropped: ``http://good.example@bad.example/`` names ``bad.example``, as for URLs).
    ``kind`` forces ``domain`` or ``host`` when the list file says which it means.
    """
    raw = text.strip()
    if not raw:
        raise EntryError("empty entry")
    if kind is not None and kind not in KINDS:
        raise EntryError(f"unknown kind {kind!r} (expected one of {', '.join(KINDS)})")
    subtree = raw.startswith("*.")
    if subtree:
        raw = raw[2:]
    if "/" in raw and "://" not in raw and _is_ip_range(raw):
        # Read as a URL, 127.0.0.1/8 would be the single address 127.0.0.1 with a path: an
        # order naming a range would then exclude one address and quietly let the rest through.
        raise EntryError(f"{raw!r} is an IP address range (CIDR): ranges are not supported; list each address")
    host = _host_part(raw)
    try:
        host = normalise_host(host)
    except URLError as exc:
        raise EntryError(str(exc)) from None
    if _is_ip(host):
        if subtree or kind in ("domain", "host"):
            raise EntryError(f"{host} is an IP address: it cannot be a {'*.' if subtree else kind} entry")
        return _canonical_ip(host), "ip"
    if kind == "ip":
        raise EntryError(f"{host!r} is not an IP address")
    if "." not in host:
        raise EntryError(f"{host!r} is a single label, not a domain name")
    if is_public_suffix(host):
        # Listing a public suffix (ICANN or private, like blogspot.com) would exclude every site
        # registered under it; an authority's order names one site.
        raise EntryError(f"{host!r} is a public suffix: list the sites under it instead")
    if subtree or kind == "domain" or (kind is None and registered_domain(host) == host):
        return host, "domain"
    return host, "host"


class ExclusionIndex:
    """Every entry of the lists in force, indexed for O(labels) matching."""

    def __init__(self, entries: Iterable[ExclusionEntry] = ()) -> None:
        self._domains: dict[str, list[ExclusionEntry]] = {}
        self._hosts: dict[str, list[ExclusionEntry]] = {}
        self._ips: dict[str, list[ExclusionEntry]] = {}
        self._versions: dict[str, int] = {}
        tables = {"domain": self._domains, "host": self._hosts, "ip": self._ips}
        versions = self._versions
        count = 0
        for entry in entries:
            key = _canonical_ip(entry.entry) if entry.kind == "ip" else entry.entry
            table = tables[entry.kind]
            found = table.get(key)
            if found is None:
                table[key] = [entry]
            else:
                found.append(entry)
            if versions.get(entry.list_name, 0) < entry.list_version:
                versions[entry.list_name] = entry.list_version
            count += 1
        self._count = count
        self._last: tuple[str | None, tuple[ExclusionEntry, ...]] = (None, ())

    def __len__(self) -> int:
        return self._count

    @property
    def versions(self) -> dict[str, int]:
        """``{list name: version}`` of the lists this index was built from."""
        return dict(self._versions)

    def match(self, target: Target, now: datetime) -> list[Reason]:
        """One ``exclusion.listed`` DENY reason per entry in force that covers ``target``'s host."""
        found = self.entries_for(target.host)
        if not found:
            return []
        now = _utc(now)
        return [_reason(entry) for entry in found if entry.active(now)]

    def entries_for(self, host: str) -> list[ExclusionEntry]:
        """Every entry (in force or not) covering a normalised host, most specific first."""
        last = self._last  # URLs come host by host (a crawl's queue, a recheck's origin order)
        if last[0] == host:
            return list(last[1])
        found = self._entries_for(host)
        self._last = (host, tuple(found))  # one assignment: safe for threads sharing the index
        return found

    def _entries_for(self, host: str) -> list[ExclusionEntry]:
        # A normalised host (core/urls.py) is an IP exactly when it has a ":" (IPv6) or only
        # digits and dots (IPv4): no exception-driven parse on the hot path.
        if ":" in host or host.replace(".", "").isdigit():
            return list(self._ips.get(_canonical_ip(host), ())) if self._ips else []
        found = list(self._hosts.get(host, ())) if self._hosts else []
        # Walk up the labels: www.bad.co.uk, bad.co.uk, co.uk, uk. Entries are never public
        # suffixes, so walking past the registered domain costs a look-up and matches nothing;
        # it keeps *.sub.bad.example entries and unknown TLDs (.example, .test) right.
        domains = self._domains
        if domains:
            name = host
            while True:
                hit = domains.get(name)
                if hit:
                    found.extend(hit)
                dot = name.find(".")
                if dot < 0:
                    break
                name = name[dot + 1 :]
        return found


def _reason(entry: ExclusionEntry) -> Reason:
    evidence = Evidence(
        source="exclusion-list",
        location=f"{entry.list_name} v{entry.list_version}: {entry.entry}",
        url=entry.reference if entry.reference.startswith(("http://", "https://")) else None,
        sha256=entry.list_sha256,
    )
    return Reason("exclusion.listed", "exclusion-list", entry.cite(), Effect.DENY, evidence)


def _host_part(raw: str) -> str:
    """The host a list line names, parsed like a URL authority (so userinfo tricks resolve)."""
    if _is_ip(raw.strip("[]")):
        return raw
    if "://" not in raw:
        raw = "//" + raw
    try:
        parts = urlsplit(raw)
        parts.port  # noqa: B018 - raises ValueError for a malformed port
    except ValueError as exc:
        raise EntryError(f"malformed entry: {exc}") from None
    if parts.scheme and parts.scheme.lower() not in ("http", "https"):
        raise EntryError(f"unsupported scheme {parts.scheme!r}")
    if not parts.hostname:
        raise EntryError("no host name")
    return parts.hostname


def _is_ip_range(text: str) -> bool:
    """``192.0.2.0/24``, ``2001:db8::/32`` (also with a host part set: ``127.0.0.1/8``)."""
    try:
        ipaddress.ip_network(text.strip().strip("[]").replace("]/", "/"), strict=False)
    except ValueError:
        return False
    return True


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


@lru_cache(maxsize=4096)  # per URL on the hot path; ipaddress parsing costs more than the rest of a decision
def _canonical_ip(host: str) -> str:
    """An IPv4-mapped IPv6 address (``::ffff:192.0.2.1``) reaches the same host as its IPv4 form."""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return host  # not an address after all: it can only match itself
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return str(address.ipv4_mapped)
    return str(address)


def _utc(moment: datetime) -> datetime:
    """Naive datetimes in lists and callers are UTC (the store keeps UTC)."""
    return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment

