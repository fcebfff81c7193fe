"""The pack screen driven end to end: wedge keys → runtime thread → bridge → screen."""

from __future__ import annotations

import io
import threading
from pathlib import Path

from pytestqt.qtbot import QtBot

from app.clock import FakeClock
from app.config import StationConfig, save_config
from app.demo import product_barcode
from app.devices import DeviceState
from app.pack.outcomes import Level
from app.store.models import ScanEvent, Shipment
from tests.ui.keys import HUMAN_MS, SCANNER_MS, type_keys
from ui.app import Station, build_station
from ui.qt import QApplication, QDialog, QLineEdit, Qt, QVBoxLayout, QWidget

PACKER, ORDER = "B-1001", "TB2026112500001"  # TEA-LJ-250 ×2, CHOP-BMB-5 ×1
TEA, CHOP, MUG = product_barcode("TEA-LJ-250"), product_barcode("CHOP-BMB-5"), product_barcode("MUG-CER-01")


class Scanner:
    """A wedge scanner at the bench: types each code at scanner speed, well apart from the last."""

    def __init__(self, qtbot: QtBot, station: Station) -> None:
        self.qtbot = qtbot
        self.pack_screen = station.window.pack_screen
        self.ts = 10_000

    def scan(self, code: str, until: str) -> None:
        seen = self.pack_screen.recent.count()
        self.ts = type_keys(code, self.ts, SCANNER_MS) + 1_000
        self.qtbot.waitUntil(lambda: self.pack_screen.last_event == until and self.pack_screen.recent.count() > seen)


def shown_counts(station: Station) -> list[tuple[str, str]]:
    table = station.window.pack_screen.lines
    return [(table.item(r, 1).text(), table.item(r, 2).text()) for r in range(table.rowCount())]


def test_whole_order_by_wedge_scans(qtbot: QtBot, station: Station) -> None:
    screen = station.window.pack_screen
    scanner = Scanner(qtbot, station)
    scanner.scan(PACKER, "login")
    assert "王芳" in screen.operator.text()
    scanner.scan(ORDER, "order_opened")
    assert ORDER in screen.order.text() and shown_counts(station) == [("TEA-LJ-250", "0 / 2"), ("CHOP-BMB-5", "0 / 1")]
    scanner.scan(TEA, "item_ok")
    scanner.scan(CHOP, "item_ok")
    assert shown_counts(station) == [("TEA-LJ-250", "1 / 2"), ("CHOP-BMB-5", "1 / 1")]
    scanner.scan(TEA, "label_printed")  # items complete → the simulated scale settles → label
    tracking = Shipment.get().tracking_no
    assert screen.banner.level is Level.OK and tracking in screen.banner.text()
    assert shown_counts(station) == [("TEA-LJ-250", "2 / 2"), ("CHOP-BMB-5", "1 / 1")]  # kept while it prints
    # The preview of the label just printed: its Code 128 reads back as the tracking number.
    import zxingcpp
    from PIL import Image

    image = Image.open(io.BytesIO(screen.label_png))
    assert tracking in {r.text for r in zxingcpp.read_barcodes(image)}
    assert not screen.label.pixmap().isNull()
    assert screen.weight.text() == "715 g"
    assert screen.chips["printer"].state is DeviceState.CONNECTED
    assert ScanEvent.select().where(ScanEvent.source == "wedge").count() == 5


def test_scans_reach_the_flow_past_a_focused_field_and_typing_stays_in_it(qtbot: QtBot, station: Station) -> None:
    dialog = QDialog(station.window)
    field = QLineEdit(dialog)
    QVBoxLayout(dialog).addWidget(field)
    dialog.show()
    dialog.activateWindow()
    field.setFocus()
    qtbot.waitUntil(lambda: QApplication.focusWidget() is field)
    screen = station.window.pack_screen
    Scanner(qtbot, station).scan(PACKER, "login")
    assert field.text() == ""
    seen = screen.recent.count()
    type_keys("note 12", start=50_000, spacing=HUMAN_MS)
    qtbot.waitUntil(lambda: field.text() == "note 12")
    qtbot.wait(100)
    assert screen.recent.count() == seen  # the typing reached no flow


def test_double_read_counts_once(qtbot: QtBot, station: Station) -> None:
    screen = station.window.pack_screen
    scanner = Scanner(qtbot, station)
    scanner.scan(PACKER, "login")
    scanner.scan(ORDER, "order_opened")
    seen = screen.recent.count()
    end = type_keys(TEA, scanner.ts, SCANNER_MS)
    type_keys(TEA, end + 50, SCANNER_MS)  # the scanner sends it again at once
    qtbot.waitUntil(lambda: screen.recent.count() > seen)
    scanner.ts = end + 1_000
    scanner.scan(CHOP, "item_ok")  # handled after any second TEA would have been
    assert shown_counts(station) == [("TEA-LJ-250", "1 / 2"), ("CHOP-BMB-5", "1 / 1")]
    assert station.wedge.double_reads.suppressed == 1


def test_error_turns_banner_red_and_flashes_the_window(qtbot: QtBot, station: Station) -> None:
    screen = station.window.pack_screen
    scanner = Scanner(qtbot, station)
    scanner.scan(PACKER, "login")
    scanner.scan(ORDER, "order_opened")
    scanner.scan(MUG, "wrong_item")
    assert screen.banner.level is Level.ERROR and "错误商品" in screen.banner.text()
    assert station.window.flash.isVisible() and station.window.flash.geometry() == station.window.rect()
    qtbot.waitUntil(lambda: not station.window.flash.isVisible())


def test_an_empty_waybill_pool_is_said_once_and_waits_for_a_change(qtbot: QtBot, station: Station,
                                                                   clock: FakeClock) -> None:
    """Regression: with the simulated scale an empty pool looped no_waybill until RecursionError."""
    from app.store.models import WaybillPool
    from app.waybills import add_numbers
    from drivers.scales import SimulatedScale

    WaybillPool.delete().where(WaybillPool.carrier == "SF").execute()
    screen = station.window.pack_screen
    errors: list[str] = []
    station.runtime.listeners.error.append(errors.append)
    scanner = Scanner(qtbot, station)
    scanner.scan(PACKER, "login")
    scanner.scan(ORDER, "order_opened")
    scanner.scan(TEA, "item_ok")
    scanner.scan(CHOP, "item_ok")
    scanner.scan(TEA, "no_waybill")
    assert screen.banner.level is Level.ERROR and "运单号已用完" in screen.banner.text()
    qtbot.wait(300)  # the simulated scale keeps the parcel's weight: nothing more may come of it
    refusals = ScanEvent.select().where(ScanEvent.outcome == "no_waybill")
    assert refusals.count() == 1 and screen.last_event == "no_waybill" and errors == []
    # The parcel lifted off and put back is judged again, once.
    scale = station.opened.devices.scale
    assert isinstance(scale, SimulatedScale)
    seen = screen.recent.count()
    scale.clear()
    scale.place(715)
    qtbot.waitUntil(lambda: screen.recent.count() > seen)
    qtbot.wait(200)
    assert refusals.count() == 2
    # Numbers imported: the waiting parcel ships without another scan.
    add_numbers(station.store, ["SF1400000099999"], "SF", clock, "admin")
    qtbot.waitUntil(lambda: screen.last_event == "label_printed", timeout=5000)
    assert "SF1400000099999" in screen.banner.text() and refusals.count() == 2 and errors == []


def test_scanner_chip_follows_unplug_and_replug(qtbot: QtBot, station: Station) -> None:
    chip = station.window.pack_screen.chips["scanner"]
    assert chip.state is DeviceState.CONNECTED
    station.window.demo_panel.unplug.click()
    qtbot.waitUntil(lambda: chip.state is DeviceState.DISCONNECTED)
    assert "未连接" in chip.text()
    station.window.demo_panel.unplug.click()
    qtbot.waitUntil(lambda: chip.state is DeviceState.CONNECTED)


def test_printer_out_of_paper_shows_and_recovers_by_itself(qtbot: QtBot, station: Station) -> None:
    panel = station.window.demo_panel
    screen = station.window.pack_screen
    panel.paper_out.click()
    scanner = Scanner(qtbot, station)
    scanner.scan(PACKER, "login")
    scanner.scan("TB2026112500002", "order_opened")
    scanner.scan(MUG, "print_failed")
    assert screen.chips["printer"].state is DeviceState.FAULT and screen.banner.level is Level.ERROR
    panel.paper_out.click()  # paper back in: the runtime retries the failed job on its own
    qtbot.waitUntil(lambda: screen.last_event == "label_printed")
    assert screen.chips["printer"].state is DeviceState.CONNECTED and screen.banner.level is Level.OK


def test_bridge_delivers_on_the_ui_thread(qtbot: QtBot, station: Station) -> None:
    threads: list[threading.Thread] = []
    station.bridge.outcome.connect(lambda *_: threads.append(threading.current_thread()))
    Scanner(qtbot, station).scan(PACKER, "login")
    assert threads == [threading.main_thread()]


def test_pack_screen_takes_no_input_method(station: Station) -> None:
    screen = station.window.pack_screen
    assert QApplication.focusWidget() is screen
    assert not screen.inputMethodQuery(Qt.InputMethodQuery.ImEnabled)
    widgets = [screen, *screen.findChildren(QWidget)]
    assert not [w for w in widgets if w.testAttribute(Qt.WidgetAttribute.WA_InputMethodEnabled)]


def test_configured_wedge_only_station(qtbot: QtBot, tmp_path: Path, clock: FakeClock) -> None:
    """A real (non-demo) station whose only scanner is the keyboard wedge, in English."""
    save_config(tmp_path, StationConfig(demo=False, language="en", scanner="wedge"))
    station = build_station(tmp_path, clock=clock, retry_seconds=0.05)
    station.start()
    try:
        screen = station.window.pack_screen
        assert station.window.demo_panel is None and station.opened.devices.scanner is None
        assert screen.chips["scanner"].state is DeviceState.CONNECTED
        station.window.activateWindow()
        qtbot.waitUntil(lambda: QApplication.focusWidget() is screen)
        Scanner(qtbot, station).scan("TB2026112500001", "login_required")  # nobody logged in, no demo data
        assert screen.banner.text() == "Scan your badge first"
    finally:
        station.close()
