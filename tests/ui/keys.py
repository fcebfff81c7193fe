"""Synthetic key presses with explicit timestamps, delivered like the platform delivers them."""

from __future__ import annotations

import random
import time

from pytestqt.qtbot import QtBot

from ui.qt import QApplication, QEvent, QGuiApplication, QInputMethodEvent, QKeyEvent, Qt, QTimer

SCANNER_MS = 10  # a wedge scanner types 7–16 ms a key
HUMAN_MS = 150


def _target() -> object:
    target = QApplication.focusWidget() or QApplication.activeWindow()
    assert target is not None, "no focus widget and no active window to type into"
    return target


def press(text: str, ts: int, key: int | None = None,
          modifiers: Qt.KeyboardModifier = Qt.KeyboardModifier.NoModifier) -> None:
    if key is None:
        key = ord(text.upper()) if text.isascii() else 0  # Qt key codes for ASCII are the upper-case code
        if text.isupper():
            modifiers |= Qt.KeyboardModifier.ShiftModifier
    for kind in (QEvent.Type.KeyPress, QEvent.Type.KeyRelease):
        event = QKeyEvent(kind, key, modifiers, text)
        event.setTimestamp(ts)
        QApplication.sendEvent(_target(), event)


def enter(ts: int) -> None:
    press("\r", ts, key=Qt.Key.Key_Return)


def type_keys(text: str, start: int, spacing: int, suffix: bool = True) -> int:
    """Type `text` one key every `spacing` ms from `start`, then Enter; returns the next free time."""
    ts = start
    for ch in text:
        press(ch, ts)
        ts += spacing
    if suffix:
        enter(ts)
        ts += spacing
    return ts


def commit(text: str) -> None:
    """An input method committing composed text to the focused widget."""
    event = QInputMethodEvent("", [])
    event.setCommitString(text)
    QApplication.sendEvent(_target(), event)


Press = tuple[str, int, int | None]  # text, platform timestamp, Qt key (None: from the text)


def scanner_presses(codes: list[str], rng: random.Random, start: int, low: int = 10, high: int = 80,
                    pause: int = 800, prefix: str = "", suffix: bool = True) -> list[Press]:
    """A scanner reading `codes` one after another under load: each key `low`–`high` ms after the
    last (seeded), the optional prefix before and Enter after each code, `pause` ms between codes."""
    presses: list[Press] = []
    ts = start
    for code in codes:
        for ch in prefix + code:
            presses.append((ch, ts, None))
            ts += rng.randint(low, high)
        if suffix:
            presses.append(("\r", ts, Qt.Key.Key_Return))
        ts += pause
    return presses


class LoadedLoop:
    """A busy UI thread: a zero-interval timer whose slot burns 5–40 ms of CPU (seeded) each time it
    runs, so key deliveries and the wedge's own timers are late the way they are on a loaded PC."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.timer = QTimer(interval=0)
        self.timer.timeout.connect(self._burn)
        self.burns = 0

    def _burn(self) -> None:
        self.burns += 1
        end = time.perf_counter() + self.rng.uniform(0.005, 0.040)
        while time.perf_counter() < end:
            pass

    def __enter__(self) -> LoadedLoop:
        self.timer.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.timer.stop()


def deliver(qtbot: QtBot, presses: list[Press], speedup: int = 4) -> None:
    """Send `presses` through the event loop, each due `ts / speedup` ms of wall time after the
    first: a timer sends every press that is due (several at once when the loop was late), in order."""
    if not presses:
        return
    t0, started = presses[0][1], time.monotonic()
    left = list(presses)

    def send_due() -> None:
        now_ms = (time.monotonic() - started) * 1000
        while left and (left[0][1] - t0) / speedup <= now_ms:
            text, ts, key = left.pop(0)
            press(text, ts, key=key)
        if left:
            QTimer.singleShot(max(int((left[0][1] - t0) / speedup - now_ms), 0), send_due)

    QTimer.singleShot(0, send_due)
    qtbot.waitUntil(lambda: not left, timeout=120_000)


def platform_scan(qtbot: QtBot, code: str) -> None:
    """`code` and Enter from a wedge scanner, delivered through Qt's window system to the focused window
    as the platform delivers them: a window that a modal dialog blocks never gets them."""
    for key in [*code, Qt.Key.Key_Return]:
        window = QGuiApplication.focusWindow()
        assert window is not None, "no window has the keys"
        qtbot.keyClick(window, key)
