"""Backups that run themselves: SQLite online copies into `backup_dir`, verified, the newest kept.

The station copies its store every `backup_every_hours` (on the housekeeping thread, so no scan
waits) and at shift end (a packer's LOGOUT, and when the station closes). A copy is written under a
temporary name, opened again read-only and checked (`PRAGMA integrity_check`, its schema, its audit
head), and only then renamed to `packbench-YYYYMMDD-HHMMSS.sqlite3` — a half-written or corrupt copy
never looks like a backup. The oldest beyond `backup_keep` are deleted. Copies hold the same
personal data as the store: files 0600, folder 0700 (`app.private_files`).
"""

from __future__ import annotations

import logging
import os
import sqlite3
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from app.clock import Clock
from app.errors import words_of
from app.i18n import N_
from app.private_files import private_dir
from app.store import Store, StoreError

log = logging.getLogger(__name__)
PREFIX = "packbench-"
SUFFIX = ".sqlite3"
PARTIAL = ".partial"


class BackupError(StoreError):
    """A backup could not be written or did not verify; the store itself is untouched."""


@dataclass(frozen=True)
class Backup:
    path: Path
    size: int
    audit_head: int  # the last audit sequence number the copy holds
    pruned: tuple[Path, ...] = ()


def backups_in(folder: Path) -> list[Path]:
    """This station's verified backups in `folder`, oldest first (their names sort by time)."""
    folder = Path(folder)
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.glob(f"{PREFIX}*{SUFFIX}") if p.is_file())


def newest_backup_at(folder: Path) -> datetime | None:
    backups = backups_in(folder)
    return _stamp_of(backups[-1]) if backups else None


def back_up(store: Store, folder: Path, clock: Clock, keep: int) -> Backup:
    """Copy the live store into `folder`, verify the copy, then prune to the newest `keep`."""
    if keep < 1:
        raise BackupError(N_("{key} must be at least 1, not {given}"), key="backup_keep", given=keep)
    folder = private_dir(Path(folder))
    name = f"{PREFIX}{clock.now():%Y%m%d-%H%M%S}{SUFFIX}"
    final = folder / name
    partial = folder / (name + PARTIAL)
    for leftover in folder.glob(f"*{SUFFIX}{PARTIAL}"):  # a copy cut off by a crash or a full disk
        leftover.unlink(missing_ok=True)
    if final.exists():
        raise BackupError(N_("{path} already exists"), path=final)
    try:
        store.backup(partial)
        head = _verify(partial)
        os.replace(partial, final)
    except (OSError, sqlite3.Error) as exc:
        partial.unlink(missing_ok=True)
        raise BackupError(N_("backup to {folder} failed: {problem}"), folder=folder, problem=words_of(exc)) from exc
    except BackupError:
        partial.unlink(missing_ok=True)
        raise
    pruned = tuple(_prune(folder, keep))
    size = final.stat().st_size
    log.info("backup %s written and verified (%d bytes, audit head %d); %d old one(s) removed",
             final, size, head, len(pruned))
    return Backup(final, size, head, pruned)


def backup_due(folder: Path, clock: Clock, every_hours: float) -> bool:
    newest = newest_backup_at(folder)
    return newest is None or (clock.now() - newest).total_seconds() >= every_hours * 3600


def _verify(path: Path) -> int:
    """The copy opens, is intact and is a PackBench store; returns its audit head."""
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        verdict = con.execute("PRAGMA integrity_check").fetchone()[0]
        if verdict != "ok":
            raise BackupError(N_("the copy {file} does not verify: {verdict}"), file=path.name, verdict=verdict)
        version = con.execute("SELECT MAX(version) FROM schema_version").fetchone()[0]
        if not version:
            raise BackupError(N_("the copy {file} has no schema version"), file=path.name)
        head = con.execute('SELECT MAX("seq") FROM "audit_entry"').fetchone()[0]
    finally:
        con.close()
    return int(head or 0)


def _prune(folder: Path, keep: int) -> list[Path]:
    old = backups_in(folder)[:-keep]
    for path in old:
        path.unlink(missing_ok=True)
    return old


def _stamp_of(path: Path) -> datetime | None:
    from datetime import UTC

    try:
        return datetime.strptime(path.name[len(PREFIX):-len(SUFFIX)], "%Y%m%d-%H%M%S").replace(tzinfo=UTC)
    except ValueError:
        return None
