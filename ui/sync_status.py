"""Sync status in the mode bar (docs/architecture.md §10.4): online / offline, the outbox depth and the
age of the oldest unsent event, and a "sync now" button.

`SyncBridge` turns the worker's plain-Python listener (called on the worker's thread) into a Qt
signal delivered queued on the UI thread; `SyncBar` shows it. Without an enrollment there is no
worker and the bar says so.
"""

from __future__ import annotations

from app.i18n import translator
from app.read_back import translate_reasons
from sync.worker import SyncStatus, SyncWorker
from ui.qt import QHBoxLayout, QObject, QPushButton, Qt, QWidget, Signal
from ui.resources import ui_font
from ui.widgets import PlainLabel, plain_tip

GREEN, RED, AMBER, GREY = "#1e7b34", "#c62828", "#e08a00", "#78909c"


class SyncBridge(QObject):
    status = Signal(object)  # SyncStatus

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.worker: SyncWorker | None = None

    def listen(self, status: SyncStatus) -> None:
        """The worker's listener: runs on the worker thread, so it only emits."""
        self.status.emit(status)

    def attach(self, worker: SyncWorker | None) -> None:
        self.worker = worker

    def detach(self) -> None:
        if self.worker is not None:
            self.worker.remove_listener(self.listen)

    def kick(self) -> None:
        if self.worker is not None:
            self.worker.kick()


def age_text(seconds: float, lang: str) -> str:
    _ = translator(lang).gettext
    minutes = int(seconds // 60)
    if minutes < 1:
        return _("just now")
    if minutes < 60:
        return _("{n} min").format(n=minutes)
    if minutes < 48 * 60:
        return _("{n} h").format(n=minutes // 60)
    return _("{n} d").format(n=minutes // (24 * 60))


def chip_of(status: SyncStatus | None, lang: str, enrolled: bool = True) -> tuple[str, str, str]:
    """(words, colour, tooltip) of the chip."""
    _ = translator(lang).gettext
    if not enrolled:
        return (_("not enrolled: QR codes void"), AMBER,
                _("Not enrolled: the passport QR codes on labels point nowhere a customer can open.") +
                "\npackbench station enroll --server URL --token T")
    if status is None:
        return _("sync starting"), GREY, ""
    # The worker keeps its last error as an English line (the log's); the tooltip words it again.
    why = translate_reasons(status.last_error, lang) if status.last_error else ""
    if status.needs_admin:
        return _("needs admin"), AMBER, why
    if status.online:
        return _("online"), GREEN, ""
    return _("offline"), RED, why


class SyncBar(QWidget):
    def __init__(self, lang: str, enrolled: bool, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.lang = lang
        self.status: SyncStatus | None = None
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        self.chip = PlainLabel()
        self.chip.setFont(ui_font(14, bold=True))
        self.queue = PlainLabel()
        self.queue.setFont(ui_font(14))
        self.sync_now = QPushButton()
        self.sync_now.setFont(ui_font(14))
        self.sync_now.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # the screen keeps the keys (wedge scans)
        self.sync_now.setEnabled(enrolled)
        for widget in (self.chip, self.queue, self.sync_now):
            row.addWidget(widget)
        self.enrolled = enrolled
        self.retranslate()

    def retranslate(self) -> None:
        self.sync_now.setText(translator(self.lang).gettext("Sync now"))
        self.show_status(self.status)

    def show_status(self, status: SyncStatus | None) -> None:
        self.status = status
        words, colour, tip = chip_of(status, self.lang, self.enrolled)
        _ = translator(self.lang).gettext
        self.chip.setText(f"● {words}")
        self.chip.setToolTip(plain_tip(tip))
        self.chip.setStyleSheet(f"background: {colour}; color: white; border-radius: 12px; padding: 3px 10px;")
        if status is None or status.outbox_depth == 0:
            self.queue.setText(_("all uploaded") if status is not None else "")
            return
        text = _("{n} waiting to upload").format(n=status.outbox_depth)
        if status.oldest_unsent_age_s is not None:
            text += " · " + _("oldest {age}").format(age=age_text(status.oldest_unsent_age_s, self.lang))
        self.queue.setText(text)
