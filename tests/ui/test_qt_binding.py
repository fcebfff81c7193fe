"""The pinned Qt binding must count references right.

PySide6 6.12.0 (abi3 wheel) on CPython 3.11 dropped one reference to None on every void Qt call and
one to True on every Signal.emit(): a station crashed ("Fatal Python error: bool_dealloc") after a
few hundred scale readings. It is pinned to 6.11.3; this test keeps any future pin honest.
"""

from __future__ import annotations

import sys

from ui.qt import QLabel, QObject, Signal


class _Emitter(QObject):
    changed = Signal(int)


def test_void_calls_and_emits_leave_singleton_refcounts_alone(qtbot: object) -> None:
    label = QLabel()
    emitter = _Emitter()
    received: list[int] = []
    emitter.changed.connect(received.append)
    before = (sys.getrefcount(None), sys.getrefcount(True), sys.getrefcount(False))
    for i in range(500):
        label.setText(str(i))
        emitter.changed.emit(i)
    after = (sys.getrefcount(None), sys.getrefcount(True), sys.getrefcount(False))
    assert len(received) == 500
    assert [a - b for a, b in zip(after, before, strict=True)] == [0, 0, 0]
