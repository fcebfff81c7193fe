"""Small builders the tests share."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from app.clock import FakeClock
from app.devices import Scan, WeightReading
from app.pack.flow import PackFlow
from app.pack.outcomes import Outcome
from app.store import Store


def scan(flow: PackFlow, text: str, source: str = "test") -> Outcome:
    clock = flow.clock
    assert isinstance(clock, FakeClock)
    clock.advance(1)
    return flow.scan(Scan(text.encode(), source, clock.now()))


def weigh(flow: PackFlow, grams: int) -> Outcome | None:
    clock = flow.clock
    assert isinstance(clock, FakeClock)
    clock.advance(1)
    return flow.weight(WeightReading(grams, True, clock.now()))


class FullDisk:
    """The store's disk is full until `free()`: every transaction opened from then on fails the way
    SQLite fails on a full disk, on every thread, and keeps failing (a retry finds it still full)."""

    def __init__(self, store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
        self.full = True
        real = store.atomic

        @contextmanager
        def atomic() -> Iterator[None]:
            if self.full:
                raise sqlite3.OperationalError("database or disk is full")
            with real():
                yield

        monkeypatch.setattr(store, "atomic", atomic)

    def free(self) -> None:
        self.full = False
