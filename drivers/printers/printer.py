"""A label printer = a language (how the label becomes bytes) + a transport (where the bytes go).

One job: ask the printer's status, send the label, ask again. The first question is skipped when
the printer answered "ready" within the last `status_fresh` seconds (the answer after the previous
job): on a busy bench that is a round trip off every label, and the question after the job still
decides whether the label is done or uncertain. A fault before the last byte went out
leaves the job undelivered (it goes out again by itself once the printer is back); a fault after it
means the label may exist, so only a person decides on a reprint.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from app.devices import PrinterError
from app.i18n import N_
from app.labels import Label
from drivers.printers import status
from drivers.printers.transport import Transport, TransportError

Renderer = Callable[[Label], bytes]


@dataclass(frozen=True)
class PrinterProfile:
    language: str  # zpl | tspl | escpos | pdf | text
    status_timeout: float = 1.5
    check_status: bool = True
    status_fresh: float = 3.0  # seconds a "ready" answer stands in for the next job's first status query


class LanguagePrinter:
    def __init__(self, transport: Transport, render: Renderer, profile: PrinterProfile,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self.transport = transport
        self.render = render
        self.profile = profile
        self.name = f"{transport.name}?lang={profile.language}"
        self.last_bytes = b""
        self._lock = threading.Lock()  # one job at a time on one printer
        self._monotonic = monotonic
        self._ready_at: float | None = None  # when the printer last answered "ready"

    def print_label(self, label: Label) -> None:
        payload = self.render(label)
        with self._lock:
            try:
                self.transport.open()
            except TransportError as exc:
                raise PrinterError(exc.words) from exc
            try:
                self._job(payload)
            finally:
                self._close()

    def _job(self, payload: bytes) -> None:
        ready_at, self._ready_at = self._ready_at, None  # stays None unless this job ends well
        if self.profile.check_status and not self._fresh(ready_at):
            fault = status.check(self.profile.language, self.transport, self.profile.status_timeout)
            if fault:
                raise PrinterError(fault)
        try:
            self.transport.write(payload)
        except TransportError as exc:
            # A ZPL/TSPL format prints only once complete (^XZ / PRINT): a cut-off job printed nothing.
            raise PrinterError(exc.words, delivered=exc.sent >= len(payload)) from exc
        self.last_bytes = payload
        if self.profile.check_status:
            fault = status.check(self.profile.language, self.transport, self.profile.status_timeout)
            if fault:
                raise PrinterError(N_("{fault} after the label was sent — check it"), delivered=True, fault=fault)
            self._ready_at = self._monotonic()

    def _fresh(self, ready_at: float | None) -> bool:
        return ready_at is not None and self._monotonic() - ready_at < self.profile.status_fresh

    def _close(self) -> None:
        try:
            self.transport.close()
        except TransportError as exc:
            raise PrinterError(exc.words) from exc
