"""`file:PATH` and `pdf:PATH`: each job's bytes to a file or a device node (e.g. /dev/usb/lp0).

A directory gets one file per job; a file is appended to (`file:`) or replaced by the latest job
(`pdf:`, since PDFs cannot be concatenated). Written and synced; write-only: no status.
"""

from __future__ import annotations

import os
from pathlib import Path

from app.i18n import N_
from drivers.printers.transport import TransportError, why


class FileTransport:
    bidirectional = False

    def __init__(self, path: str | Path, suffix: str = ".bin", append: bool = True) -> None:
        self.path = Path(path)
        self.suffix = suffix
        self.append = append
        self.name = f"file:{self.path}"
        self._jobs = 0

    def open(self) -> None:
        if not self.path.parent.exists():
            raise TransportError(N_("folder {folder} does not exist"), folder=str(self.path.parent))

    def write(self, data: bytes) -> None:
        target = self._next_file() if self.path.is_dir() else self.path
        try:
            with open(target, "ab" if self.append else "wb") as out:
                out.write(data)
                out.flush()
                if target.is_file():
                    os.fsync(out.fileno())
        except OSError as exc:
            raise TransportError(N_("cannot write {path}: {problem}"), path=str(target), problem=why(exc)) from exc

    def read(self, max_bytes: int, timeout: float) -> bytes:
        return b""

    def close(self) -> None:
        pass

    def _next_file(self) -> Path:
        existing = len(list(self.path.glob(f"label-*{self.suffix}")))
        self._jobs = max(self._jobs, existing) + 1
        return self.path / f"label-{self._jobs:06d}{self.suffix}"
