"""Shared fixtures: a fresh store in a temp dir, an injected clock, the demo data, a pack flow."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
# The CLI words its own lines in the environment's language (app.i18n.environment_language): the
# tests read English ones whatever the developer's locale; a test of Chinese lines sets its own.
os.environ.pop("LANGUAGE", None)
os.environ.pop("LC_ALL", None)
os.environ["LC_MESSAGES"] = "C"

from app.clock import FakeClock
from app.demo import seed_demo
from app.pack.flow import FlowConfig, PackFlow
from app.store import Store, open_store


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def store(tmp_path: Path, clock: FakeClock) -> Iterator[Store]:
    s = open_store(tmp_path / "station", clock)
    yield s
    s.close()


@pytest.fixture
def demo_store(store: Store, clock: FakeClock) -> Store:
    seed_demo(store, clock, waybills=20)
    return store


@pytest.fixture
def flow(demo_store: Store, clock: FakeClock) -> PackFlow:
    return PackFlow(demo_store, clock, FlowConfig(station="T-1"))
