"""An alarm is the whole window even when a dialog is open: the window's dialogs wait behind the alarm
page and come back as they were (`ui.dialog_shelf`); scans meanwhile are answered on the alarm page."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from app.barcodes import Command, command_barcode
from app.i18n import Phrase
from app.store.handover_models import Handover
from tests.ui.keys import platform_scan
from tests.ui.test_handover_screen import PACKER, Bench
from tests.ui.test_ui_station import MUG, Scanner
from ui.app import Station
from ui.qt import QApplication, QDialog, QWidget

COURIER = "SFKD-0421"


def dialogs_on_screen() -> list[QWidget]:
    return [w for w in QApplication.topLevelWidgets() if isinstance(w, QDialog) and w.isVisible()]


@pytest.fixture(autouse=True)
def no_dialog_left(qtbot: QtBot) -> Iterator[None]:
    """A dialog is a window of its own: one a test leaves open outlives its station window."""
    yield
    for dialog in dialogs_on_screen():
        dialog.close()


def unplug_scanner(qtbot: QtBot, station: Station, alarm: bool) -> None:
    """The demo panel's cable: pulled (the scanner alarm shows) or plugged back (it clears)."""
    panel = station.window.demo_panel
    assert panel is not None
    panel.unplug.click()
    qtbot.waitUntil(lambda: station.window.alarm_shown is alarm)
    if alarm:  # the window takes the keys back from the dialog it hid (activation is asynchronous)
        qtbot.waitUntil(lambda: QApplication.focusWidget() is station.window.alarm_view)


def test_the_handovers_dialogs_wait_behind_an_alarm_and_come_back_as_they_were(
        qtbot: QtBot, station: Station, opened_files: list[Path]) -> None:
    window = station.window
    bench = Bench(qtbot, station)
    first, second, dialog = bench.asking_for_the_courier()
    screen = bench.handover
    qtbot.waitUntil(lambda: dialog.isAncestorOf(QApplication.focusWidget()))
    field = QApplication.focusWidget()
    dialog.setTextValue("SFKD")  # half typed when the scanner goes

    unplug_scanner(qtbot, station, alarm=True)
    assert dialogs_on_screen() == []
    bench.handover_scan(second, "accepted")  # answered on the alarm page, counted in the batch
    assert window.alarm_view.answer.text() == screen.banner.text() and screen.view.count == 2
    bench.handover_scan(COURIER, "not_a_tracking_number")  # no dialog on the screen to sign: a handover scan
    assert Handover.get().state == "open"

    unplug_scanner(qtbot, station, alarm=False)  # plugged back in: the dialog as it was, with the keys
    assert dialogs_on_screen() == [dialog] and dialog.textValue() == "SFKD"
    qtbot.waitUntil(lambda: QApplication.focusWidget() is field)
    bench.handover_scan(COURIER, "closed")  # the next scan goes to it
    assert Handover.get().courier == COURIER

    offer = screen.print_offer
    assert offer is not None and offer.isVisible()
    unplug_scanner(qtbot, station, alarm=True)
    assert dialogs_on_screen() == []
    bench.handover_scan(first, "no_batch")  # does not answer the offer nobody sees
    unplug_scanner(qtbot, station, alarm=False)
    assert dialogs_on_screen() == [offer]
    bench.handover_scan(command_barcode(Command.CONFIRM), "manifest_opened")
    assert opened_files == [screen.manifest_path]


def test_a_badge_the_runtime_took_for_the_dialog_just_before_an_alarm_hid_it_still_closes_the_batch(
        qtbot: QtBot, station: Station) -> None:
    bench = Bench(qtbot, station)
    bench.asking_for_the_courier()
    screen = bench.handover
    unplug_scanner(qtbot, station, alarm=True)
    seen = screen.seen
    screen.controller.courier_scanned.emit(COURIER)  # the badge's answer, arriving after the dialog was shelved
    qtbot.waitUntil(lambda: screen.seen > seen)
    assert screen.last_event == "closed" and Handover.get().courier == COURIER
    assert screen.print_offer is not None and dialogs_on_screen() == []  # the offer waits behind the alarm
    unplug_scanner(qtbot, station, alarm=False)
    assert dialogs_on_screen() == [screen.print_offer]


def test_a_label_enlarged_during_an_alarm_waits_until_it_clears(qtbot: QtBot, station: Station) -> None:
    window, screen = station.window, station.window.pack_screen
    scanner = Scanner(qtbot, station)
    scanner.scan(PACKER, "login")
    scanner.scan("TB2026112500002", "order_opened")
    scanner.scan(MUG, "label_printed")
    unplug_scanner(qtbot, station, alarm=True)
    preview_code = command_barcode(Command.PREVIEW)
    scanner.scan(preview_code, "label_enlarged")  # asked for during the alarm: answered on its page
    preview = screen.preview
    assert preview is not None and "放大" in window.alarm_view.answer.text()
    qtbot.waitUntil(lambda: window.dialogs.shelved != [] and QApplication.focusWidget() is window.alarm_view)
    assert dialogs_on_screen() == []
    unplug_scanner(qtbot, station, alarm=False)
    assert dialogs_on_screen() == [preview]
    scanner.scan(preview_code, "label_preview_closed")
    assert dialogs_on_screen() == []


def test_a_dialog_asked_for_during_an_alarm_never_blocks_the_scan_that_follows_it(
        qtbot: QtBot, station: Station) -> None:
    """Shown for even one event-loop turn, the courier's dialog would be window-modal and Qt would drop
    the wedge keys to the window behind it: the scan arriving in that very turn must be answered."""
    window = station.window
    bench = Bench(qtbot, station)
    _first, second, dialog = bench.asking_for_the_courier()
    dialog.reject()  # not yet: one more parcel
    screen = bench.handover
    qtbot.waitUntil(lambda: screen.courier_dialog is None and QApplication.focusWidget() is screen)
    unplug_scanner(qtbot, station, alarm=True)
    seen = screen.seen
    screen.close_button.click()  # the courier is asked for while the alarm shows …
    platform_scan(qtbot, second)  # … and the next parcel's keys arrive in the same turn
    qtbot.waitUntil(lambda: screen.seen > seen)
    assert screen.last_event == "accepted" and screen.view.count == 2
    assert window.alarm_view.answer.text() == screen.banner.text()
    assert dialogs_on_screen() == [] and [d for d, _focus in window.dialogs.shelved] == [screen.courier_dialog]
    unplug_scanner(qtbot, station, alarm=False)  # plugged back in: the courier is asked for now
    assert dialogs_on_screen() == [screen.courier_dialog]


@pytest.mark.parametrize("alarm", [False, True], ids=["shown", "shelved"])
def test_closing_the_window_rejects_every_dialog_it_opened_and_answers_none(
        qtbot: QtBot, station: Station, opened_files: list[Path], tmp_path: Path, alarm: bool) -> None:
    """Each dialog is a window of its own: one left open would stay on the screen after the station
    closed. Closing rejects them all, shown or waiting behind an alarm, and none acts on its answer."""
    window = station.window
    bench = Bench(qtbot, station)
    _first, _second, courier = bench.asking_for_the_courier()
    courier.setTextValue(COURIER)  # typed, not confirmed
    if alarm:
        unplug_scanner(qtbot, station, alarm=True)
    assert window.pack_screen.enlarge_label()
    assert window.triage_screen is not None
    window.triage_screen.show_evidence("TB-1", str(tmp_path / "TB-1.pdf"), True, Phrase(""))
    dialogs = [courier, window.pack_screen.preview, window.triage_screen.evidence_offer]
    results: list[int] = []
    for dialog in dialogs:
        assert dialog is not None
        dialog.finished.connect(results.append)
    assert len(dialogs_on_screen()) == (0 if alarm else 3)

    window.close()
    assert results == [QDialog.DialogCode.Rejected] * 3
    assert [w for w in QApplication.topLevelWidgets() if isinstance(w, QDialog) and w.isVisible()] == []
    assert window.dialogs.shelved == []
    handover = Handover.get()
    assert handover.state == "open" and not handover.courier and opened_files == []
