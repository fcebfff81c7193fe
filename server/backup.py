"""`packbench server backup --to FILE`: a consistent copy of the server's database, verified.

SQLite: the online backup API (a consistent snapshot while the server writes), then an integrity
check of the copy. PostgreSQL: `pg_dump --format=custom` (consistent by its own snapshot; restore with
`pg_restore`), then `pg_restore --list` to prove the archive reads back. Either way the file is 0600
(it holds station secrets and buyers' addresses) and an existing file is never overwritten.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from app.errors import PackBenchError
from app.i18n import N_, Phrase
from server.config import ServerConfig

PRIVATE = 0o600
PG_DUMP_TIMEOUT_S = 6 * 3600


class BackupError(PackBenchError):
    """The backup could not be made or did not verify; the message says why in one line."""


@dataclass(frozen=True)
class ServerBackup:
    path: Path
    size: int
    kind: str  # "sqlite" | "postgresql"


def back_up_server(config: ServerConfig, dest: Path) -> ServerBackup:
    dest = Path(dest)
    if dest.exists():
        raise BackupError(N_("{path} already exists; choose a new file for the backup"), path=dest)
    if not dest.parent.is_dir():
        raise BackupError(N_("{path} is not a folder"), path=dest.parent)
    url = config.database
    try:
        if url.startswith("sqlite:///"):
            _sqlite(Path(url.removeprefix("sqlite:///")), dest)
            kind = "sqlite"
        elif url.startswith(("postgresql://", "postgres://")):
            _postgres(url, dest)
            kind = "postgresql"
        else:
            raise BackupError(N_("cannot back up a database at {scheme}://…"), scheme=urlsplit(url).scheme)
    except BaseException:
        dest.unlink(missing_ok=True)
        raise
    return ServerBackup(dest, dest.stat().st_size, kind)


def _create_private(dest: Path) -> None:
    os.close(os.open(dest, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE))
    os.chmod(dest, PRIVATE)


def _sqlite(source: Path, dest: Path) -> None:
    if not source.exists():
        raise BackupError(N_("no server database at {path}"), path=source)
    _create_private(dest)
    try:
        src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
        try:
            target = sqlite3.connect(dest)
            try:
                src.backup(target)
            finally:
                target.close()
        finally:
            src.close()
        check = sqlite3.connect(f"file:{dest}?mode=ro", uri=True)
        try:
            verdict = check.execute("PRAGMA integrity_check").fetchone()[0]
        finally:
            check.close()
    except sqlite3.Error as exc:
        raise BackupError(N_("SQLite backup failed: {problem}"), problem=exc) from exc
    if verdict != "ok":
        raise BackupError(N_("the copy does not verify: {verdict}"), verdict=verdict)


def _postgres(url: str, dest: Path) -> None:
    pg_dump, pg_restore = shutil.which("pg_dump"), shutil.which("pg_restore")
    if not pg_dump or not pg_restore:
        raise BackupError(N_("pg_dump and pg_restore are needed for a PostgreSQL backup: install the PostgreSQL "
                             "client tools (Debian: apt-get install postgresql-client)"))
    _create_private(dest)
    dump = subprocess.run([pg_dump, "--format=custom", "--no-owner", f"--file={dest}", f"--dbname={url}"],
                          capture_output=True, text=True, timeout=PG_DUMP_TIMEOUT_S)
    if dump.returncode != 0:
        raise BackupError(N_("pg_dump failed: {problem}"), problem=_first_line(dump.stderr))
    listed = subprocess.run([pg_restore, "--list", str(dest)], capture_output=True, text=True, timeout=600)
    if listed.returncode != 0 or "TABLE DATA" not in listed.stdout:
        raise BackupError(N_("the dump does not read back: {problem}"),
                          problem=_first_line(listed.stderr) or Phrase(N_("no table data")))


def _first_line(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[0] if lines else "(no message)"
