"""One writing process per data dir: an OS lock held for the process's lifetime.

Two windows, or two `packbench pack`, on one store would drive the same pack session and the same
print jobs (one printed the other's label). The first process that writes takes an exclusive,
non-blocking OS lock on `DATA_DIR/packbench.lock` (flock on POSIX, msvcrt on Windows) and keeps
it until it exits; a second one is refused before it writes anything, with the holder named.

The OS drops the lock when its process dies, however it dies, so a lock left by a killed process
is no lock at all: the next start simply takes it. The holder's pid, command and start time are in
`packbench.lock.json` beside it, for the refusal message only; a stale one is overwritten. The lock
file itself is never deleted (deleting it would let two processes lock two different files).

Read-only commands (order show, audit verify, backup, evidence, ...) do not take the lock: SQLite's
WAL lets them read beside the station.
"""

from __future__ import annotations

import json
import os
import socket
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from app.i18n import N_, Phrase
from app.private_files import PRIVATE_FILE_MODE, open_private, private_dir
from app.store.db import StoreError

LOCK_FILENAME = "packbench.lock"
HOLDER_FILENAME = "packbench.lock.json"


class DataDirBusyError(StoreError):
    """Another process holds the data dir; the message names it."""


if sys.platform == "win32":  # pragma: no cover - exercised on the Windows build
    import msvcrt

    def _try_lock(fh: IO[bytes]) -> bool:
        try:
            msvcrt.locking(fh.fileno(), msvcrt.LK_NBLCK, 1)  # byte 0; the file stays empty
        except OSError:
            return False
        return True

else:
    import fcntl

    def _try_lock(fh: IO[bytes]) -> bool:
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True


class DataDirLock:
    """The lock of one data dir, held by this process from `acquire` until `release` (or exit)."""

    def __init__(self, data_dir: Path, command: str) -> None:
        self.data_dir = Path(data_dir)
        self.command = command
        self._fh: IO[bytes] | None = None

    @property
    def held(self) -> bool:
        return self._fh is not None

    def acquire(self) -> None:
        private_dir(self.data_dir)
        path = self.data_dir / LOCK_FILENAME
        fd = os.open(path, os.O_RDWR | os.O_CREAT, PRIVATE_FILE_MODE)
        fh = os.fdopen(fd, "r+b", buffering=0)
        if not _try_lock(fh):
            fh.close()
            raise DataDirBusyError(self._refusal())
        self._fh = fh
        self._write_holder()

    def release(self) -> None:
        fh, self._fh = self._fh, None
        if fh is None:
            return
        holder = self.data_dir / HOLDER_FILENAME
        if _read_holder(holder).get("pid") == os.getpid():
            holder.unlink(missing_ok=True)
        fh.close()  # closing the descriptor drops the lock

    def _write_holder(self) -> None:
        info = {"pid": os.getpid(), "command": self.command, "host": socket.gethostname(),
                "since": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")}
        holder = self.data_dir / HOLDER_FILENAME
        tmp = holder.with_name(f".{HOLDER_FILENAME}.{os.getpid()}")
        tmp.unlink(missing_ok=True)
        with os.fdopen(open_private(tmp), "w", encoding="utf-8") as out:
            json.dump(info, out)
        os.replace(tmp, holder)

    def _refusal(self) -> Phrase:
        info = _read_holder(self.data_dir / HOLDER_FILENAME)
        who = Phrase(N_("pid {pid} ({command}) since {since}"), {name: info.get(name, "?") for name in
                                                               ("pid", "command", "since")}) \
            if info else Phrase(N_("another process"))
        return Phrase(N_("data dir {path} is in use by {who}; only one station process may write to a store — close "
                         "it first (nothing was written)"), {"path": self.data_dir, "who": who})


def _read_holder(path: Path) -> dict[str, Any]:
    try:
        info = json.loads(path.read_text("utf-8"))
    except (OSError, ValueError):
        return {}  # not written yet (the holder is starting) or damaged: the lock is what counts
    return info if isinstance(info, dict) else {}


_held: dict[Path, DataDirLock] = {}


def hold_data_dir(data_dir: Path, command: str) -> DataDirLock:
    """Take the data dir's lock for this process (once; later calls return the lock held)."""
    key = Path(data_dir).resolve()
    lock = _held.get(key)
    if lock is None or not lock.held:
        lock = DataDirLock(Path(data_dir), command)
        lock.acquire()
        _held[key] = lock
    return lock


def release_data_dirs() -> None:
    """Drop every lock this process holds (the end of a command run in-process, e.g. by tests)."""
    while _held:
        _, lock = _held.popitem()
        lock.release()
