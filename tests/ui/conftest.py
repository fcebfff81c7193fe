"""A running demo station (real runtime thread, simulated devices) with its window focused."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from app.clock import FakeClock
from ui.app import Station, build_station
from ui.qt import QApplication


@pytest.fixture
def station(qapp: QApplication, qtbot: QtBot, tmp_path: Path, clock: FakeClock) -> Iterator[Station]:
    s = build_station(tmp_path, demo=True, clock=clock, retry_seconds=0.05)
    s.start()
    try:
        qtbot.waitExposed(s.window)
        s.window.activateWindow()
        qtbot.waitUntil(lambda: QApplication.focusWidget() is s.window.pack_screen)
        yield s
    finally:
        s.close()
