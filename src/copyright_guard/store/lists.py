"""Exclusion lists in the database: versioned snapshots, diffs, removal, the index, and impact.

Every import (and every :func:`add_entries` call, e.g. from an upheld complaint) stores a new,
immutable snapshot of the whole list; the imported bytes go to the ``evidence`` table under their
sha256, which every ``exclusion.listed`` reason cites. ``remove`` only deactivates a list: its
snapshots and events stay, so "which version excluded what, and when" is always answerable.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError, OperationalError

from ..core.lists.exclusions import LIST_NAME_RE, ExclusionEntry, ExclusionIndex
from ..core.lists.files import ListDefaults, ListRow, ParsedList, rows_from_records
from ..core.model import sha256_hex
from ..core.urls import URLError, parse_target, registered_domain
from .chain import canonical_json, format_optional_time, format_time, parse_optional_time
from .schema import evidence
from .schema_lists import exclusion_list_entries, exclusion_list_events, exclusion_list_versions, exclusion_lists
from .sql import insert_ignoring_duplicates

_ATTEMPTS = 3  # another process may take the same version number at the same moment


class ListError(ValueError):
    """An unknown list or version, or a bad list name. ``str()`` is one line."""


@dataclass(frozen=True, slots=True)
class Snapshot:
    """One stored version of one list."""

    list_name: str
    version: int
    sha256: str
    entries_sha256: str
    imported_at: datetime
    entry_count: int
    source: str
    format: str

    def as_dict(self) -> dict:
        return {
            "list": self.list_name,
            "version": self.version,
            "sha256": self.sha256,
            "entries_sha256": self.entries_sha256,
            "imported_at": self.imported_at.isoformat(),
            "entry_count": self.entry_count,
            "source": self.source,
            "format": self.format,
        }


@dataclass(frozen=True, slots=True)
class ListDiff:
    """What changed between two versions of a list (``old`` is None for a first version)."""

    list_name: str
    old: int | None
    new: int
    added: tuple[ExclusionEntry, ...] = ()
    removed: tuple[ExclusionEntry, ...] = ()
    changed: tuple[tuple[ExclusionEntry, ExclusionEntry], ...] = ()

    def summary(self) -> str:
        return f"+{len(self.added)} -{len(self.removed)} ~{len(self.changed)}"


@dataclass(frozen=True, slots=True)
class ImportResult:
    snapshot: Snapshot
    diff: ListDiff
    unchanged: bool = False  # same entries as the latest version: no new version was made
    restored: bool = False  # the list had been removed and is active again


@dataclass(frozen=True, slots=True)
class ListSummary:
    name: str
    active: bool
    created_at: datetime
    latest: Snapshot | None
    events: tuple[dict, ...] = field(default=())

    def as_dict(self) -> dict:
        return {
            "name": self.name,
            "active": self.active,
            "created_at": self.created_at.isoformat(),
            "latest": self.latest.as_dict() if self.latest else None,
        }


@dataclass(frozen=True, slots=True)
class ImpactRow:
    """An allowed decision (collected content) that a list version now excludes."""

    url: str
    decision_id: str
    decided_at: str
    run_id: str
    list_name: str
    version: int
    entry: str
    kind: str
    authority: str
    reference: str

    def as_dict(self) -> dict:
        return {name: getattr(self, name) for name in self.__slots__}


# -- writing --------------------------------------------------------------------------------------


def check_name(name: str) -> str:
    if not isinstance(name, str) or not LIST_NAME_RE.fullmatch(name):
        raise ListError(f"list name {name!r}: use 1-128 letters, digits, '.', '_' or '-', starting with a letter or digit")
    return name


def import_list(engine: Engine, name: str, parsed: ParsedList, data: bytes, *, source: str, now: datetime) -> ImportResult:
    """Store ``parsed`` (read from ``data``) as the next version of list ``name``."""
    rows = list(parsed.rows)
    return _store_version(engine, check_name(name), lambda _current: (rows, data), source=source, format=parsed.format,
                          now=now, action="import")


def add_entries(engine: Engine, list_name: str, entries: Iterable[dict], *, now: datetime, source: str) -> Snapshot:
    """A new version of ``list_name`` with ``entries`` added to its latest version (API for other modules).

    ``entries`` are dicts with ``entry`` (or ``domain``), ``authority``, ``reference`` and optional
    ``kind``, ``jurisdiction``, ``listed_at``, ``delisted_at`` (datetime or ISO text); an entry
    without ``listed_at`` applies from ``now``. See :func:`extend` for entries already on the list.
    Raises :class:`copyright_guard.core.lists.files.ListFileError` (one line) for a bad entry.
    """
    return extend(engine, list_name, entries, now=now, source=source).snapshot


def extend(engine: Engine, list_name: str, entries: Iterable[dict], *, now: datetime, source: str) -> ImportResult:
    """:func:`add_entries`, answering with the diff: what was added, what changed, or ``unchanged``.

    A ``domain`` entry for a name the list holds as a ``host`` replaces it: the domain covers that
    host and every name under it, which is what was asked. Any other entry already on the list is
    kept as it is (a ``host`` entry adds nothing to a ``domain`` entry of the same name).
    """
    check_name(list_name)
    records = [(None, {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in e.items()}) for e in entries]
    new_rows = rows_from_records(records, source, ListDefaults(listed_at=now), unit="entry")

    def extended(current: list[ListRow]) -> tuple[list[ListRow], bytes]:
        asked = {row.entry: row for row in new_rows}
        rows = [asked[row.entry] if row.kind == "host" and asked.get(row.entry, row).kind == "domain" else row
                for row in current]
        known = {row.entry for row in current}
        rows += [row for row in new_rows if row.entry not in known]
        return rows, canonical_json([row.as_dict() for row in rows]).encode("utf-8")

    return _store_version(engine, list_name, extended, source=source, format="api", now=now, action="add")


def remove(engine: Engine, name: str, *, now: datetime, reason: str = "") -> Snapshot | None:
    """Deactivate a list (it no longer applies); its versions and history are kept."""
    with engine.begin() as connection:
        row = _list_row(connection, name)
        if not row.active:
            raise ListError(f"exclusion list {name!r} is already removed")
        connection.execute(exclusion_lists.update().where(exclusion_lists.c.name == name).values(active=False))
        latest = _latest(connection, name)
        _event(connection, name, now, "remove", latest[1].version if latest else None, reason or "removed")
        return latest[1] if latest else None


def _store_version(
    engine: Engine,
    name: str,
    build: Callable[[list[ListRow]], tuple[list[ListRow], bytes]],
    *,
    source: str,
    format: str,
    now: datetime,
    action: str,
) -> ImportResult:
    """Store the next version; ``build(latest rows)`` gives its rows and bytes inside the same
    transaction, so entries another process added a moment ago are never lost."""
    stamp = format_time(now)
    for attempt in range(_ATTEMPTS):
        try:
            with engine.begin() as connection:
                # Writers of one list take turns: this no-op update locks the list's row on
                # PostgreSQL and takes SQLite's write lock before anything is read, so the
                # version number and the entries it extends are read under the lock.
                connection.execute(exclusion_lists.update().where(exclusion_lists.c.name == name).values(name=name))
                existing = connection.execute(select(exclusion_lists).where(exclusion_lists.c.name == name)).first()
                restored = existing is not None and not existing.active
                if existing is None:
                    connection.execute(exclusion_lists.insert().values(name=name, active=True, created_at=stamp))
                elif restored:
                    connection.execute(exclusion_lists.update().where(exclusion_lists.c.name == name).values(active=True))
                latest = _latest(connection, name)
                if restored:
                    _event(connection, name, now, "restore", latest[1].version if latest else None, f"restored by {action} from {source}")
                current = _rows(connection, latest[0]) if latest else []
                rows, data = build(current)
                entries_sha256 = sha256_hex(canonical_json(sorted((row.as_dict() for row in rows), key=lambda d: d["entry"])).encode("utf-8"))
                sha256 = sha256_hex(data)
                if latest and latest[1].entries_sha256 == entries_sha256:
                    return ImportResult(latest[1], ListDiff(name, latest[1].version, latest[1].version), unchanged=True, restored=restored)
                old_entries = [_to_entry(row, latest[1]) for row in current] if latest else []
                version = latest[1].version + 1 if latest else 1
                connection.execute(
                    insert_ignoring_duplicates(connection, evidence),
                    [{"sha256": sha256, "body": data, "size": len(data), "source": f"exclusion list {name}",
                      "url": None, "final_url": None, "status": None, "fetched_at": None, "stored_at": stamp}],
                )
                version_id = connection.execute(
                    exclusion_list_versions.insert().values(
                        list_name=name, version=version, sha256=sha256, entries_sha256=entries_sha256,
                        imported_at=stamp, entry_count=len(rows), source=source[:1000], format=format,
                    )
                ).inserted_primary_key[0]
                if rows:
                    connection.execute(exclusion_list_entries.insert(), [_entry_row(version_id, row) for row in rows])
                snapshot = Snapshot(name, version, sha256, entries_sha256, parse_optional_time(stamp), len(rows), source[:1000], format)
                diff = _diff(name, latest[1].version if latest else None, version, old_entries,
                             [_to_entry(row, snapshot) for row in rows])
                _event(connection, name, now, action, version, f"{source}: {len(rows)} entries ({diff.summary()})")
                return ImportResult(snapshot, diff, restored=restored)
        except (IntegrityError, OperationalError):  # another process created the same new list first
            if attempt == _ATTEMPTS - 1:
                raise
    raise AssertionError("unreachable")  # pragma: no cover


def _entry_row(version_id: int, row: ListRow) -> dict:
    return {
        "version_id": version_id, "entry": row.entry, "kind": row.kind, "authority": row.authority,
        "jurisdiction": row.jurisdiction, "reference": row.reference,
        "listed_at": format_optional_time(row.listed_at),
        "delisted_at": format_optional_time(row.delisted_at),
        "line": row.line,
    }


def _event(connection: Connection, name: str, now: datetime, action: str, version: int | None, detail: str) -> None:
    connection.execute(exclusion_list_events.insert().values(list_name=name, at=format_time(now), action=action,
                                                              version=version, detail=detail[:2000]))


# -- reading --------------------------------------------------------------------------------------


def lists(engine: Engine) -> list[ListSummary]:
    """Every list in the database, active or removed, with its latest version."""
    with engine.connect() as connection:
        names = connection.execute(select(exclusion_lists).order_by(exclusion_lists.c.name)).all()
        return [ListSummary(row.name, bool(row.active), parse_optional_time(row.created_at), _latest_snapshot(connection, row.name))
                for row in names]


def summary(engine: Engine, name: str) -> ListSummary:
    """One list with its event history (imports, additions, removals, restorations)."""
    with engine.connect() as connection:
        row = _list_row(connection, name)
        history = connection.execute(
            select(exclusion_list_events).where(exclusion_list_events.c.list_name == name).order_by(exclusion_list_events.c.id)
        ).all()
        events = tuple({"at": e.at, "action": e.action, "version": e.version, "detail": e.detail} for e in history)
        return ListSummary(row.name, bool(row.active), parse_optional_time(row.created_at), _latest_snapshot(connection, name), events)


def snapshots(engine: Engine, name: str) -> list[Snapshot]:
    """Every version of a list, oldest first."""
    with engine.connect() as connection:
        _list_row(connection, name)
        rows = connection.execute(
            select(exclusion_list_versions).where(exclusion_list_versions.c.list_name == name).order_by(exclusion_list_versions.c.version)
        ).all()
        return [_snapshot(row) for row in rows]


def entries(engine: Engine, name: str, version: int | None = None) -> tuple[Snapshot, list[ExclusionEntry]]:
    """A version of a list (default: the latest) and its entries, sorted by entry."""
    with engine.connect() as connection:
        version_id, snapshot = _version(connection, name, version)
        return snapshot, _entries(connection, version_id, snapshot)


def diff(engine: Engine, name: str, old: int | None = None, new: int | None = None) -> ListDiff:
    """Entries added, removed and changed from version ``old`` to ``new`` (default: the last two)."""
    with engine.connect() as connection:
        new_id, new_snapshot = _version(connection, name, new)
        if old is None:
            old = new_snapshot.version - 1
            if old < 1:
                return _diff(name, None, new_snapshot.version, [], _entries(connection, new_id, new_snapshot))
        old_id, old_snapshot = _version(connection, name, old)
        return _diff(name, old_snapshot.version, new_snapshot.version, _entries(connection, old_id, old_snapshot),
                     _entries(connection, new_id, new_snapshot))


def load_exclusion_index(engine: Engine, names: Iterable[str] | None = None) -> ExclusionIndex:
    """The latest version of every active list, or of the lists a policy names (``[exclusions] lists``).

    A list the policy names must exist and be active: a crawl must not start without a list its
    policy relies on (:class:`ListError`, one line).
    """
    with engine.connect() as connection:
        if names:
            wanted = list(dict.fromkeys(names))
            for name in wanted:
                row = connection.execute(select(exclusion_lists).where(exclusion_lists.c.name == name)).first()
                if row is None:
                    raise ListError(f"the policy names exclusion list {name!r}, which is not in the database (import it with: copyright-guard lists import FILE --name {name})")
                if not row.active:
                    raise ListError(f"the policy names exclusion list {name!r}, which was removed (import it again, or drop it from [exclusions] lists)")
        else:
            wanted = list(connection.scalars(select(exclusion_lists.c.name).where(exclusion_lists.c.active.is_(True))))
        if not wanted:
            return ExclusionIndex()
        latest = (
            select(exclusion_list_versions.c.list_name, func.max(exclusion_list_versions.c.version).label("version"))
            .where(exclusion_list_versions.c.list_name.in_(wanted))
            .group_by(exclusion_list_versions.c.list_name)
            .subquery()
        )
        v, e = exclusion_list_versions.c, exclusion_list_entries.c
        query = (
            select(v.list_name, v.version, v.sha256, e.entry, e.kind, e.authority, e.jurisdiction, e.reference, e.listed_at, e.delisted_at)
            .join(latest, (v.list_name == latest.c.list_name) & (v.version == latest.c.version))
            .join(exclusion_list_entries, e.version_id == v.id)
        )
        return ExclusionIndex(
            ExclusionEntry(r.list_name, r.version, r.entry, r.kind, r.authority, r.jurisdiction, r.reference,
                           parse_optional_time(r.listed_at), parse_optional_time(r.delisted_at), r.sha256)
            for r in connection.execute(query)
        )


def index_state(engine: Engine) -> tuple:
    """What :func:`load_exclusion_index` would build from, in one small query: every list's name,
    whether it is active and its latest version. A running crawl polls this (scrapy/extension.py)
    and reloads its index when it changes: an import, a change, a removal or an upheld complaint's
    new entries reach it within a poll interval."""
    latest = (select(exclusion_list_versions.c.list_name, func.max(exclusion_list_versions.c.version).label("version"))
              .group_by(exclusion_list_versions.c.list_name).subquery())
    query = (select(exclusion_lists.c.name, exclusion_lists.c.active, latest.c.version)
             .join(latest, latest.c.list_name == exclusion_lists.c.name, isouter=True)
             .order_by(exclusion_lists.c.name))
    with engine.connect() as connection:
        return tuple(tuple(row) for row in connection.execute(query))


def impact(
    engine: Engine, name: str, version: int | None = None, *, now: datetime, added_only: bool = False,
    stage: str | None = "post-fetch",
) -> Iterator[ImpactRow]:
    """Collected content (allowed decisions in the audit log) that list version ``version`` excludes at ``now``.

    ``added_only`` keeps the entries that version added or changed compared with the one before
    (what a new import changes); ``stage=None`` also counts pre-fetch allows. One row per allowed
    decision, oldest first per queried domain.
    """
    from .audit import allowed_decisions_matching  # the STORE engineer's read API

    with engine.connect() as connection:
        version_id, snapshot = _version(connection, name, version)
        selected = _entries(connection, version_id, snapshot)
        if added_only and snapshot.version > 1:
            old_id, old_snapshot = _version(connection, name, snapshot.version - 1)
            change = _diff(name, old_snapshot.version, snapshot.version, _entries(connection, old_id, old_snapshot), selected)
            selected = list(change.added) + [new for _, new in change.changed]
    index = ExclusionIndex(selected)
    seen: set[str] = set()
    for domain in sorted(_query_domains(selected)):
        for row in allowed_decisions_matching(engine, domain=domain, stage=stage):
            if row.id in seen:
                continue
            try:
                target = parse_target(row.url)
            except URLError:
                continue
            found = index.entries_for(target.host)
            active = [entry for entry in found if entry.active(now)]
            if active:
                seen.add(row.id)
                entry = active[0]
                yield ImpactRow(row.url, row.id, row.decided_at, row.run_id, name, snapshot.version, entry.entry,
                                entry.kind, entry.authority, entry.reference)


def _query_domains(selected: list[ExclusionEntry]) -> set[str]:
    """The ``registered_domain`` values decisions under these entries were recorded with."""
    domains = set()
    for entry in selected:
        if entry.kind == "ip":
            domains.add(entry.entry)
            address = ipaddress.ip_address(entry.entry)
            if address.version == 4:
                domains.add(str(ipaddress.IPv6Address(f"::ffff:{address}")))  # URLs naming it IPv4-mapped
        else:
            domains.add(registered_domain(entry.entry))
    return domains


# -- helpers --------------------------------------------------------------------------------------


def _list_row(connection: Connection, name: str):
    row = connection.execute(select(exclusion_lists).where(exclusion_lists.c.name == name)).first()
    if row is None:
        known = list(connection.scalars(select(exclusion_lists.c.name).order_by(exclusion_lists.c.name).limit(10)))
        hint = f" (lists: {', '.join(known)})" if known else " (no lists imported yet)"
        raise ListError(f"no exclusion list named {name!r}{hint}")
    return row


def _latest(connection: Connection, name: str) -> tuple[int, Snapshot] | None:
    row = connection.execute(
        select(exclusion_list_versions).where(exclusion_list_versions.c.list_name == name)
        .order_by(exclusion_list_versions.c.version.desc()).limit(1)
    ).first()
    return (row.id, _snapshot(row)) if row else None


def _latest_snapshot(connection: Connection, name: str) -> Snapshot | None:
    latest = _latest(connection, name)
    return latest[1] if latest else None


def _version(connection: Connection, name: str, version: int | None) -> tuple[int, Snapshot]:
    _list_row(connection, name)
    if version is None:
        latest = _latest(connection, name)
        if latest is None:
            raise ListError(f"exclusion list {name!r} has no versions")
        return latest
    row = connection.execute(
        select(exclusion_list_versions).where(exclusion_list_versions.c.list_name == name, exclusion_list_versions.c.version == version)
    ).first()
    if row is None:
        last = connection.scalar(select(func.max(exclusion_list_versions.c.version)).where(exclusion_list_versions.c.list_name == name))
        raise ListError(f"exclusion list {name!r} has no version {version} (versions 1..{last or 0})")
    return row.id, _snapshot(row)


def _snapshot(row) -> Snapshot:
    return Snapshot(row.list_name, row.version, row.sha256, row.entries_sha256, parse_optional_time(row.imported_at),
                    row.entry_count, row.source, row.format)


def _rows(connection: Connection, version_id: int) -> list[ListRow]:
    query = select(exclusion_list_entries).where(exclusion_list_entries.c.version_id == version_id).order_by(exclusion_list_entries.c.entry)
    return [ListRow(r.line, r.entry, r.kind, r.authority, r.jurisdiction, r.reference, parse_optional_time(r.listed_at), parse_optional_time(r.delisted_at))
            for r in connection.execute(query)]


def _entries(connection: Connection, version_id: int, snapshot: Snapshot) -> list[ExclusionEntry]:
    return [_to_entry(row, snapshot) for row in _rows(connection, version_id)]


def _to_entry(row: ListRow, snapshot: Snapshot) -> ExclusionEntry:
    return ExclusionEntry(snapshot.list_name, snapshot.version, row.entry, row.kind, row.authority, row.jurisdiction,
                          row.reference, row.listed_at, row.delisted_at, snapshot.sha256)


def _diff(name: str, old_version: int | None, new_version: int, old: list[ExclusionEntry], new: list[ExclusionEntry]) -> ListDiff:
    def fields(e: ExclusionEntry) -> tuple:
        return (e.kind, e.authority, e.jurisdiction, e.reference, e.listed_at, e.delisted_at)

    before = {e.entry: e for e in old}
    after = {e.entry: e for e in new}
    added = tuple(after[k] for k in sorted(after.keys() - before.keys()))
    removed = tuple(before[k] for k in sorted(before.keys() - after.keys()))
    changed = tuple((before[k], after[k]) for k in sorted(before.keys() & after.keys()) if fields(before[k]) != fields(after[k]))
    return ListDiff(name, old_version, new_version, added, removed, changed)
