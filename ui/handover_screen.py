"""The handover screen (docs/architecture.md §9.4): scan parcels out to a carrier's courier.

Pick the carrier (a batch opens, or this station's unfinished one for that carrier resumes); from
then on every scan goes to the handover, not the pack flow, while this screen shows. Each scan
turns the banner green (accepted), amber (already in this batch) or red (refused); an intercepted
parcel (order cancelled or refunded after packing) gets its own unmistakable "拦截 INTERCEPT" form.
"Close batch" asks for the courier's name, writes DATA_DIR/manifests/<batch>.pdf and offers to
print it. Beside the batch: parcels to set aside, parcels overdue for handover, the waybill pools.

The screen decides nothing: `HandoverController` runs the service on the runtime thread, the
service judges each parcel, and the screen shows what comes back.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from app.barcodes import Command
from app.documents.command_sheet import TITLES
from app.handover import INTERCEPT_STATUSES, HandoverOutcome, Manifest
from app.i18n import N_, Words, translator
from app.pack.outcomes import Level
from app.waybills import carrier_label
from ui.dialog_shelf import on_screen, open_dialog
from ui.handover_controller import BatchView, HandoverController, HandoverStatus
from ui.handover_widgets import CarrierBar, HandoverBanner, OverduePanel, PoolPanel
from ui.qt import (
    QAbstractItemView,
    QBrush,
    QColor,
    QDesktopServices,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QInputDialog,
    QListWidget,
    QListWidgetItem,
    QMessageBox,
    QPushButton,
    Qt,
    QTableWidget,
    QTableWidgetItem,
    QUrl,
    QVBoxLayout,
    QWidget,
    Signal,
    isValid,
)
from ui.resources import ui_font
from ui.widgets import LEVEL_COLOURS, Panel, PlainLabel, PlainMessageBox

INTERCEPTS = frozenset(INTERCEPT_STATUSES.values())
SCAN_TO_PRINT = N_("(Scan “{confirm}” on the command sheet for yes; any other scan is no.)")
MANIFEST_OPENED = N_("Manifest opened for printing: {path}")
_JUST_ADDED = QColor("#dff3e3")


class HandoverScreen(QWidget):
    alarm = Signal(object)  # Level: the window sounds it (and flashes on errors)
    answered = Signal(str, object)  # every answer's text and Level, for the alarm page when it covers this screen

    def __init__(self, controller: HandoverController, carriers: list[str], lang: str, tz: str,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.controller = controller
        controller.setParent(self)
        self.lang = lang
        self.view = BatchView(None)
        self.last_event: str | None = None  # what the banner shows, by event name
        self.seen = 0  # results shown so far: something to wait on
        self.manifest_path: Path | None = None
        self.courier_dialog: QInputDialog | None = None
        self.print_offer: QMessageBox | None = None

        self.title = PlainLabel()
        self.title.setFont(ui_font(24, bold=True))
        self.title.setMinimumWidth(1)
        self.count = PlainLabel()
        self.count.setFont(ui_font(40, bold=True))
        self.carriers = CarrierBar(carriers, lang)
        self.banner = HandoverBanner(lang)
        self.parcels = self._build_parcels()
        self.remove_button = self._button(self._remove_selected)
        self.close_button = self._button(self._ask_courier)
        self.print_button = self._button(self.print_manifest)
        self.set_aside = QListWidget()
        self.set_aside.setFont(ui_font(15, bold=True))
        self.set_aside.setWordWrap(True)
        self.set_aside.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.set_aside.itemClicked.connect(self._dealt_with)
        self.overdue = OverduePanel(lang, tz)
        self.pools = PoolPanel(lang)

        header = QHBoxLayout()
        header.addWidget(self.title, 1)
        header.addWidget(self.count)
        buttons = QHBoxLayout()
        for button in (self.remove_button, self.close_button, self.print_button):
            buttons.addWidget(button)
        batch_box = QWidget()
        batch_layout = QVBoxLayout(batch_box)
        batch_layout.setContentsMargins(0, 0, 0, 0)
        batch_layout.addWidget(self.parcels, 1)
        batch_layout.addLayout(buttons)
        body = QGridLayout()
        self.panels = [Panel(batch_box), Panel(self.set_aside), Panel(self.pools)]
        body.addWidget(self.panels[0], 0, 0, 3, 1)
        body.addWidget(self.panels[1], 0, 1)
        body.addWidget(self.overdue, 1, 1)
        body.addWidget(self.panels[2], 2, 1)
        body.setColumnStretch(0, 1)
        body.setColumnStretch(1, 1)
        body.setRowStretch(0, 2)
        body.setRowStretch(1, 3)
        layout = QVBoxLayout(self)
        layout.addLayout(header)
        layout.addWidget(self.carriers)
        layout.addWidget(self.banner)
        layout.addLayout(body, 1)

        self.carriers.picked.connect(controller.open)
        controller.opened.connect(self.show_opened)
        controller.batch.connect(self.show_batch)
        controller.outcome.connect(self.show_outcome)
        controller.failed.connect(self.show_failure)
        controller.no_batch.connect(self.show_no_batch)
        controller.courier_scanned.connect(self._courier_scanned)
        controller.print_answered.connect(self._print_answered)
        controller.closed.connect(self.show_closed)
        controller.status.connect(self.show_status)
        # As on the pack screen: keys here are for the wedge, no input method, no child takes focus.
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        for widget in (self, *self.findChildren(QWidget)):
            widget.setAttribute(Qt.WidgetAttribute.WA_InputMethodEnabled, False)
            if widget is not self:
                widget.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.retranslate()

    def retranslate(self) -> None:
        """Word everything in `self.lang` (set by the window when the bench's language changes)."""
        _ = translator(self.lang).gettext
        for panel, heading in zip(self.panels, (_("Parcels in this batch"), _("Set aside — do not hand over"),
                                                _("Waybill numbers")), strict=True):
            panel.heading.setText(heading)
        self.parcels.setHorizontalHeaderLabels([_("No."), _("Tracking no."), _("Order"), _("Weight")])
        self.remove_button.setText(_("Take out"))
        self.close_button.setText(_("Close batch…"))
        self.print_button.setText(_("Print manifest"))
        self.banner.lang = self.lang  # the next intercept's head
        for part in (self.carriers, self.overdue, self.pools):
            part.lang = self.lang
            part.retranslate()
        self.show_batch(self.view)
        if self.banner.level is None:
            self.banner.show_message(_("Pick the carrier whose courier is here"), None)

    def _build_parcels(self) -> QTableWidget:
        table = QTableWidget(0, 4)
        table.setFont(ui_font(20))
        table.horizontalHeader().setFont(ui_font(15, bold=True))
        table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        table.horizontalHeader().setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        table.verticalHeader().hide()
        table.verticalHeader().setDefaultSectionSize(36)
        table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        return table

    def _button(self, on_click: Callable[[], None]) -> QPushButton:
        button = QPushButton()
        button.setFont(ui_font(18, bold=True))
        button.setMinimumHeight(48)
        button.clicked.connect(lambda _=False: on_click())
        return button

    # ----- shown and hidden by the window -----
    def activate(self) -> None:
        self.controller.set_active(True)

    def deactivate(self) -> None:
        self.controller.set_active(False)

    # ----- slots fed by the controller -----
    def show_batch(self, view: BatchView) -> None:
        self.view = view
        batch = view.batch
        _ = translator(self.lang).gettext
        if batch is None:
            self.title.setText(_("No batch open"))
            self.count.setText("")
        else:
            self.title.setText(_("{carrier} · {batch_id}").format(carrier=carrier_label(batch.carrier, self.lang),
                                                                 batch_id=batch.batch_id))
            self.count.setText(_("{count} parcels").format(count=view.count))
        self.carriers.set_current(batch.carrier if batch else None)
        self.remove_button.setEnabled(view.count > 0)
        self.close_button.setEnabled(batch is not None)
        self.print_button.setEnabled(self.manifest_path is not None)
        self._show_parcels()

    def show_opened(self, view: BatchView) -> None:
        previous = self.view.batch
        self.show_batch(view)
        assert view.batch is not None
        if previous is None or previous.batch_id != view.batch.batch_id:
            self.set_aside.clear()
        _ = translator(self.lang).gettext
        if view.batch.resumed:
            self._show("resumed", _("Unfinished batch {batch_id} resumed: {count} parcels in it").format(
                batch_id=view.batch.batch_id, count=view.count), Level.WARN)
        else:
            self._show("opened", _("Batch {batch_id} open — scan the parcels").format(batch_id=view.batch.batch_id),
                       Level.OK)

    def show_outcome(self, outcome: HandoverOutcome, view: BatchView) -> None:
        if outcome.refused:
            self._set_aside(outcome)
        elif outcome.event == "accepted":  # set aside before, in the batch now (e.g. under the right carrier)
            self._clear_aside(outcome.tracking_no or outcome.code)
        self._show(outcome.event, outcome.text(self.lang), outcome.level, intercept=outcome.event in INTERCEPTS)
        self.show_batch(view)

    def show_failure(self, words: Words, intercepted: tuple[HandoverOutcome, ...]) -> None:
        """The controller's refusal, in the language of whoever is at the bench now."""
        for outcome in intercepted:
            self._set_aside(outcome)
        failed = translator(self.lang).gettext("Handover: {message}").format(message=words.text(self.lang))
        texts = [o.text(self.lang) for o in intercepted] + [failed]
        self._show("failed", "\n".join(texts), Level.ERROR, intercept=bool(intercepted))

    def show_no_batch(self, code: str) -> None:
        text = translator(self.lang).gettext("{code}: pick the carrier first").format(code=code)
        self._show("no_batch", text, Level.WARN)

    def show_error(self, message: str) -> None:
        text = translator(self.lang).gettext("System error: {message}").format(message=message)
        self._show("system_error", text, Level.ERROR)

    def show_closed(self, manifest: Manifest, path: str) -> None:
        self.manifest_path = Path(path)
        self.show_batch(BatchView(None))
        for outcome in manifest.intercepted:
            self._set_aside(outcome)
        _ = translator(self.lang).gettext
        if manifest.intercepted:
            text = _("Handed over {count}; {pulled} INTERCEPTED — take them back from the courier").format(
                count=manifest.count, pulled=len(manifest.intercepted))
            self._show("closed", "\n".join([text, *(o.text(self.lang) for o in manifest.intercepted)]), Level.ERROR,
                       intercept=True)
        else:
            self._show("closed", _("Handed over: {count} parcels, batch {batch_id}").format(
                count=manifest.count, batch_id=manifest.batch_id), Level.OK)
        self._offer_print(manifest.batch_id)

    def show_status(self, status: HandoverStatus) -> None:
        self.overdue.show_status(status)
        self.pools.show_pools(status.pools, status.warnings)
        self.carriers.set_open_counts(status.open_batches)

    # ----- actions -----
    def _remove_selected(self) -> None:
        rows = self.parcels.selectionModel().selectedRows()
        if not rows or self.view.batch is None:
            self._show("select_first", translator(self.lang).gettext("Select a parcel in the list first"), Level.WARN)
            return
        cell = self.parcels.item(rows[0].row(), 1)
        if cell is not None:
            self.controller.remove(cell.text())

    def _ask_courier(self) -> None:
        _ = translator(self.lang).gettext
        dialog = QInputDialog(self)
        dialog.setWindowTitle(_("Close batch"))
        dialog.setLabelText(_("Scan the courier's badge, or type their name (printed on the manifest to sign):"))
        dialog.setFont(ui_font(20))
        dialog.textValueSelected.connect(self.controller.close_batch)
        on_screen(dialog, self.controller.expect_courier)  # not while an alarm keeps it off the screen
        dialog.finished.connect(lambda _result: self._dialog_done(dialog))
        dialog.finished.connect(dialog.deleteLater)
        self.courier_dialog = dialog
        open_dialog(dialog)

    def _courier_scanned(self, courier: str) -> None:
        """No keyboard at the bench: the courier's badge scan names them and closes the batch — also when
        an alarm hid the dialog after the runtime had taken the badge for it (the scan must not vanish)."""
        dialog = self.courier_dialog
        if dialog is not None and isValid(dialog):
            dialog.setTextValue(courier)
            dialog.accept()

    def _offer_print(self, batch_id: str) -> None:
        _ = translator(self.lang).gettext
        offer = _("Manifest {batch_id} saved to\n{path}\n\nOpen it now to print for the courier's signature?")
        by_scan = _(SCAN_TO_PRINT).format(confirm=_(TITLES[Command.CONFIRM]))
        box = PlainMessageBox(QMessageBox.Icon.Question, _("Print manifest"),
                              offer.format(batch_id=batch_id, path=self.manifest_path) + "\n" + by_scan,
                              QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No, self)
        box.setFont(ui_font(18))
        box.accepted.connect(self.print_manifest)
        on_screen(box, lambda shown: self.controller.expect_print_answer(batch_id if shown else None))
        box.finished.connect(lambda _result: self._dialog_done(box))
        box.finished.connect(box.deleteLater)
        self.print_offer = box
        open_dialog(box)

    def _print_answered(self, confirmed: bool) -> None:
        """No hands needed: CONFIRM scanned answers the offer yes; any other scan, no (and goes on as usual)."""
        box = self.print_offer
        if box is None or not isValid(box):  # answered already; shown or kept behind an alarm, it is open
            return
        box.button(QMessageBox.StandardButton.Yes if confirmed else QMessageBox.StandardButton.No).click()
        if confirmed:
            self._show("manifest_opened", translator(self.lang).gettext(MANIFEST_OPENED).format(
                path=self.manifest_path), Level.OK)

    def _dialog_done(self, dialog: QWidget) -> None:
        """A dialog answered or dismissed: no scan goes to it any more, and the keys come back here."""
        if self.courier_dialog is dialog:
            self.courier_dialog = None
        if self.print_offer is dialog:
            self.print_offer = None
        self._refocus()

    def _refocus(self) -> None:
        """A dialog gone: keys (and so wedge scans) go to this screen again, where no input method is."""
        if self.isVisible():
            self.window().activateWindow()
            self.setFocus()

    def print_manifest(self) -> None:
        # The system's PDF viewer prints it for now; a QPrinter path belongs with the system print queue.
        if self.manifest_path is not None:
            QDesktopServices.openUrl(QUrl.fromLocalFile(str(self.manifest_path)))

    # ----- drawing -----
    def _show(self, event: str, text: str, level: Level, intercept: bool = False) -> None:
        self.last_event = event
        self.seen += 1
        if intercept:
            self.banner.show_intercept(text)
        else:
            self.banner.show_message(text, level)
        self.answered.emit(text, level)
        self.alarm.emit(level)

    def _set_aside(self, outcome: HandoverOutcome) -> None:
        """One line per parcel to pull out (the latest reason): a parcel scanned twice is listed once."""
        code = outcome.tracking_no or outcome.code
        self._clear_aside(code)
        item = QListWidgetItem(outcome.text(self.lang))  # the message names the parcel
        item.setData(Qt.ItemDataRole.UserRole, code)
        item.setForeground(QBrush(QColor(LEVEL_COLOURS[Level.ERROR][0])))
        self.set_aside.insertItem(0, item)

    def _clear_aside(self, code: str) -> None:
        for row in reversed(range(self.set_aside.count())):
            item = self.set_aside.item(row)
            if item is not None and item.data(Qt.ItemDataRole.UserRole) == code:
                self.set_aside.takeItem(row)

    def _dealt_with(self, item: QListWidgetItem) -> None:
        """A touch on a line says the parcel was pulled out: the list keeps only what is still to do."""
        self.set_aside.takeItem(self.set_aside.row(item))
        self._refocus()

    def _show_parcels(self) -> None:
        lines = self.view.lines
        self.parcels.setRowCount(len(lines))
        for row, (number, line) in enumerate(reversed(list(enumerate(lines, start=1)))):  # newest on top
            cells = [str(number), line.tracking_no, line.order_id, f"{line.weight_g} g"]
            for column, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if column in (0, 3):
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                if row == 0 and self.last_event == "accepted":
                    item.setBackground(QBrush(_JUST_ADDED))
                self.parcels.setItem(row, column, item)
