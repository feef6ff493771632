"""Re-check what was collected, before training: ``copyright_guard.recheck(...)`` and the purge list.

For every URL collected in the selection (post-fetch allows), decide again - with the policy
recorded for the run that collected it (or one given), against the exclusion lists in force now
and the upheld complaints, and, with ``fetch``, against freshly fetched site-wide files. The
decision code is the one the crawl and ``copyright-guard check`` use (``fetch.page.check_url``:
exclusion lists first, so a newly listed origin gets no request of any kind; then robots.txt and
the files it calls for, through the same fetch state machine and limits, fail closed). With
``pages`` the page itself is fetched again and its headers and embedded metadata re-read.

Each URL is decided once, however many times it was collected; every re-decision is recorded in
the audit log as a decision of stage ``recheck``, in a run of its own (spider ``recheck``), with
the same evidence model as the crawl. An item whose URL is now denied is *withdrawn*: it is one row
of the purge list, keyed by the content sha256 a dataset holds.

Site-wide files are fetched once per origin and policy; origins are worked on concurrently
(``concurrency`` threads, one task of at most CHUNK_URLS URLs of one origin each at a time), URLs
of one origin in order. The selection is streamed from the database sorted by origin and URL, so
nothing is held but the tasks in flight and the results whose re-decisions are not yet committed:
a result is yielded only once its re-decision is in the audit log (log first, then act).
"""

from __future__ import annotations

import csv
import json
import logging
import threading
from collections import Counter, deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, NamedTuple

from sqlalchemy.engine import Engine

from .core.evaluate import EMPTY_SITE, evaluate, host_decides
from .core.lists.exclusions import ExclusionIndex
from .core.model import Decision, Effect, new_decision
from .core.policy import Policy
from .core.urls import URLError, is_plain_url, parse_target
from .core.content import ContentFacts, etag_of, last_modified_of
from .core.withdrawal import UpheldComplaints, recheck_decision, unchanged_page_decision
from .store.collected import (
    CollectedItem,
    collected_items,
    collected_policies,
    run_policies,
    unknown_runs,
    upheld_targets,
)
from .store.chain import format_time
from .store.db import StoreError

log = logging.getLogger(__name__)

__all__ = ["PURGE_FIELDS", "PurgeSummary", "RecheckResult", "recheck", "write_purge_list"]

# The purge list's columns, in order (docs/recheck.md documents each; a stable contract).
PURGE_FIELDS = ("decision_id", "run_id", "url", "registered_domain", "collected_at", "content_sha256",
                "content_bytes", "media_type", "modality", "reason_codes", "recheck_decision_id", "evidence")


class RecheckResult(NamedTuple):
    """One collected item and the decision made on its URL now (a tuple: one is made per item)."""

    item: CollectedItem
    decision: Decision
    decision_id: str | None  # the recheck decision's id in the audit log (None when not recorded)

    @property
    def withdrawn(self) -> bool:
        return not self.decision.allowed

    @property
    def reason_codes(self) -> list[str]:
        codes: list[str] = []
        for reason in self.decision.reasons:
            if reason.effect is Effect.DENY and reason.code not in codes:
                codes.append(reason.code)
        return codes

    def purge_row(self) -> dict[str, Any]:
        """The purge-list record (PURGE_FIELDS); ``evidence`` is the first denying reason's evidence:
        where it was found and the sha256 of the bytes (``audit evidence SHA256`` shows them)."""
        item = self.item
        deciding = next((r for r in self.decision.reasons if r.effect is Effect.DENY), None)
        evidence = None
        if deciding is not None and deciding.evidence is not None:
            found = deciding.evidence
            evidence = {"location": found.location or None, "url": found.url, "sha256": found.sha256}
        return {
            "decision_id": item.decision_id, "run_id": item.run_id, "url": item.url,
            "registered_domain": item.registered_domain, "collected_at": item.collected_at,
            "content_sha256": item.content_sha256, "content_bytes": item.content_bytes,
            "media_type": item.media_type, "modality": item.modality, "reason_codes": self.reason_codes,
            "recheck_decision_id": self.decision_id, "evidence": evidence,
        }


@dataclass
class PurgeSummary:
    """Counts for the person running the recheck: items and bytes to purge per domain and reason."""

    items: int = 0
    urls: int = 0
    withdrawn_items: int = 0
    withdrawn_bytes: int = 0
    unknown_content: int = 0  # withdrawn items recorded before content hashes existed (revision 0005)
    by_domain: Counter = field(default_factory=Counter)  # domain -> items
    bytes_by_domain: Counter = field(default_factory=Counter)
    by_reason: Counter = field(default_factory=Counter)  # code -> items
    bytes_by_reason: Counter = field(default_factory=Counter)
    run_ids: list[str] = field(default_factory=list)  # the recheck runs recorded
    fetched_origins: int = 0

    def add(self, result: RecheckResult, new_url: bool) -> None:
        self.items += 1
        self.urls += new_url
        if not result.withdrawn:
            return
        size = result.item.content_bytes or 0
        self.withdrawn_items += 1
        self.withdrawn_bytes += size
        self.unknown_content += result.item.content_sha256 is None
        self.by_domain[result.item.registered_domain] += 1
        self.bytes_by_domain[result.item.registered_domain] += size
        for code in result.reason_codes:
            self.by_reason[code] += 1
            self.bytes_by_reason[code] += size

    def as_dict(self) -> dict:
        return {
            "items_checked": self.items, "urls_checked": self.urls, "items_to_purge": self.withdrawn_items,
            "bytes_to_purge": self.withdrawn_bytes, "items_without_content_hash": self.unknown_content,
            "by_domain": [{"domain": d, "items": n, "bytes": self.bytes_by_domain[d]} for d, n in self.by_domain.most_common()],
            "by_reason": [{"reason": r, "items": n, "bytes": self.bytes_by_reason[r]} for r, n in self.by_reason.most_common()],
            "recheck_runs": self.run_ids, "origins_fetched": self.fetched_origins,
        }


def recheck(
    engine: Engine,
    *,
    run_ids: Sequence[str] = (),
    crawl: str | None = None,
    since: str | datetime | None = None,
    until: str | datetime | None = None,
    policy: Policy | None = None,
    purpose: str | None = None,
    fetch: bool = True,
    pages: bool = False,
    concurrency: int = 8,
    transport: Any = None,
    record: bool = True,
    now: datetime | None = None,
    summary: PurgeSummary | None = None,
) -> Iterator[RecheckResult]:
    """Decide again on every item collected in the selection; yields one result per item, grouped
    by URL and origin. See the module docstring. ``transport`` (fetch.http.HttpxTransport by default) moves
    the bytes when ``fetch``; ``record`` writes each re-decision to the audit log (stage
    ``recheck``, one run per policy) and then yields a result only once its re-decision is
    committed (log first, then act: a pipeline never acts on an unrecorded withdrawal).
    ``summary`` is filled in as results are yielded.

    ``since`` (inclusive) and ``until`` (exclusive) select by collection time: a datetime, or
    stored-time text. Raises :class:`~copyright_guard.store.db.StoreError` (one line) for an unknown run or a policy
    that cannot be read back; network failures are site-file states, never exceptions.
    """
    now = now or datetime.now(timezone.utc)
    since, until = (format_time(t) if isinstance(t, datetime) else t for t in (since, until))
    summary = summary if summary is not None else PurgeSummary()
    missing = unknown_runs(engine, run_ids)
    if missing:
        raise StoreError(f"no run {missing[0]!r} in the audit database (see `audit runs`)")
    if crawl is not None and not _crawl_known(engine, crawl):
        raise StoreError(f"no run of crawl {crawl!r} in the audit database (see `audit runs`)")
    selection = {"run_ids": run_ids, "crawl": crawl, "since": since, "until": until}
    # Every policy is read back before any work, so a bad one fails the recheck at once.
    policies = ({policy.hash: policy} if policy is not None
                else run_policies(engine, collected_policies(engine, **selection)))
    upheld = UpheldComplaints(upheld_targets(engine))
    for policy_hash, chosen in policies.items():
        # Streamed in origin and URL order: one origin's URLs come together (its site-wide files
        # are fetched once), one URL's items too (it is decided once); nothing is held but the
        # results not yet committed.
        items = collected_items(engine, **selection, policy_hash=None if policy is not None else policy_hash,
                                by_url=True)
        with _transport(chosen, transport if fetch else False) as moving:
            yield from _recheck_policy(engine, chosen, items, upheld, purpose=purpose, fetch=fetch, pages=pages,
                                       concurrency=concurrency, transport=moving, record=record, now=now,
                                       summary=summary)


@contextmanager
def _transport(policy: Policy, given: Any) -> Iterator[Any]:
    """The transport for one policy's requests: the one given, none without fetching (``False``),
    else an HttpxTransport as `check` makes it - the policy's bound on content codings, and its Web
    Bot Auth signer when it names a signing key (a key that cannot be read is a StoreError-style
    one-line error: sign as the crawl did, or not at all)."""
    if given is not None:
        yield given or None
        return
    from .fetch.http import HttpxTransport
    from .webbotauth import SigningKeyError, signer_for_policy

    try:
        signer = signer_for_policy(policy)
    except SigningKeyError as exc:
        raise StoreError(f"{exc} (the recheck signs its requests as the crawl did: give --policy FILE "
                         "to name the key file)") from None
    with HttpxTransport(signer=signer, max_codings=policy.cache.max_content_codings) as transport:
        yield transport


# URLs decided in one task: an origin's URLs are split into tasks of at most this many, so a
# collection of millions of pages from one site is never held whole.
CHUNK_URLS = 1000

URLGroup = tuple[str, str, list[CollectedItem]]  # (purpose, url, the items collected from it)


@dataclass(slots=True)
class _Chunk:
    """Consecutive URLs of one origin, decided in one task."""

    name: str  # the origin (as recorded with the items)
    origin: _Origin | None  # shared by the chunks of one origin (fetching only)
    groups: list[URLGroup]


class _Origin:
    """One origin's site-wide file fetcher, shared by its chunks; the lock makes the first URL of
    each chunk wait for the files the first chunk fetched (one fetch per file and origin)."""

    __slots__ = ("fetcher", "lock")

    def __init__(self, fetcher) -> None:
        self.fetcher = fetcher
        self.lock = threading.Lock()


def _chunks(items: Iterable[CollectedItem], purpose: str | None, new_origin: Callable[[], Any]) -> Iterator[_Chunk]:
    """Group items sorted by origin, URL and purpose into URLs, and URLs into chunks of one origin."""
    chunk: _Chunk | None = None
    group: URLGroup | None = None
    for item in items:
        wanted = purpose or item.purpose
        if group is not None and group[1] == item.url and group[0] == wanted:
            group[2].append(item)
            continue
        if chunk is None or chunk.name != item.origin:
            if chunk is not None:
                yield chunk
            chunk = _Chunk(item.origin, new_origin(), [])
        elif len(chunk.groups) >= CHUNK_URLS:
            yield chunk
            chunk = _Chunk(chunk.name, chunk.origin, [])
        group = (wanted, item.url, [item])
        chunk.groups.append(group)
    if chunk is not None:
        yield chunk


def _recheck_policy(engine, policy: Policy, items: Iterable[CollectedItem], upheld: UpheldComplaints, *, purpose,
                    fetch, pages, concurrency, transport, record, now, summary) -> Iterator[RecheckResult]:
    from .store.lists import load_exclusion_index

    exclusions = load_exclusion_index(engine, policy.exclusions.lists or None)
    if fetch:
        decide, new_origin = _fetching(engine, policy, transport, exclusions, pages, now, summary)
    else:
        decide, new_origin = _lists_only(policy, exclusions, now), lambda: None
    chunks = _chunks(items, purpose, new_origin)
    with _recording(engine, policy, exclusions, record, now, summary) as recorder:
        for chunk, decided in _decided(decide, chunks, concurrency if fetch else 0):
            for (wanted, url, collected), decisions in zip(chunk.groups, decided):
                target = _target(url) if upheld else None
                extra = upheld.reasons(target) if target is not None else []
                decision = recheck_decision(url, decisions, extra, policy_hash=policy.hash, purpose=wanted, now=now)
                decision_id = recorder.submit(decision)
                recorder.hold([RecheckResult(item, decision, decision_id) for item in collected])
            yield from _counted(recorder.committed(), summary)
        yield from _counted(recorder.rest(), summary)


def _counted(batches: Iterable[list[RecheckResult]], summary: PurgeSummary) -> Iterator[RecheckResult]:
    for results in batches:
        first = True
        for result in results:
            summary.add(result, first)
            first = False
            yield result


class _Recorder:
    """Records re-decisions and holds their results back until the writer has committed them."""

    def __init__(self, writer=None) -> None:
        self.writer = writer
        self.counts: Counter = Counter()
        self._held: deque[list[RecheckResult]] = deque()  # one URL's results each, oldest first
        self._taken = 0  # URLs' results handed out so far
        self._marks: deque[int] = deque()  # URLs held in all (taken + len(_held)) at each after_commit request
        self._released = 0  # after_commit requests answered (in order: the writer releases a prefix)
        self._error: StoreError | None = None

    def submit(self, decision: Decision) -> str | None:
        if self.writer is None:
            return None
        self.counts[decision.verdict._value_] += 1  # _value_: no descriptor call per URL
        return self.writer.submit(decision)

    def hold(self, results: list[RecheckResult]) -> None:
        self._held.append(results)

    def committed(self) -> Iterator[list[RecheckResult]]:
        """The results whose decisions are committed (all of them when nothing is recorded)."""
        if self.writer is None:
            while self._held:
                yield self._held.popleft()
            return
        held = self._taken + len(self._held)
        if held > (self._marks[-1] if self._marks else self._taken):
            # Rides on the writer's regular commits (not urgent): batches stay large.
            self._marks.append(held)
            self.writer.after_commit(self._answered, urgent=False)
        yield from self._take()

    def rest(self) -> Iterator[list[RecheckResult]]:
        """Everything held, once committed (waits for the last commit)."""
        if self.writer is not None and self._held:
            done = threading.Event()
            self._marks.append(self._taken + len(self._held))
            self.writer.after_commit(lambda error: (self._answered(error), done.set()))
            done.wait()
        yield from self._take()

    def _answered(self, error: StoreError | None) -> None:  # on the writer's thread
        if error is not None and self._error is None:
            self._error = error
        self._released += 1

    def _take(self) -> Iterator[list[RecheckResult]]:
        if self.writer is None:
            while self._held:
                yield self._held.popleft()
            return
        while self._released:
            if self._error is not None:
                raise self._error
            self._released -= 1
            mark = self._marks.popleft()
            while self._taken < mark:
                self._taken += 1
                yield self._held.popleft()
        if self._error is not None:
            raise self._error


@contextmanager
def _recording(engine, policy: Policy, exclusions: ExclusionIndex, record: bool, now: datetime,
               summary: PurgeSummary) -> Iterator[_Recorder]:
    """A recorder into a run of its own (spider ``recheck``), finished on the way out whatever
    happens; without ``record``, one that records nothing."""
    if not record:
        yield _Recorder()
        return
    from .store.keys import LogKeyError, load_or_create
    from .store.runs import finish_run, start_run
    from .store.writer import DecisionWriter

    # Signed checkpoints as a crawl's run has them (the same key), so a recheck run - the withdrawals
    # a purge list cites - is anchored like the collection it judges.
    try:
        signer, path, created = load_or_create(policy.audit.log_key or None)
    except LogKeyError as exc:
        raise StoreError(str(exc)) from None
    if created:
        log.warning("copyright-guard: created the checkpoint signing key %s (verifier key %s)", path, signer.vkey)
    run_id = start_run(engine, policy, now=now, spider="recheck", exclusion_lists=exclusions.versions,
                       log_key=signer.vkey)
    writer = DecisionWriter(engine, run_id, signer=signer, checkpoint_every=policy.audit.checkpoint_every,
                            checkpoint_seconds=policy.audit.checkpoint_seconds)
    summary.run_ids.append(run_id)
    recorder = _Recorder(writer)
    try:
        yield recorder
    finally:
        writer.close()
        finish_run(engine, run_id, dict(recorder.counts), datetime.now(timezone.utc), seal=writer.seal)


def _decided(decide, chunks: Iterable[_Chunk], threads: int) -> Iterator[tuple[_Chunk, list[list[Decision]]]]:
    """Each chunk with its URLs' decisions, in order: on ``threads`` threads - the time of a
    fetching recheck is spent waiting for servers - at most ``2 * threads`` chunks ahead, or, with
    0, on this thread (pure CPU work gains nothing from threads)."""
    if not threads:
        for chunk in chunks:
            yield chunk, decide(chunk)
        return
    window: deque = deque()
    with ThreadPoolExecutor(max_workers=threads, thread_name_prefix="recheck") as pool:
        try:
            for chunk in chunks:
                window.append((chunk, pool.submit(decide, chunk)))
                if len(window) >= 2 * threads:
                    done, future = window.popleft()
                    yield done, future.result()
            while window:
                done, future = window.popleft()
                yield done, future.result()
        finally:
            for _, future in window:
                future.cancel()


def _fetching(engine, policy, transport, exclusions: ExclusionIndex, pages: bool, now: datetime,
              summary: PurgeSummary):
    """Decide a chunk's URLs through check_url (the `check` command's path) with its origin's
    SiteFetcher, so each of the origin's site-wide files is fetched once."""
    from .fetch.page import check_url
    from .fetch.site import SiteFetcher

    def new_origin() -> _Origin:
        summary.fetched_origins += 1
        return _Origin(SiteFetcher(policy, transport, exclusions=exclusions))

    def check(group: URLGroup, fetcher) -> list[Decision]:
        purpose, url, items = group
        latest = items[-1]  # the newest collection of the URL (items come oldest first)
        sent = _validators(latest, policy) if pages else None
        result = check_url(url, policy, transport, now=now, purpose=purpose, exclusions=exclusions,
                           fetch_page=pages, fetcher=fetcher, validators=sent)
        if result.not_modified:
            page = _unchanged_page(engine, latest, result.decisions[-1], sent, now)
            if page is not None:
                return [*result.decisions, page]
            # The recorded page cannot be read back: fetch it again, unconditionally.
            result = check_url(url, policy, transport, now=now, purpose=purpose, exclusions=exclusions,
                               fetch_page=True, fetcher=fetcher)
        return result.decisions

    def decide(chunk: _Chunk) -> list[list[Decision]]:
        origin = chunk.origin
        groups = chunk.groups
        with origin.lock:  # the origin's files, fetched by the first chunk, or waited for
            decided = [check(groups[0], origin.fetcher)]
        decided += [check(group, origin.fetcher) for group in groups[1:]]
        return decided

    return decide, new_origin


def _validators(item: CollectedItem, policy: Policy) -> dict[str, str] | None:
    """The conditional request headers for re-fetching a collected page (RFC 9110 §13.1.2,
    §13.1.3): its recorded ETag and Last-Modified - checked again as they are read back, so an
    edited database cannot put anything else in a request. None (fetch unconditionally) when
    nothing was recorded, or when deciding under another policy than the collection's: a 304
    would then carry over reasons judged under different rules."""
    if item.policy_hash != policy.hash:
        return None
    headers = {}
    if etag_of([item.etag] if item.etag else []):
        headers["If-None-Match"] = item.etag
    if last_modified_of([item.last_modified] if item.last_modified else []):
        headers["If-Modified-Since"] = item.last_modified
    return headers or None


def _unchanged_page(engine, item: CollectedItem, pre: Decision, sent: dict[str, str], now: datetime) -> Decision | None:
    """The post-fetch decision for a page that answered 304: its recorded reasons, anew."""
    from .store.collected import collected_page

    page = collected_page(engine, item.decision_id)
    if page is None or item.content_sha256 is None:
        return None
    content = ContentFacts(item.content_sha256, item.media_type, item.content_bytes or 0, page.http_status or 200,
                           item.modality or "other", item.etag, item.last_modified)
    said = ", ".join(f"{name}: {value}" for name, value in sent.items())
    return unchanged_page_decision(pre, page.reasons, page.examined, content, sent=said, now=now)


def _lists_only(policy, exclusions: ExclusionIndex, now: datetime):
    """``--no-fetch``: the exclusion lists in force now and the policy, no request of any kind
    (the site-wide files are not consulted: no location-based reason can appear).

    Without site-wide files the decision usually depends on the origin alone (core.evaluate
    ``host_decides``): then an origin's URLs share the decision made on the first one, each
    under its own (parsed, normalised) URL - the same decision evaluate() would make, once per
    origin instead of once per URL."""
    by_purpose: dict[str, bool] = {}

    def decide(chunk: _Chunk) -> list[list[Decision]]:
        decided: list[list[Decision]] = []
        known: Decision | None = None  # the last decision made in full, when it holds for its origin
        for purpose, url, _ in chunk.groups:
            shared = by_purpose.get(purpose)
            if shared is None:
                shared = by_purpose[purpose] = host_decides(EMPTY_SITE, policy, purpose)
            if shared and known is not None and known.purpose == purpose and _of_origin(url, known.origin):
                decided.append([new_decision(url, known.origin, known.registered_domain, known.stage,
                                             purpose, known.verdict, known.reasons, known.policy_hash, now,
                                             known.consulted, known.examined, known.content)])
                continue
            decision = evaluate(url, policy, now=now, site=EMPTY_SITE, exclusions=exclusions, purpose=purpose)
            known = decision if shared and decision.origin else None
            decided.append([decision])
        return decided

    return decide


def _crawl_known(engine, crawl: str) -> bool:
    from sqlalchemy import select

    from .store.schema import runs

    with engine.connect() as connection:
        return connection.execute(select(runs.c.id).where(runs.c.crawl == crawl).limit(1)).first() is not None


def _target(url: str):
    try:
        return parse_target(url)
    except URLError:
        return None


def _of_origin(url: str, origin: str) -> bool:
    """Whether ``url`` is a well-formed URL written with ``origin``'s exact (normalised) text as
    its scheme and authority - which end at the first "/", "?" or "#" (RFC 3986 §3.2) - so that
    parsing it would give that origin and the URL itself unchanged. Any other spelling (upper
    case, a default port, a trailing dot, IPv6, ...) is not recognised here: the caller then
    parses it in full. Cheaper than a parse, which is most of ``--no-fetch``'s time per URL."""
    end = len(origin)
    return (url.startswith(origin) and url[end:end + 1] in ("/", "?", "#", "")
            and is_plain_url(url))


def write_purge_list(results: Iterable[RecheckResult], stream, fmt: str) -> int:
    """Write the withdrawn items of ``results`` as ``csv``, ``jsonl`` or ``json`` (one array);
    returns the number of rows. CSV flattens ``reason_codes`` (space-separated) and ``evidence``
    (``evidence_location``, ``evidence_url``, ``evidence_sha256``)."""
    rows = 0
    if fmt == "csv":
        out = csv.writer(stream, lineterminator="\n")
        out.writerow([*PURGE_FIELDS[:-1], "evidence_location", "evidence_url", "evidence_sha256"])
    elif fmt == "json":
        stream.write("[")
    for result in results:
        if not result.withdrawn:
            continue
        row = result.purge_row()
        if fmt == "csv":
            evidence = row.pop("evidence") or {}
            row["reason_codes"] = " ".join(row["reason_codes"])
            out.writerow([*("" if row[name] is None else row[name] for name in PURGE_FIELDS[:-1]),
                          *(evidence.get(key) or "" for key in ("location", "url", "sha256"))])
        elif fmt == "json":
            stream.write(("\n" if rows == 0 else ",\n") + json.dumps(row, ensure_ascii=False))
        else:
            stream.write(json.dumps(row, ensure_ascii=False) + "\n")
        rows += 1
    if fmt == "json":
        stream.write("\n]\n" if rows else "]\n")
    return rows
