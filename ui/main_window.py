"""The station window: the pack screen (and, switched to by the mode bar, the handover screen), their
alarms (sound, red flash) and, in demo mode, the panel.

The pack screen is the default. While the handover screen shows, it has the station's scans
(`StationRuntime.divert_scans`); switching back to the pack screen gives them back to the pack flow.
"""

from __future__ import annotations

from app.pack.outcomes import Level, Outcome
from ui.bridge import StationBridge
from ui.demo_panel import DemoPanel
from ui.handover_screen import HandoverScreen
from ui.pack_screen import PackScreen
from ui.qt import (
    QButtonGroup,
    QHBoxLayout,
    QMainWindow,
    QPushButton,
    QResizeEvent,
    QStackedWidget,
    Qt,
    QVBoxLayout,
    QWidget,
)
from ui.resources import ui_font
from ui.sounds import Sounds
from ui.view_model import BenchView
from ui.widgets import Flash

WINDOW_SIZE = (1280, 800)
PACK, HANDOVER = "pack", "handover"
MODE_CAPTIONS = {PACK: "打包 Pack", HANDOVER: "交接 Handover"}  # both languages: a supervisor walks up to any bench


class MainWindow(QMainWindow):
    def __init__(self, bridge: StationBridge, lang: str, tz: str, title: str,
                 demo_panel: DemoPanel | None = None, handover_screen: HandoverScreen | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(title)
        self.resize(*WINDOW_SIZE)
        self.lang = lang
        self.pack_screen = PackScreen(lang, tz)
        self.handover_screen = handover_screen
        self.mode = PACK
        self.mode_buttons: dict[str, QPushButton] = {}
        if handover_screen is None:
            self.setCentralWidget(self.pack_screen)
        else:
            self.stack = QStackedWidget()
            self.stack.addWidget(self.pack_screen)
            self.stack.addWidget(handover_screen)
            central = QWidget()
            column = QVBoxLayout(central)
            column.addLayout(self._mode_bar())
            column.addWidget(self.stack, 1)
            self.setCentralWidget(central)
            handover_screen.alarm.connect(self._alarm)
        self.demo_panel = demo_panel
        if demo_panel is not None:
            self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, demo_panel)
            self.resizeDocks([demo_panel], [320], Qt.Orientation.Horizontal)
        self.flash = Flash(self)
        self.sounds = Sounds(self)
        bridge.outcome.connect(self._on_outcome)
        bridge.bench.connect(self.pack_screen.show_bench)
        bridge.status.connect(self.pack_screen.show_status)
        bridge.error.connect(self._on_error)
        bridge.printed.connect(self.pack_screen.show_label)
        bridge.weight.connect(self.pack_screen.show_weight)
        self.pack_screen.setFocus()

    def _mode_bar(self) -> QHBoxLayout:
        bar = QHBoxLayout()
        group = QButtonGroup(self)
        for mode, caption in MODE_CAPTIONS.items():
            button = QPushButton(caption)
            button.setCheckable(True)
            button.setChecked(mode == PACK)
            button.setFont(ui_font(18, bold=True))
            button.setMinimumSize(180, 40)
            button.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # the screen keeps the focus (and no input method)
            button.setStyleSheet("QPushButton:checked { background: #263238; color: white; border-radius: 6px; }")
            button.clicked.connect(lambda _=False, m=mode: self.set_mode(m))
            group.addButton(button)
            self.mode_buttons[mode] = button
            bar.addWidget(button)
        bar.addStretch(1)
        return bar

    def set_mode(self, mode: str) -> None:
        """Show the pack or the handover screen; the handover screen takes the scans while it shows."""
        if mode == self.mode or self.handover_screen is None:
            return
        self.mode = mode
        self.mode_buttons[mode].setChecked(True)
        if mode == HANDOVER:
            self.stack.setCurrentWidget(self.handover_screen)
            self.handover_screen.activate()
            self.handover_screen.setFocus()
        else:
            self.handover_screen.deactivate()
            self.stack.setCurrentWidget(self.pack_screen)
            self.pack_screen.setFocus()

    def _on_outcome(self, outcome: Outcome, view: BenchView) -> None:
        self.pack_screen.show_outcome(outcome, view)
        if outcome.text(self.lang):
            self._alarm(outcome.level)

    def _on_error(self, message: str) -> None:
        self.pack_screen.show_error(message)
        if self.mode == HANDOVER and self.handover_screen is not None:
            self.handover_screen.show_error(message)  # emits its own alarm
        else:
            self._alarm(Level.ERROR)

    def _alarm(self, level: Level) -> None:
        self.sounds.play(level)
        if level is Level.ERROR:
            self.flash.flash()

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        if self.flash.isVisible():
            self.flash.setGeometry(self.rect())
