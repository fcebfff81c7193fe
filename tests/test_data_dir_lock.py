"""One writing process per data dir (docs/architecture.md §2.5): a second one is refused before it writes,
read-only commands work beside the holder, and a lock left by a killed process is taken over."""

from __future__ import annotations

import hashlib
import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.store.lock import HOLDER_FILENAME, DataDirBusyError, DataDirLock, hold_data_dir, release_data_dirs
from main import main
from tests.ptypair import wait_until

ROOT = Path(__file__).resolve().parents[1]
ORDER = "TB2026112500001"


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    d = tmp_path / "station"
    assert main(["--data-dir", str(d), "demo", "seed"]) == 0
    return d


def _holder(data_dir: Path) -> dict[str, object]:
    try:
        return dict(json.loads((data_dir / HOLDER_FILENAME).read_text("utf-8")))
    except (OSError, ValueError):
        return {}


def _store_bytes(data_dir: Path) -> str:
    digest = hashlib.sha256()
    for name in ("packbench.sqlite3", "packbench.sqlite3-wal"):
        path = data_dir / name
        digest.update(path.read_bytes() if path.exists() else b"-")
    return digest.hexdigest()


def _settled_store_bytes(data_dir: Path) -> str:
    seen = [_store_bytes(data_dir)]

    def unchanged_for_half_a_second() -> bool:
        time.sleep(0.5)
        seen.append(_store_bytes(data_dir))
        return seen[-1] == seen[-2]

    wait_until(unchanged_for_half_a_second, 30)
    return seen[-1]


@pytest.fixture
def running_line(data_dir: Path) -> Iterator[subprocess.Popen[bytes]]:
    """`packbench pack` reading scans from stdin: a station process that stays up, idle."""
    proc = subprocess.Popen(
        [sys.executable, str(ROOT / "main.py"), "pack", "--data-dir", str(data_dir), "--scans", "-",
         "--printer", f"file:{data_dir / 'labels.txt'}"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=ROOT)
    try:
        wait_until(lambda: _holder(data_dir).get("pid") == proc.pid or proc.poll() is not None, 30)
        assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
        yield proc
    finally:
        if proc.poll() is None:
            proc.communicate(b"", timeout=30)  # end of input: the line stops and lets go


def test_a_second_process_is_refused_with_the_holder_named_and_writes_nothing(
        data_dir: Path, running_line: subprocess.Popen[bytes], tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    before = _settled_store_bytes(data_dir)  # the line's own start-up writes are done
    second = subprocess.run([sys.executable, str(ROOT / "main.py"), "pack", "--data-dir", str(data_dir),
                             "--scans", "-", "--printer", "sim"], input=b"B-1001\n", capture_output=True,
                            cwd=ROOT, timeout=60)
    assert second.returncode == 1 and second.stdout == b""
    message = second.stderr.decode().strip()
    assert "\n" not in message and "Traceback" not in message, message
    assert re.search(rf"in use by pid {running_line.pid} \(packbench pack\) since \d{{4}}-\d\d-\d\dT", message)
    # Every other writing command is refused the same way (run in this process: another process still).
    numbers = tmp_path / "sf.txt"
    numbers.write_text("SF1400000099999\n")
    for argv in (["import-orders", str(numbers)], ["waybills", "import", str(numbers), "--carrier", "SF"],
                 ["operator", "add", "x", "--role", "packer", "--badge", "B-1009"], ["print-test", "--printer", "sim"],
                 ["exceptions", "resolve", "1", "--note", "n"]):
        assert main(["--data-dir", str(data_dir), *argv]) == 1, argv
        assert f"in use by pid {running_line.pid}" in capsys.readouterr().err
    assert _store_bytes(data_dir) == before  # the refused ones wrote nothing
    # Read-only commands keep working beside the running line.
    for argv in (["order", "show", ORDER], ["exceptions", "list"], ["audit", "verify"],
                 ["backup", "--to", str(tmp_path / "copy.sqlite3")],
                 ["evidence", ORDER, "-o", str(tmp_path / "evidence.pdf")]):
        assert main(["--data-dir", str(data_dir), *argv]) == 0, (argv, capsys.readouterr().err)
    assert (tmp_path / "copy.sqlite3").exists() and (tmp_path / "evidence.pdf").exists()
    # The line ends: the data dir is free again and the holder note is gone.
    running_line.communicate(b"", timeout=30)
    assert running_line.returncode == 0 and not (data_dir / HOLDER_FILENAME).exists()
    assert main(["--data-dir", str(data_dir), "operator", "add", "x", "--role", "packer", "--badge", "B-1009"]) == 0


def test_a_lock_left_by_a_killed_process_is_taken_over(data_dir: Path) -> None:
    with subprocess.Popen(
        [sys.executable, "-c", "import sys, time; from app.store.lock import hold_data_dir; "
         "hold_data_dir(sys.argv[1], 'packbench gui'); print('held', flush=True); time.sleep(60)", str(data_dir)],
        stdout=subprocess.PIPE, cwd=ROOT,
    ) as holder:
        try:
            assert holder.stdout is not None and holder.stdout.readline() == b"held\n"
            with pytest.raises(DataDirBusyError, match=rf"pid {holder.pid} \(packbench gui\)"):
                DataDirLock(data_dir, "packbench pack").acquire()
        finally:
            os.kill(holder.pid, signal.SIGKILL)  # no chance to clean up, as with a power cut or kill -9
            holder.wait(10)
    assert _holder(data_dir)["pid"] == holder.pid  # the dead one's note is still there: stale
    try:
        lock = hold_data_dir(data_dir, "packbench pack")
        assert lock.held and _holder(data_dir)["pid"] == os.getpid()
        assert _holder(data_dir)["command"] == "packbench pack"
    finally:
        release_data_dirs()
    assert not (data_dir / HOLDER_FILENAME).exists()


def test_a_stale_or_damaged_holder_note_does_not_block(data_dir: Path) -> None:
    (data_dir / "packbench.lock").write_text("left over")
    (data_dir / HOLDER_FILENAME).write_text('{"pid": 999999999, "command": "packbench pack"')  # cut short
    assert main(["--data-dir", str(data_dir), "operator", "add", "y", "--role", "packer", "--badge", "B-1008"]) == 0
    assert not (data_dir / HOLDER_FILENAME).exists()
