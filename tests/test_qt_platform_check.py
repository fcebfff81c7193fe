"""`make run` names the missing xcb libraries and the apt-get line, instead of Qt's misleading message."""

from __future__ import annotations

import re
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


MISSING = ["libxcb-icccm.so.4", "libxcb-keysyms.so.1"]


def fake_apt_get(tmp_path: Path, stale: bool = False, update_ok: bool = True) -> tuple[dict[str, str], Path]:
    """A PATH whose apt-get logs its arguments and 'installs' by touching a marker file. With `stale`
    package lists, install fails (exit 100, as apt-get does) until an `apt-get update` succeeded."""
    bin_dir, log = tmp_path / "bin", tmp_path / "apt.log"
    bin_dir.mkdir()
    script = bin_dir / "apt-get"
    script.write_text(f"""#!/bin/sh
echo "$DEBIAN_FRONTEND $*" >> {log}
case "$1" in
  update) {"touch " + str(tmp_path / "updated") if update_ok else "exit 100"};;
  install) [ {"yes" if stale else "no"} = no ] || [ -e {tmp_path / "updated"} ] || exit 100
           touch {tmp_path / "installed"};;
esac
""")
    script.chmod(0o755)
    return {"PATH": f"{bin_dir}:/usr/bin:/bin"}, log


def lookup_until_installed(tmp_path: Path) -> qpc.MissingLookup:
    return lambda plugin: [] if (tmp_path / "installed").exists() else list(MISSING)


def test_install_as_root_runs_apt_get_then_lets_make_run_go_on(tmp_path: Path,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    env, log = fake_apt_get(tmp_path)
    # No DISPLAY: sudo drops it, and the consent flag says the bench will open a window.
    assert qpc.install_missing(env, "linux", PLUGIN, lookup_until_installed(tmp_path), is_root=True) == 0
    assert log.read_text() == "noninteractive install -y libxcb-icccm4 libxcb-keysyms1\n"
    assert "installed libxcb-icccm4 libxcb-keysyms1" in capsys.readouterr().err


def test_install_updates_stale_package_lists_once(tmp_path: Path) -> None:
    env, log = fake_apt_get(tmp_path, stale=True)
    assert qpc.install_missing(env, "linux", PLUGIN, lookup_until_installed(tmp_path), is_root=True) == 0
    assert [line.split()[1] for line in log.read_text().splitlines()] == ["install", "update", "install"]


def test_install_that_fails_says_so_and_stops_make_run(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    env, log = fake_apt_get(tmp_path, stale=True, update_ok=False)
    assert qpc.install_missing(env, "linux", PLUGIN, lookup_until_installed(tmp_path), is_root=True) == 1
    err = capsys.readouterr().err
    assert [line.split()[1] for line in log.read_text().splitlines()] == ["install", "update"]
    assert "apt-get install -y libxcb-icccm4 libxcb-keysyms1 failed" in err
    assert "sudo apt-get install -y libxcb-icccm4 libxcb-keysyms1\n" in err  # the line to run by hand


def test_install_without_root_installs_nothing_and_says_how(tmp_path: Path,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    env, log = fake_apt_get(tmp_path)
    assert qpc.install_missing(env, "linux", PLUGIN, lookup_until_installed(tmp_path), is_root=False) == 1
    assert not log.exists()
    assert f"--install needs root: {qpc.SUDO_INSTALL}" in capsys.readouterr().err


def test_install_names_what_no_package_provides_and_a_system_without_apt_get(tmp_path: Path,
                                                                            capsys: pytest.CaptureFixture[str]) -> None:
    assert qpc.install_missing({"PATH": str(tmp_path)}, "linux", PLUGIN, lambda p: ["libweird.so.9"], is_root=True) == 1
    assert "no package is known for these libraries" in capsys.readouterr().err
    assert qpc.install_missing({"PATH": str(tmp_path)}, "linux", PLUGIN, lambda p: list(MISSING), is_root=True) == 1
    assert "apt-get is not on this system: install libxcb-icccm4 libxcb-keysyms1" in capsys.readouterr().err


def test_install_with_nothing_missing_or_no_xcb_does_nothing(tmp_path: Path) -> None:
    env, log = fake_apt_get(tmp_path)
    assert qpc.install_missing(env, "linux", PLUGIN, lambda p: [], is_root=True) == 0
    assert qpc.install_missing({**env, "QT_QPA_PLATFORM": "offscreen"}, "linux", PLUGIN,
                               lookup_until_installed(tmp_path), is_root=True) == 0
    assert not log.exists()


def test_make_run_passes_the_consent_flag_only_when_given() -> None:
    def plan(*args: str) -> str:
        return subprocess.run(["make", "-n", "-W", "pyproject.toml", "run", *args], cwd=ROOT, capture_output=True,
                              text=True, timeout=30, check=True).stdout
    assert "qt_platform_check.py --install" in plan("INSTALL_QT_LIBS=yes")
    assert "--install" not in plan()


def test_a_chinese_shell_reads_the_advice_in_chinese_with_the_commands_as_typed(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The person setting up a Chinese desktop reads the lines in Chinese (the shell's language, as every CLI
    line); only the libraries, packages and commands to type stay Latin."""
    chinese = {**DESKTOP, "LANG": "zh_CN.UTF-8"}
    message = qpc.check(chinese, "linux", PLUGIN, lookup_returning([*MISSING, "libweird.so.9"]))
    assert message is not None
    assert message.splitlines()[:2] == [
        "工作台窗口所需的系统库缺失：libxcb-icccm.so.4, libxcb-keysyms.so.1, libweird.so.9。",
        "安装命令：  sudo apt-get install -y libxcb-icccm4 libxcb-keysyms1"]
    typed = {"sudo", "apt", "get", "install", "libxcb", "icccm", "keysyms", "so", "libweird", "python", "venv",
             "qt_platform_check", "py", "PackBench", "make", "run", "QT_QPA_PLATFORM", "offscreen", "bin", "y"}
    assert set(re.findall(r"[A-Za-z_]+", message)) <= typed

    env, _ = fake_apt_get(tmp_path)
    assert qpc.install_missing({**env, "LANG": "zh_CN.UTF-8"}, "linux", PLUGIN, lookup_until_installed(tmp_path),
                               is_root=False) == 1
    assert capsys.readouterr().err.endswith(f"--install 需要 root 权限：{qpc.SUDO_INSTALL}\n")
