"""What both bundled spiders share: reading a seed file and turning a response into an item."""

from __future__ import annotations

import hashlib

from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from scrapy.http import Response, TextResponse

from ..core.files import InputFileError, read_input_file
from ..core.urls import URLError, parse_target


class SeedError(ValueError):
    """A seed file or seed argument is unusable. ``str()`` is one line."""


MAX_SEED_FILE_BYTES = 64 << 20  # 64 MiB: about a million seed URLs


def read_seeds(seeds: str | None = None, urls: str | None = None) -> list[str]:
    """Seeds from a file (one URL per line; blank lines and ``#`` comments skipped) and/or a
    comma-separated ``urls`` argument. Every seed must be an absolute http(s) URL."""
    found: list[str] = []
    if seeds:
        path = Path(seeds)
        try:
            # A regular file only (a FIFO or /dev/zero must not hang the start-up), read with a bound.
            raw = read_input_file(path, MAX_SEED_FILE_BYTES, "seed file")
        except InputFileError as exc:
            raise SeedError(str(exc)) from None
        if len(raw) > MAX_SEED_FILE_BYTES:
            raise SeedError(f"{path}: more than {MAX_SEED_FILE_BYTES:,} bytes: split the seeds into several crawls")
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise SeedError(f"{path}: cannot read seed file: {exc}") from None
        for number, line in enumerate(text.splitlines(), 1):
            line = line.split("#", 1)[0].strip()
            if line:
                found.append(_checked(line, f"{path} line {number}"))
    if urls:
        found.extend(_checked(url.strip(), "urls") for url in urls.split(",") if url.strip())
    if not found:
        raise SeedError("no seeds: give -a seeds=FILE (one URL per line) or -a urls=URL,URL")
    return list(dict.fromkeys(found))


def _checked(url: str, where: str) -> str:
    try:
        target = parse_target(url)
    except URLError as exc:
        raise SeedError(f"{where}: {url!r} is not a usable seed: {exc}") from None
    if has_credentials(url):
        # user:password@host: the crawler sends no credentials (README "no circumvention"), and
        # Scrapy's downloader cannot fetch such a URL at all (it fails with a logged traceback).
        raise SeedError(f"{where}: {url!r} is not a usable seed: it carries user:password@ credentials, "
                        f"which are never sent; give {target.origin} URLs without them")
    return url


def has_credentials(url: str) -> bool:
    """Does ``url`` carry ``user[:password]@`` - credentials the crawler never sends?"""
    try:
        return "@" in urlsplit(url).netloc
    except ValueError:
        return False


def site_of(url: str) -> str | None:
    """The site a link belongs to: its registered domain (an IP address is its own site)."""
    try:
        return parse_target(url).registered_domain
    except URLError:
        return None


def page_item(response: Response) -> dict[str, Any]:
    """A dataset row for one collected response. ``copyright_guard_decision_id`` is filled in by
    the add-on's ProvenanceMiddleware (the id of the decision that let this response through)."""
    content_type = (response.headers.get(b"Content-Type") or b"").decode("latin-1")
    item: dict[str, Any] = {
        "url": response.url,
        "status": response.status,
        "content_type": content_type.split(";", 1)[0].strip().lower(),
        "length": len(response.body),
        # The body's sha256, as the post-fetch decision recorded it (its content.sha256): ties this
        # row to its decision without the URL (docs/proof-of-collection.md).
        "sha256": hashlib.sha256(response.body).hexdigest(),
        "copyright_guard_decision_id": None,
    }
    if isinstance(response, TextResponse):
        item["title"] = (response.css("title::text").get() or "").strip()
        item["text"] = " ".join(t.strip() for t in response.css("body *::text").getall() if t.strip())[:20_000]
    return item
