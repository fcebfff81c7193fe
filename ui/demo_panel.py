"""Demo mode's panel: buttons that make the simulated scanner read the demo codes, so a person can
click through an order (and unplug the scanner or run the printer out of paper) without hardware."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from app.barcodes import Command, command_barcode
from app.demo import OPERATORS, ORDERS, PRODUCTS, product_barcode
from app.documents.command_sheet import TITLES
from app.i18n import N_, translator
from drivers.printers.simulated import SimulatedPrinter
from drivers.scales import SimulatedScale
from drivers.scanners import SimulatedScanner
from ui.qt import QDockWidget, QGridLayout, QGroupBox, QPushButton, QScrollArea, Qt, QVBoxLayout, QWidget
from ui.resources import ui_font
from ui.widgets import plain_tip

COMMANDS = (Command.ABORT, Command.REPRINT, Command.SHORT_SHIP, Command.CALL_SUPERVISOR, Command.LOGOUT,
            Command.PREVIEW)
GROUPS = (N_("Badges"), N_("Orders"), N_("Items"), N_("Commands"), N_("Devices"))
PAPER_OUT = N_("paper out")


class DemoPanel(QDockWidget):
    def __init__(self, scanner: SimulatedScanner, scale: SimulatedScale | None, printer: SimulatedPrinter | None,
                 lang: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("demo-panel")
        self.scanner = scanner
        self.scale = scale
        self.printer = printer
        self.lang = lang
        self.buttons: dict[str, QPushButton] = {}  # by the code the button scans
        body = QWidget()
        layout = QVBoxLayout(body)
        self.groups = [self._group([(f"{name} {badge}", badge) for name, _, badge in OPERATORS]),
                       self._group([(order[0], order[0]) for order in ORDERS]),
                       self._group([(p[1], product_barcode(p[0])) for p in PRODUCTS], columns=1),
                       self._group([("", command_barcode(c)) for c in COMMANDS]),
                       self._devices()]
        for group in self.groups:
            layout.addWidget(group)
        layout.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidget(body)
        scroll.setWidgetResizable(True)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.setWidget(scroll)
        self.setFeatures(QDockWidget.DockWidgetFeature.DockWidgetMovable)
        self.setMinimumWidth(320)
        self.retranslate()

    def retranslate(self) -> None:
        _ = translator(self.lang).gettext
        self.setWindowTitle(_("Demo"))
        for group, title in zip(self.groups, GROUPS, strict=True):
            group.setTitle(_(title))
        for command in COMMANDS:  # worded as on the printed command sheet
            self.buttons[command_barcode(command)].setText(_(TITLES[command]))
        self.unplug.setText(_("Unplug scanner"))
        if self.scale is not None:
            self.take_off.setText(_("Take the parcel off the scale"))
        if self.printer is not None:
            self.paper_out.setText(_("Printer out of paper"))

    def _group(self, entries: list[tuple[str, str]], columns: int = 2) -> QGroupBox:
        box = QGroupBox()
        grid = QGridLayout(box)
        for i, (caption, code) in enumerate(entries):
            button = self._button(caption, partial(self._feed, code))
            button.setToolTip(plain_tip(code))
            self.buttons[code] = button
            grid.addWidget(button, i // columns, i % columns)
        return box

    def _devices(self) -> QGroupBox:
        box = QGroupBox()
        column = QVBoxLayout(box)
        self.unplug = self._button("", self._toggle_scanner, checkable=True)
        column.addWidget(self.unplug)
        if self.scale is not None:
            self.take_off = self._button("", self._take_off)
            column.addWidget(self.take_off)
        if self.printer is not None:
            self.paper_out = self._button("", self._toggle_paper, checkable=True)
            column.addWidget(self.paper_out)
        return box

    def _button(self, caption: str, on_click: Callable[[bool], object], checkable: bool = False) -> QPushButton:
        button = QPushButton(caption)
        button.setCheckable(checkable)
        button.setFont(ui_font(13))
        # Clicking must not pull the focus off the pack screen, where input methods are off.
        button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        button.clicked.connect(on_click)
        return button

    def _feed(self, code: str, _checked: bool = False) -> None:
        self.scanner.feed(code)

    def _take_off(self, _checked: bool = False) -> None:
        if self.scale is not None:
            self.scale.clear()

    def _toggle_scanner(self, unplugged: bool) -> None:
        for button in self.buttons.values():
            button.setEnabled(not unplugged)  # an unplugged scanner reads nothing
        if unplugged:
            self.scanner.unplug()
        else:
            self.scanner.replug()

    def _toggle_paper(self, out: bool) -> None:
        assert self.printer is not None
        # The runtime retries failed jobs by itself, so clearing the fault is all a "fix" takes. The msgid, as a
        # real printer's driver reports it: the job keeps the English, the screens word it in the bench's language.
        self.printer.fault = PAPER_OUT if out else None
