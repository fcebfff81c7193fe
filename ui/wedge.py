"""Keyboard-wedge capture: the Qt side of `app.wedge` (docs/architecture.md §4.2).

Installed as an application-wide event filter, `WedgeFilter` sees every key before the focused
widget does, so scans reach the station wherever the focus is. It feeds each key press's character
and platform timestamp (`QKeyEvent.timestamp()`, not the time we got round to it) to
`app.wedge.BurstClassifier`, which holds the rule, and acts on what it decides:
- each code character is held back (it may be the first key of a scan);
- a scan: the held keys and the suffix are swallowed (none reach the focused field), `scanned` is
  emitted, once per `double_read_ms` for the same code; a double read emits `double_read` instead;
- typing into a text field: the held keys are replayed to it (a person sees them a hold later);
- typing where no text field has the focus (a screen waiting for scans): set aside and shown
  (`typed`, with the whole set-aside text) for the packer to accept — a click on the chip or a lone
  Enter (`accept_typed`, then `confirmed`), or by scanning the same code again, which stands for it —
  or to expire after `SET_ASIDE_SECONDS`, which is logged. Never dropped.
Auto-repeated keys and keys without a timestamp (synthesised: QTest, accessibility tools) prove no
scanner: they end whatever is held and pass through.

Input methods: a Chinese IME swallows scanner keys before Qt turns them into key presses, so scan
targets switch input methods off (`Qt.WA_InputMethodEnabled`). Where a field keeps its IME, text it
commits while keys are held joins the sequence: part of the scan if one completes, replayed to the
field with the held keys if not.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from app.wedge import SET_ASIDE_SECONDS, STALL_MS, Burst, BurstClassifier, SetAside, WedgeSettings
from drivers.scanners import DoubleReadFilter
from ui.qt import (
    QAbstractSpinBox,
    QApplication,
    QComboBox,
    QEvent,
    QGuiApplication,
    QInputMethodEvent,
    QKeyEvent,
    QLineEdit,
    QObject,
    QPlainTextEdit,
    Qt,
    QTextEdit,
    QTimer,
    QWidget,
    Signal,
    isValid,
)

log = logging.getLogger(__name__)

_SUFFIX_KEYS = {"enter": (Qt.Key.Key_Return, Qt.Key.Key_Enter), "tab": (Qt.Key.Key_Tab,)}
# A scanner presses Shift for capitals; the Shift press itself carries no text and no timing.
_MODIFIER_KEYS = frozenset({Qt.Key.Key_Shift, Qt.Key.Key_Control, Qt.Key.Key_Alt, Qt.Key.Key_Meta,
                            Qt.Key.Key_AltGr, Qt.Key.Key_CapsLock, Qt.Key.Key_NumLock})
_GS = "\x1d"  # GS1 group separator: scanners that keep it send Ctrl+], which Qt reports as this text
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)  # key timestamps count from an arbitrary zero; only gaps matter
_FIELD_HOLD_MARGIN_MS = 40  # wall time beyond the join gap before held keys go to a text field
# Where no field waits for the keys, hold across a scanner's stall. When the scanner ends its codes
# with a suffix, a pause ends one only as a fallback: wait out a stalled UI thread as well (its timer
# can fire before the keys queued behind the stall), rather than cut a code in two.
_TARGET_HOLD_MS = STALL_MS + 100
_SUFFIXED_TARGET_HOLD_MS = 1_000


def is_text_field(widget: QWidget | None) -> bool:
    """Where a person types: keys that are no scan belong there. Anywhere else only scans are meant."""
    if isinstance(widget, QComboBox):
        return widget.isEditable()
    return isinstance(widget, QLineEdit | QTextEdit | QPlainTextEdit | QAbstractSpinBox)


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
    double_read = Signal(str)  # the same code again within double_read_ms: counted, not a second scan
    typed = Signal(str)  # the whole set-aside text now ("" once accepted, expired or taken back)
    confirmed = Signal(str)  # set-aside text the packer accepted as a scan (source "wedge:typed")

    def __init__(self, settings: WedgeSettings | None = None, double_read_ms: int = 200,
                 parent: QObject | None = None, monotonic: Callable[[], float] = time.monotonic) -> None:
        super().__init__(parent)
        self.classifier = BurstClassifier(settings)
        self.settings = self.classifier.settings
        self.double_reads = DoubleReadFilter(double_read_ms)
        self.set_aside = SetAside()
        self.counts = {"scans": 0, "double_reads": 0, "set_aside": 0, "accepted": 0, "expired": 0}
        self._monotonic = monotonic
        self._suffix_keys = frozenset(k for name in self.settings.suffix_keys for k in _SUFFIX_KEYS[name])
        self._held: list[_HeldKey | _HeldCommit] = []  # swallowed so far; replayed if it was no scan
        self._target: QWidget | None = None
        self._replaying = False
        self._hold = QTimer(self, singleShot=True)
        self._hold.timeout.connect(self._hold_ran_out)
        self._expiry = QTimer(self, singleShot=True, interval=int(SET_ASIDE_SECONDS * 1000))
        self._expiry.timeout.connect(self._expire)

    def install(self, app: QApplication) -> None:
        app.installEventFilter(self)

    def uninstall(self, app: QApplication) -> None:
        app.removeEventFilter(self)
        self._end_sequence()

    # ----- the set-aside text -----
    def accept_typed(self) -> bool:
        """The packer confirms the set-aside text: it goes on as a scan. False when there was none."""
        text = self.set_aside.take()
        self._expiry.stop()
        if not text:
            return False
        self.counts["accepted"] += 1
        self.typed.emit("")
        self.confirmed.emit(text)
        return True

    def _set_aside(self, text: str) -> None:
        if not text:
            return
        self.counts["set_aside"] += 1
        self.set_aside.add(text, self._monotonic())
        self._expiry.start()
        self.typed.emit(self.set_aside.text)

    def _expire(self) -> None:
        text = self.set_aside.expired(self._monotonic())
        if text is None:
            return
        self.counts["expired"] += 1
        log.info("typed text set aside and not accepted within %.0f s: %r", SET_ASIDE_SECONDS, text)
        self.typed.emit("")

    # ----- keys -----
    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if isinstance(event, QKeyEvent) and event.type() == QEvent.Type.KeyPress:
            return self._on_key(watched, event)
        if isinstance(event, QInputMethodEvent) and self._held and self._is_target(watched):
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
        if ts == 0 or event.isAutoRepeat():
            self._end_sequence()
            return False
        target = watched if isinstance(watched, QWidget) else None
        text = event.text()
        if event.key() in self._suffix_keys or (len(text) == 1 and self.classifier.is_suffix_char(text)):
            return self._on_suffix(ts, target)
        if not self._is_code_char(event):
            self._end_sequence()
            return False
        ended = self.classifier.key(text, ts)
        if ended is not None:
            self._finish(ended)
        if not self._held:
            self._target = target
        self._held.append(_HeldKey.of(event))
        self._hold.start(self._hold_ms())
        return True

    def _is_code_char(self, event: QKeyEvent) -> bool:
        text = event.text()
        if len(text) != 1 or event.modifiers() & (Qt.KeyboardModifier.AltModifier | Qt.KeyboardModifier.MetaModifier):
            return False  # Alt/Meta chords are mnemonics and shortcuts, never barcode data
        return text.isprintable() or text == _GS or text in self.settings.prefix

    def _on_suffix(self, ts: int, target: QWidget | None) -> bool:
        lone = not self.classifier.open and not self._held
        burst = self.classifier.suffix(ts)
        if burst is not None and burst.is_scan:
            self._finish(burst)
            return True  # the suffix belongs to the scan: the field never sees it
        if burst is not None:
            self._finish(burst)
        else:
            self._end_sequence()
        # A person's Enter. Where no field waits for it, a lone one accepts what was set aside.
        if lone and not is_text_field(target) and self.set_aside.text:
            return self.accept_typed()
        return False

    def _on_commit(self, event: QInputMethodEvent) -> bool:
        if event.commitString():
            self.classifier.commit(event.commitString())
            self._held.append(_HeldCommit(event.commitString()))
        return True  # pre-edit text mid-burst is the IME chewing on scanner keys: never show it

    def _hold_ms(self) -> int:
        """Wall time to wait for the next key. In a text field short, so a person's key shows soon
        (the sequence stays open: a scan that resumes still completes); elsewhere past a stall."""
        if is_text_field(self._live_target()):
            return self.classifier.join_ms + _FIELD_HOLD_MARGIN_MS
        return _TARGET_HOLD_MS if self.settings.suffix == "none" else _SUFFIXED_TARGET_HOLD_MS

    def _live_target(self) -> QWidget | None:
        target = self._target if self._target is not None and isValid(self._target) else None
        return target or QApplication.focusWidget()

    def _hold_ran_out(self) -> None:
        if is_text_field(self._live_target()) and self.settings.suffix != "none":
            self.classifier.release()
            self._replay()
            return
        self._end_sequence()

    def _end_sequence(self) -> None:
        """A key that is no code character, a focus change or silence: the open sequence ends here."""
        self._hold.stop()
        burst = self.classifier.silence(scan_target=not is_text_field(self._live_target()))
        if burst is not None:
            self._finish(burst)
        else:
            self._replay()

    def _finish(self, burst: Burst) -> None:
        self._hold.stop()
        if burst.code is None:
            self._typing(burst)
            return
        self._held.clear()  # swallowed for good: the scan must not land in the focused field
        self._target = None
        self.set_aside.retract(burst.released)
        if self.set_aside.scanned(burst.code):
            self._expiry.stop()
            self.typed.emit("")
        focus = QApplication.focusWidget()
        if focus is not None and focus.testAttribute(Qt.WidgetAttribute.WA_InputMethodEnabled):
            QGuiApplication.inputMethod().reset()  # drop whatever the IME composed from the burst
        if self.double_reads.accept(burst.code.encode(), _EPOCH + timedelta(milliseconds=burst.end_ts)):
            self.counts["scans"] += 1
            self.scanned.emit(burst.code)
        else:
            self.counts["double_reads"] += 1
            self.double_read.emit(burst.code)

    def _typing(self, burst: Burst) -> None:
        if is_text_field(self._live_target()):
            self._replay()
            return
        self._held.clear()
        self._target = None
        self._set_aside(burst.typed[len(burst.released):])

    def _replay(self) -> None:
        """Hand held keys to the widget they were meant for."""
        self._hold.stop()
        held, self._held = self._held, []
        target = self._live_target()
        self._target = None
        if target is None:
            return
        self._replaying = True
        try:
            for key in held:
                QApplication.sendEvent(target, key.event())
        finally:
            self._replaying = False
