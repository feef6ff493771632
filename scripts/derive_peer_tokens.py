#!/usr/bin/env python3
"""Derive the default peer AI-training crawler tokens from the ai-robots-txt list.

    python scripts/derive_peer_tokens.py            # rewrites src/copyright_guard/data/peer_tokens.json
    python scripts/derive_peer_tokens.py --check    # exit 1 if the bundled file is out of date

Input: tests/data/ai_robots_txt/robots.json (github.com/ai-robots-txt/ai.robots.txt, MIT).
A robots.txt block for one of these tokens is read as a rights reservation against AI training
(README "Peer AI crawler tokens"). The rule (RULE below) keeps crawlers that collect data for
training and leaves out crawlers that fetch for a user, an agent or a search index: a block aimed
at those says nothing about training.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SOURCE = ROOT / "tests" / "data" / "ai_robots_txt"
TARGET = ROOT / "src" / "copyright_guard" / "data" / "peer_tokens.json"

RULE = (
    "ai-robots-txt robots.json entries whose key is a valid RFC 9309 product token ([A-Za-z_-]+) and "
    "whose function is 'AI Data Scrapers' or whose function/description mentions training, LLMs, "
    "language models, datasets or machine learning; minus entries whose function is an assistant, "
    "agent, coding agent or search crawler, or whose text says it fetches for users or on user "
    "prompts; plus the vendor training tokens Google-Extended and Applebot-Extended. "
    "Case-insensitive duplicates are kept once."
)

_TOKEN = re.compile(r"[A-Za-z_-]+")
_TRAINING = re.compile(
    r"\btrain(?:s|ed|ing)?\b|\bllms?\b|language models?|\bdatasets?\b|data sets?|machine learning",
    re.IGNORECASE,
)
_NOT_TRAINING_FUNCTIONS = frozenset(
    {"ai assistants", "ai agents", "ai coding agents", "ai search crawlers", "undocumented ai agents"}
)
_USER_TRIGGERED = re.compile(
    r"user[- ]initiated|user prompts|on behalf of (?:its )?users|when users ask|upon user request|user actions",
    re.IGNORECASE,
)
VENDOR_TRAINING_TOKENS = ("Google-Extended", "Applebot-Extended")


def is_peer(token: str, entry: dict) -> bool:
    if not _TOKEN.fullmatch(token):
        return False
    function = str(entry.get("function", "")).strip()
    text = f"{function} {entry.get('description', '')}"
    if function.lower() in _NOT_TRAINING_FUNCTIONS or _USER_TRIGGERED.search(text):
        return False
    return function.lower().startswith("ai data scraper") or bool(_TRAINING.search(text))


def derive(entries: dict, source: str) -> dict:
    chosen: dict[str, str] = {}
    for token, entry in entries.items():
        if is_peer(token, entry):
            chosen.setdefault(token.lower(), token)
    for token in VENDOR_TRAINING_TOKENS:
        chosen.setdefault(token.lower(), token)
    return {"source": source, "rule": RULE, "tokens": sorted(chosen.values(), key=str.lower)}


def source_label() -> str:
    readme = (SOURCE / "README.txt").read_text("utf-8")
    commit = re.search(r"Commit\s*:\s*([0-9a-f]{7,40})\s*\(([^;)]*)", readme)
    where = "github.com/ai-robots-txt/ai.robots.txt robots.json"
    return f"{where} @ {commit.group(1)} ({commit.group(2).strip()})" if commit else where


def render() -> str:
    entries = json.loads((SOURCE / "robots.json").read_text("utf-8"))
    return json.dumps(derive(entries, source_label()), indent=2, ensure_ascii=False) + "\n"


def main(argv: list[str]) -> int:
    text = render()
    if "--check" in argv:
        if TARGET.read_text("utf-8") != text:
            print(f"{TARGET} is out of date: run python scripts/derive_peer_tokens.py", file=sys.stderr)
            return 1
        return 0
    TARGET.write_text(text, "utf-8")
    print(f"wrote {len(json.loads(text)['tokens'])} tokens to {TARGET.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
