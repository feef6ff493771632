"""`recheck --no-fetch` decides an origin's URLs at once when the origin alone decides (no site-wide
files): each URL must get exactly the decision evaluate() makes for it on its own."""

from __future__ import annotations

from datetime import datetime, timezone

from copyright_guard.core.evaluate import EMPTY_SITE, evaluate, host_decides
from copyright_guard.core.lists.exclusions import ExclusionEntry, ExclusionIndex, normalise_entry
from copyright_guard.core.policy import load_policy
from copyright_guard.rechecker import _Chunk, _lists_only

NOW = datetime(2026, 12, 1, tzinfo=timezone.utc)
URLS = [
    "https://news.example/a", "https://news.example/b?x=1", "https://NEWS.example:443/c/../d", "https://news.example/%7Ee",
    "http://news.example/a",  # another origin (scheme)
    "https://bad.example/a", "https://www.bad.example/b", "https://bad.example/c",  # listed domain
    "http://127.0.0.9:8080/a", "http://127.0.0.9:8080/b", "http://[::ffff:127.0.0.9]:8080/c",
    "not a url", "https://news.example/z",
    # spelled otherwise than their origin's text: each is parsed in full, never taken as written
    "https://news.example:443/y", "https://news.example./x", "https://news.example.evil/x",
    "https://news.example@bad.example/x", "https://news.example/a b", "https://news.example/\x01",
    "https://news.example#frag", "https://news.example?q", "https://news.example/ok",
]


def _entry(text: str) -> ExclusionEntry:
    value, kind = normalise_entry(text)
    return ExclusionEntry("court-orders", 1, value, kind, authority="A court", jurisdiction="FR", reference="case 7")


def test_an_origin_decided_at_once_gets_what_each_url_gets_alone():
    policy = load_policy()
    exclusions = ExclusionIndex([_entry("bad.example"), _entry("127.0.0.9")])
    assert host_decides(EMPTY_SITE, policy, "train-ai")
    groups = [(purpose, url, []) for url in URLS for purpose in ("train-ai", "search")]
    decided = _lists_only(policy, exclusions, NOW)(_Chunk("mixed", None, groups))
    for (purpose, url, _), [decision] in zip(groups, decided):
        alone = evaluate(url, policy, now=NOW, site=EMPTY_SITE, exclusions=exclusions, purpose=purpose)
        assert decision == alone, url
    # bad.example x3 and once behind user info, the address x3, "not a url" and a control character
    assert sum(not d.allowed for [d] in decided) == 2 * 9
