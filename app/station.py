"""The station runtime: one thread owns the pack flow and answers scans; printing has its own.

Devices deliver scans and weights from their own reader threads into the runtime's inbox; its
worker thread (`app.worker.Worker`) takes them one at a time, so the flow never sees two inputs at
once and the UI thread never waits on the store or a printer. Outcomes and device states go out to
plain-Python listeners; `ui/` bridges them to Qt signals. The headless line mode uses the same
runtime with no UI. What listens to it beyond the screen (rules, packing photo, chat robot) is
wired by the composition root, wiring.py.

Threads and who writes the store. The store is one SQLite file in WAL mode; SQLite lets one
connection write at a time, and every thread has its own connection (peewee keeps one per thread):
- the runtime thread (`station-runtime`) is the only writer of pack facts: scans, pack sessions,
  shipments, print jobs and their results, order status from the bench, the handover and triage
  screens' work (posted with `call`) and the packing photos' audit entries;
- each printer's print worker (`app.printing`) writes one column of one row per attempt: a print
  job's state queued → sent, just before its bytes leave;
- housekeeping (`station-housekeeping`) opens and closes exception cases (time-based rules, overdue
  handovers, rules re-run after a bench change);
- the sync worker (`sync.worker`) marks outbox events sent and applies what it pulls (orders,
  cancellations, tracking, rule sets);
- a CLI command beside the window (import, waybills, exceptions) writes from its own process.
Why that is safe: every write is one short transaction opened with BEGIN IMMEDIATE
(`Store.atomic`), which takes the write lock at its start — a transaction never reads under a
shared lock and then fails to upgrade — and `busy_timeout` (5 s) makes a second writer wait for the
first instead of failing. The audit chain's head is read and extended inside that transaction, so
entries from different threads still form one chain. Readers never block in WAL mode. No thread
holds a transaction across a device call or a network request.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol, runtime_checkable
from zoneinfo import ZoneInfo

from app.audit import record_fact
from app.clock import Clock, iso
from app.devices import DeviceStatus, LabelPrinter, Scale, Scan, Scanner, WeightReading
from app.i18n import ENGLISH, N_, Phrase, render
from app.labels import Label, Party, build_label, label_for
from app.pack.flow import PackFlow
from app.pack.outcomes import Outcome
from app.printing import PrintResult, PrintWorker
from app.store.faults import DAMAGED, DISK_FULL, IO_ERROR, disk_fault, free_space
from app.store.models import PrintJob, Shipment
from app.store.states import PrintJobState
from app.worker import Chore, Worker

log = logging.getLogger(__name__)

OVERDUE_CHECK_SECONDS = 300.0
BACKUP_CHECK_SECONDS = 600.0  # how often the housekeeping thread asks whether a backup is due
RULES_TIMER_SECONDS = 300.0
RULES_TIMER_DAYS = 30
WAIT_RECHECK_SECONDS = 1.0  # how soon a parcel waiting for a waybill notices numbers that arrived
DISK_RECHECK_SECONDS = 5.0  # how soon a bench stopped by a full disk notices the space freed
RESUMED = N_("The disk has room again: packing goes on")
RESUMED_REFUSED = N_("The disk has room again: packing goes on. Not recorded while it was stopped — scan again: "
                     "{codes}")
HALTED = N_("{cause}; nothing scanned since {since} was lost (the input at {now} was not recorded) — packing "
           "stopped: {cure}")
HALT_CAUSES = {DISK_FULL: N_("disk full: free space {free}"), IO_ERROR: N_("disk I/O error on {folder}"),
               DAMAGED: N_("store damaged on {folder}")}
HALT_CURES = {  # (the fault, whether the runtime waits for room: the window does, the headless line ends)
    (DISK_FULL, True): N_("free space: packing goes on by itself once there is room"),
    (DISK_FULL, False): N_("free space, then start the line again"),
    (IO_ERROR, True): N_("check the disk, then restart the station"),
    (IO_ERROR, False): N_("check the disk, then start the line again"),
    (DAMAGED, True): N_("restore the last backup, then restart the station"),
    (DAMAGED, False): N_("restore the last backup, then start the line again"),
}
RULES_AFTER = frozenset({"label_queued", "override_accepted", "short_shipped", "order_cancelled", "order_refunded",
                         "weight_mismatch", "weight_unusual"})


@dataclass
class Halt:
    """Why and since when the bench stopped, and what came meanwhile: the scans it refused (answered
    as not recorded, named again when it goes on) and the print results it will record then."""

    kind: str  # DISK_FULL, IO_ERROR or DAMAGED (app.store.faults)
    at: datetime
    refused: list[str] = field(default_factory=list)
    print_results: list[PrintResult] = field(default_factory=list)


@runtime_checkable
class PolledScale(Protocol):
    """A scale that answers only when asked (a weights file, the simulated scale): the runtime asks
    it each time a parcel awaits weighing, which keeps file-driven runs deterministic."""

    def poll(self, expected_g: int | None) -> WeightReading | None: ...


@dataclass
class Listeners:
    outcome: list[Callable[[Outcome], None]] = field(default_factory=list)
    status: list[Callable[[DeviceStatus], None]] = field(default_factory=list)
    error: list[Callable[[str], None]] = field(default_factory=list)
    halted: list[Callable[[str], None]] = field(default_factory=list)  # once, when the disk stops the bench
    resumed: list[Callable[[Phrase], None]] = field(default_factory=list)  # when it goes on (a full disk freed)
    unrecorded: list[Callable[[Scan], None]] = field(default_factory=list)  # each scan that came after it
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
        self.listeners = Listeners()
        # Scans, weights and calls, one at a time; chores run here between them on timers a busy
        # inbox (a scale reporting ten times a second) cannot starve.
        recheck = Chore(WAIT_RECHECK_SECONDS, lambda: self._unless_halted(self._recheck_waiting))
        self.disk_recheck = Chore(DISK_RECHECK_SECONDS, self.retry_store)
        self.worker = Worker("station-runtime", chores=[recheck, self.disk_recheck,
                                                        *(chores or [])], on_error=self._report_error)
        # Long periodic checks (time-based rules, overdue parcels) run on a thread of their own: at
        # 10^6 orders one round takes seconds, which must never stall a scan. They open cases in
        # short transactions of their own.
        self.housekeeper = Worker("station-housekeeping", chores=background or [], on_error=self._report_error,
                                  on_exit=flow.store.db.close)
        # The printer's own thread: a printer that does not answer never holds up a scan.
        self.print_worker = PrintWorker(printer, flow.store, clock, self._deliver_print_result, retry_seconds,
                                        on_error=self._report_error)
        self._printing: set[int] = set()  # jobs handed to the print worker, result not yet recorded
        self._scan_handler: Callable[[Scan], Any] | None = None
        self.on_stop: list[Callable[[], Any]] = []
        self._started_at = clock.now()
        self.halted: str | None = None  # why the runtime stopped taking work (a full or failing disk)
        # Whether whoever runs this runtime keeps it running through a full disk until there is room
        # again (the window) or ends at the halt (the headless line sets False): the halt line says
        # which, and only a runtime that waits retries the store.
        self.waits_for_room = True
        self._halt: Halt | None = None

    # ----- wiring -----
    def start(self) -> None:
        self.call(self._resume_print_jobs)  # before any scan: the jobs of an earlier run come first
        self.worker.start()
        self.print_worker.start()
        self.housekeeper.start()
        if self.scanner is not None:
            self.scanner.start(self.submit_scan, self._on_status)
        if self.scale is not None:
            self.scale.start(self.submit_weight, self._on_status)

    def stop(self) -> None:
        """Idempotent: the line that ran the runtime and the station that opened it may both stop it."""
        if self.worker.stopping:
            return
        for device in (self.scanner, self.scale):
            if device is not None:
                device.stop()
        for hook in self.on_stop:
            hook()
        self.worker.stop()
        self.print_worker.stop()
        self.housekeeper.stop()

    def submit_scan(self, scan: Scan) -> None:
        self.worker.post(lambda: self._handle("scan", scan))

    def submit_weight(self, reading: WeightReading) -> None:
        self.worker.post(lambda: self._handle("weight", reading))

    def divert_scans(self, handler: Callable[[Scan], Any] | None) -> None:
        """Hand scans to `handler` instead of the pack flow (a screen such as the carrier handover
        takes them over), or back with None. The handler runs on this runtime's thread, so a scan is
        routed by the mode in force when its turn comes, in order with everything else."""
        self.call(lambda: setattr(self, "_scan_handler", handler))

    @property
    def scans_diverted(self) -> bool:
        return self._scan_handler is not None

    def call(self, fn: Callable[[], Any]) -> None:
        """Run `fn` on the runtime thread (e.g. a login by name from the UI); an Outcome it returns
        is shown and followed up like any other."""
        self.worker.post(lambda: self._handle("call", fn))

    def background_call(self, fn: Callable[[], Any]) -> None:
        """Run `fn` on the housekeeping thread (work that follows a scan but must not delay the next)."""
        self.housekeeper.post(fn)

    def wait_idle(self, timeout: float | None = None) -> bool:
        """True once every submitted input has been handled and every label handed to the printer
        has its result recorded (a printer that is down leaves its jobs waiting, not in flight)."""
        deadline = None if timeout is None else time.monotonic() + timeout

        def left() -> float | None:
            return None if deadline is None else max(deadline - time.monotonic(), 0.0)

        while True:
            if not self.worker.wait_idle(left()) or not self.print_worker.worker.wait_idle(left()):
                return False
            if self.worker.pending == 0:  # a result the print worker posted is queued before it is idle
                return True

    def run_pending(self) -> None:
        """Handle everything queued, printing included, on the caller's thread (tests without threads)."""
        while self.worker.run_pending() + self.print_worker.worker.run_pending():
            pass

    def _on_status(self, status: DeviceStatus) -> None:
        for listener in list(self.listeners.status):
            listener(status)

    def _report_error(self, message: str) -> None:
        # The bench must never go down: a failed step is logged (by its worker) and shown here.
        # Once halted, the packer has the one line that matters: the other threads' echoes of the
        # same fault (a print job not claimed, a check not saved) would only bury it.
        if self.halted is not None:
            return
        for listener in list(self.listeners.error):
            listener(message)

    # ----- the owning thread -----
    def _handle(self, kind: str, item: Any) -> None:
        if self._halt is None:
            self._unless_halted(lambda: self._take(kind, item))
            if self._halt is None:
                return
        # Stopped, before this input or by it: nothing was recorded. A scan must still be answered
        # (it was not kept); a print result is recorded once the disk has room.
        if kind == "scan":
            self._halt.refused.append(item.raw.decode("utf-8", "replace")[:64])
            for listener in list(self.listeners.unrecorded):
                listener(item)
        elif kind == "printed":
            self._halt.print_results.append(item)

    def _unless_halted(self, step: Callable[[], Any]) -> None:
        """Run a step of this thread; a full or failing disk halts the runtime instead of failing it
        (every next input would fail the same way, one error per scan)."""
        if self._halt is not None:
            return  # stopped: no more work until the disk has room again (`retry_store`) or a restart
        try:
            step()
        except Exception as exc:
            kind = disk_fault(exc, self.flow.store.path.parent)
            if kind is None:
                raise
            self._stop_on(kind, exc)

    def _stop_on(self, kind: str, exc: Exception) -> None:
        """Stop taking work, say why once, in one line, to the packer and the log. Nothing committed
        is lost (SQLite rolled back only the input that hit the fault), so the line says since when
        everything is safe, and what comes next: a full disk is retried every DISK_RECHECK_SECONDS
        (`retry_store`) where the runtime waits for room; a failing one, or a full one under the
        headless line, waits for a restart, which recovers and checks the store (`Store.recover`)."""
        folder = self.flow.store.path.parent
        zone = ZoneInfo(self.tz)
        since, now = (t.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S %Z") for t in (self._started_at, self.clock.now()))
        cause = Phrase(HALT_CAUSES[kind], {"free": free_space(folder), "folder": folder})
        cure = HALT_CURES[kind, self.waits_for_room]
        # English, for the log and the alarm board; the headless line words it again (app.read_back).
        self.halted = render(HALTED, ENGLISH, {"cause": cause, "since": since, "now": now, "cure": Phrase(cure)})
        self._halt = Halt(kind, self.clock.now())
        log.error("%s", self.halted)
        log.debug("the fault that stopped the station", exc_info=exc)
        for listener in [*self.listeners.error, *self.listeners.halted]:
            listener(self.halted)

    def retry_store(self) -> None:
        """While a full disk stops the bench (a chore, every DISK_RECHECK_SECONDS; docs/architecture.md
        §3.3): once a write commits again — an audit entry saying since when the bench stood and which
        scans it refused — the bench takes work again, records the labels that printed meanwhile, and
        says which scans to repeat. They are not replayed: the packer was told they did not count."""
        halt = self._halt
        if halt is None or halt.kind != DISK_FULL or not self.waits_for_room:
            return
        try:
            with self.flow.store.atomic():
                record_fact("store.resumed", "-", self.clock.now(), {
                    "station": self.flow.config.station, "halted_at": iso(halt.at), "refused": halt.refused,
                }, sync=False)
        except Exception as exc:
            if disk_fault(exc, self.flow.store.path.parent) is None:
                raise
            return  # still full: the next check tries again
        self._halt, self.halted = None, None
        log.warning("the disk has room again: packing goes on (%d scans refused meanwhile)", len(halt.refused))
        words = Phrase(RESUMED_REFUSED, {"codes": ", ".join(halt.refused)}) if halt.refused else Phrase(RESUMED)
        for listener in list(self.listeners.resumed):
            listener(words)
        for result in halt.print_results:
            self._handle("printed", result)

    def _take(self, kind: str, item: Any) -> None:
        if kind == "scan":
            if self._scan_handler is not None:
                self._scan_handler(item)
            else:
                self._after(self.flow.scan(item))
        elif kind == "weight":
            if not self._weigh(item):
                return  # nothing judged: a pushing scale's own next reading is the next input
        elif kind == "printed":
            self._record_print_result(item)
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
            self._print(job_id, just_shipped=outcome.event == "label_queued")

    # ----- printing: labels built here, sent by the print worker, results recorded here -----
    def _print(self, job_id: int, just_shipped: bool = False) -> None:
        self._printing.add(job_id)
        self.print_worker.submit(job_id, self._label(job_id, just_shipped))

    def _label(self, job_id: int, just_shipped: bool) -> Label:
        """The label of the shipment the flow just committed is built from what the flow holds, its
        passport minted in the shipment's own transaction: nothing is read again. Any other job (a
        reprint, one left waiting by an earlier run) is read from the store."""
        shipment, passport = self.flow.last_shipment, self.flow.last_passport
        if just_shipped and shipment is not None and passport is not None:
            if self.flow.last_passport_error:
                self._report_error(f"label printed without passport: {self.flow.last_passport_error}")
            return label_for(shipment, shipment.order, 0, self.sender, self.flow.config.station, self.tz, passport)
        return build_label(job_id, self.sender, self.flow.config.station, self.tz, self._passport_url(job_id))

    def _deliver_print_result(self, result: PrintResult) -> None:
        """The print worker's side: the result is recorded on this runtime's thread, in order with scans
        (kept for after a halt: a label that printed meanwhile is recorded when the disk has room)."""
        self.worker.post(lambda: self._handle("printed", result))

    def _record_print_result(self, result: PrintResult) -> None:
        self._printing.discard(result.job_id)
        if result.ok:
            for listener in list(self.listeners.printed):
                listener(result.label)
        self._report(self.flow.print_result(result.job_id, result.ok, result.reason, result.delivered))

    def _passport_url(self, job_id: int) -> str:
        """Minted once per shipment (a reprint carries the same passport). A label that cannot carry
        one still ships: the failure is reported, the parcel is not held back."""
        if self.passports is None:
            return ""
        try:
            return self.passports(PrintJob.get_by_id(job_id).shipment)
        except Exception as exc:
            log.exception("no passport for print job %s", job_id)
            self._report_error(f"label printed without passport: {exc}")
            return ""

    def _report(self, outcome: Outcome | None) -> None:
        if outcome is not None:
            self._after(outcome)

    def _resume_print_jobs(self) -> None:
        """At start: a job caught mid-send by a crash may have printed, so it is reported for a person
        to decide, never resent; jobs that never reached the printer go to the print worker now."""
        for job in PrintJob.select(PrintJob.id).where(PrintJob.state == PrintJobState.SENT).order_by(PrintJob.id):
            if job.id in self._printing:  # this run's own job, in the printer's hands right now
                continue
            self._report(self.flow.print_result(job.id, False, N_("station stopped while printing"), delivered=True))
        for job in PrintJob.select(PrintJob.id).where(PrintJob.state == PrintJobState.QUEUED).order_by(PrintJob.id):
            if job.id not in self._printing:
                self._print(job.id)
