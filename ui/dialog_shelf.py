"""While an alarm is the whole window, the window's dialogs wait behind it (docs/architecture.md §4.5).

A dialog is a window of its own: left alone it would stay on top of the alarm page (the courier's
name asked for, the manifest offered, the label enlarged), and a packer would answer it instead of
seeing that the scanner is gone. So `DialogShelf.cover` hides every dialog of the window and
`uncover` shows them again as they were — the text typed into them, the field that had the keys —
once the alarm clears. A dialog opened while the alarm shows (a manifest offer after a batch closed,
a label enlarged by a scan) goes straight onto the shelf: it never reaches the screen until then.

It watches the whole application for dialogs being shown (an event filter), so every dialog the
station opens is covered, including ones added later, without each screen having to ask. What a
dialog expects of the scanner follows whether it is on the screen (`on_screen`): a scan during the
alarm is answered on the alarm page, not by a dialog nobody can see.
"""

from __future__ import annotations

from collections.abc import Callable

from ui.qt import QApplication, QCoreApplication, QDialog, QEvent, QObject, Qt, QTimer, QWidget, isValid


class DialogShelf(QObject):
    def __init__(self, window: QWidget, page: QWidget) -> None:
        """`window`'s dialogs wait behind `page` (the alarm page), which keeps the keys meanwhile."""
        super().__init__(window)
        self.window = window
        self.page = page
        self.covered = False
        self.shelved: list[tuple[QDialog, QWidget | None]] = []  # each dialog and the widget that had its keys

    def cover(self) -> None:
        if self.covered:
            return
        self.covered = True
        # Only while covered: a Python filter sees every event of the application.
        _application().installEventFilter(self)
        for dialog in self._dialogs():
            if dialog.isVisible():
                self._shelve(dialog)

    def uncover(self) -> None:
        """The dialogs again, as they were; the last one shelved (the one on top) gets the keys."""
        if not self.covered:
            return
        self.covered = False
        _application().removeEventFilter(self)
        shelved, self.shelved = self.shelved, []
        for dialog, focus in shelved:
            if not isValid(dialog):
                continue
            dialog.show()
            dialog.raise_()
            dialog.activateWindow()
            if focus is not None and isValid(focus) and dialog.isAncestorOf(focus):
                focus.setFocus()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if (event.type() == QEvent.Type.Show and not event.spontaneous()
                and isinstance(watched, QDialog) and self._ours(watched)):
            # Too late to stop this show; keep it off the screen, and shelve it once it is done showing
            # (hiding it while Qt is still showing it leaves its native window up).
            watched.setAttribute(Qt.WidgetAttribute.WA_DontShowOnScreen, True)
            QTimer.singleShot(0, lambda: self._shelve_new(watched))
        return False

    def _shelve_new(self, dialog: QDialog) -> None:
        if not isValid(dialog):
            return
        dialog.setAttribute(Qt.WidgetAttribute.WA_DontShowOnScreen, False)
        if self.covered and dialog.isVisible():
            self._shelve(dialog)
        elif dialog.isVisible():  # the alarm cleared within the same turn: show it after all
            dialog.hide()
            dialog.show()

    def _shelve(self, dialog: QDialog) -> None:
        focus = QApplication.focusWidget()
        self.shelved.append((dialog, focus if focus is not None and dialog.isAncestorOf(focus)
                             else dialog.focusWidget()))
        dialog.finished.connect(lambda _result: self._forget(dialog))  # answered meanwhile (by a scan)
        dialog.hide()
        self.window.activateWindow()
        self.page.setFocus()

    def _forget(self, dialog: QDialog) -> None:
        self.shelved = [(d, f) for d, f in self.shelved if d is not dialog]

    def _ours(self, widget: QWidget) -> bool:
        parent = widget.parentWidget()
        return widget.isWindow() and parent is not None and parent.window() is self.window

    def _dialogs(self) -> list[QDialog]:
        return [w for w in QApplication.topLevelWidgets() if isinstance(w, QDialog) and self._ours(w)]


def _application() -> QCoreApplication:
    app = QApplication.instance()
    assert app is not None, "a window exists, so the application does"
    return app


class OnScreen(QObject):
    """Calls `changed(True)` when `widget` comes on the screen and `changed(False)` when it leaves it
    (hidden, closed, or kept off it by the shelf)."""

    def __init__(self, widget: QWidget, changed: Callable[[bool], None]) -> None:
        super().__init__(widget)
        self._changed = changed
        widget.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if isinstance(watched, QWidget) and event.type() in (QEvent.Type.Show, QEvent.Type.Hide):
            self._changed(event.type() == QEvent.Type.Show
                          and not watched.testAttribute(Qt.WidgetAttribute.WA_DontShowOnScreen))
        return False


def on_screen(widget: QWidget, changed: Callable[[bool], None]) -> None:
    """What `widget` expects (of the scanner) holds while it is on the screen: `changed` says when."""
    OnScreen(widget, changed)
