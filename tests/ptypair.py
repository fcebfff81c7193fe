"""Pseudo-terminals standing in for USB serial devices, with unplug and replug.

A pty's slave path (/dev/pts/N) dies with its master and is never handed back, so `PtyDevice` keeps a
stable path of its own: a symlink in a temp dir (``tmp/ttyUSB0 -> /dev/pts/N``), as udev's
/dev/serial/by-id links do for real adapters. Unplug removes the link, then closes the master, after
which a reader on the slave gets EIO (pyserial raises OSError/SerialException); replug makes a new pty
and points the same link at it.
"""

from __future__ import annotations

import os
import select
import time
import tty
from collections.abc import Callable
from pathlib import Path


def open_pty_pair() -> tuple[int, str]:
    """A raw-mode pty; returns (master_fd, slave_path). The caller closes master_fd."""
    master, slave = os.openpty()
    tty.setraw(master)
    tty.setraw(slave)  # no echo, no CR/LF translation: bytes arrive exactly as written
    path = os.ttyname(slave)
    # The line settings live as long as the master; the driver opens the slave by path itself.
    os.close(slave)
    return master, path


class PtyDevice:
    """A virtual serial device at `path` (a symlink in `directory`) that tests can unplug and replug."""

    def __init__(self, directory: str | os.PathLike[str], name: str = "ttyUSB0") -> None:
        self.path = str(Path(directory) / name)
        self.master_fd: int | None = None
        self.slave_path = ""
        self.replug()

    @property
    def plugged(self) -> bool:
        return self.master_fd is not None

    def replug(self) -> None:
        if self.plugged:
            raise RuntimeError("already plugged in")
        self.master_fd, self.slave_path = open_pty_pair()
        os.symlink(self.slave_path, self.path)

    def unplug(self) -> None:
        # Link first, so a reader retrying the open can never reach the dying pty.
        if os.path.lexists(self.path):
            os.unlink(self.path)
        if self.master_fd is not None:
            os.close(self.master_fd)
            self.master_fd = None

    def write(self, data: bytes) -> None:
        """What the device sends to the host."""
        assert self.master_fd is not None, "device unplugged"
        view = memoryview(data)
        while view:
            view = view[os.write(self.master_fd, view) :]

    def read(self, timeout: float = 1.0) -> bytes:
        """What the host sent to the device (b"" if nothing within `timeout`)."""
        assert self.master_fd is not None, "device unplugged"
        ready, _, _ = select.select([self.master_fd], [], [], timeout)
        return os.read(self.master_fd, 4096) if ready else b""

    def close(self) -> None:
        self.unplug()

    def __enter__(self) -> PtyDevice:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def wait_until(predicate: Callable[[], object], timeout: float = 3.0, interval: float = 0.005) -> None:
    """Poll until `predicate()` is truthy; fail the test with its last value after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s (last value: {value!r})")
        time.sleep(interval)
