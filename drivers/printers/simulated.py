"""The simulated printer: keeps what it printed, and can be told to fail like a real one."""

from __future__ import annotations

import threading

from app.devices import PrinterError
from app.labels import Label


class SimulatedPrinter:
    name = "sim"

    def __init__(self) -> None:
        self.printed: list[Label] = []
        self.fault: str | None = None  # e.g. "paper out": every job fails until cleared
        self._lock = threading.Lock()

    def print_label(self, label: Label) -> None:
        with self._lock:
            if self.fault:
                raise PrinterError(self.fault)
            self.printed.append(label)
