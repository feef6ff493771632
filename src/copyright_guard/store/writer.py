"""DecisionWriter: records decisions off the caller's thread, batched, hash-chained, durable within 1 s.

How it behaves (README "The audit log" says the same for operators):

- ``submit(decision)`` returns the decision id at once (time-ordered hex, so an item can carry it)
  and does only CPU work: it serialises the row, links it into the run's hash chain and puts it on
  a bounded queue. It never waits for the database - unless the queue is full.
- **Back-pressure**: the queue holds ``max_pending`` decisions. When it is full (the database is
  slower than the crawl), ``submit`` blocks until there is room, for at most ``submit_timeout``
  seconds; this deliberately slows the crawl to what the database can record. Past the timeout
  the writer is treated as failed (below).
- A background thread inserts in batches (``executemany``) and commits at least every
  ``max_latency`` seconds (0.5 s by default), so a decision is durable within one second.
- **Log first, then act** (group commit): ``after_commit(callback)`` asks to be told when everything
  submitted so far is committed. While any such request waits, the thread commits after at most
  ``durable_latency`` seconds (10 ms by default) instead of ``max_latency``, and one commit
  releases every request it covers - the crawler holds a response back from the spider until its
  allow decision is durable (scrapy/middleware.py). ``callback(None)`` after the commit, or
  ``callback(error)`` if the rows were not recorded; it runs on the writer's thread, so it must
  only hand the news over to its own thread (``reactor.callFromThread``).
- **Signed checkpoints**: with a ``signer`` (store/note.py), every committed row is also a leaf of
  the run's Merkle tree (store/merkle.py), and the writer signs a checkpoint of the tree every
  ``checkpoint_every`` rows or ``checkpoint_seconds`` seconds - in the transaction that commits the
  rows it covers - and one more when it closes (store/checkpoints.py). The hashes of the tree's
  complete subtrees of 256 leaves and up are stored with the rows too (store/nodes.py), so a proof
  never has to read the whole run.
- ``flush()`` waits until everything submitted so far is committed; ``close()`` flushes and stops
  the thread. An ``atexit`` hook closes a writer left open; :func:`install_signal_handlers` adds
  SIGINT/SIGTERM for programs that do not have their own shutdown path (Scrapy does: its
  extension calls ``close()`` from ``spider_closed``).
- **When the database fails** (locked past the busy timeout, disk full, server gone) a batch is
  retried briefly, then: with ``on_failure="stop"`` (the policy default,
  ``on_failure.audit_unavailable``) the writer keeps the :class:`StoreError`, calls ``on_error``
  once, and every later ``submit``/``flush``/``close`` raises it - the crawl must stop rather
  than collect unrecorded content. With ``"continue"`` the batch is dropped with a logged warning
  and counted in ``stats["dropped"]``; ``audit verify`` will then report the gap in the chain, which
  is the truth: those decisions were made but not recorded.
- One writer per run: the chain continues from the run's last stored row, so a crawl resumed
  after a crash (same run id) extends its chain; two processes must use two runs.
"""

from __future__ import annotations

import atexit
import logging
import os
import random
import signal
import threading
import time
import weakref
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Literal

from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from ..core.model import Decision, Reason, sha256_hex
from ..core.model import SiteFile, SiteFileStatus
from .chain import (
    ALL_FIELDS,
    ENTRY_FIELDS,
    GENESIS,
    ROW_FORMAT,
    ROW_FORMAT_VALIDATORS,
    EntryMaker,
    canonical_entry,
    canonical_json,
    format_time,
    site_view_id,
    snapshot_id,
    url_key,
)
from .checkpoints import sign as sign_checkpoint
from .db import StoreError, one_line
from .merkle import TreeBuilder, leaf_hash
from .nodes import NODE_COLUMNS, node_rows
from .note import Signer
from .schema import checkpoints, decision_reasons, decisions, evidence, merkle_nodes, runs, site_files, site_views
from .sql import insert_ignoring_duplicates, insert_many, stream_tuples

log = logging.getLogger("copyright_guard.store")

ROW_COLUMNS = (*ALL_FIELDS, "prev_hash", "row_hash", "url_key")  # a buffered row's tuple order
_NO_REASONS = ("[]", ())  # canonical JSON and codes of an empty reason list (most allows)
_NO_FACTS = (None,) * 7  # content_sha256 .. last_modified of a decision without a response
_CACHE_LIMIT = 4096  # site views / snapshots remembered by object identity (a few per origin)

_random = random.Random(os.urandom(32))
# A forked child must not repeat its parent's ids: it reseeds as it starts (no getpid per id).
os.register_at_fork(after_in_child=lambda: _random.seed(os.urandom(32)))


def new_id() -> str:
    """32 hex characters: 48-bit millisecond time, then 80 random bits (ordered like UUIDv7).

    Ids need to be unique, not secret: a generator seeded from os.urandom once per process (again
    after a fork) is 20x cheaper than asking the OS for every id.
    """
    return f"{time.time_ns() // 1_000_000:012x}{_random.getrandbits(80):020x}"


class DecisionWriter:
    def __init__(
        self,
        engine: Engine,
        run_id: str,
        *,
        on_failure: Literal["stop", "continue"] = "stop",
        on_error: Callable[[StoreError], None] | None = None,
        # A batch dirties nearly every leaf page of the URL index and one per site of the domain
        # index, however many rows it holds, and each dirty page is written to the WAL once per
        # commit: 25,000 rows per batch (still committed at least every max_latency) wrote 41 % fewer
        # bytes than 5,000 at a million rows (benchmarks/bench_store.py, README "Benchmarks").
        batch_size: int = 25_000,
        max_pending: int = 50_000,  # room for the next batch while one is written
        max_latency: float = 0.5,
        durable_latency: float = 0.01,
        submit_timeout: float = 30.0,
        retry_delays: tuple[float, ...] = (0.2, 0.5, 1.0),
        signer: Signer | None = None,
        checkpoint_every: int = 10_000,
        checkpoint_seconds: float = 60.0,
    ) -> None:
        if on_failure not in ("stop", "continue"):
            raise ValueError(f"on_failure must be 'stop' or 'continue', not {on_failure!r}")
        self.engine = engine
        self.run_id = run_id
        self.on_failure = on_failure
        self.on_error = on_error
        self.batch_size = batch_size
        self.max_pending = max_pending
        self.max_latency = max_latency
        self.durable_latency = durable_latency  # the commit interval while an after_commit waits
        self.submit_timeout = submit_timeout
        self.retry_delays = retry_delays  # pauses between attempts at one batch before it fails
        self.stats = {"submitted": 0, "written": 0, "dropped": 0, "batches": 0, "evidence": 0, "checkpoints": 0}
        self.error: StoreError | None = None
        # One condition guards the buffers and counters below. The caller appends to the buffers;
        # the thread swaps them out whole, so the two meet once per batch, not once per decision.
        self._cond = threading.Condition()
        self._rows: list[tuple] = []  # ROW_COLUMNS order
        self._codes: list[tuple] = []  # (decision_id, code)
        self._evidence: list[dict] = []
        self._first_at = 0.0  # monotonic time of the oldest buffered row
        self._pending = 0  # buffered or being written
        self._done = 0  # written or dropped
        self._flush_requested = False
        # after_commit requests: (number submitted when asked, callback, urgent), oldest first.
        self._waiters: list[tuple[int, Callable[[StoreError | None], None], bool]] = []
        self._urgent = 0  # urgent requests among them (the thread commits within durable_latency)
        self._stopping = False
        self._closed = False
        self._seen_evidence: set[str] = set()
        self._true_hash: dict[str, str] = {}  # claimed sha256 -> hash of the bytes actually given
        self._reasons_cache: dict[tuple, tuple[str, tuple[str, ...]]] = {}
        self._last_reasons: tuple = ((), _NO_REASONS)  # the last reasons tuple cached, by identity
        # Per-row serialising, cached (submit's hot path): the chain entry's repeated pieces, the
        # last decision time's text, the examined-sources lists.
        self._entries = EntryMaker()
        self._time: tuple = (None, "")
        self._examined: dict[tuple[str, ...], str] = {}
        # Site-wide file snapshots and the sets of them decisions cite: each is queued for the
        # database once (ids are content hashes, so a repeat is also harmless there). Keyed by the
        # identity of the tuple / SiteFile the core hands over (one per origin and fetch); the
        # value keeps the object alive, so the id cannot be reused while it is cached.
        self._views: dict[int, tuple[tuple, str | None]] = {}
        self._snapshots: dict[int, tuple[SiteFile, str]] = {}
        self._seen_rows: set[str] = set()  # site_files / site_views ids queued or stored
        self._site_files: list[dict] = []
        self._site_views: list[dict] = []
        self.signer = signer
        self.checkpoint_every = checkpoint_every
        self.checkpoint_seconds = checkpoint_seconds
        self._leaves: list[bytes] = []  # Merkle leaf hashes of the buffered rows, in seq order
        self._record_hash: str | None = None
        self._seq, self._prev = self._chain_head()
        self._tree = self._committed_tree()  # the tree of the committed rows
        self._checkpointed, self._checkpointed_at = self._last_checkpoint(), time.monotonic()
        self._thread = threading.Thread(target=self._run, name=f"audit-writer-{run_id[:8]}", daemon=True)
        self._thread.start()
        _open_writers.add(self)

    # -- the caller's side -------------------------------------------------------------------

    def submit(self, decision: Decision) -> str:
        """Buffer one decision; returns its id. Raises StoreError if the writer has failed (stop mode)."""
        with self._cond:
            if self._pending >= self.max_pending:
                self._wait_for_room()
            if self.error is not None:
                self._raise_if_stopped()
            if self._closed:
                raise StoreError("the audit writer is closed")
            decision_id = new_id()
            seq = self._seq + 1
            given = decision.reasons
            if not given:
                reasons, codes = _NO_REASONS
            elif given is self._last_reasons[0]:  # one tuple shared by an origin's decisions (a recheck)
                reasons, codes = self._last_reasons[1]
            else:
                reasons, codes = self._reasons(given)
            consulted = decision.consulted
            cached = self._views.get(id(consulted))
            view = cached[1] if cached is not None and cached[0] is consulted else self._site_view(consulted)
            facts = decision.content
            decided_at = decision.decided_at
            if decided_at is not self._time[0]:  # a recheck's decisions share one time: format it once
                self._time = (decided_at, format_time(decided_at))
            examined = decision.examined
            if examined:
                examined = self._examined.get(examined) or self._examined_json(examined)
            content = (
                decision_id, self.run_id, seq, self._time[1], decision.url, decision.origin,
                # _value_: the member's own attribute (Enum.value is a descriptor call, per row)
                decision.registered_domain, decision.stage._value_, decision.purpose, decision.verdict._value_,
                decision.policy_hash, reasons,
                ROW_FORMAT if facts is None or (facts.etag is None and facts.last_modified is None)
                else ROW_FORMAT_VALIDATORS, view, examined or None,
                *((facts.sha256, facts.media_type, facts.bytes, facts.status, facts.modality, facts.etag,
                   facts.last_modified) if facts is not None else _NO_FACTS),
            )  # ALL_FIELDS order
            prev = self._prev
            entry, self._prev = self._entries.entry_and_link(content, prev)
            self._rows.append((*content, prev, self._prev, url_key(decision.url)))
            self._seq = seq
            self._leaves.append(leaf_hash(entry))
            if len(self._rows) == 1:
                self._first_at = time.monotonic()
                self._cond.notify_all()  # the thread starts its max_latency clock
            if codes:
                self._codes.extend([(decision_id, code) for code in codes])
            self._pending += 1
            self.stats["submitted"] += 1
            if len(self._rows) >= self.batch_size:
                self._cond.notify_all()
        return decision_id

    def _examined_json(self, examined: tuple[str, ...]) -> str:
        """The canonical JSON of a post-fetch decision's asset sources (a handful of distinct tuples)."""
        if len(self._examined) >= _CACHE_LIMIT:
            self._examined.clear()
        text = self._examined[examined] = canonical_json(list(examined))
        return text

    def _wait_for_room(self) -> None:
        """Back-pressure: block while ``max_pending`` decisions wait; fail after ``submit_timeout``."""
        deadline = time.monotonic() + self.submit_timeout
        while self._pending >= self.max_pending and self.error is None:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                self._fail(StoreError(
                    f"the audit database has not kept up for {self.submit_timeout:g} s "
                    f"({self._pending} decisions waiting)"
                ))
                break
            self._cond.wait(remaining)

    def after_commit(self, callback: Callable[[StoreError | None], None], *, urgent: bool = True) -> None:
        """Call ``callback(None)`` once every decision submitted so far is committed, or
        ``callback(error)`` if they will not be (stop mode: the writer failed). Called on the
        writer's thread, or at once on the caller's when there is nothing left to wait for.

        ``urgent`` (a response is held back): the thread commits within ``durable_latency``.
        Without it the request rides on the commits that happen anyway (every ``max_latency`` or
        ``batch_size`` rows): a caller streaming many decisions keeps large batches.

        With ``on_failure="continue"`` a dropped batch still releases its waiters with ``None``:
        that policy chose to go on unrecorded (the drop is logged and ``verify`` shows the gap).
        """
        with self._cond:
            target = self.stats["submitted"]
            if self._done < target and self._thread.is_alive():
                self._waiters.append((target, callback, urgent))  # targets never decrease: see _release_waiters
                if urgent:
                    self._urgent += 1
                    self._cond.notify_all()  # the thread shortens its clock to durable_latency
                return
            error = self._stop_error()
            if error is None and self._done < target:  # the thread is gone with decisions uncommitted
                error = StoreError("the audit writer stopped before these decisions were committed")
        callback(error)

    def _stop_error(self) -> StoreError | None:
        return self.error if self.on_failure == "stop" else None

    def _release_waiters(self, everyone: bool = False) -> None:
        """Call back the after_commit requests the batches so far cover (on the writer's thread)."""
        with self._cond:
            # Waiters are appended in submission order, so those covered are always a prefix.
            covered = len(self._waiters) if everyone else next(
                (i for i, (target, _, _) in enumerate(self._waiters) if target > self._done), len(self._waiters))
            if not covered:
                return
            ready, self._waiters = self._waiters[:covered], self._waiters[covered:]
            self._urgent -= sum(1 for waiter in ready if waiter[2])
            error = self._stop_error()
            if error is None and everyone and any(w[0] > self._done for w in ready):
                error = StoreError("the audit writer stopped before these decisions were committed")
        for _, callback, _ in ready:
            try:
                callback(error)
            except Exception:  # noqa: BLE001 - a broken callback must not kill the writer thread
                log.exception("an audit after_commit callback failed")

    def flush(self, timeout: float | None = None) -> None:
        """Block until every decision submitted so far is committed (or the writer has failed)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            target = self.stats["submitted"]
            self._flush_requested = True
            self._cond.notify_all()
            while self._done < target and self._thread.is_alive():
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    break
                self._cond.wait(remaining)
        self._raise_if_stopped()

    def close(self) -> None:
        """Flush and stop the background thread. Idempotent; raises the failure in stop mode."""
        if not self._closed:
            with self._cond:
                self._closed = self._stopping = True
                self._cond.notify_all()
            self._thread.join()
            _open_writers.discard(self)
        self._raise_if_stopped()

    def __enter__(self) -> DecisionWriter:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def _raise_if_stopped(self) -> None:
        if self.error is not None and self.on_failure == "stop":
            raise self.error

    def _chain_head(self) -> tuple[int, str]:
        query = (
            select(decisions.c.seq, decisions.c.row_hash)
            .where(decisions.c.run_id == self.run_id)
            .order_by(decisions.c.seq.desc())
            .limit(1)
        )
        try:
            with self.engine.connect() as connection:
                last = connection.execute(query).first()
                record = connection.execute(select(runs.c.record_hash).where(runs.c.id == self.run_id)).scalar()
        except SQLAlchemyError as exc:
            raise StoreError(f"cannot read the audit chain of run {self.run_id}: {one_line(exc)}") from None
        # The first row links to the run's record hash (chain.py), or GENESIS for a run without one.
        self._record_hash = record
        return (last.seq, last.row_hash) if last else (0, record or GENESIS)

    def _committed_tree(self) -> TreeBuilder:
        """The Merkle tree of the run's stored rows (a resumed run continues its tree)."""
        tree = TreeBuilder()
        if self._seq == 0:
            return tree
        columns = [decisions.c[name] for name in ENTRY_FIELDS]
        with self.engine.connect() as connection:
            for row in stream_tuples(connection, select(*columns).where(decisions.c.run_id == self.run_id)
                                     .order_by(decisions.c.seq)):
                tree.append(leaf_hash(canonical_entry(row).encode("utf-8")))
        return tree

    def _last_checkpoint(self) -> int:
        with self.engine.connect() as connection:
            return connection.execute(select(func.max(checkpoints.c.tree_size))
                                      .where(checkpoints.c.run_id == self.run_id)).scalar() or 0

    def _grow(self, leaves: list[bytes]) -> tuple[TreeBuilder, list[dict], list[tuple]]:
        """The committed tree extended by ``leaves``, the checkpoints due on the way (one at every
        ``checkpoint_every`` leaves, and one at the end if ``checkpoint_seconds`` passed), and the
        Merkle nodes the leaves complete (store/nodes.py: stored with the rows they cover)."""
        tree = self._tree.copy()
        due: list[dict] = []
        completed: list[tuple] = []
        # After a dropped batch (continue mode) leaf index and seq part ways: sign and store nothing
        # more, as _final_checkpoint does not.
        if self.stats["dropped"]:
            for leaf in leaves:
                tree.append(leaf)
            return tree, due, []
        if self.signer is None:
            for leaf in leaves:
                tree.append(leaf, completed)
            return tree, due, node_rows(self.run_id, completed)
        last = self._checkpointed
        for leaf in leaves:
            tree.append(leaf, completed)
            if tree.size - last >= self.checkpoint_every:
                due.append(self._sign(tree))
                last = tree.size
        if tree.size > last and time.monotonic() - self._checkpointed_at >= self.checkpoint_seconds:
            due.append(self._sign(tree))
        return tree, due, node_rows(self.run_id, completed)

    def seal(self, size: int, finish_hash: str) -> str | None:
        """After :meth:`close`: the run's finish record signed (store/checkpoints.py ``sign`` with a
        ``run-finish`` line) over the tree of its ``size`` decisions; None without a signer, or
        when the tree is not exactly the committed run (a failure, a dropped batch)."""
        if (not self._closed or self.signer is None or self.error is not None or self.stats["dropped"]
                or self._tree.size != size):
            return None
        return sign_checkpoint(self.signer, self.run_id, size, self._tree.root(), self._record_hash,
                               datetime.now(timezone.utc), finish_hash)["note"]

    def _sign(self, tree: TreeBuilder) -> dict:
        return sign_checkpoint(self.signer, self.run_id, tree.size, tree.root(), self._record_hash,
                               datetime.now(timezone.utc))

    def _reasons(self, reasons: tuple[Reason, ...]) -> tuple[str, tuple[str, ...]]:
        """The reasons as canonical JSON (evidence hashes filled in) and their distinct codes.

        Evidence bodies not stored yet join the current batch. Identical reason tuples recur for
        every URL of a site, so their serialisation is cached (keyed by the frozen dataclasses).
        """
        try:
            cached = self._reasons_cache.get(reasons)
        except TypeError:  # an unhashable detail somewhere: just serialise
            cached = None
        if cached is not None:
            self._last_reasons = (reasons, cached)
            return cached
        items = []
        for reason in reasons:
            item = reason.as_dict()
            found = reason.evidence
            if found is not None and found.body is not None:
                item["evidence"]["sha256"] = self._store_evidence(found)
            items.append(item)
        result = canonical_json(items), tuple(dict.fromkeys(r.code for r in reasons))
        # Evidence equality ignores the body, so only cache when every body is named by its hash.
        if all(r.evidence is None or r.evidence.body is None or r.evidence.sha256 for r in reasons):
            if len(self._reasons_cache) >= 4096:
                self._reasons_cache.clear()
            try:
                self._reasons_cache[reasons] = result
            except TypeError:
                pass
            self._last_reasons = (reasons, result)
        return result

    def _site_view(self, consulted: tuple[SiteFile, ...]) -> str | None:
        """The site_views id for these site-wide file states, queueing new snapshot rows once."""
        ids: list[str] = []
        for site_file in consulted:
            ids.append(self._snapshot(site_file))
            last_good = site_file.last_good
            if site_file.status is SiteFileStatus.UNREACHABLE and last_good is not None:
                ids.append(self._snapshot(last_good))  # the copy that applies (RFC 9309 §2.3.1.4)
        view = site_view_id(ids) if ids else None
        if view is not None and view not in self._seen_rows:
            self._seen_rows.add(view)
            self._site_views.append({"id": view, "files": canonical_json(ids), "stored_at": format_time_now()})
        if len(self._views) >= _CACHE_LIMIT:
            self._views.clear()
        self._views[id(consulted)] = (consulted, view)
        return view

    def _snapshot(self, site_file: SiteFile) -> str:
        cached = self._snapshots.get(id(site_file))
        if cached is not None and cached[0] is site_file:
            return cached[1]
        found = site_file.evidence
        digest = self._store_evidence(found) if found.body is not None else None
        fault = None if found.status is not None else (site_file.error or "no answer")
        record = snapshot_record(site_file, digest)
        ident = snapshot_id(record)
        if ident not in self._seen_rows:
            self._seen_rows.add(ident)
            self._site_files.append({
                "id": ident, "kind": record["kind"], "origin": site_file.origin, "url": record["url"],
                "outcome": record["outcome"], "status": found.status, "fault": fault, "sha256": digest,
                "fetched_at": record["fetched_at"], "stored_at": format_time_now(),
            })
        if len(self._snapshots) >= _CACHE_LIMIT:
            self._snapshots.clear()
        self._snapshots[id(site_file)] = (site_file, ident)
        return ident

    def _store_evidence(self, found) -> str:
        """Queue the evidence body once per sha256; returns the hash of the bytes actually given."""
        digest = self._true_hash.get(found.sha256 or "", found.sha256)
        if digest is not None and digest in self._seen_evidence:
            return digest
        actual = sha256_hex(found.body)
        if digest is not None and digest != actual:
            log.warning("evidence from %s claims sha256 %s but its bytes hash to %s; stored under the latter",
                        found.url or found.source, digest, actual)
            self._true_hash[digest] = actual
        if actual not in self._seen_evidence:
            self._seen_evidence.add(actual)
            self._evidence.append({
                "sha256": actual, "body": found.body, "size": len(found.body), "source": found.source,
                "url": found.url, "final_url": found.final_url, "status": found.status,
                "fetched_at": format_time(found.fetched_at) if found.fetched_at else None,
                "stored_at": format_time_now(),
            })
        return actual

    # -- the background thread ---------------------------------------------------------------

    def _next_batch(self) -> tuple[list, list, list, list, list, list] | None:
        """Wait for a batch worth writing (full, old enough, flushed or closing); None: stop."""
        with self._cond:
            while True:
                if self._rows:
                    age = time.monotonic() - self._first_at
                    latency = self.durable_latency if self._urgent else self.max_latency
                    if (self._stopping or self._flush_requested or age >= latency
                            or len(self._rows) >= self.batch_size):
                        batch = (self._rows, self._codes, self._evidence, self._site_files, self._site_views,
                                 self._leaves)
                        self._rows, self._codes, self._evidence, self._leaves = [], [], [], []
                        self._site_files, self._site_views = [], []
                        self._flush_requested = False
                        return batch
                    self._cond.wait(latency - age)
                elif self._stopping:
                    return None
                else:
                    self._flush_requested = False
                    self._cond.wait()

    def _run(self) -> None:
        while (batch := self._next_batch()) is not None:
            rows = batch[0]
            try:
                self._write(*batch)
            except Exception as exc:  # noqa: BLE001 - a bug (signing, the tree), not the database's refusal
                # Never let held responses through as if committed: the batch is lost, say so.
                self.stats["dropped"] += len(rows)
                self._fail(StoreError(f"the audit writer failed: {one_line(exc)}"))
            finally:
                with self._cond:
                    self._pending -= len(rows)
                    self._done += len(rows)
                    self._cond.notify_all()
                self._release_waiters()
        self._final_checkpoint()
        self._release_waiters(everyone=True)  # closed: nothing more will be committed

    def _write(self, rows: list[tuple], codes: list[tuple], found: list[dict], snapshots: list[dict],
               views: list[dict], leaves: list[bytes]) -> None:
        """Insert and commit one batch (and a checkpoint, if due), or count it dropped."""
        if self.error is not None and self.on_failure == "stop":
            self.stats["dropped"] += len(rows)
            return
        tree, due, nodes = self._grow(leaves)
        for attempt, pause in enumerate((*self.retry_delays, None)):
            try:
                with self.engine.begin() as connection:
                    if found:
                        connection.execute(insert_ignoring_duplicates(connection, evidence), found)
                    if snapshots:
                        connection.execute(insert_ignoring_duplicates(connection, site_files), snapshots)
                    if views:
                        connection.execute(insert_ignoring_duplicates(connection, site_views), views)
                    insert_many(connection, decisions, rows, ROW_COLUMNS)
                    insert_many(connection, decision_reasons, codes, ("decision_id", "code"))
                    insert_many(connection, merkle_nodes, nodes, NODE_COLUMNS)
                    if due:  # committed with the rows they cover, or not at all
                        connection.execute(checkpoints.insert(), due)
                self._tree = tree
                if due:
                    self._checkpointed, self._checkpointed_at = due[-1]["tree_size"], time.monotonic()
                    self.stats["checkpoints"] += len(due)
                break
            except Exception as exc:  # noqa: BLE001 - SQLAlchemy's or the driver's (COPY): a failed batch either way
                if pause is None:
                    with self._cond:
                        # Those bodies were not stored: let a later decision carry them again.
                        self._seen_evidence.difference_update(e["sha256"] for e in found)
                        self._seen_rows.difference_update(r["id"] for r in (*snapshots, *views))
                        self._reasons_cache.clear()
                        self._last_reasons = ((), _NO_REASONS)
                        self._views.clear()
                        self._snapshots.clear()
                    self.stats["dropped"] += len(rows)
                    self._fail(StoreError(f"cannot write to the audit database: {one_line(exc)}"))
                    return
                log.debug("audit batch attempt %d failed: %s", attempt + 1, one_line(exc))
                time.sleep(pause)
        self.stats["written"] += len(rows)
        self.stats["evidence"] += len(found)
        self.stats["batches"] += 1

    def _final_checkpoint(self) -> None:
        """Sign the tree of everything committed, when the writer closes (not after a failure:
        in continue mode a dropped batch left a gap the tree cannot cover)."""
        if self.error is not None or self.stats["dropped"] or self.signer is None or self._tree.size <= self._checkpointed:
            return
        checkpoint = self._sign(self._tree)
        try:
            with self.engine.begin() as connection:
                connection.execute(checkpoints.insert(), [checkpoint])
            self._checkpointed = self._tree.size
            self.stats["checkpoints"] += 1
        except SQLAlchemyError as exc:
            self._fail(StoreError(f"cannot write the run's final checkpoint: {one_line(exc)}"))

    def _fail(self, error: StoreError) -> None:
        if self.on_failure == "continue":
            log.warning("%s; continuing without recording (policy on_failure.audit_unavailable = \"continue\")", error)
            return
        if self.error is None:
            self.error = error
            log.error("%s; stopping (policy on_failure.audit_unavailable = \"stop\")", error)
            if self.on_error is not None:
                try:
                    self.on_error(error)
                except Exception:  # noqa: BLE001 - a broken callback must not kill the writer thread
                    log.exception("the audit writer's on_error callback failed")


def snapshot_record(site_file: SiteFile, sha256: str | None) -> dict:
    """The export contract's ``consulted`` record of one site-wide file state (SiteFile.as_consulted)
    as stored: the hash of the bytes actually stored and the fixed-width stored time. Its canonical
    JSON hashes to the snapshot id (chain.snapshot_id)."""
    found = site_file.evidence
    return {**site_file.as_consulted(), "sha256": sha256,
            "fetched_at": format_time(found.fetched_at or site_file.fetched_at)}


def format_time_now() -> str:
    return format_time(datetime.now(timezone.utc))


# Writers still open at interpreter exit are flushed (a normal exit, or Ctrl-C outside Scrapy).
_open_writers: weakref.WeakSet[DecisionWriter] = weakref.WeakSet()


@atexit.register
def _close_open_writers() -> None:
    for writer in list(_open_writers):
        try:
            writer.close()
        except StoreError as exc:
            log.error("audit writer for run %s: %s", writer.run_id, exc)


def install_signal_handlers(*writers: DecisionWriter) -> None:
    """On SIGINT/SIGTERM, flush and close ``writers``, then run the previous handler.

    For programs without their own shutdown path; inside Scrapy, close the writer from the
    ``spider_closed`` event instead (Scrapy already turns SIGINT/SIGTERM into a clean close).
    Call from the main thread (a Python rule for ``signal.signal``).
    """
    for signum in (signal.SIGINT, signal.SIGTERM):
        previous = signal.getsignal(signum)

        def handler(number, frame, previous=previous):
            for writer in writers:
                try:
                    writer.close()
                except StoreError as exc:
                    log.error("audit writer for run %s: %s", writer.run_id, exc)
            if callable(previous):
                previous(number, frame)
            elif previous == signal.SIG_DFL:
                signal.signal(number, signal.SIG_DFL)
                os.kill(os.getpid(), number)

        signal.signal(signum, handler)
