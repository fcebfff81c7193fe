"""Backups that run themselves (verified copies, rotation, shift end) and the rotating log file."""

from __future__ import annotations

import logging
import os
import sqlite3
import stat
import threading
from datetime import timedelta
from pathlib import Path

import pytest

from app import logfile
from app.audit import record_fact
from app.backups import BackupError, back_up, backup_due, backups_in
from app.barcodes import Command, command_barcode
from app.clock import FakeClock
from app.config import StationConfig
from app.devices import Scan
from app.store import Store
from app.store.models import AuditEntry, Order
from drivers.printers.simulated import SimulatedPrinter
from tests.ptypair import wait_until


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_backup_is_a_verified_private_copy_and_the_oldest_are_pruned(demo_store: Store, clock: FakeClock,
                                                                      tmp_path: Path) -> None:
    folder = tmp_path / "backups"
    made = []
    for _ in range(4):
        made.append(back_up(demo_store, folder, clock, keep=3))
        clock.advance(3600)
    assert [p.name for p in backups_in(folder)] == [b.path.name for b in made[1:]]
    assert made[2].pruned == () and made[3].pruned == (made[0].path,)
    assert made[0].path.name == "packbench-20261125-020000.sqlite3" and not made[0].path.exists()
    newest = made[-1].path
    if os.name == "posix":
        assert _mode(newest) == 0o600 and _mode(folder) == 0o700
    copy = sqlite3.connect(f"file:{newest}?mode=ro", uri=True)
    try:
        assert copy.execute('SELECT COUNT(*) FROM "order"').fetchone()[0] == Order.select().count() > 0
        assert copy.execute('SELECT MAX("seq") FROM "audit_entry"').fetchone()[0] == made[-1].audit_head
    finally:
        copy.close()
    assert not list(folder.glob("*.partial"))


def test_a_copy_taken_while_the_store_is_written_is_consistent(demo_store: Store, clock: FakeClock,
                                                              tmp_path: Path) -> None:
    stop = threading.Event()

    def writer() -> None:  # on its own thread, so on its own connection, as the runtime writes
        while not stop.is_set():
            with demo_store.atomic():
                record_fact("test.write", "test", clock.now(), {"n": 1})

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        taken = [back_up(demo_store, tmp_path / "b", FakeClock(clock.now() + timedelta(seconds=n)), keep=10)
                 for n in range(3)]
    finally:
        stop.set()
        thread.join()
    assert all(b.audit_head > 0 for b in taken)
    assert AuditEntry.select().count() >= taken[-1].audit_head


def test_a_failed_or_corrupt_copy_never_looks_like_a_backup(demo_store: Store, clock: FakeClock, tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "backups"
    folder.mkdir()
    (folder / "packbench-20261101-000000.sqlite3.partial").write_bytes(b"left by a crash")

    def full_disk(dest: Path) -> None:
        Path(dest).write_bytes(b"SQLite format 3\x00" + b"\x00" * 100)
        raise sqlite3.OperationalError("database or disk is full")

    monkeypatch.setattr(demo_store, "backup", full_disk)
    with pytest.raises(BackupError, match="disk is full"):
        back_up(demo_store, folder, clock, keep=3)

    def garbage(dest: Path) -> None:
        Path(dest).write_bytes(b"\x00" * 4096)

    monkeypatch.setattr(demo_store, "backup", garbage)
    with pytest.raises(BackupError):
        back_up(demo_store, folder, clock, keep=3)
    assert os.listdir(folder) == []  # neither the crash's leftover nor the failed copies remain


def test_a_backup_is_due_by_the_age_of_the_newest(demo_store: Store, clock: FakeClock, tmp_path: Path) -> None:
    folder = tmp_path / "backups"
    assert backup_due(folder, clock, every_hours=4)
    back_up(demo_store, folder, clock, keep=3)
    clock.advance(3 * 3600)
    assert not backup_due(folder, clock, every_hours=4)
    clock.advance(3600)
    assert backup_due(folder, clock, every_hours=4)
    with pytest.raises(BackupError, match="at least 1"):
        back_up(demo_store, folder, clock, keep=0)


def test_logout_and_closing_the_station_back_up(demo_store: Store, clock: FakeClock, tmp_path: Path) -> None:
    from wiring import Devices, open_station

    data_dir = demo_store.path.parent
    config = StationConfig(station="T-1", backup_dir=str(tmp_path / "shift"), backup_keep=5)
    opened = open_station(demo_store, data_dir, config, clock, Devices(None, None, SimulatedPrinter(), None))
    opened.runtime.start()
    try:
        for code in ("B-1001", command_barcode(Command.LOGOUT)):
            clock.advance(1)
            opened.runtime.submit_scan(Scan(code.encode(), "test", clock.now()))
        wait_until(lambda: len(backups_in(tmp_path / "shift")) == 1, 5)
    finally:
        clock.advance(1)
        opened.close(shift_end=True)
    assert len(backups_in(tmp_path / "shift")) == 2
    assert (data_dir / logfile.LOG_FILENAME).exists()


def test_the_log_file_rotates_and_stays_private(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(logfile, "MAX_BYTES", 2000)
    monkeypatch.setattr(logfile, "BACKUP_COUNT", 2)
    handler = logfile.install_log_file(tmp_path)
    assert handler is not None and logfile.install_log_file(tmp_path) is None  # once per file
    try:
        log = logging.getLogger("packbench.test")
        for n in range(200):
            log.info("line %d of a shift: 张伟 浙江省杭州市", n)
    finally:
        logfile.remove_log_file(handler)
    files = sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(logfile.LOG_FILENAME))
    assert files == ["packbench.log", "packbench.log.1", "packbench.log.2"]
    assert all((tmp_path / f).stat().st_size <= 2200 for f in files)
    if os.name == "posix":
        assert {_mode(tmp_path / f) for f in files} == {0o600}
    assert handler not in logging.getLogger().handlers
