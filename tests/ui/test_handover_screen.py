"""The handover screen driven end to end: pack at the bench, switch to handover, scan a batch out to SF's
courier (wedge and simulated scanner), intercept a cancelled order, close with a manifest, switch back."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from pypdf import PdfReader
from pytestqt.qtbot import QtBot

from app.barcodes import Command, command_barcode
from app.clock import FakeClock
from app.config import StationConfig, save_config
from app.demo import ORDERS, product_barcode
from app.handover import HandoverOutcome
from app.pack.outcomes import Level
from app.store.handover_models import Handover, HandoverItem
from app.store.models import AuditEntry, Order, ScanEvent, Shipment
from tests.test_message_languages import foreign_latin
from tests.ui.keys import SCANNER_MS, type_keys
from ui.app import Station, build_station
from ui.handover_controller import REFRESH_MS
from ui.handover_screen import HandoverScreen
from ui.main_window import HANDOVER, PACK
from ui.qt import QApplication, QInputDialog, Qt, QWidget, isValid
from ui.screenshot import shoot_handover

PACKER = "B-1001"
FIRST, SECOND, CANCELLED = ORDERS[0][0], ORDERS[1][0], ORDERS[2][0]


class Bench:
    """The station's two scanners: the simulated one (the configured device) and a keyboard wedge."""

    def __init__(self, qtbot: QtBot, station: Station) -> None:
        self.qtbot = qtbot
        self.station = station
        self.ts = 10_000

    @property
    def handover(self) -> HandoverScreen:
        screen = self.station.window.handover_screen
        assert screen is not None
        return screen

    def pack_scan(self, code: str, until: str) -> None:
        screen = self.station.window.pack_screen
        seen = screen.recent.count()
        self.station.opened.devices.scanner.feed(code)
        self.qtbot.waitUntil(lambda: screen.last_event == until and screen.recent.count() > seen)

    def pack(self, order_id: str) -> str:
        """Pack a demo order through the pack flow; its tracking number."""
        self.pack_scan(order_id, "order_opened")
        codes = [product_barcode(sku) for sku, qty in next(o[5] for o in ORDERS if o[0] == order_id)
                 for _ in range(qty)]
        for code in codes[:-1]:
            self.pack_scan(code, "item_ok")
        self.pack_scan(codes[-1], "label_printed")
        return str(Shipment.get(Shipment.order == Order.get(Order.order_id == order_id)).tracking_no)

    def wedge(self, code: str) -> None:
        self.ts = type_keys(code, self.ts, SCANNER_MS) + 1_000

    def handover_scan(self, code: str, until: str, wedge: bool = True) -> None:
        seen = self.handover.seen
        if wedge:
            self.wedge(code)
        else:
            self.station.opened.devices.scanner.feed(code)
        self.qtbot.waitUntil(lambda: self.handover.seen > seen)
        assert self.handover.last_event == until, self.handover.banner.text()

    def click(self, button: object, until: str) -> None:
        seen = self.handover.seen
        button.click()  # type: ignore[attr-defined]
        self.qtbot.waitUntil(lambda: self.handover.seen > seen)
        assert self.handover.last_event == until, self.handover.banner.text()

    def switch(self, mode: str) -> None:
        window = self.station.window
        window.mode_buttons[mode].click()
        target = self.handover if mode == HANDOVER else window.pack_screen
        self.qtbot.waitUntil(lambda: QApplication.focusWidget() is target)

    def asking_for_the_courier(self) -> tuple[str, str, QInputDialog]:
        """FIRST and SECOND packed, FIRST scanned into an SF batch, and closing it asks for the courier:
        the two tracking numbers and the dialog."""
        self.pack_scan(PACKER, "login")
        first, second = self.pack(FIRST), self.pack(SECOND)
        self.switch(HANDOVER)
        screen = self.handover
        self.click(screen.carriers.buttons["SF"], "opened")
        self.handover_scan(first, "accepted")
        screen.close_button.click()
        dialog = screen.courier_dialog
        assert dialog is not None and dialog.isVisible()
        return first, second, dialog

    def on_runtime(self, fn: object) -> None:
        self.station.runtime.call(fn)  # type: ignore[arg-type]
        assert self.station.runtime.wait_idle(5)


def parcels_shown(screen: HandoverScreen) -> list[str]:
    return [screen.parcels.item(row, 1).text() for row in range(screen.parcels.rowCount())]


def test_a_whole_batch_out_to_sf(qtbot: QtBot, station: Station, tmp_path: Path) -> None:
    bench = Bench(qtbot, station)
    bench.pack_scan(PACKER, "login")
    first, second, cancelled = bench.pack(FIRST), bench.pack(SECOND), bench.pack(CANCELLED)
    bench.on_runtime(lambda: Order.update(status="cancelled").where(Order.order_id == CANCELLED).execute())
    pack_events = ScanEvent.select().count()

    bench.switch(HANDOVER)
    screen = bench.handover
    station.runtime.wait_idle(2)
    assert station.window.stack.currentWidget() is screen and station.runtime.scans_diverted
    ime = Qt.WidgetAttribute.WA_InputMethodEnabled  # an input method would eat wedge scans
    assert not [w for w in (screen, *screen.findChildren(QWidget)) if w.testAttribute(ime)]
    bench.handover_scan(first, "no_batch")  # before a carrier is picked: nothing happens but a hint
    assert screen.banner.level is Level.WARN and "请先选择快递公司" in screen.banner.text()

    bench.click(screen.carriers.buttons["SF"], "opened")
    batch_id = Handover.get().batch_id
    assert batch_id in screen.title.text() and "顺丰速运" in screen.title.text()
    assert screen.carriers.buttons["SF"].isChecked()

    bench.handover_scan(first, "accepted")  # the wedge
    bench.handover_scan(second, "accepted", wedge=False)  # the configured (simulated) scanner
    assert screen.banner.level is Level.OK and "已登记" in screen.banner.text()
    assert screen.count.text() == "2 件" and parcels_shown(screen) == [second, first]  # newest on top
    assert [screen.parcels.item(0, c).text() for c in (2, 3)] == [SECOND, "470 g"]

    bench.handover_scan(first, "already_in_this_batch")  # the same label twice: amber, nothing added
    assert screen.banner.level is Level.WARN and screen.count.text() == "2 件"

    bench.handover_scan(cancelled, "intercept_cancelled")
    assert screen.banner.level is Level.ERROR and screen.banner.intercept
    assert ">拦截<" in screen.banner.text() and CANCELLED in screen.banner.text()
    assert station.window.flash.isVisible()
    assert cancelled in screen.set_aside.item(0).text() and screen.count.text() == "2 件"
    bench.handover_scan(cancelled, "intercept_cancelled")  # scanned again: still one line to deal with
    assert screen.set_aside.count() == 1
    aside = screen.set_aside
    qtbot.mouseClick(aside.viewport(), Qt.MouseButton.LeftButton, pos=aside.visualItemRect(aside.item(0)).center())
    assert aside.count() == 0  # a touch: pulled out, dealt with
    stray = "SF9999999999999"  # set aside, then taken into the batch after all: no longer to pull out
    screen.show_outcome(HandoverOutcome("unknown_parcel", stray, batch_id, stray), screen.view)
    assert aside.count() == 1
    screen.show_outcome(HandoverOutcome("accepted", stray, batch_id, stray, detail={"count": 3}), screen.view)
    assert aside.count() == 0

    # Take one out again (select + button), then scan it back in.
    screen.parcels.selectRow(parcels_shown(screen).index(second))
    bench.click(screen.remove_button, "removed")
    assert parcels_shown(screen) == [first]
    bench.handover_scan(second, "accepted", wedge=False)

    # None of that reached the pack flow.
    assert ScanEvent.select().count() == pack_events
    assert HandoverItem.select().count() == 2

    # Close: the courier's name, the manifest PDF, the offer to print it.
    screen.close_button.click()
    dialog = screen.courier_dialog
    assert dialog is not None and dialog.isVisible()
    bench.handover_scan("SFKD-0421", "closed", wedge=False)  # the courier's badge: no keyboard needed
    assert screen.banner.level is Level.OK, screen.banner.text()  # the dialog accepted and went
    pdf = tmp_path / "manifests" / f"{batch_id}.pdf"
    assert screen.manifest_path == pdf and pdf.exists()
    text = "".join(page.extract_text() for page in PdfReader(pdf).pages)
    assert first in text and second in text and "SFKD-0421" in text and cancelled not in text
    assert Handover.get().state == "closed" and Handover.get().courier == "SFKD-0421"
    offer = screen.print_offer
    assert offer is not None and offer.isVisible() and str(pdf) in offer.text()
    bench.handover_scan(first, "no_batch")  # any scan but CONFIRM says no, and is taken as usual
    assert not isValid(offer) or not offer.isVisible()
    assert screen.print_button.isEnabled() and not screen.close_button.isEnabled()

    # A parcel of the closed batch, scanned into the next one: refused red.
    bench.click(screen.carriers.buttons["SF"], "opened")
    bench.handover_scan(first, "already_handed_over")
    assert screen.banner.level is Level.ERROR and not screen.banner.intercept and batch_id in screen.banner.text()

    # Back at the bench, scans reach the pack flow again.
    bench.switch(PACK)
    station.runtime.wait_idle(2)
    assert not station.runtime.scans_diverted
    bench.wedge(FIRST)
    pack_screen = station.window.pack_screen
    qtbot.waitUntil(lambda: pack_screen.last_event == "order_already_shipped")
    assert ScanEvent.select().count() == pack_events + 1
    assert ScanEvent.select().order_by(ScanEvent.id.desc()).get().source == "wedge"


def test_a_parcel_scanned_while_the_close_dialog_waits_for_the_courier_goes_into_the_batch(
        qtbot: QtBot, station: Station) -> None:
    """A parcel found late, scanned while the courier's badge is asked for, is a parcel: in the batch and on
    the manifest, never signed for as the courier's name; the dialog keeps asking until the badge comes."""
    bench = Bench(qtbot, station)
    _, second, dialog = bench.asking_for_the_courier()
    screen = bench.handover
    bench.handover_scan(second, "accepted")
    bench.handover_scan(product_barcode("TEA-LJ-250"), "not_a_tracking_number")
    assert dialog.isVisible() and screen.view.count == 2 and Handover.get().state == "open"
    bench.handover_scan("SFKD-0421", "closed")
    assert Handover.get().courier == "SFKD-0421" and HandoverItem.select().count() == 2


def test_the_offer_to_print_the_manifest_is_answered_by_a_scan(qtbot: QtBot, station: Station,
                                                                 opened_files: list[Path]) -> None:
    """CONFIRM from the command sheet says yes (the manifest opens to print; the scan is recorded)."""
    bench = Bench(qtbot, station)
    bench.pack_scan(PACKER, "login")
    first = bench.pack(FIRST)
    bench.switch(HANDOVER)
    screen = bench.handover
    bench.click(screen.carriers.buttons["SF"], "opened")
    bench.handover_scan(first, "accepted")
    screen.close_button.click()
    bench.handover_scan("SFKD-0421", "closed")
    offer = screen.print_offer
    assert offer is not None and offer.isVisible() and "确认" in offer.text()
    bench.handover_scan(command_barcode(Command.CONFIRM), "manifest_opened")
    assert not isValid(offer) or not offer.isVisible()
    assert opened_files == [screen.manifest_path] and str(screen.manifest_path) in screen.banner.text()
    fact = AuditEntry.select().where(AuditEntry.kind == "handover.manifest_opened").get()
    assert json.loads(fact.payload)["batch_id"] == Handover.get().batch_id


def test_a_refusal_is_worded_in_the_benchs_language(qtbot: QtBot, station: Station) -> None:
    """A HandoverError reaches the screen as words, not its English line: the batch closed elsewhere (the
    CLI, another window) refuses the next scan in Chinese, and in English once the bench speaks English."""
    bench = Bench(qtbot, station)
    bench.pack_scan(PACKER, "login")
    first = bench.pack(FIRST)
    bench.switch(HANDOVER)
    screen = bench.handover

    def refused(lang: str) -> tuple[str, str]:
        """The banner when a scan meets the batch closed elsewhere, with the bench in `lang`; the batch."""
        screen.lang = lang
        bench.click(screen.carriers.buttons["SF"], "opened")
        batch_id = str(Handover.select().order_by(Handover.id.desc()).get().batch_id)
        bench.on_runtime(lambda: Handover.update(state="closed").execute())
        bench.handover_scan(first, "failed")
        return screen.banner.text(), batch_id

    chinese, batch_id = refused("zh_CN")
    assert "已关闭" in chinese and batch_id in chinese
    assert not foreign_latin(chinese, {"batch": batch_id}), chinese
    english, batch_id = refused("en")
    assert f"handover batch {batch_id} is closed; open a new one" in english


@pytest.fixture
def low_pool_station(qapp: QApplication, qtbot: QtBot, tmp_path: Path, clock: FakeClock) -> Iterator[Station]:
    """A demo station whose pools (200 numbers a carrier) run below a low-water mark of 300."""
    save_config(tmp_path, StationConfig(waybill_low_water=300, handover_overdue_hours=12))
    station = build_station(tmp_path, clock=clock, retry_seconds=0.05)
    station.start()
    try:
        qtbot.waitExposed(station.window)
        station.window.activateWindow()
        qtbot.waitUntil(lambda: QApplication.focusWidget() is station.window.pack_screen)
        yield station
    finally:
        station.close()


def test_overdue_parcels_and_low_pools(qtbot: QtBot, low_pool_station: Station, clock: FakeClock) -> None:
    station = low_pool_station
    bench = Bench(qtbot, station)
    bench.pack_scan(PACKER, "login")
    old = bench.pack(FIRST)
    clock.advance(hours=13)
    recent = bench.pack(SECOND)
    bench.switch(HANDOVER)
    screen = bench.handover
    qtbot.waitUntil(lambda: screen.overdue.tracking_nos == [old])  # refreshed as the screen shows
    assert "12 小时" in screen.overdue.heading.text() and "1 件" in screen.overdue.heading.text()
    assert screen.overdue.table.item(0, 2).text() == "13.0 h"
    assert [level for _, level in screen.pools.lines] == [Level.WARN, Level.WARN]
    assert "顺丰速运 运单号仅剩 198 个" in screen.pools.lines[0][0]

    # Every few minutes while the screen shows; the query runs on the runtime thread.
    assert screen.controller.timer.isActive() and screen.controller.timer.interval() == REFRESH_MS
    clock.advance(hours=13)
    screen.controller.timer.timeout.emit()
    qtbot.waitUntil(lambda: screen.overdue.tracking_nos == [old, recent])
    bench.switch(PACK)
    assert not screen.controller.timer.isActive()


def test_handover_screenshot_shows_an_intercept_mid_batch(qtbot: QtBot, tmp_path: Path) -> None:
    out = tmp_path / "handover.png"
    shoot_handover(out)
    from ui.qt import QImage

    assert QImage(str(out)).width() == 1280
