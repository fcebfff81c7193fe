"""A label printer = a language (how the label becomes bytes) + a transport (where the bytes go).

One job: ask the printer's status, send the label, ask again. A fault before the last byte went out
leaves the job undelivered (it goes out again by itself once the printer is back); a fault after it
means the label may exist, so only a person decides on a reprint.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass

from app.devices import PrinterError
from app.labels import Label
from drivers.printers import status
from drivers.printers.transport import Transport, TransportError

Renderer = Callable[[Label], bytes]


@dataclass(frozen=True)
class PrinterProfile:
    language: str  # zpl | tspl | escpos | pdf | text
    status_timeout: float = 1.5
    check_status: bool = True


class LanguagePrinter:
    def __init__(self, transport: Transport, render: Renderer, profile: PrinterProfile) -> None:
        self.transport = transport
        self.render = render
        self.profile = profile
        self.name = f"{transport.name}?lang={profile.language}"
        self.last_bytes = b""
        self._lock = threading.Lock()  # one job at a time on one printer

    def print_label(self, label: Label) -> None:
        payload = self.render(label)
        with self._lock:
            try:
                self.transport.open()
            except TransportError as exc:
                raise PrinterError(exc.reason) from exc
            try:
                self._job(payload)
            finally:
                self._close()

    def _job(self, payload: bytes) -> None:
        if self.profile.check_status:
            fault = status.check(self.profile.language, self.transport, self.profile.status_timeout)
            if fault:
                raise PrinterError(fault)
        try:
            self.transport.write(payload)
        except TransportError as exc:
            # A ZPL/TSPL format prints only once complete (^XZ / PRINT): a cut-off job printed nothing.
            raise PrinterError(exc.reason, delivered=exc.sent >= len(payload)) from exc
        self.last_bytes = payload
        if self.profile.check_status:
            fault = status.check(self.profile.language, self.transport, self.profile.status_timeout)
            if fault:
                raise PrinterError(f"{fault} after the label was sent — check it", delivered=True)

    def _close(self) -> None:
        try:
            self.transport.close()
        except TransportError as exc:
            raise PrinterError(exc.reason) from exc
