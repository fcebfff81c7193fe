"""Opening, migrating and backing up the station store (docs/architecture.md §3.1)."""

from __future__ import annotations

import logging
import os
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import peewee as pw

from app.clock import Clock, SystemClock, iso
from app.errors import PackBenchError
from app.i18n import N_, Phrase
from app.private_files import open_private, private_dir, tighten
from app.store import row_capture
from app.store.faults import DAMAGED, DISK_FULL, disk_fault, free_space
from app.store.migrations import LATEST_VERSION, MIGRATIONS
from app.store.models import Meta, SchemaVersion, database_proxy

log = logging.getLogger(__name__)

STORE_FILENAME = "packbench.sqlite3"

# synchronous=FULL: the WAL is synced at every commit, so a scan the packer was told about survives
# a power cut (NORMAL may roll back the last commits). busy_timeout lets the CLI and the GUI share it.
PRAGMAS: dict[str, Any] = {
    "journal_mode": "wal",
    "synchronous": "full",
    "foreign_keys": 1,
    "busy_timeout": 5000,
    "cache_size": -16000,  # 16 MB page cache
}


class StoreError(PackBenchError):
    """The store cannot be used; the message says why in words an admin understands."""


CANNOT_OPEN = N_("cannot open store {path}: {problem}")


class StoreTooNewError(StoreError):
    pass


class StoreFaultError(StoreError):
    """The store's disk refused a write (full) or failed (I/O error): nothing committed is lost, SQLite
    rolled the transaction back and the WAL keeps every commit before it. Or SQLite found the store
    damaged: what is lost is for a backup to say."""

    def __init__(self, kind: str, path: Path) -> None:
        if kind == DISK_FULL:
            super().__init__(N_("disk full: free space {free}; the store cannot be written — free space and start "
                                "again; nothing committed was lost"), free=free_space(path.parent))
        elif kind == DAMAGED:
            super().__init__(N_("store {path} is damaged: SQLite cannot read part of it; restore the last backup "
                                "(packbench backup)"), path=path)
        else:
            super().__init__(N_("{fault} on {path}; the store cannot be written — check the disk and start again; "
                                "nothing committed was lost"), fault=Phrase(kind), path=path)
        self.fault_kind = kind
        self.path = path

    @classmethod
    def find(cls, exc: BaseException, path: Path) -> StoreFaultError | None:
        kind = disk_fault(exc, path.parent)
        return None if kind is None else cls(kind, path)


def store_path(data_dir: Path) -> Path:
    return Path(data_dir) / STORE_FILENAME


def as_store_fault(exc: BaseException, data_dir: Path) -> BaseException:
    """A full or failing disk or a damaged store named as such, wherever it hit (a command, the
    window's start); any other failure as it is. For the reporter (app.errors), which cannot know the store."""
    if isinstance(exc, StoreError):  # named already ("not a PackBench store", "cannot open", a fault)
        return exc
    return StoreFaultError.find(exc, store_path(data_dir)) or exc


def _version_on_disk(path: Path) -> int:
    """Read the schema version before anything could write to the store (read-only: no pragma, no
    migration). `immutable=1` (which opens no -wal/-shm files, so a refused store is left exactly
    as it was) only when there is no WAL: it ignores the WAL, where the last commits before a crash
    or a full disk still are, and would read a half-checkpointed file as "malformed"."""
    if not path.exists() or path.stat().st_size == 0:
        return 0
    wal = Path(f"{path}-wal")
    immutable = "" if wal.exists() else "&immutable=1"
    try:
        con = sqlite3.connect(f"file:{path}?mode=ro{immutable}", uri=True)
    except sqlite3.Error as exc:
        raise StoreError(CANNOT_OPEN, path=path, problem=exc) from exc
    try:
        has_table = con.execute(
            "SELECT 1 FROM sqlite_master WHERE type='table' AND name='schema_version'"
        ).fetchone()
        if not has_table:
            return 0
        row = con.execute("SELECT MAX(version) FROM schema_version").fetchone()
        return int(row[0] or 0)
    except sqlite3.DatabaseError as exc:
        raise StoreError(N_("{path} is not a PackBench store: {problem}"), path=path, problem=exc) from exc
    finally:
        con.close()


class StoreDatabase(pw.SqliteDatabase):  # type: ignore[misc]  # peewee is untyped here
    """Every connection (peewee opens one per thread) captures the covered rows it writes."""

    def _add_conn_hooks(self, conn: sqlite3.Connection) -> None:
        super()._add_conn_hooks(conn)
        row_capture.install(conn)


class Store:
    """One open station store. Only one is bound to the models per process at a time."""

    def __init__(self, path: Path, db: pw.SqliteDatabase, clock: Clock | None = None,
                 *, wal_left_behind: bool = False) -> None:
        self.path = path
        self.db = db
        self.clock = clock or SystemClock()
        # Seen before this process connected: the WAL its own migrations write is not a crash's.
        self.wal_left_behind = wal_left_behind

    @contextmanager
    def atomic(self) -> Iterator[None]:
        """One fact, one transaction: the domain change, its audit entry and its outbox event.

        Rows written after the transaction's last fact (or in a transaction without one) are sealed
        by a `rows.written` entry before the commit, so every committed covered row is in the chain.
        A full or failing disk surfaces as `StoreFaultError`, whatever error it caused on the way
        (peewee's rollback after SQLite's own one fails with "no transaction is active")."""
        try:
            with self.db.atomic("IMMEDIATE"):
                yield
                if self.db.transaction_depth() == 1:
                    from app.audit import seal_written_rows  # app.audit maps the store: imported late

                    seal_written_rows(self.clock.now())
        except StoreFaultError:
            raise
        except Exception as exc:
            fault = StoreFaultError.find(exc, self.path)
            if fault is None:
                raise
            raise fault from exc

    def meta(self, key: str, default: str | None = None) -> str | None:
        row = Meta.get_or_none(Meta.key == key)
        return row.value if row else default

    def set_meta(self, key: str, value: str) -> None:
        Meta.insert(key=key, value=value).on_conflict_replace().execute()

    @property
    def schema_version(self) -> int:
        return int(SchemaVersion.select(pw.fn.MAX(SchemaVersion.version)).scalar() or 0)

    def integrity_check(self) -> str:
        return str(self.db.execute_sql("PRAGMA integrity_check").fetchone()[0])

    def recover(self) -> bool:
        """After a crash or a full disk, at the start of the process that writes: fold the WAL left
        behind into the store and check it, so the station starts without anyone opening the file
        by hand. A clean stop leaves no WAL (the last connection checkpoints and removes it), so a
        normal start pays nothing. True when there was something to recover."""
        if not self.wal_left_behind:
            return False
        wal = _wal_of(self.path)
        if not wal.exists() or wal.stat().st_size == 0:
            return False
        size = wal.stat().st_size
        started = time.monotonic()
        try:
            busy = self.db.execute_sql("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0]
            verdict = str(self.db.execute_sql("PRAGMA quick_check").fetchone()[0])
        except pw.DatabaseError as exc:
            fault = StoreFaultError.find(exc, self.path)
            if fault is not None:
                raise fault from exc
            raise StoreError(N_("store {path} cannot be checked: {problem}; restore the last backup"), path=self.path,
                             problem=exc) from exc
        if verdict != "ok":
            raise StoreError(N_("store {path} is damaged ({verdict}); restore the last backup"), path=self.path,
                             verdict=verdict)
        log.warning("store %s was not closed cleanly: its %d KB write-ahead log was %s and the store "
                    "verified in %.0f ms", self.path, size // 1024,
                    "checkpointed" if not busy else "kept (a reader holds it)", 1000 * (time.monotonic() - started))
        return True

    def backup(self, dest: Path) -> None:
        """SQLite's online backup: a consistent copy while the station keeps writing."""
        dest = Path(dest)
        if dest.exists():
            raise StoreError(N_("{path} already exists; choose a new file for the backup"), path=dest)
        private_dir(dest.parent)
        os.close(open_private(dest))  # the copy holds the same personal data as the store
        target = sqlite3.connect(dest)
        try:
            self.db.connection().backup(target)
        finally:
            target.close()

    def close(self) -> None:
        if not self.db.is_closed():
            self.db.close()


def open_store(data_dir: Path | str, clock: Clock | None = None, *, path: Path | None = None) -> Store:
    """Open (creating and migrating as needed) the store in `data_dir`.

    A store written by a newer PackBench is refused before anything is written to it.
    """
    clock = clock or SystemClock()
    file = Path(path) if path else store_path(Path(data_dir))
    tighten(file.parent)
    if not file.exists():  # private before SQLite creates it, so its -wal and -shm are private too
        os.close(open_private(file))
    _refuse_newer(file, _version_on_disk(file))
    wal = _wal_of(file)
    wal_left_behind = wal.exists() and wal.stat().st_size > 0
    db = StoreDatabase(str(file), pragmas=PRAGMAS, check_same_thread=False, autoconnect=True)
    try:
        db.connect(reuse_if_open=True)
        on_disk = _version_connected(db)
    except pw.DatabaseError as exc:
        db.close()
        raise StoreFaultError.find(exc, file) or StoreError(CANNOT_OPEN, path=file, problem=exc) from exc
    try:
        _refuse_newer(file, on_disk)
    except StoreTooNewError:
        db.close()
        raise
    database_proxy.initialize(db)
    store = Store(file, db, clock, wal_left_behind=wal_left_behind)
    _migrate(store, on_disk, clock)
    return store


def _wal_of(file: Path) -> Path:
    return Path(f"{file}-wal")


def _refuse_newer(file: Path, version: int) -> None:
    if version > LATEST_VERSION:
        raise StoreTooNewError(
            N_("store {path} has schema version {version}, newer than this PackBench understands ({latest}); "
               "upgrade PackBench or open a backup — nothing was changed"),
            path=file, version=version, latest=LATEST_VERSION)


def _version_connected(db: pw.SqliteDatabase) -> int:
    if not db.table_exists("schema_version"):
        return 0
    return int(db.execute_sql("SELECT MAX(version) FROM schema_version").fetchone()[0] or 0)


def _migrate(store: Store, current: int, clock: Clock) -> None:
    db = store.db
    if current == 0:
        with db.atomic():
            db.execute_sql(
                'CREATE TABLE IF NOT EXISTS "schema_version" ('
                '"version" INTEGER NOT NULL PRIMARY KEY, "name" TEXT NOT NULL, "applied_at" TEXT NOT NULL)'
            )
    capturing = False
    for migration in MIGRATIONS:
        if migration.version <= current:
            continue
        with db.atomic():
            for statement in migration.statements:
                db.execute_sql(statement)
            SchemaVersion.create(version=migration.version, name=migration.name, applied_at=iso(clock.now()))
        # From migration 6 on, rows a later migration writes are captured like any other write …
        capturing = row_capture.install(db.connection())
    if capturing:
        with store.atomic():
            pass  # … and sealed now (`rows.written`), not left to whichever fact comes next
