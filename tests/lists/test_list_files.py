"""List files: CSV, JSON and plain text in; normalised rows or a one-line error naming the line out."""

from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest

from copyright_guard.core.lists import files as list_files
from copyright_guard.core.lists.files import ListDefaults, ListFileError, parse_list_file

CSV = b"""domain,authority,jurisdiction,reference,listed_at,delisted_at
bad.example,Arcom,FR,https://arcom.example/decision/2025-17,2025-03-01,
WWW.Mirror.Example.,Tribunal judiciaire de Paris,FR,RG 25/01234,2025-04-02T10:00:00Z,2026-01-01
192.0.2.7,Arcom,FR,2025-18,2025-03-01,
"""


def parse(data: bytes, name: str = "list.csv", **kw):
    return parse_list_file(data, name, **kw)


def error(data: bytes, name: str = "list.csv", **kw) -> str:
    with pytest.raises(ListFileError) as caught:
        parse(data, name, **kw)
    message = str(caught.value)
    assert "\n" not in message and message.startswith(name)
    return message


def test_csv_rows_are_normalised_with_their_lines():
    parsed = parse(CSV)
    assert parsed.format == "csv"
    assert [(r.line, r.entry, r.kind) for r in parsed.rows] == [
        (2, "bad.example", "domain"), (3, "www.mirror.example", "host"), (4, "192.0.2.7", "ip")]
    second = parsed.rows[1]
    assert second.authority == "Tribunal judiciaire de Paris" and second.reference == "RG 25/01234"
    assert second.listed_at == datetime(2025, 4, 2, 10, tzinfo=timezone.utc)
    assert second.delisted_at == datetime(2026, 1, 1, tzinfo=timezone.utc)
    assert parsed.rows[0].delisted_at is None


def test_semicolon_csv_with_bom_comments_and_extra_columns():
    data = "\ufeff# exported 2026-11-01\nDomain;Authority;Reference;Notes\nbad.example;Arcom;2025-17;streaming\n".encode()
    parsed = parse(data, "export.csv")
    assert [r.entry for r in parsed.rows] == ["bad.example"]
    assert parsed.ignored_fields == ("notes",)


def test_plain_text_takes_authority_and_reference_from_the_defaults():
    data = b"# court order RG 25/01234\nbad.example\n\n  other.example  # mirror\n"
    defaults = ListDefaults(authority="Tribunal judiciaire de Paris", jurisdiction="FR", reference="RG 25/01234",
                            listed_at=datetime(2025, 5, 1, tzinfo=timezone.utc))
    parsed = parse(data, "order.txt", defaults=defaults)
    assert parsed.format == "text"
    assert [(r.line, r.entry, r.authority, r.listed_at.year) for r in parsed.rows] == [
        (2, "bad.example", "Tribunal judiciaire de Paris", 2025), (4, "other.example", "Tribunal judiciaire de Paris", 2025)]


def test_json_array_of_objects_and_strings_names_lines():
    data = b'[\n  {"domain": "bad.example", "authority": "Arcom", "reference": "2025-17"},\n  "other.example"\n]'
    parsed = parse(data, "list.json", defaults=ListDefaults(authority="Arcom", reference="2025-20"))
    assert [(r.line, r.entry, r.reference) for r in parsed.rows] == [(2, "bad.example", "2025-17"), (3, "other.example", "2025-20")]


def test_json_object_with_file_level_defaults():
    data = json.dumps({"name": "arcom", "authority": "Arcom", "jurisdiction": "FR", "reference": "liste 2025",
                       "listed_at": "2025-03-01", "entries": ["bad.example", {"domain": "x.example", "reference": "2025-3"}]},
                      indent=2).encode()
    parsed = parse(data, "arcom.json")
    assert [(r.entry, r.authority, r.reference, r.listed_at.date().isoformat()) for r in parsed.rows] == [
        ("bad.example", "Arcom", "liste 2025", "2025-03-01"), ("x.example", "Arcom", "2025-3", "2025-03-01")]
    assert parsed.ignored_fields == ("name",)


def test_format_is_sniffed_without_an_extension():
    assert parse(CSV, "upload").format == "csv"
    assert parse(b'["bad.example"]', "upload", defaults=ListDefaults("A", "", "R")).format == "json"
    assert parse(b"bad.example\n", "upload", defaults=ListDefaults("A", "", "R")).format == "text"


@pytest.mark.parametrize(
    ("data", "name", "expected"),
    [
        (b"domain,authority,reference\nbad.example,Arcom,1\nb\xe9d.example,Arcom,2\n", "l.csv",
         "l.csv line 3: not UTF-8 text (byte 0xe9 at column 2)"),
        (b"domain,reference\nbad.example,1\n", "l.csv", "l.csv line 1: missing 'authority' (add the column"),
        (b"host,authority,reference\nbad.example,A,1\n", "l.csv", "l.csv line 1: missing column 'domain' (the header has: host, authority, reference)"),
        (b"domain,authority,reference\nbad.example,A,1\nother.example,A,2\nBAD.EXAMPLE.,A,3\n", "l.csv",
         "l.csv line 4: duplicate entry bad.example (also on line 2)"),
        (b"domain,authority,reference\nco.uk,A,1\n", "l.csv", "l.csv line 2: 'co.uk' is a public suffix"),
        (b"domain,authority,reference\nbad..example,A,1\n", "l.csv", "l.csv line 2: invalid host name"),
        (b"domain,authority,reference\nbad.example,A\n", "l.csv", "l.csv line 2: 2 fields, but the header has 3"),
        (b"domain,authority,reference,listed_at\nbad.example,A,1,01/03/2025\n", "l.csv",
         "l.csv line 2: listed_at '01/03/2025' is not an ISO 8601 date"),
        (b"domain,authority,reference,listed_at,delisted_at\nbad.example,A,1,2025-03-01,2025-01-01\n", "l.csv",
         "l.csv line 2: delisted_at 2025-01-01T00:00:00Z is not after listed_at"),
        (b"domain,authority,reference\nbad.example,,1\n", "l.csv", "l.csv line 2: bad.example: no authority"),
        (b"domain,authority,reference\nbad.example,\"Ar\ncom\",1\n", "l.csv", "l.csv line 2: authority contains line breaks"),
        (b"domain,authority,reference\nbad.example,A,\x1b[31m1\n", "l.csv", "l.csv line 2: reference contains line breaks or control"),
        (b'domain,authority,reference\n"bad.example,A,1\n', "l.csv", "l.csv line 2: malformed CSV"),
        (b"domain,domain,authority,reference\n", "l.csv", "l.csv line 1: column 'domain' appears twice"),
        (b"domain,authority,reference,kind\nbad.example,A,1,site\n", "l.csv", "l.csv line 2: kind 'site' is not one of domain, host, ip"),
        (b"bad.example\n", "l.txt", "l.txt: a plain-text list has no 'authority' field; give a default authority"),
        (b"bad.example other.example\n", "l.txt", "l.txt line 1: expected one entry per line"),
        (b'[\n "bad.example",\n 42\n]', "l.json", "l.json line 3: an entry must be an object or a string, not int"),
        (b'[\n {"domain": "bad.example",\n  "listed_at": 2025}\n]', "l.json", "l.json line 2: 'listed_at' must be a string, not int"),
        (b'[\n "bad.example",\n', "l.json", "l.json line 3: not valid JSON"),
        (b'{"list": []}', "l.json", 'l.json line 1: a JSON object must have an "entries" array'),
        (b"bad.example\x00\n", "l.txt", "l.txt line 1: NUL byte"),
        (b'[\n {"domain": "bad.example", "authority": "A", "reference": "R",\n  "listed_at": "9999-12-31T23:59:59-23:00"}\n]',
         "l.json", "l.json line 2: listed_at '9999-12-31T23:59:59-23:00' is out of range"),  # was a bare OverflowError
        (b'{"authority": "A", "reference": "R", "listed_at": "9999-12-31T23:59:59-23:00", "entries": ["bad.example"]}',
         "l.json", "l.json line 1: listed_at '9999-12-31T23:59:59-23:00' is out of range"),
        (b'[\n "bad.example",\n {"domain": "b.example", "reference": ' + b"9" * 5000 + b"}\n]", "l.json",
         "l.json line 3: 'reference' must be a string, not int"),  # int() refuses 5000 digits: was a ValueError, no line
        (b"[\n 1" + b"0" * 5000 + b"\n]", "l.json", "l.json line 2: an entry must be an object or a string, not int"),
        (b"domain,authority,reference\n2001:db8::/32,A,R\n", "l.csv", "l.csv line 2: '2001:db8::/32' is an IP address range"),
        ("domain,authority,reference\nbad.example,A,R\u200b\n".encode(), "l.csv", "l.csv line 2: reference contains invisible format characters"),
        (b"# nothing here\n", "l.txt", "l.txt: no entries"),
    ],
)
def test_malformed_files_are_one_line_errors_naming_the_line(data, name, expected):
    assert expected in error(data, name)


def test_every_problem_is_named_in_one_line():
    data = b"domain,authority,reference\nco.uk,A,1\nok.example,A,2\nlocalhost,A,3\nx..y,A,4\n"
    message = error(data)
    assert message.startswith("list.csv line 2: 'co.uk' is a public suffix")
    assert "; list.csv line 4: " in message and "; list.csv line 5: " in message and "more problem" not in message


def test_the_problems_named_are_bounded():
    data = b"domain,authority,reference\n" + b"".join(b"co.uk,A,%d\n" % n for n in range(25))
    message = error(data)
    assert message.count("is a public suffix") == 20 and message.endswith("; and 5 more problems")


def test_huge_files_are_refused_before_parsing(monkeypatch):
    monkeypatch.setattr(list_files, "MAX_BYTES", 1000)
    message = error(b"domain,authority,reference\n" + b"x.example,A,1\n" * 100)
    assert "1,427 bytes, more than the 1,000-byte limit" in message


def test_too_many_entries_names_the_line_where_the_cap_was_hit(monkeypatch):
    monkeypatch.setattr(list_files, "MAX_ENTRIES", 3)
    data = b"domain,authority,reference\n" + b"".join(b"s%d.example,A,1\n" % i for i in range(10))
    assert "list.csv line 5: more than 3 entries" in error(data)


def test_utf16_files_with_a_bom_are_read():
    data = "domain,authority,reference\nbücher.example,A,1\n".encode("utf-16")
    assert [r.entry for r in parse(data).rows] == ["xn--bcher-kva.example"]


def test_the_shipped_example_list_parses():
    from pathlib import Path

    example = Path(__file__).resolve().parents[2] / "policies" / "exclusion-lists" / "example.csv"
    parsed = parse(example.read_bytes(), example.name)
    assert len(parsed.rows) >= 3
    fictional = (".example", ".invalid", ".test")
    assert all(r.entry.endswith(fictional) or r.kind == "ip" for r in parsed.rows)


def test_a_missing_column_names_the_header_line_after_comments():
    assert "l.csv line 3: missing 'reference'" in error(b"# list\n# of 2026\ndomain,authority\nbad.example,A\n", "l.csv")


def test_api_records_name_the_entry_number():
    from copyright_guard.core.lists.files import rows_from_records

    records = [(None, {"entry": "a.example", "authority": "A", "reference": "1"}),
               (None, {"entry": "A.example.", "authority": "A", "reference": "2"})]
    with pytest.raises(ListFileError, match=r"^complaint X entry 2: duplicate entry a.example \(also on entry 1\)$"):
        rows_from_records(records, "complaint X", unit="entry")


def test_a_mixed_script_entry_is_accepted_with_a_warning():
    # Issue 13: "pаypal.com" with a Cyrillic "а" names another host than paypal.com; a person should look.
    parsed = parse_list_file("pаypal.com\nbücher.example\nexample.com\n".encode(), "order.txt",
                             defaults=ListDefaults("A court", "", "case 1", None))
    assert [row.entry for row in parsed.rows] == ["xn--pypal-4ve.com", "xn--bcher-kva.example", "example.com"]
    assert parsed.warnings == ("order.txt line 1: entry xn--pypal-4ve.com ('pаypal' in xn--pypal-4ve) mixes scripts "
                               "(Latin, Cyrillic): a look-alike of another name?",)
