"""The one purpose table (core/purposes.py) and its copy in docs/opt-outs.md."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from copyright_guard.core.model import PURPOSES
from copyright_guard.core.purposes import TABLE, covers, known, purposes_of

TABLE_PAGE = (Path(__file__).resolve().parents[2] / "docs" / "opt-outs.md").read_text()  # the purpose table


@pytest.mark.parametrize(("vocabulary", "category", "expected"), [
    ("aipref", "train-ai", {"train-ai", "train-genai"}),
    ("aipref", "search", {"search"}),
    ("aipref", "train-genai", {"train-ai", "train-genai"}),
    ("aipref", "ai-use", {"ai-input"}),
    ("aipref", "ai-output", {"ai-input"}),
    ("aipref", "tdm", set(PURPOSES)),
    ("aipref", "bots", set(PURPOSES)),
    ("content-signal", "ai-train", {"train-ai", "train-genai"}),
    ("content-signal", "AI-Train", {"train-ai", "train-genai"}),  # Content-Signal keys are case-insensitive
    ("content-signal", "use", set()),
    ("tdmrep", "tdm-reservation", {"tdm", "train-ai", "train-genai", "ai-input"}),
    ("robots-meta", "noai", {"train-ai", "train-genai", "ai-input"}),
    ("rsl", "ai-train", {"train-ai", "train-genai"}),
    ("rsl", "train-ai", {"train-ai", "train-genai"}),
    ("rsl", "ai-all", {"train-ai", "train-genai", "ai-input"}),
    ("rsl", "all", set(PURPOSES)),
    ("iptc", "http://ns.useplus.org/ldf/vocab/DMI-PROHIBITED-AIMLTRAINING", {"train-ai", "train-genai"}),
    ("iptc", "DMI-PROHIBITED-EXCEPTSEARCHENGINEINDEXING", set(PURPOSES) - {"search"}),
    ("iptc", "DMI-UNSPECIFIED", set()),
    ("c2pa", "c2pa.ai_inference", {"ai-input"}),
    ("c2pa", "cawg.ai_generative_training", {"train-ai", "train-genai"}),
    ("c2pa", "cawg.data_mining", {"tdm"}),
    ("peer-token", "GPTBot", {"train-ai", "train-genai", "tdm"}),
    ("ai-txt", "disallow", {"train-ai", "train-genai", "ai-input"}),
])
def test_mapping(vocabulary, category, expected):
    assert set(purposes_of(vocabulary, category)) == expected
    for purpose in PURPOSES:
        assert covers(vocabulary, category, purpose) is (purpose in expected)


def test_unknown_labels_and_vocabularies_cover_nothing():
    assert not covers("aipref", "train-everything", "train-ai")
    assert not covers("no-such-vocabulary", "train-ai", "train-ai")
    assert not known("aipref", "x-custom") and known("aipref", "train-ai")


def test_every_purpose_is_reachable_and_every_entry_is_a_purpose():
    reached = set().union(*(p for categories in TABLE.values() for p in categories.values()))
    assert reached == set(PURPOSES)


def _readme_table() -> dict[tuple[str, str], set[str]]:
    section = TABLE_PAGE.split("<!-- purpose-table -->", 2)[1]
    rows = {}
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 3 and cells[0].startswith("`"):
            vocabulary = cells[0].strip("`")
            purposes = set(re.findall(r"`([a-z-]+)`", cells[2])) if cells[2] != "-" else set()
            for category in re.findall(r"`([^`]+)`", cells[1]):
                rows[(vocabulary, category.lower())] = purposes
    return rows


def test_readme_prints_exactly_this_table():
    table = {(v, c): set(p) for v, cats in TABLE.items() for c, p in cats.items()}
    assert _readme_table() == table
