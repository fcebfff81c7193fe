"""The station's enrollment: `DATA_DIR/sync.toml`, readable by its owner only (mode 0600).

Kept apart from `station.toml` on purpose: `station.toml` is settings an admin edits, copies between
benches and pastes into tickets; this file holds the HMAC secret that lets a station write to the
central server, and must never travel with the settings.

    server = "https://packbench.example.com"
    station_id = "st_7f3a..."
    secret = "..."
    warehouse = "HZ-1"
    station_name = "BENCH-1"
    enrolled_at = "2026-11-25T02:00:00.000Z"
    public_url = "https://packbench.example.com"   # the base of passport QR codes, from the server
"""

from __future__ import annotations

import logging
import os
import stat
import tempfile
import tomllib
from dataclasses import dataclass, fields
from pathlib import Path

from app.errors import InputError, words_of
from app.i18n import N_

log = logging.getLogger(__name__)

CREDENTIALS_FILENAME = "sync.toml"


ENROLL_AGAIN = N_("{path}: {problem}; enroll the station again")


class CredentialsError(InputError):
    """`sync.toml` exists but cannot be used; the message names the file and what is wrong."""


@dataclass(frozen=True)
class SyncCredentials:
    server: str
    station_id: str
    secret: str
    warehouse: str = ""
    station_name: str = ""
    enrolled_at: str = ""
    public_url: str = ""  # the server's public address (else the URL enrolled with): passport QR codes open it

    def __repr__(self) -> str:  # never print the secret into a log or a traceback
        return (f"SyncCredentials(server={self.server!r}, station_id={self.station_id!r}, secret=***, "
                f"warehouse={self.warehouse!r})")


def credentials_path(data_dir: Path) -> Path:
    return Path(data_dir) / CREDENTIALS_FILENAME


def load_credentials(data_dir: Path) -> SyncCredentials | None:
    """The enrollment in `data_dir`, or None when the station was never enrolled."""
    path = credentials_path(data_dir)
    if not path.exists():
        return None
    if os.name == "posix" and stat.S_IMODE(path.stat().st_mode) & 0o077:
        log.warning("%s is readable by other users; run: chmod 600 %s", path, path)
    try:
        data = tomllib.loads(path.read_text("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise CredentialsError(ENROLL_AGAIN, path=path, problem=words_of(exc)) from exc
    known = {f.name for f in fields(SyncCredentials)}
    unknown = sorted(set(data) - known)
    if unknown:
        raise CredentialsError(N_("{path}: unknown setting(s): {names}"), path=path, names=", ".join(unknown))
    for name in ("server", "station_id", "secret"):
        if not isinstance(data.get(name), str) or not data[name]:
            raise CredentialsError(N_("{path}: {name} is missing; enroll the station again"), path=path, name=name)
    if not all(isinstance(v, str) for v in data.values()):
        raise CredentialsError(N_("{path}: every value must be a string"), path=path)
    return SyncCredentials(**data)


def _quote(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\r", "\\r")
    return f'"{escaped}"'


def save_credentials(data_dir: Path, creds: SyncCredentials) -> Path:
    """Write `sync.toml` atomically with mode 0600 (created 0600 by mkstemp, never wider, even briefly)."""
    path = credentials_path(data_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    text = "".join(f"{f.name} = {_quote(getattr(creds, f.name))}\n" for f in fields(creds))
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        os.write(fd, text.encode("utf-8"))
        os.fsync(fd)
    finally:
        os.close(fd)
    os.chmod(name, 0o600)
    os.replace(name, path)
    return path
