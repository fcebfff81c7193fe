"""Packing photos (docs/architecture.md §4.4): a still of the open parcel when its last item is scanned.

The record is the file plus its audit entry: `DATA_DIR/photos/<yyyy-mm>/<session>.jpg` (UTC month;
`.png` when the camera sends PNG; never overwritten — a second still of the same session gets `-2`),
and `photo.captured {session, order_id, file, sha256, bytes}` in the hash chain, whose outbox event
also carries the hash to the server. The bytes are stored exactly as the camera sent them, so the
audited hash is the hash of the file an evidence pack shows.

Capturing is never on the scan path: `PackingPhotographer.request` returns at once; one worker thread
(`app.worker.Worker`) takes the still (a network camera may take seconds or time out) and writes and
fsyncs the file; only the audit entry, one short transaction, goes through `post` — the station
runtime's `call`, so store writes stay on the runtime's thread. A camera error is reported through
`on_error`; the pack goes on.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from app.audit import record_fact
from app.clock import Clock, iso
from app.devices import Camera, CameraError, still_suffix
from app.errors import os_words
from app.i18n import ENGLISH, N_, Words, render
from app.pack.flow import PackFlow
from app.pack.outcomes import Outcome
from app.private_files import open_private, private_dir
from app.store import Store
from app.store.models import PackSession
from app.worker import Worker

log = logging.getLogger(__name__)

PHOTO_DIR = "photos"
PHOTO_KIND = "photo.captured"
NO_PHOTO = N_("no packing photo of order {order_id}: {reason}")
# Pack-flow outcomes after which the parcel's content is final: take the still then.
PHOTO_EVENTS = frozenset({"items_complete", "short_shipped"})




@dataclass(frozen=True)
class StoredPhoto:
    session_id: int
    order_id: str
    path: Path
    file: str  # relative to the data dir, as audited
    sha256: str
    audit_seq: int


def image_suffix(data: bytes) -> str:
    suffix = still_suffix(data)
    if suffix is not None:
        return suffix
    raise CameraError(N_("the camera sent something that is not a JPEG or PNG image"))


def _write_new(folder: Path, stem: str, suffix: str, data: bytes) -> Path:
    """Write `data` to a file that did not exist: temp file, fsync, then a link that fails if taken."""
    private_dir(folder)
    tmp = folder / f".{stem}.{os.getpid()}.{threading.get_ident()}.tmp"
    tmp.unlink(missing_ok=True)  # left by a crash of this thread's earlier self
    with os.fdopen(open_private(tmp), "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    try:
        for n in range(1, 1000):
            target = folder / (f"{stem}{suffix}" if n == 1 else f"{stem}-{n}{suffix}")
            try:
                os.link(tmp, target)
            except FileExistsError:
                continue
            except OSError:  # a file system without hard links: check, then rename (not race-free)
                if target.exists():
                    continue
                os.replace(tmp, target)
            return target
        raise CameraError(N_("too many photos of {stem} in {folder}"), stem=stem, folder=str(folder))
    finally:
        tmp.unlink(missing_ok=True)


@dataclass(frozen=True)
class PhotoFile:
    """A still written to disk, not yet audited."""

    session_id: int
    order_id: str
    station: str
    at: datetime
    path: Path
    file: str  # relative to the data dir
    sha256: str
    size: int


def save_photo_file(data_dir: Path, session_id: int, at: datetime, image_bytes: bytes) -> PhotoFile:
    """Write the still to `photos/<yyyy-mm>/<session>.jpg` (never over another). Reads the store, writes
    no row: safe on any thread."""
    suffix = image_suffix(image_bytes)
    session = PackSession.get_or_none(PackSession.id == session_id)
    if session is None:
        raise CameraError(N_("no pack session {session}"), session=session_id)
    data_dir = Path(data_dir)
    path = _write_new(data_dir / PHOTO_DIR / f"{at.astimezone(UTC):%Y-%m}", str(session_id), suffix, image_bytes)
    return PhotoFile(session_id, str(session.order.order_id), str(session.station), at, path,
                     path.relative_to(data_dir).as_posix(), hashlib.sha256(image_bytes).hexdigest(), len(image_bytes))


def record_photo(store: Store, photo: PhotoFile, actor: str) -> StoredPhoto:
    """Audit a saved still: `photo.captured` with its file name and SHA-256 (one transaction)."""
    with store.atomic():
        seq = record_fact(PHOTO_KIND, actor, photo.at, {
            "session": photo.session_id, "order_id": photo.order_id, "file": photo.file, "sha256": photo.sha256,
            "bytes": photo.size, "station": photo.station, "captured_at": iso(photo.at),
        })
    return StoredPhoto(photo.session_id, photo.order_id, photo.path, photo.file, photo.sha256, seq)


def store_packing_photo(store: Store, clock: Clock, data_dir: Path, session_id: int, image_bytes: bytes,
                        actor: str) -> StoredPhoto:
    """Store one still of a pack session and audit its hash: the file first, then its audit entry (a
    crash between the two leaves an unaudited file, never an entry without its file)."""
    return record_photo(store, save_photo_file(data_dir, session_id, clock.now(), image_bytes), actor)


@dataclass(frozen=True)
class _Request:
    session_id: int
    order_id: str
    actor: str


class PackingPhotographer:
    """Takes stills off the scan path: one worker thread, a short queue, errors reported not raised.

    `post(fn)` runs the audit write; pass the station runtime's `call` so writes stay on its thread
    (the default runs it on the worker, which SQLite's IMMEDIATE transactions also make safe).
    """

    QUEUE_SIZE = 4

    def __init__(self, camera: Camera, store: Store, clock: Clock, data_dir: Path, *,
                 post: Callable[[Callable[[], Any]], None] | None = None,
                 on_error: Callable[[str], None] | None = None,
                 on_stored: Callable[[StoredPhoto], None] | None = None) -> None:
        self.camera, self.store, self.clock, self.data_dir = camera, store, clock, Path(data_dir)
        self.post = post
        self.on_error = on_error
        self.on_stored = on_stored
        # One thread for the camera, the file and its fsync; its own SQLite connection (peewee keeps
        # one per thread, used by `save_photo_file`'s read) is closed as it ends.
        self._worker = Worker("packing-photo", max_inbox=self.QUEUE_SIZE, on_exit=self._close_connection)

    def request(self, session_id: int, order_id: str, actor: str) -> None:
        """Ask for a still of this session. Returns at once; never raises."""
        try:
            self._worker.start()
            if not self._worker.post(lambda: self._take(_Request(session_id, order_id, actor))):
                self._error(f"camera busy: no packing photo of order {order_id}")
        except Exception as exc:  # the bench must never stop for a photo
            self._error(f"no packing photo of order {order_id}: {exc}")

    def capture_now(self, session_id: int, order_id: str, actor: str) -> StoredPhoto | None:
        """Take and store a still on the caller's thread (tests, a manual "photo again"); None on error."""
        try:
            data = self.camera.capture(order_id)
            return self._stored(record_photo(self.store, self._save(session_id, data), actor))
        except Exception as exc:
            self._error(photo_failure(exc, order_id))
            return None

    def close(self, timeout: float = 5.0) -> None:
        """Take the stills already asked for, then stop."""
        self._worker.stop(timeout, drain=True)

    def _take(self, req: _Request) -> None:
        try:  # the slow part, here: the camera, the file and its fsync
            photo = self._save(req.session_id, self.camera.capture(req.order_id))
        except Exception as exc:
            self._error(photo_failure(exc, req.order_id))
            return
        if self.post is None:
            self._record(photo, req)
        else:  # the audit entry: one short transaction on the runtime's thread
            self.post(lambda: self._record(photo, req))

    def _close_connection(self) -> None:
        if not self.store.db.is_closed():
            self.store.db.close()  # this thread's own connection

    def _save(self, session_id: int, data: bytes) -> PhotoFile:
        return save_photo_file(self.data_dir, session_id, self.clock.now(), data)

    def _record(self, photo: PhotoFile, req: _Request) -> StoredPhoto | None:
        try:
            return self._stored(record_photo(self.store, photo, req.actor))
        except Exception as exc:
            self._error(photo_failure(exc, req.order_id))
            return None

    def _stored(self, photo: StoredPhoto) -> StoredPhoto:
        if self.on_stored is not None:
            self.on_stored(photo)
        return photo

    def _error(self, message: str) -> None:
        log.warning("%s", message)
        if self.on_error is None:
            return
        on_error = self.on_error

        def report() -> None:
            try:
                on_error(message)
            except Exception:
                log.exception("photo error listener failed")
        if self.post is None:
            report()
        else:  # shown from the runtime's thread, like every other error at the bench
            self.post(report)


def photo_listener(photographer: PackingPhotographer, flow: PackFlow) -> Callable[[Outcome], None]:
    """An outcome listener for `StationRuntime.listeners.outcome` that asks for a still when the
    parcel's content is final. It runs on the runtime's thread right after the outcome, while the
    flow still holds the session; `request` returns at once."""
    def on_outcome(outcome: Outcome) -> None:
        bench = flow.open
        if outcome.event in PHOTO_EVENTS and bench is not None:
            actor = flow.operator.name if flow.operator is not None else "-"
            photographer.request(int(bench.session.id), str(bench.order.order_id), actor)
    return on_outcome


def photo_failure(exc: Exception, order_id: str) -> str:
    """The English line `on_error` passes on (the log's); the screens word it again from its msgid
    (`app.read_back`)."""
    if isinstance(exc, CameraError):
        reason: Words | str = exc.words
    elif isinstance(exc, OSError):  # the still could not be written: a full or read-only disk
        reason = os_words(exc)
    else:
        reason = f"{type(exc).__name__}: {exc}"
    return render(NO_PHOTO, ENGLISH, {"order_id": order_id, "reason": reason})
