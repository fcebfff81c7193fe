"""Fixtures of the evidence tests: a bench with a packer logged in, and one order's full history."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.clock import FakeClock
from app.evidence.service import EvidenceSettings
from app.pack.flow import PackFlow
from app.store import Store
from tests.evidence.history import BASE_URL, History, build_history


@pytest.fixture
def history(demo_store: Store, flow: PackFlow, clock: FakeClock) -> History:
    return build_history(demo_store, flow, clock)


@pytest.fixture
def settings() -> EvidenceSettings:
    return EvidenceSettings(station="T-1", warehouse="PackBench 演示仓", passport_base_url=BASE_URL)


@pytest.fixture
def data_dir(demo_store: Store) -> Path:
    return demo_store.path.parent
