"""Keyboard-wedge capture: tell a scanner's keystroke burst from a person typing (docs/architecture.md §4.2).

A wedge scanner types its code 7–16 ms a key and ends it with Enter (or Tab); people type far
slower. Installed as an application-wide event filter, `WedgeFilter` sees every key before the
focused widget does, so scans reach the pack flow wherever the focus is.

How it decides, per key press that reaches the focused widget:
- A code character starts or continues a *sequence*; it continues one only if it came less than
  `gap_ms` after the previous key (gaps are measured on `QKeyEvent.timestamp()`, the time the
  platform stamped on the key, not the time we got round to it).
- Each character is held back, because it may be the first key of a scan. If no further key
  comes within the hold time (2 × gap_ms), the held keys are replayed to the widget they were meant for: a person
  typing sees each key appear, a hold later.
- Enter/Tab after a sequence of at least `min_length` characters, itself within `gap_ms`: a scan.
  The held keys and the terminator are swallowed (none reach the focused field) and `scanned` is
  emitted, once per `double_read_ms` for the same code (`DoubleReadFilter`, as for serial scanners,
  timed on the Enter key's timestamp).
- Any other key (or a slow Enter) first replays whatever is held, then passes through untouched;
  so do auto-repeated keys and keys without a timestamp (synthesised), which prove no scanner.

Input methods: a Chinese IME swallows scanner keys before Qt turns them into key presses, so scan
targets switch input methods off (`Qt.WA_InputMethodEnabled`). Where a field keeps its IME, text it
commits while keys are held joins the sequence: part of the scan if one completes, replayed to the
field with the held keys if not.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from drivers.scanners import DoubleReadFilter
from ui.qt import (
    QApplication,
    QEvent,
    QGuiApplication,
    QInputMethodEvent,
    QKeyEvent,
    QObject,
    Qt,
    QTimer,
    QWidget,
    Signal,
    isValid,
)

_TERMINATORS = frozenset({Qt.Key.Key_Return, Qt.Key.Key_Enter, Qt.Key.Key_Tab})
# A scanner presses Shift for capitals; the Shift press itself carries no text and no timing.
_MODIFIER_KEYS = frozenset({Qt.Key.Key_Shift, Qt.Key.Key_Control, Qt.Key.Key_Alt, Qt.Key.Key_Meta,
                            Qt.Key.Key_AltGr, Qt.Key.Key_CapsLock, Qt.Key.Key_NumLock})
_GS = "\x1d"  # GS1 group separator: scanners that keep it send Ctrl+], which Qt reports as this text
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)  # key timestamps count from an arbitrary zero; only gaps matter


def _is_code_char(event: QKeyEvent) -> bool:
    text = event.text()
    if len(text) != 1 or event.modifiers() & (Qt.KeyboardModifier.AltModifier | Qt.KeyboardModifier.MetaModifier):
        return False  # Alt/Meta chords are mnemonics and shortcuts, never barcode data
    return text.isprintable() or text == _GS


@dataclass(frozen=True)
class _HeldKey:
    """Enough of a key press to replay it: Qt deletes the original event once it is filtered."""

    key: int
    modifiers: Qt.KeyboardModifier
    text: str
    timestamp: int
    scan_code: int
    virtual_key: int
    native_modifiers: int

    @classmethod
    def of(cls, e: QKeyEvent) -> _HeldKey:
        return cls(e.key(), e.modifiers(), e.text(), e.timestamp(), e.nativeScanCode(), e.nativeVirtualKey(),
                   e.nativeModifiers())

    def event(self) -> QKeyEvent:
        e = QKeyEvent(QEvent.Type.KeyPress, self.key, self.modifiers, self.scan_code, self.virtual_key,
                      self.native_modifiers, self.text)
        e.setTimestamp(self.timestamp)
        return e


@dataclass(frozen=True)
class _HeldCommit:
    """Text an input method committed while keys were held: replayed with them if it was no scan."""

    text: str

    def event(self) -> QInputMethodEvent:
        e = QInputMethodEvent("", [])
        e.setCommitString(self.text)
        return e


class WedgeFilter(QObject):
    scanned = Signal(str)

    def __init__(self, gap_ms: int = 30, min_length: int = 4, double_read_ms: int = 200,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.gap_ms = gap_ms
        self.min_length = max(min_length, 2)  # one key has no gap, so it proves nothing about speed
        self.double_reads = DoubleReadFilter(double_read_ms)
        self._chars: list[str] = []  # the sequence so far, including keys already replayed
        self._held: list[_HeldKey | _HeldCommit] = []  # swallowed so far; replayed if it was no scan
        self._target: QWidget | None = None
        self._last_ts = 0
        self._replaying = False
        # Hold twice the gap: the timer runs on wall time and the event loop can be late, and an early
        # replay leaks the first characters of a scan into the field, while a late one only delays a key.
        self._release = QTimer(self, singleShot=True, interval=2 * gap_ms)
        self._release.timeout.connect(self._replay)

    def install(self, app: QApplication) -> None:
        app.installEventFilter(self)

    def uninstall(self, app: QApplication) -> None:
        app.removeEventFilter(self)
        self._end_sequence()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if isinstance(event, QKeyEvent) and event.type() == QEvent.Type.KeyPress:
            return self._on_key(watched, event)
        if isinstance(event, QInputMethodEvent) and self._release.isActive() and self._is_target(watched):
            return self._on_commit(event)
        return False

    def _is_target(self, watched: QObject) -> bool:
        """True for the one delivery of a key that matters: to the focus widget (or, with nothing
        focused, to the window). The same event also passes here on its way in (the QWindow) and
        again for each parent if the widget ignores it; those must not count as more keys."""
        if self._replaying:
            return False
        focus = QApplication.focusWidget()
        if focus is not None:
            return watched is focus
        return isinstance(watched, QWidget) and watched.isWindow()

    def _on_key(self, watched: QObject, event: QKeyEvent) -> bool:
        if not self._is_target(watched) or event.key() in _MODIFIER_KEYS:
            return False
        ts = event.timestamp()
        # Synthesised keys (QTest, accessibility tools) carry no timestamp, so no evidence of speed.
        if ts == 0:
            self._end_sequence()
            return False
        fast = bool(self._chars) and 0 <= ts - self._last_ts < self.gap_ms
        if event.key() in _TERMINATORS and not event.isAutoRepeat():
            if fast and len(self._chars) >= self.min_length:
                self._finish(ts)
                return True
            self._end_sequence()
            return False
        if not _is_code_char(event) or event.isAutoRepeat():
            self._end_sequence()
            return False
        if not fast:
            self._end_sequence()
            self._target = watched if isinstance(watched, QWidget) else None
        self._chars.append(event.text())
        self._held.append(_HeldKey.of(event))
        self._last_ts = ts
        self._release.start()
        return True

    def _on_commit(self, event: QInputMethodEvent) -> bool:
        if event.commitString():
            self._chars.extend(event.commitString())
            self._held.append(_HeldCommit(event.commitString()))
        return True  # pre-edit text mid-burst is the IME chewing on scanner keys: never show it

    def _finish(self, ts: int) -> None:
        code = "".join(self._chars)
        self._held.clear()  # swallowed for good: the scan must not land in the focused field
        self._end_sequence()
        focus = QApplication.focusWidget()
        if focus is not None and focus.testAttribute(Qt.WidgetAttribute.WA_InputMethodEnabled):
            QGuiApplication.inputMethod().reset()  # drop whatever the IME composed from the burst
        if self.double_reads.accept(code.encode(), _EPOCH + timedelta(milliseconds=ts)):
            self.scanned.emit(code)

    def _end_sequence(self) -> None:
        self._replay()
        self._chars.clear()
        self._target = None

    def _replay(self) -> None:
        """Hand held keys to the widget they were meant for. The sequence itself stays open: if the
        hold ran out only because the event loop was late, the rest of a scan still completes it."""
        self._release.stop()
        held, self._held = self._held, []
        target = self._target if self._target is not None and isValid(self._target) else None
        target = target or QApplication.focusWidget()
        if target is None:
            return
        self._replaying = True
        try:
            for key in held:
                QApplication.sendEvent(target, key.event())
        finally:
            self._replaying = False
