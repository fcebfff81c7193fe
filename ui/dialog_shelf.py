"""While an alarm is the whole window, the window's dialogs wait behind it (docs/architecture.md §4.5).

A dialog is a window of its own: left alone it would stay on top of the alarm page (the courier's
name asked for, the manifest offered, the label enlarged), and a packer would answer it instead of
seeing that the scanner is gone. So `DialogShelf.cover` hides every dialog of the window and
`uncover` shows them again as they were — the text typed into them, the field that had the keys —
once the alarm clears.

Every dialog of the station opens through `open_dialog`, never `QDialog.open` itself: while the alarm
shows, a dialog asked for (a manifest offer after a batch closed, a label enlarged by a scan) goes
straight onto the shelf without ever being shown. Shown even for one event-loop turn it would be
window-modal, and Qt drops the keys of a window a modal dialog blocks: a wedge scan arriving in that
turn would be lost instead of answered on the alarm page.

When the window closes, `dismiss` rejects every dialog it opened, on the screen or on the shelf: none
outlives the window, and none is answered by its closing (no batch closed, no manifest opened).

What a dialog expects of the scanner follows whether it is on the screen (`on_screen`): a scan during
the alarm is answered on the alarm page, not by a dialog nobody can see.
"""

from __future__ import annotations

from collections.abc import Callable

from ui.qt import QApplication, QDialog, QEvent, QObject, Qt, QWidget, isValid


class DialogShelf(QObject):
    def __init__(self, window: QWidget, page: QWidget) -> None:
        """`window`'s dialogs wait behind `page` (the alarm page), which keeps the keys meanwhile."""
        super().__init__(window)
        self.window = window
        self.page = page
        self.covered = False
        self.shelved: list[tuple[QDialog, QWidget | None]] = []  # each dialog and the widget that had its keys

    def open(self, dialog: QDialog) -> None:
        """`dialog` window-modal on the screen or, while covered, on the shelf (see the module's doc)."""
        if not self.covered:
            dialog.open()
            return
        dialog.setWindowModality(Qt.WindowModality.WindowModal)  # as open() would: it is, once it shows
        self._keep(dialog, None)

    def cover(self) -> None:
        if self.covered:
            return
        self.covered = True
        shown = [dialog for dialog in self._dialogs() if dialog.isVisible()]
        for dialog in shown:
            focus = QApplication.focusWidget()
            self._keep(dialog, focus if focus is not None and dialog.isAncestorOf(focus) else dialog.focusWidget())
            dialog.hide()
        if shown:  # the keys come back from the dialogs to the window
            self.window.activateWindow()
            self.page.setFocus()

    def uncover(self) -> None:
        """The dialogs again, as they were; the last one shelved (the one on top) gets the keys."""
        if not self.covered:
            return
        self.covered = False
        shelved, self.shelved = self.shelved, []
        for dialog, focus in shelved:
            if not isValid(dialog):
                continue
            dialog.show()
            dialog.raise_()
            dialog.activateWindow()
            if focus is not None and isValid(focus) and dialog.isAncestorOf(focus):
                focus.setFocus()

    def dismiss(self) -> None:
        """The window closes: every dialog it opened, shown or shelved, is rejected (answered by nobody)."""
        shelved, self.shelved = [dialog for dialog, _focus in self.shelved], []
        for dialog in shelved + [d for d in self._dialogs() if d.isVisible()]:
            if isValid(dialog):
                dialog.reject()

    def _keep(self, dialog: QDialog, focus: QWidget | None) -> None:
        self.shelved.append((dialog, focus))
        dialog.finished.connect(lambda _result: self._forget(dialog))  # answered meanwhile (by a scan)

    def _forget(self, dialog: QDialog) -> None:
        self.shelved = [(d, f) for d, f in self.shelved if d is not dialog]

    def _dialogs(self) -> list[QDialog]:
        return [w for w in QApplication.topLevelWidgets()
                if isinstance(w, QDialog) and _parent_window(w) is self.window]


def open_dialog(dialog: QDialog) -> None:
    """Open `dialog` (window-modal, not a nested event loop: scans keep flowing while it asks) through its
    window's shelf; a screen shown on its own, without a station window, opens it directly."""
    window = _parent_window(dialog)
    shelf = next((c for c in window.children() if isinstance(c, DialogShelf)), None) if window else None
    if shelf is None:
        dialog.open()
    else:
        shelf.open(dialog)


def _parent_window(dialog: QDialog) -> QWidget | None:
    parent = dialog.parentWidget()
    return parent.window() if parent is not None else None


class OnScreen(QObject):
    """Calls `changed(True)` when `widget` comes on the screen and `changed(False)` when it leaves it
    (hidden, closed, or put on the shelf)."""

    def __init__(self, widget: QWidget, changed: Callable[[bool], None]) -> None:
        super().__init__(widget)
        self._changed = changed
        widget.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if isinstance(watched, QWidget) and event.type() in (QEvent.Type.Show, QEvent.Type.Hide):
            self._changed(event.type() == QEvent.Type.Show)
        return False


def on_screen(widget: QWidget, changed: Callable[[bool], None]) -> None:
    """What `widget` expects (of the scanner) holds while it is on the screen: `changed` says when."""
    OnScreen(widget, changed)
