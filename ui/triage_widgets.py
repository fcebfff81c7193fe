"""The triage screen's parts: the weekly heat map and the filter row."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta

from app.i18n import N_, translator
from app.terms import CASE_TAGS, ROLES, SEVERITIES, named
from ui.qt import QComboBox, QGridLayout, QLabel, Qt, QWidget, Signal
from ui.resources import ui_font
from ui.triage_controller import CaseRow, HeatMap
from ui.widgets import PlainLabel, plain_tip

MINE = "\x00mine"  # the route combo's "the logged-in operator's role"
AGES: tuple[tuple[str, timedelta | None], ...] = (
    (N_("any"), None), (N_("> 1 h"), timedelta(hours=1)), (N_("> 24 h"), timedelta(hours=24)))
CAPTIONS = (N_("Tag"), N_("Severity"), N_("Route"), N_("Age"))
_LOW, _HIGH = (255, 236, 179), (198, 40, 40)  # few → many: pale amber to red


def heat_colour(n: int, most: int) -> str:
    if n <= 0 or most <= 0:
        return "#eceff1"
    t = 0.25 + 0.75 * n / most
    r, g, b = (round(lo + (hi - lo) * t) for lo, hi in zip(_LOW, _HIGH, strict=True))
    return f"#{r:02x}{g:02x}{b:02x}"


class HeatMapGrid(QWidget):
    """Top tags (rows) by day (columns), each cell coloured by its count, the count written in it."""

    def __init__(self, lang: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.lang = lang
        self.grid = QGridLayout(self)
        self.grid.setSpacing(3)
        self.grid.setContentsMargins(0, 0, 0, 0)
        self.cells: dict[tuple[str, int], QLabel] = {}
        self.heat: HeatMap | None = None

    def retranslate(self) -> None:
        if self.heat is not None:
            self._draw(self.heat)

    def show_heat(self, heat: HeatMap) -> None:
        if heat != self.heat:
            self._draw(heat)

    def _draw(self, heat: HeatMap) -> None:
        self.heat = heat
        while self.grid.count():
            item = self.grid.takeAt(0)
            widget = item.widget() if item is not None else None
            if widget is not None:
                widget.deleteLater()
        self.cells = {}
        if not heat.counts:
            self.grid.addWidget(self._label(translator(self.lang).gettext("No case this week")), 0, 0)
            return
        for col, day in enumerate(heat.days, start=1):
            self.grid.addWidget(self._label(day.strftime("%m-%d"), centre=True), 0, col)
        most = max((n for row in heat.counts.values() for n in row), default=0)
        for r, (tag, row) in enumerate(heat.counts.items(), start=1):
            name = self._label(named(CASE_TAGS, tag).text(self.lang))
            name.setToolTip(plain_tip(tag))  # the code, as rules and the CLI spell it
            self.grid.addWidget(name, r, 0)
            for col, n in enumerate(row):
                cell = self._label(str(n) if n else "", centre=True)
                dark = n > most / 2
                cell.setStyleSheet(f"background: {heat_colour(n, most)}; color: {'white' if dark else '#263238'};"
                                   " border-radius: 3px;")
                cell.setMinimumSize(34, 24)
                cell.setToolTip(plain_tip(f"{tag} · {heat.days[col]:%Y-%m-%d} · {n}"))
                self.cells[(tag, col)] = cell
                self.grid.addWidget(cell, r, col + 1)

    @staticmethod
    def _label(text: str, centre: bool = False) -> QLabel:
        label = PlainLabel(text)
        label.setFont(ui_font(12))
        if centre:
            label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        return label


class FilterBar(QWidget):
    """Tag, severity, route and age combo boxes; `changed` when any of them is."""

    changed = Signal()

    def __init__(self, lang: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.lang = lang
        grid = QGridLayout(self)  # two rows of two: the queue beside the details fits a 1280 px bench screen
        grid.setContentsMargins(0, 0, 0, 0)
        self.tag, self.severity, self.route, self.age = (QComboBox() for _ in range(4))
        self.captions = [PlainLabel() for _ in CAPTIONS]
        for i, (caption, combo) in enumerate(zip(self.captions, (self.tag, self.severity, self.route, self.age),
                                                 strict=True)):
            caption.setFont(ui_font(14))
            combo.setFont(ui_font(14))
            combo.setMinimumWidth(120)
            combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
            combo.setMinimumContentsLength(10)
            combo.setFocusPolicy(Qt.FocusPolicy.NoFocus)
            combo.currentIndexChanged.connect(self.changed)
            grid.addWidget(caption, i // 2, (i % 2) * 2)
            grid.addWidget(combo, i // 2, (i % 2) * 2 + 1)
        grid.setColumnStretch(1, 1)
        grid.setColumnStretch(3, 1)
        for key, _ in AGES:
            self.age.addItem(key, key)
        for combo in (self.tag, self.severity, self.route):
            combo.addItem("", None)
        self.role: str | None = None
        self.rows: list[CaseRow] = []
        self.retranslate()

    def retranslate(self) -> None:
        _ = translator(self.lang).gettext
        for caption, text in zip(self.captions, CAPTIONS, strict=True):
            caption.setText(_(text))
        for i, (key, _limit) in enumerate(AGES):
            self.age.setItemText(i, _(key))
        for combo in (self.tag, self.severity, self.route):
            combo.setItemText(0, _("all"))
        self.offer(self.rows, self.role)

    def offer(self, rows: Iterable[CaseRow], role: str | None) -> None:
        """Keep each combo's choices to the values in the queue (plus the current choice)."""
        rows = list(rows)
        self.rows, self.role = rows, role
        self._fill(self.tag, self._worded(CASE_TAGS, {r.tag for r in rows}))
        self._fill(self.severity, self._worded(SEVERITIES, {r.severity for r in rows}))
        routes = self._worded(ROLES, {r.route for r in rows})
        if role is not None:
            mine = translator(self.lang).gettext("mine ({role})")
            routes.insert(0, (mine.format(role=named(ROLES, role).text(self.lang)), MINE))
        self._fill(self.route, routes)

    def _worded(self, table: dict[str, str], codes: set[str]) -> list[tuple[str, str]]:
        """(words, code) per code: the combo shows the words and filters by the code."""
        return [(named(table, code).text(self.lang), code) for code in sorted(codes)]

    def _fill(self, combo: QComboBox, pairs: list[tuple[str, str]]) -> None:
        current = combo.currentData()
        if current is not None and current not in {data for _, data in pairs}:
            pairs.append((combo.currentText(), current))
        if [(combo.itemText(i), combo.itemData(i)) for i in range(1, combo.count())] == pairs:
            return
        combo.blockSignals(True)
        while combo.count() > 1:
            combo.removeItem(1)
        for text, data in pairs:
            combo.addItem(text, data)
        combo.setCurrentIndex(max(combo.findData(current), 0) if current is not None else 0)
        combo.blockSignals(False)

    def choose(self, combo: QComboBox, value: str | None) -> None:
        index = combo.findData(value)
        if index < 0:
            raise LookupError(f"no {value!r} to choose")
        combo.setCurrentIndex(index)

    def accepts(self, row: CaseRow, age: timedelta) -> bool:
        route = self.route.currentData()
        if route == MINE:
            route = self.role
        limit = dict(AGES)[self.age.currentData()]
        return ((self.tag.currentData() in (None, row.tag))
                and (self.severity.currentData() in (None, row.severity))
                and (route in (None, row.route))
                and (limit is None or age > limit))
