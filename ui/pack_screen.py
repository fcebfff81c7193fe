"""The pack screen (docs/architecture.md §5.2): who is packing, which order, what is scanned, what happened last.

It only shows what the bridge delivers (outcomes with a `BenchView`, device states, weights, the
printed label); it decides nothing about the order. Hands never need it: the packer scans, and the
screen takes no keyboard focus away from the wedge or from a person's typing in a dialog.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

from app.clock import Clock
from app.devices import DeviceState, DeviceStatus, WeightReading
from app.i18n import translator
from app.pack.flow import State
from app.pack.outcomes import Level, Outcome
from app.terms import PLATFORMS, named
from app.waybills import carrier_label
from ui.dialog_shelf import open_dialog
from ui.label_preview import ClickableLabel, LabelPreview
from ui.qt import (
    QAbstractItemView,
    QBrush,
    QColor,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QListWidget,
    QListWidgetItem,
    QPixmap,
    QResizeEvent,
    Qt,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
    Signal,
)
from ui.resources import ui_font
from ui.view_model import BenchView, next_step, shown
from ui.widgets import LEVEL_COLOURS, DeviceChip, ElidedBanner, FittedLine, Panel, PlainLabel, plain_tip

RECENT_LIMIT = 50
NEXT_STEP_PX = 28
NO_WEIGHT = "—"
_DONE_ROW = QColor("#dff3e3")


class PackScreen(QWidget):
    # The large label opened (True) or closed (False) here, by a click or Esc, not by a scan's answer:
    # the flow must know, so that the next PREVIEW scan toggles what is actually shown.
    preview_shown = Signal(bool)

    def __init__(self, lang: str, tz: str, clock: Clock, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.lang = lang
        self.tz = ZoneInfo(tz)
        self.clock = clock  # the station's: the Recent list's times agree with the store's records
        self.view: BenchView | None = None
        self.last_event: str | None = None
        self.seen = 0  # answers shown so far (outcomes with words, errors): something to wait on

        self.operator = PlainLabel()
        self.operator.setFont(ui_font(24, bold=True))
        self.order = FittedLine(22, 14)
        self.chips = {name: DeviceChip(name, lang) for name in ("scanner", "scale", "printer")}
        self.banner = ElidedBanner()
        self.next_step = PlainLabel()
        self.next_step.setFont(ui_font(NEXT_STEP_PX, bold=True))
        self.next_step.setFixedHeight(NEXT_STEP_PX + 16)
        self.next_step.setMinimumWidth(1)
        self.next_step.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.next_step.setStyleSheet("color: #0d47a1;")
        self.lines = self._build_lines()
        self.weight = PlainLabel(NO_WEIGHT)
        self.weight.setFont(ui_font(44, bold=True))
        self.expected = PlainLabel()
        self.expected.setFont(ui_font(18))
        self.label = ClickableLabel(alignment=Qt.AlignmentFlag.AlignCenter)
        self.label.setCursor(Qt.CursorShape.PointingHandCursor)
        self.label.clicked.connect(self._clicked_label)
        self.preview: LabelPreview | None = None
        self.label.setMinimumSize(1, 1)  # the preview scales down into the space; it never widens the window
        self.label_png = b""
        self.recent = QListWidget()
        self.recent.setFont(ui_font(16))

        header = QHBoxLayout()
        header.addWidget(self.operator, 1)
        for chip in self.chips.values():
            header.addWidget(chip)
        order_box = QWidget()
        order_layout = QVBoxLayout(order_box)
        order_layout.setContentsMargins(0, 0, 0, 0)
        order_layout.addWidget(self.order)
        order_layout.addWidget(self.lines, 1)
        weight_box = QWidget()
        weight_layout = QVBoxLayout(weight_box)
        weight_layout.setContentsMargins(0, 0, 0, 0)
        weight_layout.addWidget(self.weight)
        weight_layout.addWidget(self.expected)
        body = QGridLayout()
        body.addWidget(order_box, 0, 0, 2, 1)
        self.panels = [Panel(weight_box), Panel(self.label), Panel(self.recent)]
        body.addWidget(self.panels[0], 0, 1)
        body.addWidget(self.panels[1], 1, 1)
        body.addWidget(self.panels[2], 2, 0, 1, 2)
        body.setColumnStretch(0, 3)
        body.setColumnStretch(1, 2)
        body.setRowStretch(1, 1)
        body.setRowStretch(2, 1)
        layout = QVBoxLayout(self)
        layout.addLayout(header)
        layout.addWidget(self.banner)
        layout.addWidget(self.next_step)
        layout.addLayout(body, 1)

        # Every key that reaches this screen is for the wedge: an input method here would eat scans
        # (field notes, Scanners), and no child should take the focus from the screen itself.
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        for widget in (self, *self.findChildren(QWidget)):
            widget.setAttribute(Qt.WidgetAttribute.WA_InputMethodEnabled, False)
            if widget is not self:
                widget.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.retranslate()

    def retranslate(self) -> None:
        """Word everything in `self.lang` (set by the window when the bench's language changes)."""
        _ = translator(self.lang).gettext
        for panel, heading in zip(self.panels, (_("Weight"), _("Last label"), _("Recent")), strict=True):
            panel.heading.setText(heading)
        self.lines.setHorizontalHeaderLabels([_("Item"), _("SKU"), _("Scanned / needed")])
        for chip in self.chips.values():
            chip.lang = self.lang
            chip.retranslate()
        self._show_header()
        self._show_next()

    def _show_next(self) -> None:
        view = self.view or BenchView(State.IDLE.value)
        self.next_step.setText(translator(self.lang).gettext(next_step(view)))

    def _build_lines(self) -> QTableWidget:
        table = QTableWidget(0, 3)
        table.setFont(ui_font(22))
        table.horizontalHeader().setFont(ui_font(16, bold=True))
        table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        for column in (1, 2):
            table.horizontalHeader().setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)
        table.verticalHeader().hide()
        table.verticalHeader().setDefaultSectionSize(44)
        table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        table.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        return table

    # ----- slots fed by the bridge -----
    def show_bench(self, view: BenchView) -> None:
        previous = self.view
        self.view = shown(previous, view)
        if self.view.order_id and (previous is None or previous.order_id != self.view.order_id):
            self._clear_weight()  # the last parcel's weight must not read as this one's
        self._show_header()
        self._show_lines()
        self._show_next()
        if self.banner.level is None:  # nothing scanned yet: say what the bench expects first
            _ = translator(self.lang).gettext
            if view.order_id:
                text = _("Order {order_id} is open: keep scanning").format(order_id=view.order_id)
            else:
                text = _("Scan an order") if view.operator else _("Ready — scan your badge")
            self.banner.show_message(text, None)

    def show_outcome(self, outcome: Outcome, view: BenchView) -> None:
        self.show_bench(view)
        text = outcome.text(self.lang)
        if not text:
            return
        self.last_event = outcome.event
        self.seen += 1
        if outcome.event == "label_enlarged":  # the PREVIEW scan; any other answer closes the large label
            self.enlarge_label()
        else:
            self.close_label()
        self.banner.show_message(text, outcome.level)
        self._add_recent(text, outcome.level)
        if outcome.event == "label_printed":
            self.chips["printer"].set_state(DeviceState.CONNECTED)
        elif outcome.event in ("print_failed", "print_uncertain"):
            self.chips["printer"].set_state(DeviceState.FAULT, str(outcome.detail.get("reason", "")))

    def show_error(self, message: str) -> None:
        self.show_message(translator(self.lang).gettext("System error: {message}").format(message=message), Level.ERROR)

    def show_message(self, text: str, level: Level) -> None:
        """Words of the bench itself, not an answer to a scan (a system error, the disk back)."""
        self.last_event = None
        self.seen += 1
        self.banner.show_message(text, level)
        self._add_recent(text, level)

    def show_status(self, status: DeviceStatus) -> None:
        chip = self.chips.get(status.device)
        if chip is not None:
            chip.set_state(status.state, status.detail)
            if status.state is not DeviceState.CONNECTED and status.device == "scale":
                self._clear_weight()

    def show_weight(self, reading: WeightReading) -> None:
        # "≈" while the parcel still moves: the packer waits for the plain number.
        self.weight.setText(f"{'' if reading.stable else '≈ '}{reading.grams} g")
        self.weight.setStyleSheet("" if reading.stable else "color: #78909c;")

    def _clear_weight(self) -> None:
        self.weight.setText(NO_WEIGHT)
        self.weight.setStyleSheet("")

    def show_label(self, png: bytes) -> None:
        self.label_png = png
        self._fit_label()

    def enlarge_label(self) -> bool:
        """The last label at the window's height (nothing before a label was printed, nothing new
        while it shows). True when it opened now."""
        if not self.label_png or self.preview is not None:
            return False
        preview = LabelPreview(self.label_png, self.lang, self)
        preview.finished.connect(lambda result: self._forget_preview(preview, result))
        self.preview = preview
        open_dialog(preview)
        return True

    def _clicked_label(self) -> None:
        if self.enlarge_label():
            self.preview_shown.emit(True)

    def close_label(self) -> None:
        """Closed by a scan's answer (the flow ended the preview itself)."""
        if self.preview is not None:
            self.preview.done(LabelPreview.CLOSED_BY_SCAN)

    def _forget_preview(self, preview: LabelPreview, result: int) -> None:
        if result != LabelPreview.CLOSED_BY_SCAN:
            self.preview_shown.emit(False)  # a click or Esc closed it
        if self.preview is preview:
            self.preview = None
        preview.deleteLater()
        self.window().activateWindow()  # the wedge's keys come to this screen again
        self.setFocus()

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._fit_label()

    def _fit_label(self) -> None:
        pixmap = QPixmap()
        if self.label_png and pixmap.loadFromData(self.label_png, "PNG"):
            self.label.setPixmap(pixmap.scaled(self.label.size(), Qt.AspectRatioMode.KeepAspectRatio,
                                               Qt.TransformationMode.SmoothTransformation))

    # ----- drawing -----
    def _show_header(self) -> None:
        view = self.view
        name = view.operator if view else None
        _ = translator(self.lang).gettext
        self.operator.setText(_("Packer: {name}").format(name=name) if name else _("Nobody logged in"))
        if view is None or view.order_id is None:
            self.order.setText(_("No order open"))
        else:
            platform = named(PLATFORMS, view.platform).text(self.lang) if view.platform else ""
            carrier = carrier_label(view.carrier, self.lang) if view.carrier else ""
            parts = [_("Order {order_id}").format(order_id=view.order_id), platform, view.receiver, carrier]
            if view.short:
                parts.append(_("SHORT-SHIPPED"))
            if view.shipped:  # "shipped" only once the label is out of the printer (label_printed)
                parts.append(_("shipped") if view.state == State.DONE.value else _("label printing…"))
            self.order.setText(" · ".join(p for p in parts if p))
        expected = view.expected_weight_g if view else None
        self.expected.setText(_("expected {grams} g").format(grams=expected) if expected else "")

    def _show_lines(self) -> None:
        lines = self.view.lines if self.view else ()
        self.lines.setRowCount(len(lines))
        for row, line in enumerate(lines):
            cells = [line.name, line.sku, f"{line.scanned} / {line.expected}"]
            for column, text in enumerate(cells):
                item = QTableWidgetItem(text)
                item.setToolTip(plain_tip(text))  # a long product name is cut on a narrow screen
                if column == 2:
                    item.setTextAlignment(Qt.AlignmentFlag.AlignCenter)
                if line.complete:
                    item.setBackground(QBrush(_DONE_ROW))
                self.lines.setItem(row, column, item)

    def _add_recent(self, text: str, level: Level) -> None:
        stamp = self.clock.now().astimezone(self.tz).strftime("%H:%M:%S")
        item = QListWidgetItem(f"{stamp}  {text}")
        if level is not Level.OK:
            item.setForeground(QBrush(QColor(LEVEL_COLOURS[level][0] if level is Level.ERROR else "#9a6b00")))
        self.recent.insertItem(0, item)
        while self.recent.count() > RECENT_LIMIT:
            self.recent.takeItem(self.recent.count() - 1)
