"""Printing off the scan thread: one `PrintWorker` per printer.

A printer can take seconds to answer, or never answer: a paused or jammed Zebra accepts the TCP
connection and stays silent on `~HS` until the status timeout. The thread that answers scans must
never wait for that, so each printer has a worker thread (`app.worker.Worker`) of its own. It owns
the printer: the connection, the status queries (the driver's `print_label` asks before and after
each job) and the retries of labels the printer did not take. The runtime hands it committed jobs
(`submit`) and gets every attempt's result back as an event (`deliver`, the runtime's `call`).

Who writes what (the store is SQLite with one writer at a time; see `app.station`):
- the runtime commits the job, with its shipment, and every result — `PackFlow.print_result` writes
  the job's new state (done / failed / back to queued with the reason), its scan_event, audit entry
  and outbox event, and moves the flow on;
- this worker writes one thing, in a one-row transaction of its own: `claim_job`, the job's state
  queued → sent (and `attempts`), just before its first byte leaves — only this thread knows when
  that is, and it must be durable before the printer can have the label. The UPDATE is conditional:
  a job no longer `queued`, or whose shipment was voided meanwhile, is not sent.

Delivery rules, per job: printed → `done`; a fault before the last byte went out (unreachable,
refused, silent, paper out, connection dropped mid-job) → back to `queued`, retried by this worker
every `retry_seconds`, oldest first, a round ending at the first failure (a printer that is still
down costs one status timeout per round, not one per waiting label); a fault after the last byte
(the label may exist) → `failed` ("uncertain"): never resent by itself, only a REPRINT scan sends it
again. A job left `sent` by a crash is reported as uncertain by the runtime at the next start.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from app.clock import Clock, iso
from app.devices import LabelPrinter, PrinterError
from app.labels import Label
from app.store import Store
from app.store.models import PrintJob
from app.store.prepared import execute
from app.store.states import PrintJobState
from app.worker import Chore, Worker

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PrintResult:
    """One attempt at one job, as the runtime records it."""

    job_id: int
    label: Label
    ok: bool
    reason: str = ""
    delivered: bool = False  # the whole job reached the printer before the fault: it may have printed


@dataclass
class _Job:
    job_id: int
    label: Label


# Prepared SQL (app/store/prepared.py), and the voided check a look-up of this job's shipment by its
# key: an IN over the shipments would read all of them, ~1 s at 10^6 orders.
_CLAIM_SQL = ('UPDATE "print_job" SET "state" = \'sent\', "attempts" = "attempts" + 1, "updated_at" = ? '
              'WHERE "id" = ? AND "state" = \'queued\' '
              'AND (SELECT "voided" FROM "shipment" WHERE "id" = "print_job"."shipment_id") = 0')
_STATE_SQL = ('SELECT j."state", s."voided" FROM "print_job" j JOIN "shipment" s ON s."id" = j."shipment_id" '
              'WHERE j."id" = ?')


def claim_job(store: Store, clock: Clock, job_id: int) -> str:
    """Mark a queued job `sent` (committed before any byte goes out: a job in `sent` is never resent
    by itself). Returns the state found: "queued" when claimed, else the job's state as it is ("sent"
    while the runtime has not yet recorded the previous attempt, "done", "failed"), or "voided"."""
    with store.atomic():
        claimed = execute(PrintJob, _CLAIM_SQL, (iso(clock.now()), job_id)).rowcount
        if claimed:
            return PrintJobState.QUEUED
        row = execute(PrintJob, _STATE_SQL, (job_id,)).fetchone()
    if row is None:
        return "missing"
    state, voided = row
    return "voided" if voided else str(state)


class PrintWorker:
    """Sends one printer's labels on its own thread; results go to `deliver` (called on this thread:
    pass the runtime's `call` so they are recorded where the pack flow lives)."""

    def __init__(self, printer: LabelPrinter, store: Store, clock: Clock, deliver: Callable[[PrintResult], None],
                 retry_seconds: float = 5.0, on_error: Callable[[str], None] | None = None) -> None:
        self.printer = printer
        self.store = store
        self.clock = clock
        self.deliver = deliver
        self._todo: list[_Job] = []  # this thread only: jobs to send, oldest first
        self._retry = Chore(retry_seconds, self._round)
        # The thread's own SQLite connection (peewee keeps one per thread) is closed as it ends.
        self.worker = Worker(f"print {printer.name}", chores=[self._retry], on_error=on_error,
                             on_exit=store.db.close)

    def start(self) -> None:
        self.worker.start()

    def stop(self, timeout: float = 5.0) -> bool:
        """Stop after the job in flight. Jobs still waiting stay `queued` in the store; the next
        start hands them over again."""
        return self.worker.stop(timeout)

    def submit(self, job_id: int, label: Label) -> None:
        """Send a committed job (behind any older one still waiting). Returns at once."""
        if not self.worker.post(lambda: self._add(_Job(job_id, label))):
            log.warning("print job %s not handed over: the print worker is stopping", job_id)

    def retry_now(self) -> None:
        """Try the waiting jobs now rather than at the next retry tick (tests, a "printer fixed" button)."""
        self.worker.post(self._round)

    @property
    def waiting(self) -> list[int]:
        return [job.job_id for job in self._todo]

    def _add(self, job: _Job) -> None:
        if all(waiting.job_id != job.job_id for waiting in self._todo):
            self._todo.append(job)
        self._round()

    def _round(self) -> None:
        """Oldest first; ends at the first job the printer did not take (it stays first)."""
        while self._todo:
            job = self._todo[0]
            state = claim_job(self.store, self.clock, job.job_id)
            if state == PrintJobState.SENT:  # the runtime has not recorded this job's last attempt yet: next round
                return
            if state != PrintJobState.QUEUED:  # printed, uncertain, voided or gone: nothing to send
                self._todo.pop(0)
                continue
            result = self._attempt(job)
            if result.ok or result.delivered:
                self._todo.pop(0)
            self.deliver(result)
            if not (result.ok or result.delivered):
                return

    def _attempt(self, job: _Job) -> PrintResult:
        try:
            self.printer.print_label(job.label)
        except PrinterError as exc:
            return PrintResult(job.job_id, job.label, False, exc.reason, exc.delivered)
        except Exception as exc:  # a driver bug: the bytes may or may not have gone out
            log.exception("printer %s failed on job %s", self.printer.name, job.job_id)
            return PrintResult(job.job_id, job.label, False, f"{type(exc).__name__}: {exc}", delivered=True)
        return PrintResult(job.job_id, job.label, True)
