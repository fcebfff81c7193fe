"""`make run` names the missing xcb libraries and the apt-get line, instead of Qt's misleading message."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

import qt_platform_check as qpc

ROOT = Path(__file__).resolve().parents[1]
PLUGIN = Path("/x/PySide6/Qt/plugins/platforms/libqxcb.so")
DESKTOP = {"DISPLAY": ":0"}


def lookup_returning(missing: list[str]) -> qpc.MissingLookup:
    def lookup(plugin: Path) -> list[str]:
        assert plugin == PLUGIN
        return missing
    return lookup


def test_fresh_desktop_gets_the_exact_apt_line_for_what_is_missing() -> None:
    message = qpc.check(DESKTOP, "linux", PLUGIN, lookup_returning(["libxcb-icccm.so.4", "libxcb-keysyms.so.1"]))
    assert message is not None
    assert "sudo apt-get install -y libxcb-icccm4 libxcb-keysyms1\n" in message
    assert "xcb-cursor0" not in message  # Qt's wrong guess is not repeated


def test_every_missing_plugin_dependency_maps_to_a_package_or_is_named() -> None:
    missing = ["libxcb-cursor.so.0", "libxkbcommon-x11.so.0", "libxcb-render-util.so.0", "libweird.so.9"]
    message = qpc.check({"WAYLAND_DISPLAY": "wayland-0"}, "linux", PLUGIN, lookup_returning(missing))
    assert message is not None
    assert "apt-get install -y libxcb-cursor0 libxcb-render-util0 libxkbcommon-x11-0\n" in message
    assert "provides: libweird.so.9" in message


@pytest.mark.parametrize(("env", "platform"), [
    ({**DESKTOP, "QT_QPA_PLATFORM": "offscreen"}, "linux"),   # tests and headless self-test
    ({**DESKTOP, "QT_QPA_PLATFORM": "wayland"}, "linux"),     # explicitly not xcb
    ({}, "linux"),                                            # no session: nothing to open
    (DESKTOP, "darwin"),
    (DESKTOP, "win32"),
])
def test_no_check_where_qt_will_not_load_xcb(env: dict[str, str], platform: str) -> None:
    def lookup(plugin: Path) -> list[str]:
        raise AssertionError("looked up libraries where xcb is not used")
    assert qpc.check(env, platform, PLUGIN, lookup) is None


def test_nothing_missing_lets_make_run_continue() -> None:
    assert qpc.check({**DESKTOP, "QT_QPA_PLATFORM": "xcb"}, "linux", PLUGIN, lookup_returning([])) is None


def test_real_plugin_dependencies_are_all_known_packages() -> None:
    plugin = qpc.xcb_plugin()
    if plugin is None:
        pytest.skip("PySide6 has no xcb plugin here")
    missing = qpc.missing_by_ldd(plugin)
    assert set(missing) <= set(qpc.DEBIAN_PACKAGES)  # a new Qt needing a new library shows up here


def test_make_run_checks_before_starting_the_station() -> None:
    plan = subprocess.run(["make", "-n", "-W", "pyproject.toml", "run"], cwd=ROOT, capture_output=True,
                          text=True, timeout=30, check=True).stdout.splitlines()
    check_step = next(i for i, line in enumerate(plan) if "qt_platform_check.py" in line)
    start_step = next(i for i, line in enumerate(plan) if "bin/packbench" in line)
    assert check_step < start_step
