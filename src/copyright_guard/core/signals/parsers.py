"""Which pure parser reads which site-wide file, and where that file lives on an origin.

The fetch layer looks parsers up here, so adding a site-wide source is one entry.
Each parser takes the raw bytes (already cut to ``policy.cache.max_bytes``) and never raises:
a malformed file becomes a parsed object that records what it could not read.
"""

from __future__ import annotations

from typing import Callable

SITE_FILE_PATHS: dict[str, str] = {
    "robots.txt": "/robots.txt",
    "tdmrep.json": "/.well-known/tdmrep.json",
    "ai.txt": "/ai.txt",
    # "rsl" licences live at the URLs robots.txt License: lines (or Link headers) name.
}


def parser_for(kind: str) -> Callable[[bytes], object]:
    if kind == "robots.txt":
        from ..robots.rules import parse_robots

        return parse_robots
    if kind == "tdmrep.json":
        from .tdmrep import parse_tdmrep_file

        return parse_tdmrep_file
    if kind == "ai.txt":
        from .ai_txt import parse_ai_txt

        return parse_ai_txt
    if kind == "rsl":
        from .rsl import parse_rsl

        return parse_rsl
    raise KeyError(f"no parser for site-wide file kind {kind!r}")
