"""Spawning ``/ai.txt``: a robots.txt-style opt-out of AI datasets, by path or file-type glob.

No formal spec exists (reference/protocols.md §5). Spawning's generator writes ``User-agent: *``
followed by ``Disallow: *.jpg`` style globs, and ``Disallow: *`` plus ``Disallow: /`` for a global
opt-out. We evaluate the file as robots.txt (RFC 9309 §2.2) for the user agent ``*``:

- only groups naming ``*`` apply (merged); rules before any ``User-agent`` line also count, because
  hand-written ai.txt files often omit the line (deviation from RFC 9309 §2.2.2, documented);
- a rule is an RFC 9309 path pattern, so the glob ``*.jpg`` matches ``.jpg`` anywhere in the path
  (``/a/b.jpg``, ``/b.jpg?w=2``, and also ``/b.jpgx``); a pattern that does not start with ``/``
  or ``*`` is read from the root (``images/`` = ``/images/``);
- the longest match wins, ties go to Allow; no match means no statement.

Real files mix comments, invented fields and prose: such lines are kept in ``problems`` and never
raise; a file with content but no readable rule is reported as unreadable.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from ..model import Evidence, Signal, Value
from ..robots.patterns import path_of
from ..robots.match import GroupMatcher, canonical_path

VOCABULARY = "ai-txt"
_RULES = {"allow", "disallow"}
_AGENT = {"user-agent", "useragent", "user agent"}


@dataclass(frozen=True, slots=True)
class AiTxtRule:
    number: int  # line number, 1-based
    allow: bool
    pattern: str  # as read from the root (path_of)
    raw: str

    def cite(self) -> str:
        return f"ai.txt line {self.number}: {self.raw}"


@dataclass(frozen=True)
class AiTxtFile:
    rules: tuple[AiTxtRule, ...] = ()  # the rules that apply to user agent "*"
    problems: tuple[str, ...] = ()
    content_lines: int = 0  # non-blank, non-comment lines

    _matcher: GroupMatcher = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # The robots.txt matcher itself: longest match wins, Allow wins ties (RFC 9309 §2.2.2).
        object.__setattr__(self, "_matcher", GroupMatcher([(r.allow, r.pattern, r) for r in self.rules]))

    def decide(self, path: str) -> AiTxtRule | None:
        """The deciding rule for a match path (longest match, Allow wins ties), or None."""
        decided = self._matcher.decide(canonical_path(path))
        return None if decided is None else decided[1]  # type: ignore[return-value]


def parse_ai_txt(data: bytes) -> AiTxtFile:
    """Parse an ai.txt body. Never raises."""
    text = data.decode("utf-8", "replace").lstrip("\ufeff")
    rules: list[AiTxtRule] = []
    problems: list[str] = []
    content = 0
    applies = True  # before any User-agent line (lenient, see module docstring)
    in_agents = False  # inside a run of consecutive User-agent lines
    for number, line in enumerate(text.splitlines(), start=1):
        raw = line.split("#", 1)[0].strip()
        if not raw:
            continue
        content += 1
        name, sep, value = raw.partition(":")
        name, value = name.strip().lower(), value.strip()
        if not sep:
            problems.append(f"line {number}: not a 'field: value' line: {raw[:80]!r}")
            continue
        if name in _AGENT:
            applies = (applies and in_agents) or value == "*"
            in_agents = True
            continue
        in_agents = False
        if name not in _RULES:
            problems.append(f"line {number}: unknown field {name[:40]!r}")
            continue
        if not value or not applies:
            continue  # "Disallow:" with no path allows everything (RFC 9309 §2.2.2)
        rules.append(AiTxtRule(number, name == "allow", path_of(value), raw))
    return AiTxtFile(tuple(rules), tuple(problems), content)


def file_signals(ai_txt: AiTxtFile, path: str, make_evidence: Callable[[str], Evidence]) -> list[Signal]:
    """Signals from a parsed ai.txt for ``path``."""
    if not ai_txt.rules and ai_txt.problems:
        shown = "; ".join(ai_txt.problems[:5])
        return [Signal("ai.txt", VOCABULARY, "disallow", Value.UNKNOWN, make_evidence("ai.txt"),
                       scope="origin", detail=f"ai.txt has no readable rule: {shown}")]
    rule = ai_txt.decide(path)
    if rule is None:
        return []
    value = Value.ALLOWED if rule.allow else Value.RESERVED
    return [Signal("ai.txt", VOCABULARY, "disallow", value, make_evidence(rule.cite()), scope="path",
                   detail=f"ai.txt ({rule.raw}) {'allows' if rule.allow else 'opts out of'} AI use of {path[:200]}")]
