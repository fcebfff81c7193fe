"""The station's Ed25519 passport key pair and the public keys it trusts (docs/architecture.md §6.5, §10.1).

The private key lives in the data dir as an unencrypted PKCS#8 PEM readable by its owner only
(mode 0600 on POSIX; on Windows the data dir's ACL is what protects it). It is created at first use,
atomically: a half-written key file can never be read back, and two processes starting at once end
up with the same key. Enrollment later registers the public key with the server, so passports this
station mints offline verify there too; `DATA_DIR/trusted_keys/*.pem` holds other stations' public
keys for offline verification here.

A key id is the first `KEY_ID_BYTES` of SHA-256 over the raw 32-byte public key. It only selects the
key to try: the signature is what proves a token, so an id collision can cause a rejection, never an
acceptance.
"""

from __future__ import annotations

import hashlib
import logging
import os
import stat
import tempfile
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from app.errors import PackBenchError, os_problem
from app.i18n import N_
from app.private_files import private_dir

log = logging.getLogger(__name__)

PRIVATE_KEY_FILENAME = "station_ed25519.pem"
PUBLIC_KEY_FILENAME = "station_ed25519.pub.pem"
TRUSTED_KEYS_DIR = "trusted_keys"
KEY_ID_BYTES = 4


class KeyFileError(PackBenchError):
    """A key file exists but cannot be used; the message names the file and what is wrong."""


def key_id(public_key: Ed25519PublicKey) -> bytes:
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).digest()[:KEY_ID_BYTES]


def public_pem(public_key: Ed25519PublicKey) -> bytes:
    return public_key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


def private_key_path(data_dir: Path) -> Path:
    return Path(data_dir) / PRIVATE_KEY_FILENAME


def load_or_create_station_key(data_dir: Path) -> Ed25519PrivateKey:
    """This station's signing key, created on first use (and its public PEM written beside it)."""
    path = private_key_path(data_dir)
    if not path.exists():
        _create(path)
    key = _load_private(path)
    public = Path(data_dir) / PUBLIC_KEY_FILENAME
    if not public.exists():
        _write_atomic(public, public_pem(key.public_key()), mode=0o644)
    return key


def load_station_public_key(data_dir: Path) -> Ed25519PublicKey | None:
    """The station's own public key if it has one; never creates a key (verification is read-only)."""
    path = private_key_path(data_dir)
    return _load_private(path).public_key() if path.exists() else None


def load_trusted_keys(data_dir: Path) -> dict[bytes, Ed25519PublicKey]:
    """Public keys in `DATA_DIR/trusted_keys/*.pem`, by key id."""
    keys: dict[bytes, Ed25519PublicKey] = {}
    files: dict[bytes, str] = {}
    folder = Path(data_dir) / TRUSTED_KEYS_DIR
    if not folder.is_dir():
        return keys
    for file in sorted(folder.glob("*.pem")):
        try:
            loaded = serialization.load_pem_public_key(file.read_bytes())
        except ValueError as exc:
            raise KeyFileError(N_("{path}: not a PEM public key ({problem})"), path=file, problem=exc) from exc
        if not isinstance(loaded, Ed25519PublicKey):
            raise KeyFileError(N_("{path}: not an Ed25519 public key"), path=file)
        kid = key_id(loaded)
        if kid in keys and public_pem(keys[kid]) != public_pem(loaded):
            raise KeyFileError(N_("{path}: key id {key} collides with {other}; remove one of them"), path=file,
                               key=kid.hex(), other=files[kid])
        keys[kid], files[kid] = loaded, file.name
    return keys


def verification_keys(data_dir: Path) -> dict[bytes, Ed25519PublicKey]:
    """Every key a token may be verified with offline here: trusted keys plus this station's own."""
    keys = load_trusted_keys(data_dir)
    own = load_station_public_key(data_dir)
    if own is not None:
        keys[key_id(own)] = own
    return keys


def _create(path: Path) -> None:
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    private_dir(path.parent)
    tmp = _write_temp(path, pem, mode=0o600)
    try:
        os.link(tmp, path)  # fails if another process created the key meanwhile: keep theirs
    except FileExistsError:
        tmp.unlink()
        return
    except OSError:  # no hard links here (FAT, some shares): a rename, which cannot refuse to overwrite
        if path.exists():
            tmp.unlink()
            return
        os.replace(tmp, path)
    else:
        tmp.unlink()
    log.info("created station passport key %s (key id %s)", path, key_id(key.public_key()).hex())


def _load_private(path: Path) -> Ed25519PrivateKey:
    if os.name == "posix" and stat.S_IMODE(path.stat().st_mode) & 0o077:
        log.warning("%s is readable by other users; run: chmod 600 %s", path, path)
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (ValueError, TypeError) as exc:
        raise KeyFileError(N_("{path}: cannot read the station key ({problem}); restore it from a backup"), path=path,
                           problem=os_problem(exc) if isinstance(exc, OSError) else exc) from exc
    if not isinstance(key, Ed25519PrivateKey):
        raise KeyFileError(N_("{path}: not an Ed25519 private key"), path=path)
    return key


def _write_temp(path: Path, data: bytes, mode: int) -> Path:
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)  # created 0600
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.chmod(name, mode)
    return Path(name)


def _write_atomic(path: Path, data: bytes, mode: int) -> None:
    tmp = _write_temp(path, data, mode)
    os.replace(tmp, path)
