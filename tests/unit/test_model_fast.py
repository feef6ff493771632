"""The hot-path constructors set every field exactly as the dataclasses' own __init__ does."""

from __future__ import annotations

import inspect
from dataclasses import FrozenInstanceError, fields
from datetime import datetime, timezone

import pytest

from copyright_guard.core.content import ContentFacts
from copyright_guard.core.model import Decision, Reason, Stage, Verdict, new_decision
from copyright_guard.core.urls import Target, _target


@pytest.mark.parametrize(("cls", "make"), [(Decision, new_decision), (Target, _target)])
def test_takes_every_field_in_order(cls, make):
    assert list(inspect.signature(make).parameters) == [f.name for f in fields(cls)]


def test_new_decision_equals_the_dataclass():
    args = ("https://a.example/x", "https://a.example", "a.example", Stage.PRE_FETCH, "train-ai", Verdict.DENY,
            (Reason("robots.disallowed", "robots.txt", "d"),), "hash", datetime(2026, 1, 2, tzinfo=timezone.utc),
            (), ("headers", "html-meta"), ContentFacts("0" * 64, "text/html", 12, 200, "text"))
    fast, slow = new_decision(*args), Decision(*args)
    assert fast == slow and hash(fast) == hash(slow) and repr(fast) == repr(slow)
    assert [getattr(fast, f.name) for f in fields(Decision)] == list(args)
    with pytest.raises(FrozenInstanceError):
        fast.verdict = Verdict.ALLOW  # type: ignore[misc]


def test_target_equals_the_dataclass():
    args = ("http://a.example:8080/p?q", "http", "a.example", 8080, "/p?q", "a.example")
    fast, slow = _target(*args), Target(*args)
    assert fast == slow and hash(fast) == hash(slow) and fast.origin == "http://a.example:8080"
    assert [getattr(fast, f.name) for f in fields(Target)] == list(args)
    with pytest.raises(FrozenInstanceError):
        fast.path = "/"  # type: ignore[misc]
