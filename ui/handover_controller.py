"""The handover screen's work (docs/architecture.md §9.4), done on the station runtime's thread.

The screen calls `open`, `remove`, `close_batch` and `refresh` on the UI thread; each posts the
work to the runtime thread with `runtime.call` (the one thread that writes the store), where a
`HandoverService` does it and the result goes back as a signal, delivered queued on the UI thread.
The open batch itself belongs to the runtime thread: the screen only ever sees copies (`BatchView`).

While the screen is active, `set_active(True)` diverts every scan (wedge and configured scanner)
from the pack flow to `_scan` on the runtime thread (`StationRuntime.divert_scans`), so they never
reach the pack flow, and a timer refreshes the overdue list and the waybill pools every few minutes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import timedelta
from functools import partial
from pathlib import Path

from app.barcodes import Command, is_command
from app.clock import Clock
from app.config import StationConfig
from app.devices import Scan
from app.documents.manifest import write_manifest
from app.handover import (
    Batch,
    HandoverError,
    HandoverOutcome,
    HandoverService,
    ManifestLine,
    OverdueParcel,
    reads_as_badge,
)
from app.i18n import N_, Phrase
from app.station import StationRuntime
from app.store import Store
from app.store.states import HandoverState
from app.waybills import LowWater, PoolWarning, pool_summary, pool_warnings
from ui.qt import QObject, QTimer, Signal

REFRESH_MS = 3 * 60 * 1000  # the overdue list and the pools, while the screen shows
OVERDUE_SHOWN = 300  # rows sent to the screen; the count says how many there are in all
# Close pressed while no batch is open (another window or the CLI closed it meanwhile).
NO_BATCH_OPEN = N_("no handover batch is open")


@dataclass(frozen=True)
class BatchView:
    batch: Batch | None
    lines: tuple[ManifestLine, ...] = ()

    @property
    def count(self) -> int:
        return len(self.lines)


@dataclass(frozen=True)
class HandoverStatus:
    overdue: tuple[OverdueParcel, ...]
    overdue_total: int
    overdue_hours: float
    pools: dict[str, tuple[int, int]]  # carrier -> (free, used)
    warnings: tuple[PoolWarning, ...]
    open_batches: dict[str, int] = field(default_factory=dict)  # carrier -> parcels in its unfinished batch


class HandoverController(QObject):
    opened = Signal(object)  # BatchView of the batch just opened (or resumed: `batch.resumed`)
    batch = Signal(object)  # BatchView, as it is now (on activation; after a failure; None when gone)
    outcome = Signal(object, object)  # HandoverOutcome, BatchView right after it
    closed = Signal(object, str)  # Manifest, the manifest PDF written
    failed = Signal(object, object)  # a HandoverError's words (app.i18n.Words), the parcels it intercepted (tuple)
    no_batch = Signal(str)  # a scan came before a carrier was picked
    courier_scanned = Signal(str)  # the courier's badge, scanned while the close dialog asks for it
    print_answered = Signal(bool)  # a scan while the print offer asks: CONFIRM (True, recorded) or any other
    status = Signal(object)  # HandoverStatus

    def __init__(self, runtime: StationRuntime, store: Store, clock: Clock,
                 config: StationConfig, manifest_dir: Path, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._runtime = runtime
        self._active = False
        self._store = store
        self._clock = clock
        self._config = config
        self.manifest_dir = Path(manifest_dir)
        self._batch: Batch | None = None  # runtime thread only
        self._courier_wanted = False  # set on the UI thread, read on the runtime thread (one bool: atomic)
        self._print_offered: str | None = None  # the closed batch whose manifest is offered (likewise)
        self.timer = QTimer(self, interval=REFRESH_MS)
        self.timer.timeout.connect(self.refresh)

    # ----- UI thread -----
    @property
    def active(self) -> bool:
        return self._active

    def set_active(self, active: bool) -> None:
        self._active = active
        self._runtime.divert_scans(self._scan if active else None)
        if active:
            self._runtime.call(self._publish)
            self.refresh()
            self.timer.start()
        else:
            self.timer.stop()

    def open(self, carrier: str) -> None:
        self._runtime.call(partial(self._open, carrier))

    def remove(self, tracking_no: str) -> None:
        self._runtime.call(partial(self._remove, tracking_no))

    def close_batch(self, courier: str) -> None:
        self._runtime.call(partial(self._close, courier))

    def refresh(self) -> None:
        self._runtime.call(self._refresh)

    def expect_courier(self, wanted: bool) -> None:
        """While the close dialog is open, the next scan that reads as a badge is the courier's; a parcel
        (or any other code) scanned meanwhile is judged as a handover scan and the dialog keeps asking."""
        self._courier_wanted = wanted

    def expect_print_answer(self, batch_id: str | None) -> None:
        """While the offer to print `batch_id`'s manifest asks, the next scan answers it: CONFIRM opens
        the manifest (and is recorded as such); any other scan declines it and is taken as usual."""
        self._print_offered = batch_id

    # ----- runtime thread -----
    def _service(self) -> HandoverService:
        operator = self._runtime.flow.operator  # the packer or supervisor logged in at the bench
        actor = operator.name if operator is not None else self._config.station
        return HandoverService(self._store, self._clock, self._config.station, actor, self._config.timezone)

    def _view(self, service: HandoverService) -> BatchView:
        if self._batch is None:
            return BatchView(None)
        batch = service.batch(self._batch.batch_id)
        if batch.state != HandoverState.OPEN:  # closed elsewhere (the CLI, another window)
            self._batch = None
            return BatchView(None)
        return BatchView(batch, service.manifest(batch.batch_id).lines)

    def _publish(self) -> None:
        self.batch.emit(self._view(self._service()))

    def _open(self, carrier: str) -> None:
        service = self._service()
        try:
            self._batch = service.open_batch(carrier)
        except HandoverError as exc:
            self.failed.emit(exc.words, ())
            return
        resumed = self._batch.resumed
        view = self._view(service)
        if view.batch is not None:
            view = BatchView(replace(view.batch, resumed=resumed), view.lines)
        self.opened.emit(view)

    def _scan(self, scan: Scan) -> None:
        offered, self._print_offered = self._print_offered, None
        if offered is not None:
            confirmed = is_command(scan.raw, Command.CONFIRM)
            self.print_answered.emit(confirmed)
            if confirmed:
                self._service().record_manifest_opened(offered, scan.raw)
                return
        if self._batch is None:
            self._service().record_unbatched(scan.raw, "no carrier picked")
            self.no_batch.emit(scan.raw.decode("utf-8", "replace").strip()[:64])
            return
        if self._courier_wanted and reads_as_badge(scan.raw):  # the courier of the batch's handover.closed fact
            self._courier_wanted = False
            self.courier_scanned.emit(scan.raw.decode("utf-8", "replace").strip()[:64])
            return
        self._act(lambda service, batch: service.scan(batch, scan.raw), scanned=scan.raw)

    def _remove(self, tracking_no: str) -> None:
        self._act(lambda service, batch: service.remove(batch, tracking_no))

    def _act(self, step: Callable[[HandoverService, Batch], HandoverOutcome], scanned: bytes | None = None) -> None:
        assert self._batch is not None
        service = self._service()
        try:
            outcome = step(service, self._batch)
        except HandoverError as exc:
            if scanned is not None:  # the batch closed under it: the scan is still recorded, and answered
                service.record_unbatched(scanned, str(exc))  # the record keeps the English line
            self.failed.emit(exc.words, exc.intercepted)
            self.batch.emit(self._view(service))
            return
        self.outcome.emit(outcome, self._view(service))

    def _close(self, courier: str) -> None:
        if self._batch is None:
            self.failed.emit(Phrase(NO_BATCH_OPEN), ())
            return
        service = self._service()
        try:
            manifest = service.close(self._batch, courier)
        except HandoverError as exc:
            self.failed.emit(exc.words, exc.intercepted)
            self.batch.emit(self._view(service))
            return
        self._batch = None
        path = self.manifest_dir / f"{manifest.batch_id}.pdf"
        # On this thread too: a few hundred ms once a batch, and the manifest always matches the store.
        write_manifest(path, manifest, warehouse=self._config.sender.name, tz=self._config.timezone,
                       lang=self._config.language)
        self.closed.emit(manifest, str(path))
        self._refresh()

    def _refresh(self) -> None:
        service = self._service()
        hours = float(self._config.handover_overdue_hours)
        overdue = service.overdue_parcels(timedelta(hours=hours))
        open_batches = {b.carrier: b.count for b in service.open_batches()}
        self.status.emit(HandoverStatus(
            tuple(overdue[:OVERDUE_SHOWN]), len(overdue), hours, pool_summary(),
            tuple(pool_warnings(LowWater.from_config(self._config))), open_batches,
        ))
