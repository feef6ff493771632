"""Deciding many URLs in one process (``copyright-guard check --urls FILE``).

Each URL gets exactly what ``check URL`` gives it (:func:`check_url`: the same fetch state machine
and decision code as the crawler). What a batch saves is everything around it: the process and
its imports once, the exclusion lists once, and each origin's site-wide files (robots.txt,
tdmrep.json, ai.txt, RSL licences) once - all URLs of an origin are decided by one worker with one
:class:`SiteFetcher`, in input order. Origins are decided concurrently, by at most ``concurrency``
workers, each with its own HTTP client (connections are reused within an origin).

Bounded: the list is read whole but capped (:data:`MAX_URLS_BYTES`, :data:`MAX_URLS`), at most
``concurrency`` origins are in flight, and results leave through a queue as they are made.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timezone

from ..core.lists.exclusions import ExclusionIndex
from ..core.policy import Policy
from ..core.urls import URLError, parse_target
from .page import CheckResult, check_url
from .site import SiteFetcher, Transport

MAX_URLS_BYTES = 64 << 20  # 64 MiB: about a million URLs
MAX_URLS = 1_000_000
MAX_CONCURRENCY = 64


class URLListError(ValueError):
    """The URL list cannot be used. ``str()`` is one line."""


@dataclass(frozen=True, slots=True)
class ListedURL:
    line: int  # 1-based line of the list file
    url: str


@dataclass(frozen=True, slots=True)
class BatchResult:
    line: int
    result: CheckResult

    def as_dict(self) -> dict:
        return {"line": self.line, **self.result.as_dict()}


def parse_url_list(raw: bytes, name: str) -> list[ListedURL]:
    """One URL a line; blank lines and lines starting with ``#`` are skipped. A URL that is not an
    absolute http(s) URL stays in the list: its decision is a recorded ``url.invalid`` deny, as in
    the crawler, so every line of the list gets an answer."""
    if len(raw) > MAX_URLS_BYTES:
        raise URLListError(f"{name}: more than {MAX_URLS_BYTES:,} bytes: split the list")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise URLListError(f"{name}: not UTF-8 text (byte {exc.start}); save the list as UTF-8") from None
    urls = []
    for number, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        urls.append(ListedURL(number, line))
        if len(urls) > MAX_URLS:
            raise URLListError(f"{name}: more than {MAX_URLS:,} URLs: split the list")
    if not urls:
        raise URLListError(f"{name}: no URLs (one absolute http(s) URL a line)")
    return urls


def _by_origin(urls: list[ListedURL]) -> list[list[ListedURL]]:
    groups: dict[str, list[ListedURL]] = {}
    for listed in urls:
        try:
            key = parse_target(listed.url).origin
        except URLError:
            key = ""  # decided without any request (url.invalid)
        groups.setdefault(key, []).append(listed)
    return list(groups.values())


def check_many(
    urls: list[ListedURL],
    policy: Policy,
    make_transport: Callable[[], Transport],
    *,
    purpose: str | None = None,
    exclusions: ExclusionIndex | None = None,
    fetch_page: bool = True,
    concurrency: int = 8,
    clock: Callable[[], datetime] = lambda: datetime.now(timezone.utc),
) -> Iterator[BatchResult]:
    """Yield a :class:`BatchResult` per URL as it is decided (origins interleave; within an origin,
    input order). An exception in a worker (a bug: HTTP failures are file states) is re-raised
    here once the other workers have stopped, never swallowed."""
    if not 1 <= concurrency <= MAX_CONCURRENCY:
        raise ValueError(f"concurrency must be between 1 and {MAX_CONCURRENCY}")
    results: queue.Queue = queue.Queue(maxsize=1000)  # bounded: workers wait for a slow reader
    local = threading.local()
    transports: list[Transport] = []
    lock = threading.Lock()
    stop = threading.Event()
    done = object()

    def transport() -> Transport:
        if not hasattr(local, "transport"):
            local.transport = make_transport()
            with lock:
                transports.append(local.transport)
        return local.transport

    def decide_origin(group: list[ListedURL]) -> None:
        fetcher = None
        for listed in group:
            if stop.is_set():
                return
            client = transport()
            fetcher = fetcher or SiteFetcher(policy, client, exclusions=exclusions)
            result = check_url(listed.url, policy, client, now=clock(), purpose=purpose, exclusions=exclusions,
                               fetch_page=fetch_page, fetcher=fetcher)
            results.put(BatchResult(listed.line, result))

    groups = _by_origin(urls)
    pool = ThreadPoolExecutor(max_workers=min(concurrency, len(groups)), thread_name_prefix="check")
    futures = [pool.submit(decide_origin, group) for group in groups]
    waiter = threading.Thread(target=lambda: ([f.exception() for f in futures], results.put(done)), daemon=True)
    waiter.start()
    try:
        while (item := results.get()) is not done:
            yield item
        for future in futures:
            if future.exception() is not None:
                raise future.exception()
    finally:
        stop.set()
        while waiter.is_alive():  # let blocked workers finish their put() and stop
            try:
                results.get(timeout=0.1)
            except queue.Empty:
                pass
        pool.shutdown(wait=True)
        for client in transports:
            close = getattr(client, "close", None)
            if close is not None:
                close()
