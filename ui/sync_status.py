"""Sync status in the mode bar (docs/architecture.md §10.4): online / offline, the outbox depth and the
age of the oldest unsent event, and a "sync now" button.

`SyncBridge` turns the worker's plain-Python listener (called on the worker's thread) into a Qt
signal delivered queued on the UI thread; `SyncBar` shows it. Without an enrollment there is no
worker and the bar says so.
"""

from __future__ import annotations

from sync.worker import SyncStatus, SyncWorker
from ui.i18n import tr
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
    minutes = int(seconds // 60)
    if minutes < 1:
        return tr("sync_age_now", lang)
    if minutes < 60:
        return tr("sync_age_min", lang, n=minutes)
    if minutes < 48 * 60:
        return tr("sync_age_h", lang, n=minutes // 60)
    return tr("sync_age_d", lang, n=minutes // (24 * 60))


def chip_of(status: SyncStatus | None, enrolled: bool = True) -> tuple[str, str, str]:
    """(words, colour, tooltip) of the chip."""
    if not enrolled:
        return ("未注册·二维码无效 not enrolled", AMBER,
                "标签上的物流护照二维码无法打开 — not enrolled: the passport QR codes on labels point nowhere "
                "a customer can open. "
                "packbench station enroll --server URL --token T")
    if status is None:
        return "同步启动中 starting", GREY, ""
    if status.needs_admin:
        return "需管理员 needs admin", AMBER, status.last_error or ""
    if status.online:
        return "在线 online", GREEN, ""
    return "离线 offline", RED, status.last_error or ""


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
        self.sync_now = QPushButton(tr("sync_now", lang))
        self.sync_now.setFont(ui_font(14))
        self.sync_now.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # the screen keeps the keys (wedge scans)
        self.sync_now.setEnabled(enrolled)
        for widget in (self.chip, self.queue, self.sync_now):
            row.addWidget(widget)
        self.enrolled = enrolled
        self.show_status(None)

    def show_status(self, status: SyncStatus | None) -> None:
        self.status = status
        words, colour, tip = chip_of(status, self.enrolled)
        self.chip.setText(f"● {words}")
        self.chip.setToolTip(plain_tip(tip))
        self.chip.setStyleSheet(f"background: {colour}; color: white; border-radius: 12px; padding: 3px 10px;")
        if status is None or status.outbox_depth == 0:
            self.queue.setText(tr("sync_empty", self.lang) if status is not None else "")
            return
        text = tr("sync_depth", self.lang, n=status.outbox_depth)
        if status.oldest_unsent_age_s is not None:
            text += " · " + tr("sync_oldest", self.lang, age=age_text(status.oldest_unsent_age_s, self.lang))
        self.queue.setText(text)
