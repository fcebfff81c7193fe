"""The handover screen's parts: carrier buttons, the banner with its intercept form, the overdue
list and the waybill pools. They show what they are given; the screen feeds them."""

from __future__ import annotations

from html import escape
from zoneinfo import ZoneInfo

from app.clock import parse_iso
from app.i18n import translator
from app.pack.outcomes import Level
from app.store.states import STOPPED_STATUSES, OrderStatus
from app.terms import ORDER_STATUSES, named
from app.waybills import PoolWarning, carrier_label
from ui.handover_controller import HandoverStatus
from ui.qt import (
    QAbstractItemView,
    QBrush,
    QColor,
    QFrame,
    QHBoxLayout,
    QHeaderView,
    QPushButton,
    Qt,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
    Signal,
)
from ui.resources import ui_font
from ui.widgets import LEVEL_COLOURS, Banner, PlainLabel, plain_tip

HANDOVER_BANNER_PX = 40
_INTERCEPT_STYLE = ("background: #7f0000; color: #ffffff; border: 10px solid #ffd600; border-radius: 10px;"
                    " padding: 2px;")
_STOPPED_ORDER = STOPPED_STATUSES


class HandoverBanner(Banner):
    """The pack screen's banner, a little smaller (refusals are long), plus the intercept form:
    dark red inside a yellow hazard border, headed "拦截 INTERCEPT" above the domain's message."""

    def __init__(self, lang: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.lang = lang
        self.setFont(ui_font(HANDOVER_BANNER_PX, bold=True))
        self.setMinimumHeight(int(2.6 * HANDOVER_BANNER_PX))
        self.intercept = False

    def show_message(self, text: str, level: Level | None) -> None:
        self.intercept = False
        self.setTextFormat(Qt.TextFormat.PlainText)  # scanned junk must never be read as markup
        super().show_message(text, level)

    def show_intercept(self, text: str) -> None:
        self.level = Level.ERROR
        self.intercept = True
        self.setTextFormat(Qt.TextFormat.RichText)
        self.setStyleSheet(_INTERCEPT_STYLE)
        body = escape(text).replace("\n", "<br>")
        head = escape(translator(self.lang).gettext("INTERCEPT"))
        self.setText(f'<div style="font-size:60px; font-weight:bold;">{head}</div>'
                     f'<div style="font-size:28px; font-weight:bold;">{body}</div>')


class CarrierBar(QWidget):
    """One big button per configured carrier; the open batch's carrier stays pressed."""

    picked = Signal(str)

    def __init__(self, carriers: list[str], lang: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.lang = lang
        self.buttons: dict[str, QPushButton] = {}
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        for code in carriers:
            button = QPushButton()
            button.setCheckable(True)
            button.setFont(ui_font(20, bold=True))
            button.setMinimumHeight(64)
            button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
            button.setStyleSheet("QPushButton:checked { background: #1565c0; color: white; border-radius: 6px; }")
            button.clicked.connect(lambda _=False, c=code: self._pick(c))
            self.buttons[code] = button
            layout.addWidget(button)
        self.counts: dict[str, int] = {}
        self.set_open_counts({})

    def retranslate(self) -> None:
        self.set_open_counts(self.counts)

    def _pick(self, code: str) -> None:
        self.buttons[code].setChecked(False)  # pressed once the batch is open, not before
        self.picked.emit(code)

    def set_current(self, carrier: str | None) -> None:
        for code, button in self.buttons.items():
            button.setChecked(code == carrier)

    def set_open_counts(self, counts: dict[str, int]) -> None:
        """Carriers with an unfinished batch at this station say so (its parcels wait on the floor)."""
        self.counts = counts
        waiting = translator(self.lang).gettext("{count} waiting")
        for code, button in self.buttons.items():
            text = carrier_label(code, self.lang)  # the name alone: the code would be English on a Chinese screen
            if counts.get(code):
                text += "\n" + waiting.format(count=counts[code])
            button.setText(text)


class PoolPanel(QWidget):
    """Free and used waybill numbers per carrier; a carrier running low in amber, an empty one red."""

    def __init__(self, lang: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.lang = lang
        self.lines: list[tuple[str, Level]] = []
        self.shown: tuple[dict[str, tuple[int, int]], tuple[PoolWarning, ...]] | None = None
        self._layout = QVBoxLayout(self)
        self._layout.setContentsMargins(0, 0, 0, 0)
        self._layout.setSpacing(4)

    def retranslate(self) -> None:
        if self.shown is not None:
            self.show_pools(*self.shown)

    def show_pools(self, pools: dict[str, tuple[int, int]], warnings: tuple[PoolWarning, ...]) -> None:
        self.shown = (pools, warnings)
        _ = translator(self.lang).gettext
        while self._layout.count():
            item = self._layout.takeAt(0)
            widget = item.widget() if item is not None else None
            if widget is not None:
                widget.deleteLater()
        warned = {w.carrier: w for w in warnings}
        line = _("{carrier}: {free} free · {used} used")
        lines = [(line.format(carrier=carrier_label(c, self.lang), free=free, used=used), Level.OK)
                 for c, (free, used) in pools.items() if c not in warned]
        lines += [(w.text(self.lang), Level.ERROR if w.exhausted else Level.WARN) for w in warnings]
        self.lines = lines or [(_("No waybill pool here"), Level.OK)]
        for text, level in self.lines:
            label = PlainLabel(text)
            label.setWordWrap(True)
            label.setFont(ui_font(15, bold=level is not Level.OK))
            if level is not Level.OK:
                background, colour = LEVEL_COLOURS[level]
                label.setStyleSheet(f"background: {background}; color: {colour}; border-radius: 4px; padding: 2px 6px;")
            self._layout.addWidget(label)


class OverduePanel(QFrame):
    """Parcels packed long ago and never handed over, oldest first (docs/architecture.md §9.4)."""

    def __init__(self, lang: str, tz: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.lang = lang
        self.tz = ZoneInfo(tz)
        self.heading = PlainLabel()
        self.heading.setFont(ui_font(16, bold=True))
        self.heading.setWordWrap(True)
        self.table = QTableWidget(0, 4)
        self.table.setFont(ui_font(14))
        self.table.horizontalHeader().setFont(ui_font(13, bold=True))
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.horizontalHeader().setSectionResizeMode(3, QHeaderView.ResizeMode.Stretch)
        self.table.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.table.setWordWrap(False)
        self.table.verticalHeader().hide()
        self.table.verticalHeader().setDefaultSectionSize(26)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        layout = QVBoxLayout(self)
        layout.addWidget(self.heading)
        layout.addWidget(self.table, 1)
        self.tracking_nos: list[str] = []
        self.status: HandoverStatus | None = None
        self.retranslate()

    def retranslate(self) -> None:
        _ = translator(self.lang).gettext
        self.table.setHorizontalHeaderLabels([_("Tracking no."), _("Order"), _("Age"), _("Note")])
        if self.status is not None:
            self.show_status(self.status)

    def show_status(self, status: HandoverStatus) -> None:
        self.status = status
        _ = translator(self.lang).gettext
        self.heading.setText(_("Packed over {hours:g} h ago, not handed over: {count}").format(
            hours=status.overdue_hours, count=status.overdue_total))
        overdue = status.overdue_total > 0
        self.heading.setStyleSheet(f"color: {LEVEL_COLOURS[Level.ERROR][0]};" if overdue else "")
        self.tracking_nos = [p.tracking_no for p in status.overdue]
        self.table.setRowCount(len(status.overdue))
        for row, parcel in enumerate(status.overdue):
            notes = [carrier_label(parcel.carrier, self.lang)]
            if parcel.order_status != OrderStatus.PACKED:
                notes.append(named(ORDER_STATUSES, parcel.order_status).text(self.lang))
            if parcel.open_batch:
                notes.append(_("in open batch {batch_id}").format(batch_id=parcel.open_batch))
            cells = [parcel.tracking_no, parcel.order_id, f"{parcel.age_hours:.1f} h", " · ".join(notes)]
            stopped = parcel.order_status in _STOPPED_ORDER
            for column, text in enumerate(cells):
                item = QTableWidgetItem(text)
                item.setToolTip(plain_tip(f"{parcel.order_id} · {self._local(parcel.packed_at)}"))
                if stopped:
                    item.setForeground(QBrush(QColor(LEVEL_COLOURS[Level.ERROR][0])))
                self.table.setItem(row, column, item)

    def _local(self, stamp: str) -> str:
        return parse_iso(stamp).astimezone(self.tz).strftime("%m-%d %H:%M")
