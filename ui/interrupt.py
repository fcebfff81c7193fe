"""Ctrl-C in the terminal that started the station closes its window cleanly, also during start-up.

Python runs a signal handler only when the interpreter gets control, and while Qt's C++ event loop
waits for events it never does: without help Ctrl-C is ignored until the next click, then surfaces
as a KeyboardInterrupt traceback from whatever slot happened to run. So the handler only notes the
interrupt, and a short timer — which hands the interpreter control a few times a second, so the
handler runs promptly — quits the event loop from inside it (QCoreApplication.quit() before exec()
is a no-op in Qt 6, so quitting from the handler itself could be lost). The station then closes
through its normal path: shift end, store, data-dir lock.

The handler is installed before the station is built: a KeyboardInterrupt raised in the middle of
start-up would leave half-started threads that keep the process alive, or be swallowed by a Qt
callback so that the window opens regardless. Noted instead, it makes start-up end with the
station closed again, before the window is shown.
"""

from __future__ import annotations

import signal
from types import FrameType

from ui.qt import QCoreApplication, QTimer

WAKE_MS = 200  # how late Ctrl-C may be noticed; the timer costs nothing measurable at this rate
EXIT_INTERRUPTED = 128 + signal.SIGINT  # the shell's convention for "ended by Ctrl-C": 130


class TerminalInterrupt:
    def __init__(self) -> None:
        self.received = False
        self._app: QCoreApplication | None = None
        self._wake: QTimer | None = None  # made by `watch`: before the application exists no timer can run
        self._previous = signal.signal(signal.SIGINT, self._on_interrupt)

    def watch(self, app: QCoreApplication) -> None:
        """From now on an interrupt quits `app`'s event loop (call it just before `exec()`)."""
        self._app = app
        self._wake = QTimer()
        self._wake.timeout.connect(self._quit_if_interrupted)
        self._wake.start(WAKE_MS)

    def _on_interrupt(self, signum: int, frame: FrameType | None) -> None:
        self.received = True

    def _quit_if_interrupted(self) -> None:
        if self.received and self._app is not None:
            self._app.quit()

    def restore(self) -> None:
        if self._wake is not None:
            self._wake.stop()
        signal.signal(signal.SIGINT, self._previous)
