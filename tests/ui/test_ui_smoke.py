"""The window as a whole: the screenshot script and the installer's self-test start-up."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from pytestqt.qtbot import QtBot

from ui.qt import QImage
from ui.screenshot import shoot

ROOT = Path(__file__).resolve().parents[2]


def test_screenshot_script_clicks_through_the_demo(qtbot: QtBot, tmp_path: Path) -> None:
    out = tmp_path / "shots" / "error.png"
    shoot(out, error=True)
    image = QImage(str(out))
    assert (image.width(), image.height()) == (1280, 800)


def test_self_test_starts_a_fresh_station_in_demo_mode_and_quits(tmp_path: Path) -> None:
    shot = tmp_path / "selftest.png"
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "PACKBENCH_SELFTEST": "1",
           "PACKBENCH_SELFTEST_PNG": str(shot)}
    done = subprocess.run([sys.executable, "main.py", "gui", "--data-dir", str(tmp_path / "data")], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert QImage(str(shot)).width() == 1280
