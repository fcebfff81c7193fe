"""The alarm page: the whole window while an alarm stands (`app.alarms.AlarmBoard` decides which).

Big words say what happened and what to do, in the station's language; under them the device's own
detail, since when, and the other alarms standing behind this one. Scans go on being answered
while it shows (the runtime does not stop for a lost printer): the strip at the bottom shows each
answer, so a scan during an alarm is seen, not lost. A sync alarm offers "Sync now" for the admin
who fixed it; every other alarm ends by itself when its device is back.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

from app.alarms import Alarm, AlarmBoard, AlarmKind
from app.i18n import translator
from app.pack.outcomes import Level
from ui.qt import QPushButton, Qt, QVBoxLayout, QWidget, Signal
from ui.resources import ui_font
from ui.widgets import LEVEL_COLOURS, PlainLabel

ALARM_RED, ALARM_TEXT = "#b71c1c", "#ffffff"


class AlarmView(QWidget):
    sync_now = Signal()  # the admin asks the sync worker to try again

    def __init__(self, lang: str, tz: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.lang = lang
        self.tz = ZoneInfo(tz)
        self.alarm: Alarm | None = None
        self.board: AlarmBoard | None = None
        self.setObjectName("alarm-view")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        self.setStyleSheet(f"#alarm-view {{ background: {ALARM_RED}; }} QLabel {{ color: {ALARM_TEXT}; }}")
        self.title = self._label(64, bold=True)
        self.action = self._label(30, bold=True)
        self.detail = self._label(18)
        self.since = self._label(18)
        self.others = self._label(22, bold=True)
        self.sync_button = QPushButton()
        self.sync_button.setFont(ui_font(22, bold=True))
        self.sync_button.setMinimumSize(260, 64)
        self.sync_button.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # the page keeps the keys (wedge scans)
        self.sync_button.clicked.connect(self.sync_now.emit)
        self.answer = self._label(26, bold=True)
        self.answer.setMinimumHeight(80)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(48, 32, 48, 32)
        layout.addStretch(1)
        for widget in (self.title, self.action, self.detail, self.since):
            layout.addWidget(widget)
        layout.addWidget(self.sync_button, 0, Qt.AlignmentFlag.AlignHCenter)
        layout.addStretch(1)
        layout.addWidget(self.others)
        layout.addWidget(self.answer)
        # Keys arrive here while the page shows: no input method may swallow a scanner's burst.
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        page: list[QWidget] = [self, *self.findChildren(QWidget)]
        for part in page:
            part.setAttribute(Qt.WidgetAttribute.WA_InputMethodEnabled, False)
        self.show_answer("", None)
        self.retranslate()

    def retranslate(self) -> None:
        self.sync_button.setText(translator(self.lang).gettext("Sync now"))
        if self.board is not None:
            self.show_board(self.board)

    def _label(self, px: int, bold: bool = False) -> PlainLabel:
        label = PlainLabel()
        label.setFont(ui_font(px, bold=bold))
        label.setWordWrap(True)
        label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        label.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        return label

    def show_board(self, board: AlarmBoard) -> None:
        _ = translator(self.lang).gettext
        self.board = board
        alarm = board.active
        if alarm is not None and self.alarm is None:
            self.show_answer(_("Scans still count: the answer to each one shows here."), None)
        self.alarm = alarm
        if alarm is None:
            return
        self.title.setText(alarm.title(self.lang))
        self.action.setText(alarm.action(self.lang))
        self.detail.setText(_("Details: {detail}").format(detail=alarm.detail_text(self.lang)) if alarm.detail else "")
        self.detail.setVisible(bool(alarm.detail))
        self.since.setText(_("Since {time}").format(time=alarm.since.astimezone(self.tz).strftime("%H:%M:%S")))
        self.sync_button.setVisible(alarm.kind is AlarmKind.SYNC)
        behind = " · ".join(other.title(self.lang) for other in board.others)
        self.others.setText(_("Also: {alarms}").format(alarms=behind) if behind else "")
        self.others.setVisible(bool(behind))

    def show_answer(self, text: str, level: Level | None) -> None:
        """The answer to the last scan, in the banner's colours, over the alarm's red."""
        background, colour = LEVEL_COLOURS[level]
        self.answer.setStyleSheet(f"background: {background}; color: {colour}; border-radius: 10px; padding: 8px;")
        self.answer.setText(text)
