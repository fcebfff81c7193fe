"""A running demo station (real runtime thread, simulated devices) with its window focused."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from app.clock import FakeClock
from ui.app import Station, build_station
from ui.qt import QApplication, QDesktopServices, QObject, QUrl, Slot


@contextmanager
def running_station(qtbot: QtBot, data_dir: Path, clock: FakeClock) -> Iterator[Station]:
    """The demo station of `data_dir` (seeded if it has no orders yet), started, its pack screen focused."""
    s = build_station(data_dir, demo=True, clock=clock, retry_seconds=0.05)
    s.start()
    try:
        qtbot.waitExposed(s.window)
        s.window.activateWindow()
        qtbot.waitUntil(lambda: QApplication.focusWidget() is s.window.pack_screen)
        yield s
    finally:
        s.close()


@pytest.fixture
def station(qapp: QApplication, qtbot: QtBot, tmp_path: Path, clock: FakeClock) -> Iterator[Station]:
    with running_station(qtbot, tmp_path, clock) as s:
        yield s


class _OpenedFiles(QObject):
    def __init__(self) -> None:
        super().__init__()
        self.paths: list[Path] = []

    @Slot(QUrl)
    def open(self, url: QUrl) -> None:
        self.paths.append(Path(url.toLocalFile()))


@pytest.fixture
def opened_files(qapp: QApplication) -> Iterator[list[Path]]:
    """Files the window hands the system to open (a manifest to print): caught here, never opened."""
    catcher = _OpenedFiles()
    QDesktopServices.setUrlHandler("file", catcher, "open")
    try:
        yield catcher.paths
    finally:
        QDesktopServices.unsetUrlHandler("file")
