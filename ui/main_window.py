"""The station window: the pack screen, its alarms (sound, red flash) and, in demo mode, the panel."""

from __future__ import annotations

from app.pack.outcomes import Level, Outcome
from ui.bridge import StationBridge
from ui.demo_panel import DemoPanel
from ui.pack_screen import PackScreen
from ui.qt import QMainWindow, QResizeEvent, Qt, QWidget
from ui.sounds import Sounds
from ui.view_model import BenchView
from ui.widgets import Flash

WINDOW_SIZE = (1280, 800)


class MainWindow(QMainWindow):
    def __init__(self, bridge: StationBridge, lang: str, tz: str, title: str,
                 demo_panel: DemoPanel | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(title)
        self.resize(*WINDOW_SIZE)
        self.lang = lang
        self.pack_screen = PackScreen(lang, tz)
        self.setCentralWidget(self.pack_screen)
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

    def _on_outcome(self, outcome: Outcome, view: BenchView) -> None:
        self.pack_screen.show_outcome(outcome, view)
        if outcome.text(self.lang):
            self._alarm(outcome.level)

    def _on_error(self, message: str) -> None:
        self.pack_screen.show_error(message)
        self._alarm(Level.ERROR)

    def _alarm(self, level: Level) -> None:
        self.sounds.play(level)
        if level is Level.ERROR:
            self.flash.flash()

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        if self.flash.isVisible():
            self.flash.setGeometry(self.rect())
