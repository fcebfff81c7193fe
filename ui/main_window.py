"""The station window: the pack screen (and, switched to by the mode bar, the handover and the
exception triage screens), their alarms (sound, red flash), the sync status and, in demo mode, the panel.

While a fault of the bench itself stands (a lost device, the disk, sync refused: `app.alarms`), the
alarm page takes the whole window instead, and the window's dialogs wait behind it (`DialogShelf`);
it goes once the board clears, back to the screen, the order and the dialogs as they were. Closing
the window rejects its dialogs, shown or waiting.

The pack screen is the default. While the handover screen shows, it has the station's scans
(`StationRuntime.divert_scans`); switching back to the pack screen gives them back to the pack flow.
"""

from __future__ import annotations

from app.alarms import AlarmBoard, AlarmKind
from app.clock import Clock
from app.i18n import N_, Phrase, translator
from app.pack.outcomes import Level, Outcome
from app.read_back import translate_reasons
from app.station import RESUMED
from ui.alarm_view import AlarmView
from ui.bridge import StationBridge
from ui.demo_panel import DemoPanel
from ui.dialog_shelf import DialogShelf
from ui.handover_screen import HandoverScreen
from ui.language import Retranslatable, install_qt_translation
from ui.pack_screen import PackScreen
from ui.qt import (
    QButtonGroup,
    QCloseEvent,
    QHBoxLayout,
    QMainWindow,
    QPushButton,
    QResizeEvent,
    QStackedWidget,
    Qt,
    QTimer,
    QVBoxLayout,
    QWidget,
)
from ui.resources import ui_font
from ui.scan_notes import ScanNotes
from ui.sounds import Sounds
from ui.sync_status import SyncBar
from ui.triage_screen import TriageScreen
from ui.view_model import BenchView
from ui.widgets import Flash, PlainLabel, plain_tip

WINDOW_SIZE = (1280, 800)
ALARM_REMIND_MS = 30_000  # a standing alarm sounds again this often: nobody at the bench may miss it
PACK, HANDOVER, EXCEPTIONS = "pack", "handover", "exceptions"
CALLS_TIP = N_("{calls} supervisor calls and {cases} cases for supervisors are open")
MODE_CAPTIONS = {PACK: N_("Pack"), HANDOVER: N_("Handover"), EXCEPTIONS: N_("Exceptions")}


class MainWindow(QMainWindow):
    def __init__(self, bridge: StationBridge, clock: Clock, lang: str, tz: str, station: str, demo: bool = False,
                 demo_panel: DemoPanel | None = None, handover_screen: HandoverScreen | None = None,
                 triage_screen: TriageScreen | None = None, sync_bar: SyncBar | None = None,
                 alarms: AlarmBoard | None = None, scan_notes: ScanNotes | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.station, self.demo = station, demo
        self.resize(*WINDOW_SIZE)
        self.lang = lang
        self.pack_screen = PackScreen(lang, tz, clock)
        self.handover_screen = handover_screen
        self.triage_screen = triage_screen
        self.sync_bar = sync_bar
        self.scan_notes = scan_notes
        self.mode = PACK
        self.mode_buttons: dict[str, QPushButton] = {}
        self.screens: dict[str, QWidget] = {PACK: self.pack_screen}
        if handover_screen is not None:
            self.screens[HANDOVER] = handover_screen
            handover_screen.alarm.connect(self._alarm)
            handover_screen.answered.connect(self._answered)
        if triage_screen is not None:
            self.screens[EXCEPTIONS] = triage_screen
            triage_screen.alarm.connect(self._alarm)
            triage_screen.answered.connect(self._answered)
        self.badge = PlainLabel()
        self.role_count = 0  # open cases for the logged-in role
        self.calls = (0, 0)  # open supervisor calls, open cases for supervisors: whoever is logged in
        if len(self.screens) == 1 and sync_bar is None and scan_notes is None:
            self.content: QWidget = self.pack_screen
        else:
            self.stack = QStackedWidget()
            for screen in self.screens.values():
                self.stack.addWidget(screen)
            self.content = QWidget()
            column = QVBoxLayout(self.content)
            column.addLayout(self._mode_bar())
            column.addWidget(self.stack, 1)
        self.alarms = alarms or AlarmBoard(clock)
        self.alarm_view = AlarmView(lang, tz)
        self.pages = QStackedWidget()  # the screens, or the alarm page over all of them
        self.pages.addWidget(self.content)
        self.pages.addWidget(self.alarm_view)
        self.setCentralWidget(self.pages)
        self.dialogs = DialogShelf(self, self.alarm_view)  # and the window's dialogs wait behind the alarm page
        if triage_screen is not None:
            triage_screen.badge.connect(self.show_badge)
            triage_screen.calls_badge.connect(self.show_calls_badge)
        self.demo_panel = demo_panel
        if demo_panel is not None:
            self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, demo_panel)
            self.resizeDocks([demo_panel], [320], Qt.Orientation.Horizontal)
        self.flash = Flash(self)
        self.sounds = Sounds(self)
        self.remind = QTimer(self, interval=ALARM_REMIND_MS)
        self.remind.timeout.connect(lambda: self.sounds.play(Level.ERROR))
        self._standing: set[AlarmKind] = set()
        self.alarms.listeners.append(self._on_alarms)
        bridge.outcome.connect(self._on_outcome)
        bridge.bench.connect(self.pack_screen.show_bench)
        bridge.status.connect(self.pack_screen.show_status)
        bridge.status.connect(self.alarms.device_status)
        bridge.halted.connect(self.alarms.halted)
        bridge.unrecorded.connect(self._unrecorded)
        bridge.resumed.connect(self._resumed)
        bridge.error.connect(self._on_error)
        bridge.printed.connect(self.pack_screen.show_label)
        self.pack_screen.preview_shown.connect(bridge.preview_shown)
        bridge.weight.connect(self.pack_screen.show_weight)
        self._word_window()
        self.pack_screen.setFocus()

    def set_language(self, lang: str) -> None:
        """The bench speaks `lang` now (an operator with a language of their own logged in, or out):
        every part words itself again; Qt's own dialog buttons follow the application's translator."""
        if lang == self.lang:
            return
        install_qt_translation(lang)
        self.lang = lang
        parts: list[Retranslatable] = [self.pack_screen, self.alarm_view]
        parts += [p for p in (self.handover_screen, self.triage_screen, self.sync_bar, self.scan_notes,
                              self.demo_panel) if p is not None]
        for part in parts:
            part.lang = lang
            part.retranslate()
        self._word_window()

    def _word_window(self) -> None:
        _ = translator(self.lang).gettext
        title = _("PackBench — station {station} (DEMO)") if self.demo else _("PackBench — station {station}")
        self.setWindowTitle(title.format(station=self.station))
        for mode, button in self.mode_buttons.items():
            button.setText(_(MODE_CAPTIONS[mode]))
        self._draw_badge()

    def _mode_bar(self) -> QHBoxLayout:
        bar = QHBoxLayout()
        group = QButtonGroup(self)
        for mode in self.screens:
            button = QPushButton()
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
            if mode == EXCEPTIONS:  # the open cases of the logged-in role, as a red pill beside the button
                self.badge.setFont(ui_font(14, bold=True))
                self.badge.setStyleSheet("background: #c62828; color: white; border-radius: 11px; padding: 1px 8px;")
                self.badge.hide()
                bar.addWidget(self.badge)
        bar.addStretch(1)
        if self.scan_notes is not None:
            bar.addWidget(self.scan_notes)
        if self.sync_bar is not None:
            bar.addWidget(self.sync_bar)
        return bar

    def show_badge(self, count: int) -> None:
        self.role_count = count
        self._draw_badge()

    def show_calls_badge(self, calls: int, cases: int) -> None:
        self.calls = (calls, cases)
        self._draw_badge()

    def _draw_badge(self) -> None:
        """One pill beside the button: the role's open cases, led by "☎ N" while supervisor calls are open
        (one pill, not two: the mode bar must still fit a 1280-pixel screen)."""
        count, (calls, cases) = self.role_count, self.calls
        self.badge.setText(f"☎{calls} · {count}" if calls else str(count))
        self.badge.setVisible(count > 0 or calls > 0)
        _ = translator(self.lang).gettext
        tip = _("{count} open cases for your role").format(count=count)
        if calls or cases:
            tip += "\n" + _(CALLS_TIP).format(calls=calls, cases=cases)
        self.badge.setToolTip(plain_tip(tip))

    def set_mode(self, mode: str) -> None:
        """Show the pack, handover or triage screen; the handover screen takes the scans while it shows."""
        if mode == self.mode or mode not in self.screens:
            return
        if self.mode == HANDOVER and self.handover_screen is not None:
            self.handover_screen.deactivate()
        elif self.mode == EXCEPTIONS and self.triage_screen is not None:
            self.triage_screen.deactivate()
        self.mode = mode
        self.mode_buttons[mode].setChecked(True)
        screen = self.screens[mode]
        self.stack.setCurrentWidget(screen)
        if mode == HANDOVER and self.handover_screen is not None:
            self.handover_screen.activate()
        elif mode == EXCEPTIONS and self.triage_screen is not None:
            self.triage_screen.controller.refresh()
        screen.setFocus()

    @property
    def alarm_shown(self) -> bool:
        return self.pages.currentWidget() is self.alarm_view

    def _on_alarms(self, board: AlarmBoard) -> None:
        """The board changed: show its most severe alarm (sounding each new one), or the screens again."""
        self.alarm_view.show_board(board)
        active = board.active
        standing = {alarm.kind for alarm in (*([active] if active else []), *board.others)}
        raised, self._standing = standing - self._standing, standing
        if active is None:
            self.remind.stop()
            self.pages.setCurrentWidget(self.content)
            self.screens[self.mode].setFocus()  # the wedge's keys go to the screen again
            self.dialogs.uncover()  # or to the dialog that had them, back as it was
            return
        if raised:
            self.sounds.play(Level.ERROR)
            self.remind.start()
        if not self.alarm_shown:
            self.pages.setCurrentWidget(self.alarm_view)
            self.dialogs.cover()
            self.alarm_view.setFocus()

    def _answered(self, text: str, level: Level) -> None:
        """A handover or triage answer: on the alarm page's strip too, for while it covers the screen."""
        self.alarm_view.show_answer(text, level)

    def _on_outcome(self, outcome: Outcome, view: BenchView) -> None:
        self.set_language(outcome.language)  # the logged-in operator's, else the station's (after a logout)
        self.pack_screen.show_outcome(outcome, view)
        self.alarms.outcome(outcome)
        text = outcome.text(self.lang)
        if not text:
            return
        self.alarm_view.show_answer(text, outcome.level)
        if self.mode == EXCEPTIONS and self.triage_screen is not None:
            self.triage_screen.show_scan_outcome(outcome.event, text, outcome.level)
        self._alarm(outcome.level)

    def _unrecorded(self, code: str) -> None:
        shown = code if len(code) <= 40 else code[:40] + "…"
        text = translator(self.lang).gettext("Scan {code} was NOT recorded: packing is stopped (see above).")
        self.alarm_view.show_answer(text.format(code=shown), Level.ERROR)
        self._alarm(Level.ERROR)

    def _resumed(self, words: Phrase) -> None:
        """The disk has room again: the alarm goes, and the pack screen says which scans to repeat."""
        self.alarms.resumed()
        level = Level.WARN if words.message != RESUMED else Level.OK
        self.pack_screen.show_message(words.text(self.lang), level)
        self.alarm_view.show_answer(words.text(self.lang), level)
        self._alarm(level)

    def _on_error(self, line: str) -> None:
        # The runtime reports a failed step by its English line (the log's); the bench reads it in its language.
        message = translate_reasons(line, self.lang)
        self.pack_screen.show_error(message)
        self.alarm_view.show_answer(self.pack_screen.banner.text(), Level.ERROR)
        if self.mode == HANDOVER and self.handover_screen is not None:
            self.handover_screen.show_error(message)  # emits its own alarm
        elif self.mode == EXCEPTIONS and self.triage_screen is not None:
            self.triage_screen.show_error(message)  # emits its own alarm
        else:
            self._alarm(Level.ERROR)

    def _alarm(self, level: Level) -> None:
        self.sounds.play(level)
        if level is Level.ERROR:
            self.flash.flash()

    def closeEvent(self, event: QCloseEvent) -> None:
        self.dialogs.dismiss()  # no dialog of the window outlives it (each is a window of its own)
        super().closeEvent(event)

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        if self.flash.isVisible():
            self.flash.setGeometry(self.rect())
