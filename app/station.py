"""The station runtime: one thread owns the pack flow, the store writes and the printer.

Devices deliver scans and weights from their own reader threads into a queue; this runtime takes
them one at a time, so the flow never sees two inputs at once and the UI thread never waits on the
store or a printer. Outcomes and device states go out to plain-Python listeners; `ui/` bridges them
to Qt signals. The headless line mode uses the same runtime with no UI. What listens to it beyond
the screen (rules, packing photo, chat robot) is wired by the composition root, wiring.py.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from app.clock import Clock
from app.devices import DeviceStatus, LabelPrinter, PrinterError, Scale, Scan, Scanner, WeightReading
from app.labels import Label, Party, build_label
from app.pack.flow import PackFlow
from app.pack.outcomes import Outcome
from app.store.models import PrintJob, Shipment

log = logging.getLogger(__name__)

OVERDUE_CHECK_SECONDS = 300.0
BACKUP_CHECK_SECONDS = 600.0  # how often the housekeeping thread asks whether a backup is due
RULES_TIMER_SECONDS = 300.0
RULES_TIMER_DAYS = 30
WAIT_RECHECK_SECONDS = 1.0  # how soon a parcel waiting for a waybill notices numbers that arrived
RULES_AFTER = frozenset({"label_queued", "override_accepted", "short_shipped", "order_cancelled", "order_refunded",
                         "weight_mismatch", "weight_unusual"})


@runtime_checkable
class PolledScale(Protocol):
    """A scale that answers only when asked (a weights file, the simulated scale): the runtime asks
    it each time a parcel awaits weighing, which keeps file-driven runs deterministic."""

    def poll(self, expected_g: int | None) -> WeightReading | None: ...


@dataclass
class Chore:
    every_seconds: float
    run: Callable[[], Any]
    due: float = 0.0


@dataclass
class Listeners:
    outcome: list[Callable[[Outcome], None]] = field(default_factory=list)
    status: list[Callable[[DeviceStatus], None]] = field(default_factory=list)
    error: list[Callable[[str], None]] = field(default_factory=list)
    printed: list[Callable[[Label], None]] = field(default_factory=list)
    weight: list[Callable[[WeightReading], None]] = field(default_factory=list)  # every reading, for display


class StationRuntime:
    def __init__(
        self, flow: PackFlow, clock: Clock, printer: LabelPrinter, sender: Party,
        scanner: Scanner | None = None, scale: Scale | None = None,
        tz: str = "Asia/Shanghai", retry_seconds: float = 5.0,
        passports: Callable[[Shipment], str] | None = None,
        chores: list[Chore] | None = None, background: list[Chore] | None = None,
    ) -> None:
        self.flow = flow
        self.clock = clock
        self.printer = printer
        self.sender = sender
        self.scanner = scanner
        self.scale = scale
        self.tz = tz
        self.retry_seconds = retry_seconds
        self.passports = passports
        # Periodic work on this thread, on timers a busy inbox (a scale reporting ten times a second)
        # cannot starve: waiting labels are retried, time-based checks run.
        self.chores = [Chore(retry_seconds, self._retry_waiting_jobs),
                       Chore(WAIT_RECHECK_SECONDS, self._recheck_waiting), *(chores or [])]
        # Long periodic checks (time-based rules, overdue parcels) run on a thread of their own: at
        # 10^6 orders one round takes seconds, which must never stall a scan. They only read and open
        # cases, in short transactions of their own.
        self.background = list(background or [])
        self._housekeeper: threading.Thread | None = None
        self._chores_inbox: queue.Queue[Callable[[], Any]] = queue.Queue()
        self.listeners = Listeners()
        self._inbox: queue.Queue[tuple[str, Any]] = queue.Queue()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._idle = threading.Event()
        self._idle.set()
        self._scan_handler: Callable[[Scan], Any] | None = None
        self.on_stop: list[Callable[[], Any]] = []

    # ----- wiring -----
    def start(self) -> None:
        if self.scanner is not None:
            self.scanner.start(self.submit_scan, self._on_status)
        if self.scale is not None:
            self.scale.start(self.submit_weight, self._on_status)
        self._thread = threading.Thread(target=self._loop, name="station-runtime", daemon=True)
        self._thread.start()
        if self.background:
            self._housekeeper = threading.Thread(target=self._housekeeping, name="station-housekeeping", daemon=True)
            self._housekeeper.start()
        self.call(self._resume_print_jobs)

    def stop(self) -> None:
        """Idempotent: the line that ran the runtime and the station that opened it may both stop it."""
        if self._stop.is_set():
            return
        for device in (self.scanner, self.scale):
            if device is not None:
                device.stop()
        for hook in self.on_stop:
            hook()
        self._stop.set()
        self._inbox.put(("stop", None))
        self._chores_inbox.put(lambda: None)  # wake the loop now rather than at its next retry tick
        for thread in (self._thread, self._housekeeper):
            if thread is not None:
                thread.join(timeout=5)

    def submit_scan(self, scan: Scan) -> None:
        self._put("scan", scan)

    def submit_weight(self, reading: WeightReading) -> None:
        self._put("weight", reading)

    def divert_scans(self, handler: Callable[[Scan], Any] | None) -> None:
        """Hand scans to `handler` instead of the pack flow (a screen such as the carrier handover
        takes them over), or back with None. The handler runs on this runtime's thread, so a scan is
        routed by the mode in force when its turn comes, in order with everything else."""
        self.call(lambda: setattr(self, "_scan_handler", handler))

    @property
    def scans_diverted(self) -> bool:
        return self._scan_handler is not None

    def call(self, fn: Callable[[], Any]) -> None:
        """Run `fn` on the runtime thread (e.g. a login by name from the UI)."""
        self._put("call", fn)

    def wait_idle(self, timeout: float | None = None) -> bool:
        """True once every submitted input has been handled (used by the headless mode and tests)."""
        return self._idle.wait(timeout)

    def _put(self, kind: str, item: Any) -> None:
        self._idle.clear()
        self._inbox.put((kind, item))

    def _on_status(self, status: DeviceStatus) -> None:
        for listener in list(self.listeners.status):
            listener(status)

    # ----- the owning thread -----
    def _loop(self) -> None:
        for chore in self.chores:
            chore.due = time.monotonic() + chore.every_seconds
        while not self._stop.is_set():
            next_due = min(chore.due for chore in self.chores)
            try:
                kind, item = self._inbox.get(timeout=max(next_due - time.monotonic(), 0.01))
            except queue.Empty:
                pass
            else:
                self._guard(lambda: self._handle(kind, item))  # noqa: B023 (called at once)
            now = time.monotonic()
            for chore in self.chores:
                if now >= chore.due:
                    self._guard(chore.run)
                    chore.due = time.monotonic() + chore.every_seconds
            if self._inbox.empty():
                self._idle.set()

    def background_call(self, fn: Callable[[], Any]) -> None:
        """Run `fn` on the housekeeping thread (work that follows a scan but must not delay the next)."""
        self._chores_inbox.put(fn)

    def _housekeeping(self) -> None:
        for chore in self.background:
            chore.due = time.monotonic() + chore.every_seconds
        while not self._stop.is_set():
            try:
                job = self._chores_inbox.get(timeout=max(min(c.due for c in self.background) - time.monotonic(), 0.01))
            except queue.Empty:
                pass
            else:
                self._guard(job)
            now = time.monotonic()
            for chore in self.background:
                if now >= chore.due:
                    self._guard(chore.run)
                    chore.due = time.monotonic() + chore.every_seconds

    def run_pending(self) -> None:
        """Handle everything queued, on the caller's thread (tests without the thread)."""
        while not self._inbox.empty():
            kind, item = self._inbox.get_nowait()
            self._guard(lambda: self._handle(kind, item))  # noqa: B023 (called at once)
        self._idle.set()

    def _guard(self, step: Callable[[], Any]) -> None:
        # The bench must never go down: a failure is logged and shown, and the next input is taken.
        try:
            step()
        except Exception as exc:
            log.exception("station runtime step failed")
            for listener in list(self.listeners.error):
                listener(f"{type(exc).__name__}: {exc}")

    def _handle(self, kind: str, item: Any) -> None:
        if kind == "stop":
            return
        if kind == "scan":
            if self._scan_handler is not None:
                self._scan_handler(item)
            else:
                self._after(self.flow.scan(item))
        elif kind == "weight":
            if not self._weigh(item):
                return  # nothing judged: a pushing scale's own next reading is the next input
        else:
            result = item()
            if isinstance(result, Outcome):
                self._after(result)
        self._weigh_polled()

    def _weigh(self, reading: WeightReading) -> bool:
        """Show and judge one reading; True when the flow answered it with an outcome."""
        for listener in list(self.listeners.weight):
            listener(reading)
        outcome = self.flow.weight(reading)
        if outcome is not None:
            self._after(outcome)
        return outcome is not None

    def _weigh_polled(self) -> None:
        """A polled scale is read whenever an input leaves a parcel ready to weigh, at once and ahead
        of scans already queued: the parcel is on the scale before the packer (or the next line of a
        scans file) moves on. After a refusal it is read again (a weights file's next line is the
        corrected parcel) until a reading changes nothing. A loop, not a recursion, and it ends:
        the flow never judges the same parcel twice, and after a refusal that waits for a change (no
        waybill left) it is not ready to weigh at all, so an outcome cannot feed itself."""
        while self.flow.ready_to_weigh and isinstance(self.scale, PolledScale):
            reading = self.scale.poll(self.flow.expected_weight_g())
            if reading is None or not self._weigh(reading):
                return

    def _recheck_waiting(self) -> None:
        """A parcel waiting for a waybill is weighed again once numbers arrive (an import, a pull)."""
        if self.flow.waybills_arrived():
            self._weigh_polled()

    def _after(self, outcome: Outcome) -> None:
        for listener in list(self.listeners.outcome):
            listener(outcome)
        job_id = outcome.detail.get("job_id")
        if outcome.event in ("label_queued", "reprint_queued") and isinstance(job_id, int):
            self._print(job_id)

    # ----- printing -----
    def _print(self, job_id: int) -> bool:
        label = build_label(job_id, self.sender, self.flow.config.station, self.tz, self._passport_url(job_id))
        self.flow.mark_sent(job_id)
        try:
            self.printer.print_label(label)
        except PrinterError as exc:
            self._report(self.flow.print_result(job_id, False, exc.reason, exc.delivered))
            return False
        for listener in list(self.listeners.printed):
            listener(label)
        self._report(self.flow.print_result(job_id, True))
        return True

    def _passport_url(self, job_id: int) -> str:
        """Minted once per shipment (a reprint carries the same passport). A label that cannot carry
        one still ships: the failure is reported, the parcel is not held back."""
        if self.passports is None:
            return ""
        try:
            return self.passports(PrintJob.get_by_id(job_id).shipment)
        except Exception as exc:
            log.exception("no passport for print job %s", job_id)
            for listener in list(self.listeners.error):
                listener(f"label printed without passport: {exc}")
            return ""

    def _report(self, outcome: Outcome | None) -> None:
        if outcome is not None:
            self._after(outcome)

    def _resume_print_jobs(self) -> None:
        """At start: jobs that never reached the printer go out now; a job caught mid-send by a crash
        may have printed, so it is reported for a person to decide, never resent."""
        for job in PrintJob.select(PrintJob.id).where(PrintJob.state == "sent").order_by(PrintJob.id):
            self._report(self.flow.print_result(job.id, False, "station stopped while printing", delivered=True))
        self._retry_waiting_jobs()

    def _retry_waiting_jobs(self) -> None:
        """Oldest first; the first failure ends the round, so a printer that is still down costs one
        status timeout per round, not one per waiting label."""
        for job in PrintJob.select(PrintJob.id).where(PrintJob.state == "queued").order_by(PrintJob.id):
            if not self._print(job.id):
                return
