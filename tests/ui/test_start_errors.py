"""A station that cannot start says why in one dialog (and one stderr line), whatever the cause."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.errors import ExitCode
from tests.test_message_languages import foreign_latin
from ui import app as ui_app
from ui.qt import QApplication


@pytest.mark.parametrize(("printer", "says"), [
    ("tcp:127.0.0.1:9?lang=zpl&darkness=dark", "darkness='dark' is not a whole number"),
    ("tcp:127.0.0.1:9?lang=zpl&darkness=31", "darkness must be 0 to 30"),
    ("tcp:127.0.0.1:9?lang=tspl&darkness=16", "darkness must be 0 to 15"),
])
def test_a_bad_printer_darkness_shows_the_error_dialog(
        qapp: QApplication, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
        printer: str, says: str) -> None:
    (tmp_path / "station.toml").write_text(f'language = "en"\nprinter = "{printer}"\n', "utf-8")
    shown: list[tuple[object, str, str]] = []
    monkeypatch.setattr(ui_app.QMessageBox, "critical", lambda parent, title, text: shown.append((parent, title, text)))
    assert ui_app.run_station(tmp_path) == ExitCode.INPUT
    assert len(shown) == 1 and says in shown[0][2]
    # where the spec came from, as a settings error names its file and key
    assert shown[0][2].startswith(f"{tmp_path / 'station.toml'}: printer: ") and printer in shown[0][2]
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1] == f"packbench: {shown[0][2]}"


@pytest.mark.parametrize(("text", "says"), [
    ('carriers = "SF"', 'carriers must be a list of strings with at least 1 item, not "SF"'),
    ("tolerence_g = 3", 'unknown key "tolerence_g" (did you mean "tolerance_g"?)'),
    ("demo = false\nstation = BENCH-2", "not valid TOML: Invalid value (at line 2, column 11)"),
])
def test_a_bad_station_toml_shows_the_error_dialog_and_creates_no_store(
        qapp: QApplication, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
        text: str, says: str) -> None:
    (tmp_path / "station.toml").write_text(text + '\nlanguage = "en"\n', "utf-8")
    shown: list[str] = []
    monkeypatch.setattr(ui_app.QMessageBox, "critical", lambda parent, title, message: shown.append(message))
    assert ui_app.run_station(tmp_path) == ExitCode.INPUT
    assert shown == [f"{tmp_path / 'station.toml'}: {says}"]
    assert capsys.readouterr().err == f"packbench: {shown[0]}\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["station.toml"]


@pytest.mark.parametrize(("key", "value", "says"), [
    ("carriers", "SF", 'carriers 应为至少含 1 项的字符串列表，而不是 "SF"'),
    ("printer", "tcp:127.0.0.1:9?lang=zpl&darkness=31", "darkness 应为 0 到 30"),
])
def test_the_error_dialog_speaks_the_stations_language_whatever_the_locale(
        qapp: QApplication, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
        key: str, value: str, says: str) -> None:
    """A Windows station has no LANG: the dialog takes station.toml's language even when the rest of the
    file is what failed, and the stderr line says the same."""
    monkeypatch.delenv("LANG", raising=False)
    (tmp_path / "station.toml").write_text(f'language = "zh_CN"\n{key} = "{value}"\n', "utf-8")
    shown: list[str] = []
    monkeypatch.setattr(ui_app.QMessageBox, "critical", lambda parent, title, message: shown.append(message))
    assert ui_app.run_station(tmp_path) == ExitCode.INPUT
    assert len(shown) == 1 and says in shown[0], shown
    # The file, its key (darkness, a printer spec's option) and the value given stay as they are.
    names = {"path": str(tmp_path / "station.toml"), "key": key, "value": value, "option": "darkness"}
    assert not foreign_latin(shown[0], names), shown[0]
    assert capsys.readouterr().err == f"packbench: {shown[0]}\n"


@pytest.mark.parametrize("text", ['language = "fr"\ncarriers = "SF"', 'station = BENCH-2\nlanguage = "zh_CN"'])
def test_without_a_language_of_its_own_the_dialog_follows_the_environment(
        qapp: QApplication, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str) -> None:
    """No language can be read from the file (not one of ours, or the file is not TOML): the locale decides."""
    monkeypatch.setenv("LC_MESSAGES", "zh_CN.UTF-8")
    (tmp_path / "station.toml").write_text(text + "\n", "utf-8")
    shown: list[str] = []
    monkeypatch.setattr(ui_app.QMessageBox, "critical", lambda parent, title, message: shown.append(message))
    assert ui_app.run_station(tmp_path) == ExitCode.INPUT
    assert len(shown) == 1 and "：" in shown[0], shown


def test_a_damaged_store_shows_the_error_dialog_saying_to_restore_a_backup(
        qapp: QApplication, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    # The window's start reported the damage as a bug: 'unexpected error DatabaseError: database disk image is
    # malformed', its traceback logged, where every command says the store is damaged.
    from tests.test_disk_faults import _damaged_bench

    data_dir, _ = _damaged_bench(tmp_path, None)
    (data_dir / "station.toml").write_text('language = "en"\n', "utf-8")
    shown: list[str] = []
    monkeypatch.setattr(ui_app.QMessageBox, "critical", lambda parent, title, message: shown.append(message))
    assert ui_app.run_station(data_dir) == ExitCode.FAILED
    assert shown == [f"store {data_dir / 'packbench.sqlite3'} is damaged: SQLite cannot read part of it; restore the "
                     "last backup (packbench backup)"]
    assert capsys.readouterr().err.splitlines()[-1] == f"packbench: {shown[0]}"
    assert "Traceback" not in "".join(log.read_text("utf-8") for log in data_dir.glob("packbench.log*"))
