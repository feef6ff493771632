"""Reading exclusion-list files: CSV with a header, JSON, or plain text with one entry per line.

Pure: bytes in, rows out. Every problem is a :class:`ListFileError` whose message is one line
naming the file and the line (``arcom.csv line 7: duplicate entry bad.example (also on line 3)``),
so an operator can fix the file; nothing is imported unless the whole file is good.

Fields (CSV columns, JSON keys): ``domain`` (a registered domain, a host, ``*.host`` or an IP
address; see core/lists/exclusions.py), ``authority``, ``jurisdiction``, ``reference``, ``listed_at``,
optional ``delisted_at`` and ``kind`` (``domain`` | ``host`` | ``ip``). ``authority`` and
``reference`` are required for every entry, from the file or from the defaults given with the
import (a plain-text file has only the defaults). Dates are ISO 8601 (``2025-03-01`` or
``2025-03-01T12:00:00Z``); naive times are UTC; an entry without ``listed_at`` applies from the
import on.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timezone

from .exclusions import KINDS, EntryError, normalise_entry
from ..text import problems_line

MAX_BYTES = 32 * 1024 * 1024  # far above any published list; a bigger file is a mistake or an attack
MAX_ENTRIES = 250_000
MAX_FIELD = 2000  # characters of authority / jurisdiction / reference
FORMATS = ("csv", "json", "text")
FIELDS = ("domain", "kind", "authority", "jurisdiction", "reference", "listed_at", "delisted_at")
_EXTENSIONS = {".csv": "csv", ".tsv": "csv", ".json": "json", ".txt": "text", ".list": "text"}


class ListFileError(ValueError):
    """A list file that cannot be imported. ``str()`` is one line naming the file and the line."""


@dataclass(frozen=True, slots=True)
class ListDefaults:
    """Values for entries whose file does not give them (command-line options of ``lists import``)."""

    authority: str = ""
    jurisdiction: str = ""
    reference: str = ""
    listed_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class ListRow:
    """One validated, normalised entry of a list file."""

    line: int | None
    entry: str
    kind: str
    authority: str
    jurisdiction: str
    reference: str
    listed_at: datetime | None
    delisted_at: datetime | None

    def as_dict(self) -> dict:
        """Canonical form (times as ISO 8601 UTC text), for hashing and diffs."""
        return {
            "entry": self.entry,
            "kind": self.kind,
            "authority": self.authority,
            "jurisdiction": self.jurisdiction,
            "reference": self.reference,
            "listed_at": _iso(self.listed_at),
            "delisted_at": _iso(self.delisted_at),
        }


@dataclass(frozen=True, slots=True)
class ParsedList:
    format: str
    rows: tuple[ListRow, ...]
    ignored_fields: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()  # accepted, but a person should look (mixed-script entries)


def parse_list_file(data: bytes, name: str, *, format: str = "auto", defaults: ListDefaults = ListDefaults()) -> ParsedList:
    """Parse and validate a whole list file. Raises :class:`ListFileError` (one line)."""
    if len(data) > MAX_BYTES:
        raise ListFileError(
            f"{name}: {len(data):,} bytes, more than the {MAX_BYTES:,}-byte limit for one list file; split it into several lists"
        )
    text = _decode(data, name)
    kind = _format(text, name, format)
    header_line = 1
    if kind == "csv":
        records, ignored, present, header_line = _csv_records(text, name)
    elif kind == "json":
        records, ignored, present, defaults = _json_records(text, name, defaults)
    else:
        records, ignored, present = _text_records(text, name), (), {"domain"}
    if not records:
        raise ListFileError(f"{name}: no entries")
    for field in ("authority", "reference"):
        if field not in present and not getattr(defaults, field):
            if kind == "text":
                raise ListFileError(f"{name}: a plain-text list has no {field!r} field; give a default {field} for its entries")
            raise ListFileError(f"{name} line {header_line}: missing {field!r} ({'add the column' if kind == 'csv' else 'add the field'} or give a default {field})")
    rows = rows_from_records(records, name, defaults)
    return ParsedList(kind, rows, tuple(ignored), mixed_script_warnings(rows, name))


def label_scripts(label: str) -> list[str]:
    """The scripts of the letters of one host label (the first word of each Unicode name: LATIN,
    CYRILLIC, GREEK, ...); digits and hyphens belong to none."""
    scripts: list[str] = []
    for char in label:
        if char.isalpha():
            script = unicodedata.name(char, "UNKNOWN").split(" ", 1)[0]
            if script not in scripts:
                scripts.append(script)
    return scripts


def mixed_script_warnings(rows: Iterable[ListRow], name: str, limit: int = 20) -> tuple[str, ...]:
    """One warning per entry with a label mixing scripts ("pаypal.com" with a Cyrillic "а"): it is
    accepted as written - the order names that host - but it looks like another name, and the
    site the authority meant may be the other one (UTS #39 §5.1, mixed-script detection)."""
    warnings: list[str] = []
    for row in rows:
        if "xn--" not in row.entry:
            continue
        for label in row.entry.split("."):
            if not label.startswith("xn--"):
                continue
            try:
                text = label.encode("ascii").decode("idna")
            except UnicodeError:
                continue
            scripts = label_scripts(text)
            if len(scripts) > 1:
                where = f"{name} line {row.line}" if row.line is not None else name
                warnings.append(f"{where}: entry {row.entry} ({text!r} in {label}) mixes scripts "
                                f"({', '.join(s.title() for s in scripts)}): a look-alike of another name?")
                break
        if len(warnings) >= limit:
            break
    return tuple(warnings)


def rows_from_records(
    records: Iterable[tuple[int | None, dict]], name: str, defaults: ListDefaults = ListDefaults(), *, unit: str = "line"
) -> tuple[ListRow, ...]:
    """Validate ``(line, {field: value})`` records into rows; the first problem is raised, with a count of the rest."""
    rows: list[ListRow] = []
    seen: dict[str, int] = {}
    problems: list[str] = []
    for position, (line, record) in enumerate(records, 1):
        where = f"{name} {unit} {line if line is not None else position}"
        if len(rows) >= MAX_ENTRIES:
            raise ListFileError(f"{where}: more than {MAX_ENTRIES:,} entries, the limit for one list; split it into several lists")
        try:
            row = _row(line, record, defaults)
        except (EntryError, ValueError) as exc:
            problems.append(f"{where}: {exc}")
            continue
        if row.entry in seen:
            first = seen[row.entry]
            problems.append(f"{where}: duplicate entry {row.entry} (also on {unit} {first})")
            continue
        seen[row.entry] = line if line is not None else position
        rows.append(row)
    if problems:
        raise ListFileError(problems_line(problems))
    return tuple(rows)


def _row(line: int | None, record: dict, defaults: ListDefaults) -> ListRow:
    raw = record.get("domain") or record.get("entry") or ""
    if not raw.strip():
        raise ValueError("empty domain")
    kind = (record.get("kind") or "").strip().lower() or None
    if kind is not None and kind not in KINDS:
        raise ValueError(f"kind {kind!r} is not one of {', '.join(KINDS)}")
    entry, kind = normalise_entry(raw, kind)
    values = {}
    for field in ("authority", "jurisdiction", "reference"):
        value = (record.get(field) or "").strip() or getattr(defaults, field)
        if len(value) > MAX_FIELD:
            raise ValueError(f"{field} longer than {MAX_FIELD} characters")
        if any(ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F for c in value):
            # Shown on reviewers' terminals and in reports: no line breaks or escape sequences.
            raise ValueError(f"{field} contains line breaks or control characters")
        if any(unicodedata.category(c) == "Cf" for c in value):
            # Format characters are as misleading there: U+202E (right-to-left override) makes
            # "Arcom" print backwards, zero-width characters make two authorities look the same.
            raise ValueError(f"{field} contains invisible format characters (such as bidi overrides U+202A-U+202E)")
        values[field] = value
    for field in ("authority", "reference"):
        if not values[field]:
            raise ValueError(f"{entry}: no {field}")
    listed_at = _moment(record.get("listed_at"), "listed_at") or defaults.listed_at
    delisted_at = _moment(record.get("delisted_at"), "delisted_at")
    if listed_at and delisted_at and delisted_at <= listed_at:
        raise ValueError(f"delisted_at {_iso(delisted_at)} is not after listed_at {_iso(listed_at)}")
    return ListRow(line, entry, kind, values["authority"], values["jurisdiction"], values["reference"], listed_at, delisted_at)


def _moment(value: str | None, field: str) -> datetime | None:
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise ValueError(f"{field} {text!r} is not an ISO 8601 date (e.g. 2025-03-01 or 2025-03-01T12:00:00Z)") from None
    try:
        return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment.astimezone(timezone.utc)
    except OverflowError:  # 9999-12-31T23:59:59-23:00 is in the year 10000 in UTC
        raise ValueError(f"{field} {text!r} is out of range (in UTC it is after the year 9999)") from None


def _iso(moment: datetime | None) -> str | None:
    return moment.astimezone(timezone.utc).isoformat().replace("+00:00", "Z") if moment else None


# -- bytes to text ---------------------------------------------------------------------------------


def _decode(data: bytes, name: str) -> str:
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError as exc:
            raise ListFileError(f"{name}: not valid UTF-16 text (byte {exc.start})") from None
    data = data.removeprefix(codecs.BOM_UTF8)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        raise ListFileError(
            f"{name} line {line}: not UTF-8 text (byte 0x{data[exc.start]:02x} at column {column}); save the file as UTF-8"
        ) from None
    if "\x00" in text:
        line = text.count("\n", 0, text.index("\x00")) + 1
        raise ListFileError(f"{name} line {line}: NUL byte - this is not a text file")
    return text


def _format(text: str, name: str, format: str) -> str:
    if format != "auto":
        if format not in FORMATS:
            raise ListFileError(f"{name}: unknown format {format!r} (one of auto, {', '.join(FORMATS)})")
        return format
    lowered = name.lower()
    for extension, kind in _EXTENSIONS.items():
        if lowered.endswith(extension):
            return kind
    stripped = text.lstrip()
    if stripped[:1] in ("[", "{"):
        return "json"
    first = next((line for line in stripped.splitlines() if line.strip() and not line.lstrip().startswith("#")), "")
    if "domain" in first.lower() and any(sep in first for sep in ",;\t"):
        return "csv"
    return "text"


# -- CSV ------------------------------------------------------------------------------------------


def _csv_records(text: str, name: str) -> tuple[list[tuple[int, dict]], list[str], set[str], int]:
    lines = text.splitlines()
    header_index = next((i for i, line in enumerate(lines) if line.strip() and not line.lstrip().startswith("#")), None)
    if header_index is None:
        raise ListFileError(f"{name}: no entries")
    header_line = lines[header_index]
    try:
        dialect = csv.Sniffer().sniff(header_line, delimiters=",;\t")
        delimiter = dialect.delimiter
    except csv.Error:
        delimiter = ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    records: list[tuple[int, dict]] = []
    header: list[str] | None = None
    header_line = 1
    previous_end = 0
    try:
        for cells in reader:
            start, previous_end = previous_end + 1, reader.line_num
            if not any(cell.strip() for cell in cells) or cells[0].lstrip().startswith("#"):
                continue
            if header is None:
                header = [cell.strip().lower().lstrip("\ufeff") for cell in cells]
                header_line = start
                duplicates = sorted({c for c in header if header.count(c) > 1})
                if duplicates:
                    raise ListFileError(f"{name} line {start}: column {duplicates[0]!r} appears twice in the header")
                if "domain" not in header:
                    shown = ", ".join(c for c in header if c) or "(nothing)"
                    raise ListFileError(f"{name} line {start}: missing column 'domain' (the header has: {shown[:200]})")
                continue
            if len(cells) != len(header):
                raise ListFileError(f"{name} line {start}: {len(cells)} fields, but the header has {len(header)}")
            records.append((start, {column: cell for column, cell in zip(header, cells) if column in FIELDS}))
            if len(records) > MAX_ENTRIES:
                raise ListFileError(f"{name} line {start}: more than {MAX_ENTRIES:,} entries, the limit for one list; split it into several lists")
    except csv.Error as exc:
        raise ListFileError(f"{name} line {reader.line_num}: malformed CSV ({exc})") from None
    assert header is not None  # a non-empty, non-comment line exists
    ignored = [c for c in header if c not in FIELDS]
    return records, ignored, set(header), header_line


# -- plain text ----------------------------------------------------------------------------------


def _text_records(text: str, name: str) -> list[tuple[int, dict]]:
    records = []
    for number, line in enumerate(text.splitlines(), 1):
        value = line.split("#", 1)[0].strip()
        if not value:
            continue
        if any(c.isspace() for c in value) or "," in value:
            raise ListFileError(f"{name} line {number}: expected one entry per line, got {value[:80]!r}")
        records.append((number, {"domain": value}))
        if len(records) > MAX_ENTRIES:
            raise ListFileError(f"{name} line {number}: more than {MAX_ENTRIES:,} entries, the limit for one list; split it into several lists")
    return records


# -- JSON -----------------------------------------------------------------------------------------

class _LongInteger:
    """Stands in for a JSON integer of thousands of digits: int() refuses those (ValueError, with no
    position), and no list field is a number anyway, so the entry's line is reported as for any
    number."""


def _integer(digits: str) -> int | _LongInteger:
    try:
        return int(digits)
    except ValueError:
        return _LongInteger()


def _type_name(value: object) -> str:
    return "int" if isinstance(value, _LongInteger) else type(value).__name__


_DECODER = json.JSONDecoder(parse_int=_integer)
_DEFAULT_KEYS = ("authority", "jurisdiction", "reference", "listed_at")


def _json_records(text: str, name: str, defaults: ListDefaults):
    """A JSON array of entries (objects or strings), or an object with ``entries`` and defaults.

    The array is walked element by element with ``raw_decode`` so every error can name the line
    the entry starts on (json.loads would only know positions of syntax errors).
    """
    def line_of(index: int) -> int:
        return text.count("\n", 0, index) + 1

    try:
        document = json.loads(text, parse_int=_integer)
    except json.JSONDecodeError as exc:
        raise ListFileError(f"{name} line {exc.lineno}: not valid JSON ({exc.msg}, column {exc.colno})") from None
    except RecursionError:
        raise ListFileError(f"{name}: JSON nested too deeply") from None
    ignored: list[str] = []
    present: set[str] = set()
    if isinstance(document, dict):
        if not isinstance(document.get("entries"), list):
            raise ListFileError(f"{name} line 1: a JSON object must have an \"entries\" array")
        file_defaults = {}
        for key in _DEFAULT_KEYS:
            value = document.get(key)
            if value is not None and not isinstance(value, str):
                raise ListFileError(f"{name} line 1: {key!r} must be a string")
            if value:
                file_defaults[key] = value
        listed_at = file_defaults.pop("listed_at", None)
        try:
            moment = _moment(listed_at, "listed_at") if listed_at else defaults.listed_at
        except ValueError as exc:
            raise ListFileError(f"{name} line 1: {exc}") from None
        defaults = ListDefaults(
            authority=file_defaults.get("authority", defaults.authority),
            jurisdiction=file_defaults.get("jurisdiction", defaults.jurisdiction),
            reference=file_defaults.get("reference", defaults.reference),
            listed_at=moment,
        )
        ignored = [k for k in document if k not in (*_DEFAULT_KEYS, "entries")]
        start = _array_start(text)
    elif isinstance(document, list):
        start = text.index("[")
    else:
        raise ListFileError(f"{name} line 1: expected a JSON array of entries or an object with \"entries\"")
    records = []
    for (index, item) in _array_items(text, start):
        line = line_of(index)
        if isinstance(item, str):
            record = {"domain": item}
        elif isinstance(item, dict):
            record = {}
            for key, value in item.items():
                if key not in FIELDS and key != "entry":
                    if key not in ignored:
                        ignored.append(key)
                    continue
                if value is not None and not isinstance(value, str):
                    raise ListFileError(f"{name} line {line}: {key!r} must be a string, not {_type_name(value)}")
                record[key] = value
                present.add("domain" if key == "entry" else key)
        else:
            raise ListFileError(f"{name} line {line}: an entry must be an object or a string, not {_type_name(item)}")
        records.append((line, record))
        if len(records) > MAX_ENTRIES:
            raise ListFileError(f"{name} line {line}: more than {MAX_ENTRIES:,} entries, the limit for one list; split it into several lists")
    # A field counts as present for the "missing field" check if any entry has it; entries lacking
    # it are then reported one by one.
    return records, ignored, present | ({"domain"} if records else set()), defaults


def _array_start(text: str) -> int:
    """Offset of the top-level object's ``entries`` array (the document is known to be valid)."""
    index = text.index("{") + 1
    while True:
        index = _skip(text, index)
        key, index = _DECODER.raw_decode(text, index)
        index = _skip(text, index) + 1  # the ":"
        index = _skip(text, index)
        if key == "entries":
            return index
        _, index = _DECODER.raw_decode(text, index)
        index = _skip(text, index) + 1  # the "," (the document is valid, and "entries" exists)


def _array_items(text: str, index: int) -> Iterator[tuple[int, object]]:
    index = _skip(text, index + 1)  # past "["
    if text[index] == "]":
        return
    while True:
        start = index
        item, index = _DECODER.raw_decode(text, index)
        yield start, item
        index = _skip(text, index)
        if text[index] == "]":
            return
        index = _skip(text, index + 1)  # past ","


def _skip(text: str, index: int) -> int:
    while index < len(text) and text[index] in " \t\r\n":
        index += 1
    return index
