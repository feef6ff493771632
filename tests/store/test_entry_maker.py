"""The writer's fast serialising (chain.EntryMaker) writes exactly what canonical_entry() does:
the chain, the Merkle tree and `audit verify` all recompute rows with canonical_entry."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from copyright_guard.store.chain import ALL_FIELDS, EntryMaker, entry_and_link

text = st.text(max_size=40)  # any code point: quotes, backslashes, controls, astral characters
optional_text = st.none() | text
whole = st.integers(min_value=-(2**63), max_value=2**63 - 1)
facts = st.none() | st.tuples(text, optional_text, whole, st.integers(100, 599), text)
validators = st.tuples(optional_text, optional_text)  # row format 3: etag, last_modified
rows = st.tuples(
    st.sampled_from(["0189abcdef0123456789abcdef012345", "x\"y"]), st.sampled_from(["run-1", "run\\2"]),
    st.integers(1, 10**9), st.sampled_from(["2026-11-01T00:00:00.000000Z", "2026-11-01T00:00:00.000001Z"]),
    text, st.sampled_from(["http://a.example", "http://b.example:8080"]), st.sampled_from(["a.example", "ß.example"]),
    st.sampled_from(["pre-fetch", "post-fetch", "recheck"]), st.sampled_from(["train-ai", "search"]),
    st.sampled_from(["allow", "deny"]), st.sampled_from(["0" * 64, "f" * 64]),
    st.sampled_from(["[]", '[{"code":"robots.disallowed","detail":"line 2: \\"Disallow: /\\"\\u2028"}]']),
    st.sampled_from([2, 3]), optional_text, st.none() | st.sampled_from(['["headers"]', '["headers","html-meta"]']),
    facts, validators,
)


@settings(max_examples=300)
@given(st.lists(rows, min_size=1, max_size=8))
def test_entry_maker_writes_what_canonical_entry_writes(generated):
    maker = EntryMaker()
    for *fields, content, (etag, last_modified) in generated:
        if fields[12] == 2:
            etag = last_modified = None  # the writer writes format 3 only with a validator
        row = (*fields, *(content if content is not None else (None,) * 5), etag, last_modified)
        assert len(row) == len(ALL_FIELDS)
        assert maker.entry_and_link(row, "a" * 64) == entry_and_link(row, "a" * 64)


def test_a_format_1_row_takes_the_plain_path():
    row = ("id", "run", 1, "2026-11-01T00:00:00.000000Z", "http://a/", "http://a", "a", "pre-fetch", "train-ai",
           "allow", "0" * 64, "[]", None, None, None, None, None, None, None, None, None, None)
    assert EntryMaker().entry_and_link(row, "0" * 64) == entry_and_link(row, "0" * 64)


def test_only_a_format_3_row_hashes_its_validators():
    from copyright_guard.store.chain import canonical_entry

    base = ("id", "run", 1, "2026-11-01T00:00:00.000000Z", "http://a/", "http://a", "a", "post-fetch", "train-ai",
            "allow", "0" * 64, "[]")
    facts = (None, None, "f" * 64, "text/html", 10, 200, "text")
    assert canonical_entry((*base, 2, *facts, '"x"', None)) == canonical_entry((*base, 2, *facts, None, None))
    assert canonical_entry((*base, 3, *facts, '"x"', None)).endswith(',"text","\\"x\\"",null]')
