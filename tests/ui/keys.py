"""Synthetic key presses with explicit timestamps, delivered like the platform delivers them."""

from __future__ import annotations

from ui.qt import QApplication, QEvent, QInputMethodEvent, QKeyEvent, Qt

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
