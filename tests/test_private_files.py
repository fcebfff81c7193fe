"""Personal data at rest: data dir 0700, store/WAL/SHM/backups/photos/keys/config 0600 (docs/architecture.md §3.1)."""

from __future__ import annotations

import logging
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.clock import FakeClock
from app.config import StationConfig, save_config, set_setting
from app.keys import PUBLIC_KEY_FILENAME, load_or_create_station_key, private_key_path
from app.private_files import PUBLIC_FILES
from app.store import open_store, store_path

pytestmark = pytest.mark.skipif(os.name != "posix", reason="file modes are POSIX; Windows uses the profile's ACL")


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture(autouse=True)
def desktop_umask() -> Iterator[None]:
    """The umask most desktops run with (022): what we create must be private in spite of it."""
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)


def test_a_new_station_creates_only_private_files(tmp_path: Path, clock: FakeClock) -> None:
    from app.demo import seed_demo
    from app.evidence.photo import save_photo_file
    from app.store.models import PackSession

    data_dir = tmp_path / "new" / "station"
    save_config(data_dir, StationConfig())
    store = open_store(data_dir, clock)
    seed_demo(store, clock, waybills=2)  # writes: the WAL and its index exist now
    load_or_create_station_key(data_dir)
    session = PackSession.create(order=1, station="T-1", started_at="2026-01-01T00:00:00Z")
    photo = save_photo_file(data_dir, session.id, clock.now(), b"\xff\xd8\xff\xe0 a jpeg")
    store.backup(tmp_path / "backups" / "copy.sqlite3")
    try:
        assert mode(data_dir) == 0o700
        db = store_path(data_dir)
        for path in (db, Path(f"{db}-wal"), Path(f"{db}-shm"), data_dir / "station.toml",
                     private_key_path(data_dir), photo.path, tmp_path / "backups" / "copy.sqlite3"):
            assert mode(path) == 0o600, path
        assert mode(photo.path.parent) == 0o700 and mode(photo.path.parent.parent) == 0o700
        assert mode(data_dir / PUBLIC_KEY_FILENAME) == 0o644 and PUBLIC_KEY_FILENAME in PUBLIC_FILES
    finally:
        store.close()


def test_one_setting_written_to_a_data_dir_is_private(tmp_path: Path) -> None:
    """`station enroll` writes the passport address into station.toml through set_setting: created or
    rewritten, the file is 0600 like save_config's, not the umask's 0644."""
    data_dir = tmp_path / "station"
    path = set_setting(data_dir, "passport_base_url", "http://central:8700")
    assert mode(path) == 0o600 and mode(data_dir) == 0o700
    path.chmod(0o644)  # written by an older build
    set_setting(data_dir, "language", "en")
    assert mode(path) == 0o600
    assert path.read_text("utf-8").splitlines() == [
        "demo = true", 'passport_base_url = "http://central:8700"', 'language = "en"']


def test_a_store_readable_by_others_is_fixed_at_start_with_a_log_line(
        tmp_path: Path, clock: FakeClock, caplog: pytest.LogCaptureFixture) -> None:
    data_dir = tmp_path / "station"
    store = open_store(data_dir, clock)
    store.set_meta("k", "v")
    store.close()
    db = store_path(data_dir)
    # As an older PackBench (or a copy with cp) left them: everything readable by group and other.
    os.chmod(data_dir, 0o755)
    os.chmod(db, 0o644)
    (data_dir / "photos").mkdir(mode=0o755)
    (data_dir / "station.toml").write_text('station = "T-1"\n')
    os.chmod(data_dir / "station.toml", 0o666)
    public = data_dir / PUBLIC_KEY_FILENAME
    public.write_text("-----BEGIN PUBLIC KEY-----\n")
    os.chmod(public, 0o644)
    with caplog.at_level(logging.WARNING, logger="app.private_files"):
        store = open_store(data_dir, clock)
    try:
        store.set_meta("k", "w")
        assert mode(data_dir) == 0o700 and mode(data_dir / "photos") == 0o700
        assert mode(db) == mode(Path(f"{db}-wal")) == mode(data_dir / "station.toml") == 0o600
        assert mode(public) == 0o644  # public on purpose: it verifies passports
        lines = [r.getMessage() for r in caplog.records]
        assert len(lines) == 1 and "tightened permissions" in lines[0]
        assert "packbench.sqlite3 644→600" in lines[0] and "station.toml 666→600" in lines[0]
    finally:
        store.close()
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="app.private_files"):
        open_store(data_dir, clock).close()
    assert caplog.records == []  # nothing to fix the second time: no line
