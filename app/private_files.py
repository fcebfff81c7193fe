"""Personal data at rest: the data dir and what is in it are readable by the station's user only.

The store holds full phone numbers and addresses, photos show the parcels' contents, the key signs
passports: the data dir is 0700 and its files 0600 (the public passport key may stay 0644). Modes
are set explicitly rather than left to the umask, which is 022 on most desktops.

SQLite creates the -wal and -shm files with the database file's mode, so the store file is made
private *before* it is opened. Existing data dirs are tightened at start: the dir itself and every
entry directly in it. Files deeper down (one photo per parcel, a million of them) are not walked
at each start: a 0700 directory already keeps other users from reaching anything below it.

On Windows modes mean little; the data dir's ACL (the user's profile) protects it, so nothing here
changes a file there.
"""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

log = logging.getLogger(__name__)

PRIVATE_DIR_MODE = 0o700
PRIVATE_FILE_MODE = 0o600
PUBLIC_FILE_MODE = 0o644
# Files that carry nothing private and that other users may read (verifiers, the installer).
PUBLIC_FILES = frozenset({"station_ed25519.pub.pem"})
_ENFORCED = os.name == "posix"


def private_dir(path: Path) -> Path:
    """Create `path` and its missing parents as private directories (existing ones are left as
    they are: `tighten` fixes the data dir's at start)."""
    path = Path(path)
    if path.is_dir():
        return path
    private_dir(path.parent)
    try:
        path.mkdir(mode=PRIVATE_DIR_MODE)
    except FileExistsError:  # created by another thread meanwhile
        return path
    if _ENFORCED:
        os.chmod(path, PRIVATE_DIR_MODE)  # mkdir's mode is filtered through the umask
    return path


def open_private(path: Path) -> int:
    """A new file for writing (O_EXCL: FileExistsError if taken), 0600 whatever the umask."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE_MODE)
    if _ENFORCED:
        os.fchmod(fd, PRIVATE_FILE_MODE)
    return fd


def _wanted(entry: Path, mode: int) -> int | None:
    """The mode `entry` should have, or None when it is tight enough already."""
    if stat.S_ISDIR(mode):
        return PRIVATE_DIR_MODE if mode & 0o077 else None
    if entry.name in PUBLIC_FILES:
        return PUBLIC_FILE_MODE if mode & 0o022 else None
    return PRIVATE_FILE_MODE if mode & 0o077 else None


def tighten(data_dir: Path) -> list[str]:
    """Make the data dir and its entries private; one log line names what changed."""
    data_dir = Path(data_dir)
    private_dir(data_dir)
    if not _ENFORCED:
        return []
    fixed: list[str] = []
    for entry in [data_dir, *sorted(data_dir.iterdir())]:
        try:
            mode = entry.lstat().st_mode
        except FileNotFoundError:  # a -shm or temp file gone meanwhile
            continue
        if stat.S_ISLNK(mode):
            continue  # the target is someone else's file to protect
        wanted = _wanted(entry, mode)
        if wanted is None:
            continue
        try:
            os.chmod(entry, wanted)
        except PermissionError:
            log.warning("%s is readable by other users and not ours to change: chmod %o %s",
                        entry, wanted, entry)
            continue
        fixed.append(f"{entry.name or entry} {stat.S_IMODE(mode):o}→{wanted:o}")
    if fixed:
        log.warning("tightened permissions in %s (personal data was readable by other users): %s",
                    data_dir, ", ".join(fixed))
    return fixed
