"""The one bridge from the station runtime's plain-Python listeners to Qt signals (Electrum's
QtEventListener). Listeners run on the runtime's (or a device's) thread; the signals are delivered
queued on the UI thread, so no slot ever runs on a foreign thread and no slot waits on a device."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from app.devices import Scan
from app.labels import Label
from app.pack.outcomes import Outcome
from app.station import StationRuntime
from drivers.printers.preview import render_png
from ui.qt import QObject, Signal
from ui.view_model import read_bench


class StationBridge(QObject):
    outcome = Signal(object, object)  # Outcome, BenchView read right after it
    bench = Signal(object)  # BenchView, when asked for (start-up)
    status = Signal(object)  # app.devices.DeviceStatus
    error = Signal(str)  # a runtime step failed; the bench keeps going
    halted = Signal(str)  # a disk fault stopped the runtime: the one line that says why
    unrecorded = Signal(str)  # a scan (as text) that came after that, so was not recorded
    resumed = Signal(object)  # app.i18n.Phrase: the disk has room again, the bench takes work again
    printed = Signal(bytes)  # the label just printed, as a PNG preview
    weight = Signal(object)  # app.devices.WeightReading

    def __init__(self, runtime: StationRuntime, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._runtime = runtime
        listeners = runtime.listeners
        self._hooks: list[tuple[list[Any], Callable[[Any], None]]] = [
            (listeners.outcome, self._on_outcome), (listeners.status, self.status.emit),
            (listeners.error, self._on_error), (listeners.halted, self.halted.emit),
            (listeners.unrecorded, self._on_unrecorded), (listeners.resumed, self.resumed.emit),
            (listeners.printed, self._on_printed),
            (listeners.weight, self.weight.emit),
        ]
        for hooks, fn in self._hooks:
            hooks.append(fn)

    def refresh(self) -> None:
        """Ask the runtime thread for the bench as it is now (e.g. an order restored at start-up)."""
        self._runtime.call(self._publish_bench)

    def preview_shown(self, shown: bool) -> None:
        """The screen opened or closed the large label itself: the flow learns it in turn with the scans."""
        flow = self._runtime.flow
        self._runtime.call(lambda: flow.preview_shown(shown))

    def detach(self) -> None:
        for hooks, fn in self._hooks:
            if fn in hooks:
                hooks.remove(fn)

    # Below: called on the runtime thread.
    def _on_outcome(self, outcome: Outcome) -> None:
        self.outcome.emit(outcome, read_bench(self._runtime.flow))

    def _on_error(self, message: str) -> None:
        # The halt's own line (English, for the log and the headless line) is not shown: the alarm page
        # words the halt in the bench's language, and each scan it refused is answered on its own.
        if message != self._runtime.halted:
            self.error.emit(message)

    def _on_unrecorded(self, scan: Scan) -> None:
        self.unrecorded.emit(scan.raw.decode("utf-8", "replace"))

    def _publish_bench(self) -> None:
        self.bench.emit(read_bench(self._runtime.flow))

    def _on_printed(self, label: Label) -> None:
        # Rendered here, on the runtime thread (~30 ms), so the UI thread only shows a finished image.
        self.printed.emit(render_png(label))
