"""The triage screen (docs/architecture.md §9.1): the exception-case queue and what to do about each.

A queue of live cases (open or acknowledged), filtered by tag, severity, route and age; the case
selected shows its SOP (with a copy button) and, for its order, an evidence-pack button. Acknowledge
and resolve (a note is required) act on every selected case at once. Below: this week's top tags per
day as a heat map. The mode button counts the open cases routed to the logged-in operator's role;
a badge above the queue (and beside the mode button) counts the open supervisor calls and the open
cases routed to supervisors, at every station whoever is logged in.

Acting on a case routed to supervisors or admins asks for a badge scan first (`TriageController.arm`):
the banner says whose badge it waits for, refuses any other with the reason, and names who acted.

The screen decides nothing: `TriageController` reads and writes on the runtime thread.
"""

from __future__ import annotations

from collections.abc import Callable
from zoneinfo import ZoneInfo

from app.calls_board import RemoteCall
from app.i18n import N_, Phrase, Words, localize, translator
from app.pack.outcomes import Level
from app.store.states import CaseState
from app.terms import CASE_STATES, CASE_TAGS, ROLES, SEVERITIES, named
from ui.dialog_shelf import open_dialog
from ui.qt import (
    QAbstractItemView,
    QApplication,
    QBrush,
    QColor,
    QDesktopServices,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QInputDialog,
    QMessageBox,
    QPlainTextEdit,
    QPushButton,
    Qt,
    QTableWidget,
    QTableWidgetItem,
    QUrl,
    QVBoxLayout,
    QWidget,
    Signal,
)
from ui.resources import ui_font
from ui.triage_controller import (
    NOTE_NEEDED,
    ActionResult,
    Armed,
    BadgeRefused,
    CaseRow,
    TriageController,
    TriageSnapshot,
)
from ui.triage_widgets import FilterBar, HeatMapGrid
from ui.widgets import LEVEL_COLOURS, Panel, PlainLabel, PlainMessageBox, plain_tip

COLUMNS = (N_("No."), N_("Opened"), N_("Order"), N_("Tag"), N_("Severity"), N_("Route"), N_("State"), N_("Title"))
SEVERITY_COLOURS = {"critical": "#c62828", "warning": "#b26a00", "info": "#455a64"}
CALLS_BADGE = N_("Supervisor calls: {calls} · open for supervisors: {cases}")
CALLS_ELSEWHERE = N_("called at {stations}")
SCAN_TO_ACT = {"acknowledged": N_("Scan the badge of a {role} or above to acknowledge {count} case(s)"),
               "resolved": N_("Scan the badge of a {role} or above to resolve {count} case(s)")}
REFUSED = N_("Refused: {reason}. Still waiting for a badge of a {role} or above.")
ACTED_BY = N_("{done} — by {actor}")
SELECT_FIRST = N_("Select one or more cases first")
IDLE = N_("Exception cases — select one or more to act on them")


class TriageScreen(QWidget):
    alarm = Signal(object)  # Level: the window sounds it (and flashes on errors)
    answered = Signal(str, object)  # every answer's text and Level, for the alarm page when it covers this screen
    badge = Signal(int)  # open cases routed to the logged-in operator's role
    calls_badge = Signal(int, int)  # open supervisor calls, open cases routed to supervisors or admins

    def __init__(self, controller: TriageController, lang: str, tz: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.controller = controller
        self.lang = lang
        self.zone = ZoneInfo(tz)
        self.snapshot: TriageSnapshot | None = None
        self.shown: list[CaseRow] = []
        self.last_event = ""
        self.seen = 0
        self.note_dialog: QInputDialog | None = None
        self.evidence_offer: QMessageBox | None = None
        self.evidence_path: str | None = None

        self.banner = PlainLabel()
        self.banner.setFont(ui_font(20, bold=True))
        self.banner.setWordWrap(True)
        self.banner.setMinimumHeight(48)
        self.calls = PlainLabel()
        self.calls.setFont(ui_font(16, bold=True))
        self.waiting: Armed | None = None
        self.filters = FilterBar(lang)
        self.filters.changed.connect(self._show_rows)
        self.queue = self._build_queue()
        self.queue_title = PlainLabel()
        self.queue_title.setFont(ui_font(16, bold=True))
        left = QVBoxLayout()
        left.addWidget(self.filters)
        left.addWidget(self.queue_title)
        left.addWidget(self.queue, 1)

        self.case_title = PlainLabel()
        self.case_title.setFont(ui_font(16, bold=True))
        self.case_title.setWordWrap(True)
        self.case_meta = PlainLabel()
        self.case_meta.setFont(ui_font(13))
        self.case_meta.setWordWrap(True)
        self.sop = QPlainTextEdit()
        self.sop.setReadOnly(True)
        self.sop.setFont(ui_font(14))
        self.copy_button = self._button(self._copy)
        self.ack_button = self._button(self._acknowledge)
        self.resolve_button = self._button(self._ask_note)
        self.evidence_button = self._button(self._evidence)
        buttons = QGridLayout()
        buttons.addWidget(self.ack_button, 0, 0)
        buttons.addWidget(self.resolve_button, 0, 1)
        buttons.addWidget(self.copy_button, 1, 0)
        buttons.addWidget(self.evidence_button, 1, 1)
        details = QWidget()
        column = QVBoxLayout(details)
        column.setContentsMargins(0, 0, 0, 0)
        column.addWidget(self.case_title)
        column.addWidget(self.case_meta)
        self.sop_caption = PlainLabel()
        self.sop_caption.setFont(ui_font(13, bold=True))
        column.addWidget(self.sop_caption)
        column.addWidget(self.sop, 1)
        column.addLayout(buttons)
        self.heat = HeatMapGrid(lang)
        right = QVBoxLayout()
        self.panels = [Panel(details), Panel(self.heat)]
        right.addWidget(self.panels[0], 3)
        right.addWidget(self.panels[1], 0)

        body = QHBoxLayout()
        body.addLayout(left, 3)
        body.addLayout(right, 2)
        layout = QVBoxLayout(self)
        layout.addWidget(self.banner)
        layout.addWidget(self.calls)
        layout.addLayout(body, 1)
        self.banner_level: Level | None = None
        self.retranslate()

        controller.snapshot.connect(self.show_snapshot)
        controller.acted.connect(self.show_result)
        controller.evidence_written.connect(self.show_evidence)
        controller.failed.connect(self.show_failure)
        controller.armed.connect(self.show_armed)
        controller.refused.connect(self.show_refused)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)

    def retranslate(self) -> None:
        """Word everything in `self.lang` (set by the window when the bench's language changes)."""
        _ = translator(self.lang).gettext
        for panel, heading in zip(self.panels, (_("Case"), _("This week: top tags per day")), strict=True):
            panel.heading.setText(heading)
        self.sop_caption.setText(_("What to do (SOP)"))
        self.queue.setHorizontalHeaderLabels([_(column) for column in COLUMNS])
        self.copy_button.setText(_("Copy"))
        self.ack_button.setText(_("Acknowledge"))
        self.resolve_button.setText(_("Resolve…"))
        self.evidence_button.setText(_("Evidence pack"))
        for part in (self.filters, self.heat):
            part.lang = self.lang
            part.retranslate()
        if self.banner_level is None:  # the idle prompt (an answer stays as it was worded)
            self._banner("", None)
        if self.snapshot is not None:
            self._show_calls(self.snapshot.calls, self.snapshot.for_supervisors, self.snapshot.elsewhere)
        self._show_rows()
        self._show_details()

    def _build_queue(self) -> QTableWidget:
        table = QTableWidget(0, len(COLUMNS))
        table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        table.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        table.verticalHeader().setVisible(False)
        table.setFont(ui_font(12))
        table.setWordWrap(False)
        header = table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(len(COLUMNS) - 1, QHeaderView.ResizeMode.Stretch)  # the title: what is left
        header.setMinimumSectionSize(40)
        table.itemSelectionChanged.connect(self._show_details)
        return table

    def _button(self, on_click: Callable[[], None]) -> QPushButton:
        button = QPushButton()
        button.setFont(ui_font(15, bold=True))
        button.setMinimumHeight(40)
        button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        button.clicked.connect(on_click)
        return button

    # ----- from the controller -----
    def show_snapshot(self, snapshot: TriageSnapshot) -> None:
        self.snapshot = snapshot
        self.filters.offer(snapshot.rows, snapshot.role)
        self._show_rows()
        self.heat.show_heat(snapshot.heat)
        self.badge.emit(snapshot.badge)
        self._show_calls(snapshot.calls, snapshot.for_supervisors, snapshot.elsewhere)

    def _show_calls(self, calls: int, cases: int, elsewhere: tuple[RemoteCall, ...]) -> None:
        text = self._words(CALLS_BADGE, calls=calls, cases=cases)
        if elsewhere:
            where = ", ".join(f"{c.station} ({c.order_id})" if c.order_id else c.station for c in elsewhere)
            text += " — " + self._words(CALLS_ELSEWHERE, stations=where)
        self.calls.setText(text)
        colour = "#c62828" if calls else ("#b26a00" if cases else "#455a64")
        self.calls.setStyleSheet(f"color: {colour};")
        self.calls_badge.emit(calls, cases)

    def show_result(self, result: ActionResult) -> None:
        _ = translator(self.lang).gettext
        if result.errors:
            self._show("partly", _("{done} done; refused: {errors}").format(done=len(result.done),
                                                                          errors=localize(result.errors, self.lang)),
                       Level.ERROR)
        else:
            acted = _("Acknowledged: {count}") if result.state == CaseState.ACKNOWLEDGED else _("Resolved: {count}")
            done = acted.format(count=len(result.done))
            self._show(result.state, self._words(ACTED_BY, done=done, actor=result.actor) if result.actor else done,
                       Level.OK)

    def show_armed(self, armed: Armed | None) -> None:
        """Waiting for a badge (the banner says whose), or no longer."""
        self.waiting = armed
        if armed is not None:
            self._show("badge_wanted", self._words(SCAN_TO_ACT[armed.state], role=self._role(armed.role),
                                                   count=len(armed.case_ids)), Level.WARN)

    def show_refused(self, refused: BadgeRefused) -> None:
        role = self._role(self.waiting.role) if self.waiting is not None else ""
        self._show("badge_refused", self._words(REFUSED, reason=refused.reason.text(self.lang), role=role), Level.ERROR)

    def deactivate(self) -> None:
        """The screen is left: an action waiting for a badge is called off, scans go to the pack flow."""
        self.controller.disarm()

    def _words(self, msgid: str, **values: object) -> str:
        return translator(self.lang).gettext(msgid).format(**values)

    def _codes(self, row: CaseRow) -> tuple[str, str, str, str]:
        """A case's tag, severity, route and state as a person reads them (codes stay in the store)."""
        return (named(CASE_TAGS, row.tag).text(self.lang), named(SEVERITIES, row.severity).text(self.lang),
                named(ROLES, row.route).text(self.lang), named(CASE_STATES, row.state).text(self.lang))

    def _role(self, role: str) -> str:
        return named(ROLES, role).text(self.lang)

    def show_evidence(self, order_id: str, path: str, chain_ok: bool, problem: Phrase) -> None:
        self.evidence_path = path
        _ = translator(self.lang).gettext
        if chain_ok:
            self._show("evidence", _("Evidence pack {order_id} saved: {path}").format(order_id=order_id, path=path),
                       Level.OK)
        else:
            broken = _("AUDIT CHAIN BROKEN — {problem}. Pack {order_id} saved: {path}")
            detail = problem.text(self.lang) or "?"
            self._show("evidence_chain_broken", broken.format(order_id=order_id, path=path, problem=detail),
                       Level.ERROR)
        box = PlainMessageBox(QMessageBox.Icon.Warning if not chain_ok else QMessageBox.Icon.Question,
                              _("Evidence pack"), _("Evidence pack saved to\n{path}\n\nOpen it now?").format(path=path),
                              QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No, self)
        box.setFont(ui_font(16))
        box.accepted.connect(self.open_evidence)
        box.finished.connect(box.deleteLater)
        self.evidence_offer = box
        open_dialog(box)

    def show_error(self, message: str) -> None:
        text = translator(self.lang).gettext("Exceptions: {message}").format(message=message)
        self._show("error", text, Level.ERROR)

    def show_failure(self, words: Words) -> None:
        """The controller's refusal, in the language of whoever is at the bench now."""
        self.show_error(words.text(self.lang))

    def open_evidence(self) -> None:
        if self.evidence_path is not None:
            QDesktopServices.openUrl(QUrl.fromLocalFile(self.evidence_path))

    # ----- the queue -----
    def _show_rows(self) -> None:
        snapshot = self.snapshot
        if snapshot is None:
            return
        chosen = set(self.selected_ids())
        self.shown = [r for r in snapshot.rows if self.filters.accepts(r, snapshot.as_of - r.opened_at)]
        table = self.queue
        table.blockSignals(True)
        table.clearSelection()
        table.setRowCount(len(self.shown))
        for i, row in enumerate(self.shown):
            opened = row.opened_at.astimezone(self.zone).strftime("%m-%d %H:%M")
            title = row.title.text(self.lang)
            values = (str(row.id), opened, row.order_id, *self._codes(row), title)
            for col, value in enumerate(values):
                item = QTableWidgetItem(value)
                item.setData(Qt.ItemDataRole.UserRole, row.id)
                item.setToolTip(plain_tip(title))
                if col == 4:
                    item.setForeground(QBrush(QColor(SEVERITY_COLOURS.get(row.severity, "#263238"))))
                if row.state == CaseState.OPEN:
                    font = item.font()
                    font.setBold(True)
                    item.setFont(font)
                table.setItem(i, col, item)
        for i, row in enumerate(self.shown):
            if row.id in chosen:
                self._add_row_to_selection(i)
        table.blockSignals(False)
        queue = translator(self.lang).gettext("Exception cases: {shown} of {total}")
        self.queue_title.setText(queue.format(shown=len(self.shown), total=snapshot.total))
        self._show_details()

    def _add_row_to_selection(self, i: int) -> None:
        model = self.queue.selectionModel()
        index = self.queue.model().index(i, 0)
        model.select(index, model.SelectionFlag.Select | model.SelectionFlag.Rows)

    def selected_ids(self) -> list[int]:
        rows = sorted({index.row() for index in self.queue.selectionModel().selectedRows()})
        return [self.shown[r].id for r in rows if r < len(self.shown)]

    def select_ids(self, ids: list[int]) -> None:
        self.queue.clearSelection()
        for i, row in enumerate(self.shown):
            if row.id in ids:
                self._add_row_to_selection(i)

    def selected_rows(self) -> list[CaseRow]:
        ids = set(self.selected_ids())
        return [r for r in self.shown if r.id in ids]

    def _show_details(self) -> None:
        rows = self.selected_rows()
        one = rows[0] if len(rows) == 1 else None
        if one is not None:
            self.case_title.setText(f"#{one.id} {one.title.text(self.lang)}")
            meta = list(self._codes(one))
            if one.order_id:
                meta.insert(0, one.order_id)
            if one.acked_by:
                meta.append(f"✓ {one.acked_by}")
            detail = one.detail.text(self.lang)
            self.case_meta.setText(" · ".join(meta) + (f"\n{detail}" if detail else ""))
            self.sop.setPlainText(one.sop.text(self.lang))
        else:
            _ = translator(self.lang).gettext
            self.case_title.setText(_("{count} cases selected").format(count=len(rows)) if rows
                                    else _("Select a case in the queue"))
            self.case_meta.setText("")
            self.sop.setPlainText("")
        self.copy_button.setEnabled(one is not None and bool(one.sop.message))
        self.evidence_button.setEnabled(one is not None and bool(one.order_id))
        self.ack_button.setEnabled(any(r.state == CaseState.OPEN for r in rows))
        self.resolve_button.setEnabled(bool(rows))

    # ----- actions -----
    def _copy(self) -> None:
        rows = self.selected_rows()
        if len(rows) == 1:
            QApplication.clipboard().setText(rows[0].sop.text(self.lang))
            self._show("copied", translator(self.lang).gettext("SOP copied"), Level.OK)

    def _acknowledge(self) -> None:
        ids = [r.id for r in self.selected_rows() if r.state == CaseState.OPEN]
        if not ids:
            self._show("select_first", translator(self.lang).gettext(SELECT_FIRST), Level.WARN)
            return
        self.controller.acknowledge(ids)

    def _ask_note(self) -> None:
        ids = self.selected_ids()
        _ = translator(self.lang).gettext
        if not ids:
            self._show("select_first", _(SELECT_FIRST), Level.WARN)
            return
        dialog = QInputDialog(self)
        dialog.setWindowTitle(_("Resolve"))
        dialog.setLabelText(_("What was done (required, read by the next person):"))
        dialog.setOption(QInputDialog.InputDialogOption.UsePlainTextEditForTextInput)
        dialog.setFont(ui_font(16))
        dialog.textValueSelected.connect(lambda note: self.resolve(ids, note))
        dialog.finished.connect(dialog.deleteLater)
        self.note_dialog = dialog
        open_dialog(dialog)

    def resolve(self, ids: list[int], note: str) -> None:
        if not note.strip():
            self._show("note_needed", translator(self.lang).gettext(NOTE_NEEDED), Level.ERROR)
            return
        self.controller.resolve(ids, note)

    def _evidence(self) -> None:
        rows = self.selected_rows()
        _ = translator(self.lang).gettext
        if len(rows) != 1 or not rows[0].order_id:
            self._show("no_order", _("This case has no order"), Level.WARN)
            return
        self._banner(_("Writing the evidence pack for {order_id}…").format(order_id=rows[0].order_id), None)
        self.controller.evidence(rows[0].order_id)

    def show_scan_outcome(self, event: str, text: str, level: Level) -> None:
        """A scan made while this screen shows (a badge logging in, an order) goes to the pack flow;
        its answer shows here, where the person looks. The window sounds it as on the pack screen."""
        self._show(event, text, level, sound=False)

    # ----- drawing -----
    def _show(self, event: str, text: str, level: Level, sound: bool = True) -> None:
        self.last_event = event
        self.seen += 1
        self._banner(text, level)
        self.answered.emit(text, level)
        if sound and level is not Level.OK:
            self.alarm.emit(level)

    def _banner(self, text: str, level: Level | None) -> None:
        self.banner_level = level
        background, colour = LEVEL_COLOURS[level]
        self.banner.setStyleSheet(f"background: {background}; color: {colour}; border-radius: 8px; padding: 8px;")
        self.banner.setText(text or translator(self.lang).gettext(IDLE))
