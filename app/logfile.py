"""The station's log file: `packbench.log` in the data dir, rotated so it never grows without bound.

At 5 MiB the file rolls over to `packbench.log.1` … `.9` and the oldest is dropped, so a bench keeps
about 50 MiB of history. Log lines can name orders and receivers, so every file is private (0600),
like the store. Installed once per process by whoever opens a station (the window, the headless line).
"""

from __future__ import annotations

import logging
import logging.handlers
import os
from pathlib import Path

from app.private_files import PRIVATE_FILE_MODE, private_dir

LOG_FILENAME = "packbench.log"
MAX_BYTES = 5 << 20
BACKUP_COUNT = 9
FORMAT = "%(asctime)s %(levelname)s %(name)s [%(threadName)s] %(message)s"


class _PrivateRotatingHandler(logging.handlers.RotatingFileHandler):
    def _open(self):  # type: ignore[no-untyped-def]  # the base class's signature, untyped there
        stream = super()._open()
        if os.name == "posix":
            os.chmod(self.baseFilename, PRIVATE_FILE_MODE)
        return stream


def file_handler(folder: Path) -> logging.Handler:
    """A handler writing `folder`/packbench.log, rotated and private."""
    handler = _PrivateRotatingHandler((Path(folder) / LOG_FILENAME).resolve(), maxBytes=MAX_BYTES,
                                      backupCount=BACKUP_COUNT, encoding="utf-8")
    handler.setFormatter(logging.Formatter(FORMAT))
    return handler


def install_log_file(data_dir: Path, level: int = logging.INFO) -> logging.Handler | None:
    """Log to the data dir's rotating file; the handler to pass to `remove_log_file` when the station
    closes, or None when this process already logs there."""
    path = (private_dir(Path(data_dir)) / LOG_FILENAME).resolve()
    root = logging.getLogger()
    if any(isinstance(h, _PrivateRotatingHandler) and Path(h.baseFilename) == path for h in root.handlers):
        return None
    handler = file_handler(path.parent)
    handler.setLevel(level)
    root.addHandler(handler)
    if root.level > level or root.level == logging.NOTSET:
        root.setLevel(level)
    return handler


def remove_log_file(handler: logging.Handler | None) -> None:
    if handler is not None:
        logging.getLogger().removeHandler(handler)
        handler.close()
