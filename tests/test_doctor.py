"""`packbench doctor`: one verdict per check against real devices (a pty, a TCP printer), a real server
(its clock and recommended version), a real store (corrupted on purpose) and a real backups folder."""

from __future__ import annotations

import io
import os
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from app.clock import FakeClock, SystemClock
from app.config import set_setting
from app.demo import seed_demo
from app.store import open_store
from doctor import diagnose, run_doctor
from server.app import create_app
from server.config import ServerConfig
from sync.credentials import SyncCredentials, save_credentials
from tests.fake_printer import FakePrinter
from tests.live_server import UvicornThread
from tests.ptypair import PtyDevice


def verdicts(data_dir: Path, clock: FakeClock | None = None) -> dict[str, tuple[str, str]]:
    return {f.check: (f.verdict, f.detail) for f in diagnose(data_dir, clock)}


@pytest.fixture
def bench(tmp_path: Path) -> Path:
    data_dir = tmp_path / "bench"
    store = open_store(data_dir, SystemClock())
    seed_demo(store, SystemClock())
    store.close()
    return data_dir


def test_a_seeded_demo_bench_is_healthy_but_says_what_is_missing(bench: Path) -> None:
    out = io.StringIO()
    assert run_doctor(_args(bench), out) == 0
    lines = out.getvalue().splitlines()
    assert lines[0].startswith("ok   config: station BENCH-1, demo")
    assert "ok   store: integrity ok" in out.getvalue() and "ok   outbox: nothing waiting" in out.getvalue()
    assert any(line.startswith("warn enrollment: not enrolled") for line in lines)
    assert lines[-1].startswith("doctor: 0 failed")


def test_a_corrupt_store_and_a_broken_config_fail(bench: Path) -> None:
    path = bench / "packbench.sqlite3"
    data = bytearray(path.read_bytes())
    data[4096:8192] = b"\xff" * 4096  # a page of garbage in the middle of the file
    path.write_bytes(bytes(data))
    found = verdicts(bench)
    assert found["store"][0] == "FAIL"
    (bench / "station.toml").write_text("printer = [unclosed\n", "utf-8")
    found = verdicts(bench)
    assert found["config"][0] == "FAIL" and "station.toml" in found["config"][1]
    assert run_doctor(_args(bench), io.StringIO()) == 1


def test_devices_are_probed_where_they_are(bench: Path, tmp_path: Path) -> None:
    printer = FakePrinter("zpl")
    try:
        with PtyDevice(tmp_path, "ttyUSB0") as scanner:
            set_setting(bench, "demo", False)
            set_setting(bench, "scanner", f"serial:{scanner.path}?baud=9600")
            set_setting(bench, "scale", f"serial:{tmp_path / 'ttyUSB9'}?baud=9600")  # not plugged in
            set_setting(bench, "printer", printer.spec)
            found = verdicts(bench)
            assert found["scanner"][0] == "ok" and str(scanner.path) in found["scanner"][1]
            assert found["scale"][0] == "FAIL" and "plugged in?" in found["scale"][1]
            assert found["printer"] == ("ok", f"{printer.spec.split('?')[0]}?lang=zpl answers: ready")
            printer.fault.paper_out = True
            found = verdicts(bench)
            assert found["printer"][0] == "FAIL" and "paper out" in found["printer"][1]
    finally:
        printer.close()
    assert printer.jobs == []  # asked for status only: nothing printed


@pytest.fixture
def central(tmp_path: Path) -> Iterator[UvicornThread]:
    config = ServerConfig(tmp_path / "server", station_version="9.1.0")
    config.data_dir.mkdir()
    with UvicornThread() as http:
        http.start(create_app(config))
        yield http


def test_clock_skew_and_a_newer_recommended_version_come_from_the_server(bench: Path, central: UvicornThread) -> None:
    save_credentials(bench, SyncCredentials(central.url, "ST-1", "secret", "HZ-1"))
    found = verdicts(bench)
    assert found["enrollment"][0] == "ok" and "ST-1 of HZ-1" in found["enrollment"][1]
    assert found["clock"][0] == "ok"
    assert found["version"][0] == "warn" and "recommends 9.1.0" in found["version"][1]
    ahead = FakeClock(SystemClock().now() + timedelta(minutes=10))
    found = verdicts(bench, ahead)
    assert found["clock"][0] == "FAIL" and abs(float(found["clock"][1].split(" s ")[0]) - 600) < 5


def test_the_server_being_down_is_a_warning_not_a_failure(bench: Path) -> None:
    save_credentials(bench, SyncCredentials("http://127.0.0.1:9", "ST-1", "secret", "HZ-1"))
    assert verdicts(bench)["server"][0] == "warn"


def test_backups_are_dated(bench: Path) -> None:
    folder = bench / "backups"
    folder.mkdir()
    old = folder / "packbench-20261101-0000.sqlite3"
    old.write_bytes(b"x")
    two_days = time.time() - 48 * 3600
    os.utime(old, (two_days, two_days))
    assert verdicts(bench)["backup"][0] == "warn"
    (folder / "packbench-20261204-0000.sqlite3").write_bytes(b"x")
    assert verdicts(bench)["backup"][0] == "ok"


def _args(data_dir: Path) -> object:
    import argparse

    return argparse.Namespace(data_dir=str(data_dir))


def test_a_damaged_store_fails_the_store_check_saying_to_restore_a_backup(tmp_path: Path) -> None:
    # It said 'DatabaseError: database disk image is malformed', the exception's class and SQLite's words.
    from tests.test_disk_faults import _damaged_bench

    data_dir, _ = _damaged_bench(tmp_path, None)
    store = [f for f in diagnose(data_dir) if f.check == "store"]
    assert [(f.verdict, f.line("en")) for f in store] == [
        ("FAIL", f"FAIL store: store {data_dir / 'packbench.sqlite3'} is damaged: SQLite cannot read part of it; "
                 "restore the last backup (packbench backup)")]
