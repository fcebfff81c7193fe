"""Pack-screen guidance between parcels: no stale weight, and "shipped" only once the label printed."""

from __future__ import annotations

from pytestqt.qtbot import QtBot

from tests.ui.test_ui_station import CHOP, MUG, ORDER, PACKER, TEA, Scanner
from ui.app import Station


def test_previous_parcels_weight_is_cleared_when_the_next_order_opens(qtbot: QtBot, station: Station) -> None:
    screen = station.window.pack_screen
    scanner = Scanner(qtbot, station)
    scanner.scan(PACKER, "login")
    scanner.scan(ORDER, "order_opened")
    for code, until in ((TEA, "item_ok"), (CHOP, "item_ok"), (TEA, "label_printed")):
        scanner.scan(code, until)
    assert screen.weight.text() == "715 g"
    scanner.scan("TB2026112500002", "order_opened")
    assert screen.weight.text() == "—"


def test_shipped_shows_only_after_the_label_printed(qtbot: QtBot, station: Station) -> None:
    panel = station.window.demo_panel
    screen = station.window.pack_screen
    panel.paper_out.click()  # the label cannot print: the parcel is labelled, not shipped
    scanner = Scanner(qtbot, station)
    scanner.scan(PACKER, "login")
    scanner.scan("TB2026112500002", "order_opened")
    scanner.scan(MUG, "print_failed")
    assert "面单打印中" in screen.order.text() and "已发货" not in screen.order.text()
    panel.paper_out.click()
    qtbot.waitUntil(lambda: screen.last_event == "label_printed")
    assert "已发货" in screen.order.text() and "面单打印中" not in screen.order.text()
