"""Fixtures for the Scrapy tests (helpers.py holds the shared builders)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from scrapy.utils.test import get_crawler

sys.path.insert(0, str(Path(__file__).parent))

from helpers import recording  # noqa: E402


@pytest.fixture
def crawler():
    return get_crawler()


@pytest.fixture
def recorder(crawler):
    return recording(crawler)
