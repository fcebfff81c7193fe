"""Disk full, I/O errors and a damaged store, recognised under whatever wraps them and named in one line.

When a commit hits a full disk SQLite rolls the transaction back by itself; peewee's own rollback
then fails with "cannot rollback - no transaction is active", and that is what surfaces unless the
cause is looked for in the exception's chain. `disk_fault` finds it there (SQLITE_FULL, SQLITE_IOERR
or the OS's ENOSPC/EIO), and `app.store.db.Store.atomic` raises `StoreFaultError` with it, so the
packer reads "disk full", not a rollback error. A store SQLite finds damaged (SQLITE_CORRUPT, or
SQLITE_NOTADB for pages that are not its own) fails every read that meets the damage, whichever
command or step reads: it stops the bench and the command the same way, and says to restore a backup.
"""

from __future__ import annotations

import errno
import os
import shutil
import sqlite3
from pathlib import Path

from app.i18n import N_, Phrase

DISK_FULL = N_("disk full")
IO_ERROR = N_("disk I/O error")
DAMAGED = N_("store damaged")
NEARLY_FULL_BYTES = 256 * 1024  # less than this left: the I/O error is the full disk

_SQLITE_KINDS = {sqlite3.SQLITE_FULL: DISK_FULL, sqlite3.SQLITE_IOERR: IO_ERROR, sqlite3.SQLITE_CORRUPT: DAMAGED,
                 sqlite3.SQLITE_NOTADB: DAMAGED}
_MESSAGES = {"database or disk is full": DISK_FULL, "disk i/o error": IO_ERROR,
             "database disk image is malformed": DAMAGED, "file is not a database": DAMAGED}
_ERRNOS = {errno.ENOSPC: DISK_FULL, errno.EDQUOT: DISK_FULL, errno.EIO: IO_ERROR}


def disk_fault(exc: BaseException, folder: Path | None = None) -> str | None:
    """DISK_FULL, IO_ERROR or DAMAGED when `exc`, or anything it was raised from or during, is one. An I/O
    error on a disk with (next to) no space left in `folder` is a full disk: SQLite reports a shared
    memory file it cannot grow as SQLITE_IOERR_SHMSIZE, and the packer needs the real cause."""
    kind = _find(exc)
    if kind == IO_ERROR and folder is not None and _nearly_full(folder):
        return DISK_FULL
    return kind


def _nearly_full(folder: Path) -> bool:
    try:
        return shutil.disk_usage(folder).free < NEARLY_FULL_BYTES
    except OSError:
        return False


def _find(exc: BaseException) -> str | None:
    seen: set[int] = set()
    todo: list[BaseException | None] = [exc]
    while todo:
        current = todo.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        kind = _kind(current)
        if kind is not None:
            return kind
        todo += [current.__cause__, current.__context__,
                 *(arg for arg in current.args if isinstance(arg, BaseException))]  # peewee wraps this way
    return None


def _kind(exc: BaseException) -> str | None:
    known = getattr(exc, "fault_kind", None)  # app.store.db.StoreFaultError: already recognised
    if isinstance(known, str):
        return known
    if isinstance(exc, sqlite3.Error):
        code = getattr(exc, "sqlite_errorcode", None)
        if isinstance(code, int) and code & 0xFF in _SQLITE_KINDS:  # extended codes: SQLITE_IOERR_WRITE, ...
            return _SQLITE_KINDS[code & 0xFF]
    if isinstance(exc, OSError) and exc.errno in _ERRNOS:
        return _ERRNOS[exc.errno]
    text = str(exc).lower()
    return next((kind for message, kind in _MESSAGES.items() if message in text), None)


def mount_point(path: Path) -> Path:
    path = Path(os.path.abspath(path))
    while not os.path.ismount(path) and path != path.parent:
        path = path.parent
    return path


def free_space(path: Path) -> Phrase:
    """'on /mnt/data (12.0 KB free)': where the store's disk is and what is left on it."""
    mount = mount_point(path)
    try:
        value = float(shutil.disk_usage(path).free)
    except OSError:
        return Phrase(N_("on {mount}"), {"mount": mount})
    unit = "bytes"
    for larger in ("KB", "MB", "GB"):
        if value < 1024:
            break
        value, unit = value / 1024, larger
    size = f"{value:.0f} {unit}" if unit == "bytes" else f"{value:.1f} {unit}"
    return Phrase(N_("on {mount} ({size} free)"), {"mount": mount, "size": size})
