"""The window as a whole: the screenshot script and the installer's self-test start-up."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from pytestqt.qtbot import QtBot

from ui.alarm_view import ALARM_RED
from ui.qt import QImage
from ui.screenshot import LABEL_PREVIEW, README_SHOTS, shoot, shoot_alarm, shoot_finished

ROOT = Path(__file__).resolve().parents[2]


def test_screenshot_script_clicks_through_the_demo(qtbot: QtBot, tmp_path: Path) -> None:
    out = tmp_path / "shots" / "error.png"
    shoot(out, error=True)
    image = QImage(str(out))
    assert (image.width(), image.height()) == (1280, 800)


def test_screenshots_at_a_station_pcs_size_have_that_size_and_no_demo_panel(qtbot: QtBot, tmp_path: Path) -> None:
    out = tmp_path / "finished.png"
    shoot_finished(out, "en", size=(1024, 768))
    image = QImage(str(out))
    assert (image.width(), image.height()) == (1024, 768)  # with the demo panel docked it could not be
    done = subprocess.run([sys.executable, "-m", "ui.screenshot", "--at", "1024x768"], cwd=ROOT, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode != 0 and "--at WIDTHxHEIGHT DIR" in done.stderr  # the folder is missing: usage


def test_self_test_starts_a_fresh_station_in_demo_mode_and_quits(tmp_path: Path) -> None:
    shot = tmp_path / "selftest.png"
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "PACKBENCH_SELFTEST": "1",
           "PACKBENCH_SELFTEST_PNG": str(shot)}
    done = subprocess.run([sys.executable, "main.py", "gui", "--data-dir", str(tmp_path / "data")], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert QImage(str(shot)).width() == 1280


def test_alarm_screenshot_shows_the_alarm_page_in_the_language_asked(qtbot: QtBot, tmp_path: Path) -> None:
    out = tmp_path / "alarm-en.png"
    shoot_alarm(out, "en")
    image = QImage(str(out))
    assert (image.width(), image.height()) == (1280, 800)
    assert image.pixelColor(40, 120).name() == ALARM_RED  # the alarm page, not the pack screen under it


def test_readme_shows_every_screenshot_make_screenshots_writes() -> None:
    readme = (ROOT / "README.md").read_text("utf-8")
    shown = set(re.findall(r"\(docs/screenshots/([^)]+\.png)\)", readme))
    written = {LABEL_PREVIEW} | {f"{name}{suffix}.png" for name in README_SHOTS for suffix in ("", "-en")}
    assert shown == written
    assert all((ROOT / "docs" / "screenshots" / name).exists() for name in written)
    plan = subprocess.run(["make", "-n", "-W", "pyproject.toml", "screenshots"], cwd=ROOT, capture_output=True,
                          text=True, timeout=30, check=True).stdout
    assert "QT_QPA_PLATFORM=offscreen" in plan and "-m ui.screenshot --all docs/screenshots" in plan
