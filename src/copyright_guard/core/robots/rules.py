"""robots.txt (RFC 9309) as decisions need it: a tolerant parser and the robots reasons.

``parse_robots(bytes) -> RobotsFile`` never raises: whatever the bytes, the result records the
parseable rules (§2.2: "MUST try to parse each line ... MUST use the parseable rules") and lists
what it could not read in ``problems``. Every record keeps its line number and raw text, so a
reason can cite ``robots.txt line 12: Disallow: /private/``.

``robots_reasons(target, site_file, policy, purpose) -> (reasons, crawlable)`` turns the fetch
state of an origin's robots.txt into reasons (see docs/architecture.md "robots.txt").
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass

from ..model import Effect, Evidence, Reason, SiteFile, SiteFileStatus
from ..policy import Policy
from ..purposes import covers
from .match import GroupMatcher, canonical_path
from ..urls import Target

# Directive names and the misspellings real files contain (the same set Google's robots.cc and
# Protego accept; RFC 9309 §2.2.4 lets crawlers be lenient with records).
_NAMES = {
    "user-agent": "user-agent",
    "useragent": "user-agent",
    "user agent": "user-agent",
    "allow": "allow",
    "disallow": "disallow",
    "dissallow": "disallow",
    "dissalow": "disallow",
    "disalow": "disallow",
    "diasllow": "disallow",
    "disallaw": "disallow",
    "sitemap": "sitemap",
    "sitemaps": "sitemap",
    "site-map": "sitemap",
    "crawl-delay": "crawl-delay",
    "crawl delay": "crawl-delay",
    "crawldelay": "crawl-delay",
    "licence": "license",
}
# Records that belong to no group wherever they appear (§2.2.4: a Sitemap "MUST NOT terminate a
# group"; RSL: License applies to the whole site).
_GLOBAL_ONLY = frozenset({"sitemap", "license"})
# Names accepted without a ":" ("disallow /x"), as Google and crawler-commons do: the intent is
# unmistakable and honouring it is the cautious reading.
_BARE_NAMES = tuple(sorted((n for n in _NAMES if " " not in n), key=len, reverse=True))
_RECORD_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_ -]*\Z")
_TOKEN_PREFIX = re.compile(r"[A-Za-z_-]*")
_EOL = re.compile(r"\r\n|\r|\n")
_WS = " \t"  # RFC 9309 §2.2: w = %x20 / %x09
_MAX_PROBLEMS = 50
_CITE_LIMIT = 200


@dataclass(frozen=True, slots=True)
class RobotsLine:
    """One record of the file: ``name`` lower-case and de-typoed, ``value`` without comment."""

    number: int
    name: str
    value: str
    raw: str

    def cite(self) -> str:
        raw = self.raw.strip()
        if len(raw) > _CITE_LIMIT:
            raw = raw[:_CITE_LIMIT] + "..."
        return f"robots.txt line {self.number}: {raw}"


class RobotsGroup:
    """The rules and extension records that apply to one product token (groups already merged)."""

    __slots__ = ("tokens", "rules", "_records", "_slot")

    def __init__(self, tokens: tuple[str, ...] = (), rules=(), records=(), slot: list | None = None) -> None:
        self.tokens = tokens  # the user-agent values that named it, as written
        self.rules: tuple[RobotsLine, ...] = tuple(rules)  # allow/disallow lines in file order
        self._records: tuple[RobotsLine, ...] = tuple(records)
        # One compiled matcher per distinct rule list, shared by the groups that have it (many
        # files block a dozen AI crawlers with the same "Disallow: /"): filled on first use.
        self._slot = slot if slot is not None else [None]

    def allowed(self, path: str) -> tuple[bool, RobotsLine | None]:
        """RFC 9309 §2.2.2 for a match path (``urls.Target.path``): ``(allowed, deciding line)``."""
        if not self.rules:
            return True, None
        return self.allowed_canonical(canonical_path(path))

    def allowed_canonical(self, path: str) -> tuple[bool, RobotsLine | None]:
        decided = self.decide(path)
        if decided is None:
            return True, None
        return decided[0], self.rules[decided[1]]

    def decide(self, path: str) -> tuple[bool, int] | None:
        """``(allowed, index of the deciding rule)`` for a canonical match path, ``None``: no rule."""
        if path == "/robots.txt":
            return None  # §2.2.2: "The /robots.txt URI is implicitly allowed"
        return self.matcher().decide(path)  # type: ignore[return-value]

    def matcher(self) -> GroupMatcher:
        """The compiled matcher of this group's rules (payload: the rule's index in ``rules``);
        it does not know the implicit ``/robots.txt`` allow, :meth:`decide` does."""
        matcher = self._slot[0]
        if matcher is None:
            matcher = self._slot[0] = GroupMatcher([(r.name == "allow", r.value, i) for i, r in enumerate(self.rules)])
        return matcher

    def records(self, name: str) -> list[RobotsLine]:
        if not self._records:
            return []
        name = name.lower()
        return [r for r in self._records if r.name == name]

    def __bool__(self) -> bool:
        return bool(self.tokens)

    def __repr__(self) -> str:
        return f"RobotsGroup(tokens={self.tokens!r}, rules={len(self.rules)})"


EMPTY_GROUP = RobotsGroup()


class _RawGroup:
    __slots__ = ("agents", "rules", "records", "has_rules")

    def __init__(self) -> None:
        self.agents: list[str] = []  # as written (truncated to the product token)
        self.rules: list[RobotsLine] = []
        # (record, how many agents were named before it): an extension record applies to the
        # user-agents above it only (crawler-commons' reading; "User-agent: a / Crawl-delay: 5 /
        # User-agent: b" gives b no delay) while allow/disallow rules apply to the whole group.
        self.records: list[tuple[RobotsLine, int]] = []
        self.has_rules = False


class RobotsFile:
    """A parsed robots.txt. Build it with :func:`parse_robots`; treat it as immutable."""

    __slots__ = ("_groups", "_index", "_global", "records", "problems", "suspicious", "_by_token", "_peers", "_slots",
                 "_reasons", "_plans")

    def __init__(
        self,
        groups: list[_RawGroup],
        global_records: list[RobotsLine],
        records: list[RobotsLine],
        problems: list[str],
    ) -> None:
        self._groups = groups
        self._global = tuple(global_records)
        self.records = tuple(records)  # every record read (user-agent lines too), in file order
        self.problems = problems
        # Why this parse may not be the site's robots.txt ("" if nothing is odd); set by parse_robots.
        self.suspicious = ""
        index: dict[str, list[int]] = {}
        for number, group in enumerate(groups):
            for agent in group.agents:
                positions = index.setdefault(agent.lower(), [])
                if not positions or positions[-1] != number:
                    positions.append(number)
        self._index = index
        self._by_token: dict[str, RobotsGroup] = {}
        self._peers: dict[frozenset[str], tuple] = {}
        self._slots: dict[tuple, list] = {}  # rule list -> shared matcher slot (RobotsGroup)
        # (id(evidence), code, token, line) -> (evidence, Reason): reasons are immutable, so a
        # decision for the next URL reuses them instead of building the same text again.
        self._reasons: dict[tuple, tuple[Evidence, Reason]] = {}
        self._plans: dict[tuple, tuple] = {}  # robots_reasons(): (site file, policy, RobotsPlan)

    def group_for(self, token: str) -> RobotsGroup:
        """RFC 9309 §2.2.1: every group naming ``token`` (whole token, any case) merged; else the
        merged ``*`` group; else an empty group (no rules apply)."""
        key = token.lower()
        group = self._by_token.get(key)
        if group is None:
            group = self._merged(key) if key != "*" and key in self._index else self._merged("*")
            self._by_token[key] = group
        return group

    def has_group(self, token: str) -> bool:
        """Whether a group names ``token`` itself (a ``*`` group does not count)."""
        return token.lower() in self._index and token != "*"

    def _merged(self, key: str) -> RobotsGroup:
        positions = self._index.get(key)
        if not positions:
            return EMPTY_GROUP
        groups = [self._groups[p] for p in positions]
        names = tuple(dict.fromkeys(a for g in groups for a in g.agents if a.lower() == key))
        rules = sorted((r for g in groups for r in g.rules), key=lambda r: r.number)
        records = sorted(
            (r for g in groups for r, named in g.records if key in (a.lower() for a in g.agents[:named])),
            key=lambda r: r.number,
        )
        slot = self._slots.setdefault(tuple((r.name, r.value) for r in rules), [None])
        return RobotsGroup(names, rules, records, slot)

    def _peer_plan(self, tokens: frozenset[str]) -> tuple[tuple[RobotsGroup, tuple[tuple[str, RobotsGroup], ...]], ...]:
        """The peer groups, bundled by identical rule lists: one match decides a whole bundle."""
        plan = self._peers.get(tokens)
        if plan is None:
            bundles: dict[int, tuple[RobotsGroup, list]] = {}
            for key in sorted(tokens):
                if key == "*" or key not in self._index:
                    continue  # a * group is no peer's block
                group = self.group_for(key)
                bundle = bundles.setdefault(id(group._slot), (group, []))
                bundle[1].append((group.tokens[0] if group.tokens else key, group))
            plan = self._peers[tokens] = tuple((rep, tuple(members)) for rep, members in bundles.values())
        return plan

    def _peer_reasons(self, evidence: Evidence, representative: RobotsGroup, index: int, members) -> tuple[Reason, ...]:
        """The robots.peer-disallowed reasons of one bundle whose rule ``index`` disallows."""
        key = (id(evidence), "peers", id(representative), index)
        cached = self._reasons.get(key)
        if cached is not None and cached[0] is evidence:
            return cached[1]
        found = []
        for name, group in members:
            line = group.rules[index]
            detail = (
                f"robots.txt disallows this URL for the AI-training crawler {name}, "
                f"a reservation against AI training: {line.cite()}"
            )
            found.append(self._reason(evidence, "robots.peer-disallowed", name, line, lambda: detail))
        reasons = tuple(found)
        self._reasons[key] = (evidence, reasons)  # type: ignore[assignment]
        return reasons

    def _reason(self, evidence: Evidence, code: str, token: str, line: RobotsLine, detail) -> Reason:
        key = (id(evidence), code, token, line.number)
        cached = self._reasons.get(key)
        if cached is not None and cached[0] is evidence:
            return cached[1]
        located = dataclasses.replace(evidence, location=line.cite())
        reason = Reason(code, "robots.txt", detail(), Effect.DENY, located)
        self._reasons[key] = (evidence, reason)
        return reason

    def global_records(self, name: str) -> list[RobotsLine]:
        if not self._global:
            return []
        name = name.lower()
        return [r for r in self._global if r.name == name]

    def crawl_delay(self, token: str) -> float | None:
        """The Crawl-delay (seconds) of ``token``'s group; the largest if several lines give one."""
        delays = []
        for line in self.group_for(token).records("crawl-delay"):
            try:
                value = float(line.value)
            except ValueError:
                continue
            if value >= 0 and value == value and value != float("inf"):
                delays.append(value)
        return max(delays) if delays else None

    @property
    def sitemaps(self) -> list[str]:
        return list(dict.fromkeys(r.value for r in self.global_records("sitemap") if r.value))

    def __repr__(self) -> str:
        return f"RobotsFile(groups={len(self._groups)}, problems={len(self.problems)})"


def _decode(data: bytes, problems: list[str]) -> str:
    # A leading UTF-8 BOM, even a partial one (EF BB / EF), is skipped (Google robots.cc; the
    # robotstxt-spec-test BOM cases). UTF-16 is not allowed by §2.3 ("MUST be UTF-8"), but a file
    # that announces it with a BOM is read rather than silently ignored (crawler-commons does too).
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        problems.append("file is UTF-16 (RFC 9309 §2.3 requires UTF-8); decoded as UTF-16")
        return data.decode("utf-16", errors="replace")
    for bom in (b"\xef\xbb\xbf", b"\xef\xbb", b"\xef"):
        if data.startswith(bom):
            data = data[len(bom):]
            break
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        problems.append(f"line {line}: bytes that are not UTF-8 (RFC 9309 §2.3); read as %-escapes of those "
                        "octets (§2.2.2)")
        # RFC 9309 §2.2.2: octets outside the allowed set are percent-encoded. A Latin-1 rule such
        # as "Disallow: /caf\xe9/" then reads "/caf%E9/" and matches the URL that carries those
        # octets (/caf%E9/x), as Google's parser does; U+FFFD would match no URL (fail open).
        # surrogateescape keeps each such octet as U+DC80-U+DCFF, turned into its escape here.
        text = data.decode("utf-8", errors="surrogateescape")
        return text.translate(_ESCAPED_OCTETS)


_ESCAPED_OCTETS = {0xDC00 + octet: f"%{octet:02X}" for octet in range(0x80, 0x100)}


def _problem(problems: list[str], text: str) -> None:
    if len(problems) < _MAX_PROBLEMS:
        problems.append(text)
    elif len(problems) == _MAX_PROBLEMS:
        problems.append("more problems not listed")


def _split_record(line: str) -> tuple[str, str] | None:
    """``(name, value)`` of a line without its comment, or ``None`` if it is no record."""
    name, colon, value = line.partition(":")
    if colon:
        name = name.strip(_WS).lower()
        if _RECORD_NAME.match(name):
            return _NAMES.get(name, name), value.strip(_WS)
    lowered = line.lower()
    for bare in _BARE_NAMES:
        if lowered.startswith(bare) and len(line) > len(bare) and line[len(bare)] in _WS:
            return _NAMES[bare], line[len(bare):].strip(_WS)
    return None


def _product_token(value: str) -> str:
    """The product token a user-agent value names (RFC 9309 §2.2.1, Figure 1).

    A value like ``ExampleBot/1.0`` or ``Foo Bar`` is not a valid token; as Google does, the
    leading run of token characters is used (``ExampleBot``, ``Foo``). ``*`` followed by anything
    after a space is still the catch-all group.
    """
    if value == "*" or value.startswith(("* ", "*\t")):
        return "*"
    return _TOKEN_PREFIX.match(value).group()  # type: ignore[union-attr]


def parse_robots(data: bytes) -> RobotsFile:
    """Parse robots.txt bytes. Never raises; see the module docstring."""
    problems: list[str] = []
    if not isinstance(data, (bytes, bytearray, memoryview)):
        return RobotsFile([], [], [], ["not bytes"])
    text = _decode(bytes(data), problems)
    lines = _EOL.split(text)
    if lines and lines[-1] == "":
        lines.pop()  # a final newline ends the last line; it does not start another
    groups: list[_RawGroup] = []
    current: _RawGroup | None = None
    global_records: list[RobotsLine] = []
    records: list[RobotsLine] = []
    for number, raw in enumerate(lines, 1):
        # Only space and tab are white space in the §2.2 grammar (w = %x20 / %x09): a rule ending
        # in a no-break space keeps it (str.strip() would take it, and the rule would change).
        body = raw.split("#", 1)[0].strip(_WS) if "#" in raw else raw.strip(_WS)
        if not body:
            continue
        split = _split_record(body)
        if split is None:
            _problem(problems, f"line {number}: not a robots.txt record: {raw.strip()[:80]!r}")
            continue
        name, value = split
        line = RobotsLine(number, name, value, raw)
        records.append(line)
        if name == "user-agent":
            if current is None or current.has_rules:
                current = _RawGroup()
                groups.append(current)
            token = _product_token(value)
            if token != value and token != "*":
                _problem(problems, f"line {number}: user-agent {value[:80]!r} is not a product token; read as {token!r}")
            if token:
                current.agents.append(token)
            continue
        if name in ("allow", "disallow"):
            if current is None:
                continue  # §2.2.2: rules before the first user-agent line are ignored
            current.has_rules = True
            if value and not value.startswith(("/", "*")):
                _problem(problems, f"line {number}: path {value[:80]!r} does not start with '/'; it matches no URL")
            current.rules.append(line)
        elif name in _GLOBAL_ONLY or current is None:
            global_records.append(line)
        else:
            current.records.append((line, len(current.agents)))
    robots = RobotsFile(groups, global_records, records, problems)
    robots.suspicious = _suspicious(text, records)
    return robots


_HTML_START = re.compile(r"\A[\s\ufeff]*<(?:!doctype\s+html|html|head|body|!--|\?xml)", re.IGNORECASE)


def _suspicious(text: str, records: list[RobotsLine]) -> str:
    """An error page served with status 200 parses to no rules and allows everything for a day
    (RFC-conformant: §2.2 keeps only the parseable lines); a reviewer should see it (issue 13).
    An empty file, or one of comments only, is a normal "no restrictions"."""
    if _HTML_START.match(text):
        return "an HTML document, not a robots.txt (an error page served with status 200?)"
    if not records and any(line.split("#", 1)[0].strip() for line in _EOL.split(text)):
        return "no valid robots.txt line"
    return ""


# --- reasons ---------------------------------------------------------------------------------


class RobotsPlan:
    """What :func:`robots_reasons` needs that depends only on (site file, policy, purpose), worked
    out once: a crawl decides thousands of URLs against one cached robots.txt, so per URL only the
    path matching is left (our group, then each distinct peer rule list once).

    ``fixed``: the whole answer when no path matching applies (no robots.txt consulted, unavailable,
    unreachable without a last good copy). Otherwise ``notes`` come first, then the rule reasons.
    """

    __slots__ = ("fixed", "crawlable", "notes", "robots", "evidence", "token", "own", "peers", "_own", "_peer")

    def __init__(self, site_file: SiteFile | None, policy: Policy, purpose: str) -> None:
        self.fixed: tuple[Reason, ...] | None = None
        self.crawlable = True
        self.notes: tuple[Reason, ...] = ()
        self._own: dict[int, Reason] = {}  # deciding rule index -> robots.disallowed reason
        self._peer: dict[tuple[int, int], tuple[Reason, ...]] = {}  # (bundle, rule) -> reasons
        if site_file is None:
            self.fixed = ()  # robots.txt was not consulted (e.g. an offline check)
            return
        status = site_file.status
        robots = site_file.parsed if isinstance(site_file.parsed, RobotsFile) else None
        evidence = site_file.evidence
        if status is SiteFileStatus.UNREACHABLE:
            error = site_file.error or "error"
            if robots is None:
                detail = f"robots.txt unreachable ({error}): complete disallow (RFC 9309 §2.3.1.4)"
                self.fixed = (Reason("robots.unreachable", "robots.txt", detail, Effect.DENY, evidence),)
                self.crawlable = False
                return
            if site_file.last_good is not None:
                evidence = site_file.last_good.evidence
            since = site_file.unreachable_since.isoformat() if site_file.unreachable_since else "long"
            detail = f"robots.txt unreachable ({error}) since {since}; the last good copy applies (RFC 9309 §2.3.1.4)"
            self.notes = (Reason("robots.unreachable", "robots.txt", detail, Effect.NOTE, site_file.evidence),)
        elif status is SiteFileStatus.UNAVAILABLE:
            detail = f"no robots.txt ({site_file.error or 'unavailable'}): no restrictions (RFC 9309 §2.3.1.3)"
            self.fixed = (Reason("robots.unavailable", "robots.txt", detail, Effect.NOTE, evidence),)
            return
        elif robots is None:
            robots = parse_robots(site_file.body)
        self.robots = robots
        self.evidence = evidence
        if robots.suspicious and status is SiteFileStatus.PARSED:
            detail = f"robots.txt is {robots.suspicious}: read as no rules (RFC 9309 §2.2), so nothing is disallowed"
            self.notes = (*self.notes, Reason("robots.suspicious", "robots.txt", detail, Effect.NOTE, evidence))
        self.token = policy.crawler.product_token
        # decide(path) of each group: (allowed, rule index) or None; "/robots.txt" is handled first.
        own = robots.group_for(self.token)
        self.own = (own, own.matcher().decide)
        peers = policy.peer_tokens
        self.peers = ()
        if peers and covers("peer-token", "*", purpose):
            self.peers = tuple(
                (number, representative.matcher().decide, representative, members)
                for number, (representative, members) in enumerate(robots._peer_plan(peers))
            )

    def reasons(self, target: Target) -> tuple[list[Reason], bool]:
        if self.fixed is not None:
            return list(self.fixed), self.crawlable
        reasons = list(self.notes)
        path = canonical_path(target.path)
        if path == "/robots.txt":
            return reasons, True  # §2.2.2: "The /robots.txt URI is implicitly allowed"
        ok = True
        decided = self.own[1](path)
        if decided is not None and not decided[0]:
            ok = False
            reason = self._own.get(decided[1])
            if reason is None:
                reason = self._own[decided[1]] = self._own_reason(decided[1])
            reasons.append(reason)
        for number, decide, representative, members in self.peers:
            decided = decide(path)
            if decided is not None and not decided[0]:
                found = self._peer.get((number, decided[1]))
                if found is None:
                    found = self._peer[number, decided[1]] = self.robots._peer_reasons(
                        self.evidence, representative, decided[1], members)
                reasons.extend(found)
        return reasons, ok

    def _own_reason(self, index: int) -> Reason:
        token = self.token
        line = self.own[0].rules[index]
        cite = line.cite()
        return self.robots._reason(self.evidence, "robots.disallowed", token, line,
                                   lambda: f"robots.txt disallows this URL for {token}: {cite}")


def robots_reasons(
    target: Target, site_file: SiteFile | None, policy: Policy, purpose: str
) -> tuple[list[Reason], bool]:
    """The robots reasons for ``target`` and whether our own group lets us crawl it.

    For many URLs of one origin, build a :class:`RobotsPlan` once and call its ``reasons``
    (core/evaluate.py does); this is the same answer for a single URL.
    """
    parsed = site_file.parsed if site_file is not None else None
    if not isinstance(parsed, RobotsFile):
        return RobotsPlan(site_file, policy, purpose).reasons(target)
    # Callers deciding URL after URL of one origin get the plan back from the parsed file; the
    # entry holds the site file and policy themselves, so a reused id() never finds it.
    key = (id(site_file), id(policy), purpose)
    cached = parsed._plans.get(key)
    if cached is None or cached[0] is not site_file or cached[1] is not policy:
        if len(parsed._plans) >= 8:
            parsed._plans.clear()
        cached = parsed._plans[key] = (site_file, policy, RobotsPlan(site_file, policy, purpose))
    return cached[2].reasons(target)
