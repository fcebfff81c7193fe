"""Pack-screen guidance: no stale weight, "shipped" only once the label printed, a next step after every
outcome, a banner that never grows, the short-ship on the finished parcel."""

from __future__ import annotations

from pytestqt.qtbot import QtBot

from app.barcodes import Command, command_barcode
from app.store.models import ScanEvent
from tests.ui.test_ui_station import CHOP, MUG, ORDER, PACKER, TEA, Scanner
from ui.app import Station
from ui.label_preview import LabelPreview
from ui.qt import QApplication, QLabel, Qt

SUPERVISOR = "S-2001"


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


def test_the_order_line_names_platform_and_carrier_in_the_benchs_language(qtbot: QtBot, station: Station) -> None:
    screen = station.window.pack_screen
    scanner = Scanner(qtbot, station)
    scanner.scan(PACKER, "login")
    scanner.scan(ORDER, "order_opened")  # a taobao order shipped by SF
    assert "淘宝" in screen.order.text() and "顺丰速运" in screen.order.text()
    assert "taobao" not in screen.order.text() and " SF" not in screen.order.text()


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


def test_a_next_step_follows_every_outcome_from_the_flows_state(qtbot: QtBot, station: Station) -> None:
    screen = station.window.pack_screen
    scanner = Scanner(qtbot, station)
    assert screen.next_step.text() == "下一步：扫描工牌"
    scanner.scan(PACKER, "login")
    assert screen.next_step.text() == "下一步：扫描订单"
    scanner.scan(ORDER, "order_opened")
    assert screen.next_step.text() == "下一步：扫描商品"
    scanner.scan(TEA, "item_ok")
    scanner.scan(CHOP, "item_ok")
    scanner.scan(TEA, "label_printed")
    assert screen.next_step.text() == "下一步：贴好面单，扫描下一个订单"


def test_a_long_message_is_cut_on_one_line_and_never_moves_the_screen(qtbot: QtBot, station: Station) -> None:
    screen = station.window.pack_screen
    banner = screen.banner
    before = (banner.height(), screen.label.geometry())
    long = "订单 TB2026112500001 被拦下：" + "收件手机号不是 11 位；地址含代收/驿站/暂存；" * 6
    screen.show_error(long)
    qtbot.wait(50)  # the layout settles
    assert (banner.height(), screen.label.geometry()) == before
    assert long in banner.text() and long in banner.toolTip()  # the whole message, and in the log below
    painted = QLabel.text(banner)
    assert painted.endswith("…") and len(painted) < len(banner.text())
    assert long in screen.recent.item(0).text()


def test_a_short_shipped_parcel_says_so_on_the_finished_screen(qtbot: QtBot, station: Station) -> None:
    screen = station.window.pack_screen
    scanner = Scanner(qtbot, station)
    scanner.scan(PACKER, "login")
    scanner.scan(ORDER, "order_opened")
    scanner.scan(TEA, "item_ok")
    scanner.scan(command_barcode(Command.SHORT_SHIP), "supervisor_required")
    scanner.scan(SUPERVISOR, "label_printed")  # approved (short_shipped), weighed and labelled in one go
    assert "缺货发出" in screen.order.text() and "已发货" in screen.order.text()


def test_clicking_the_label_preview_shows_it_at_the_windows_height(qtbot: QtBot, station: Station) -> None:
    screen = station.window.pack_screen
    qtbot.mouseClick(screen.label, Qt.MouseButton.LeftButton)
    assert screen.preview is None  # no label printed yet: nothing to enlarge
    scanner = Scanner(qtbot, station)
    scanner.scan(PACKER, "login")
    scanner.scan("TB2026112500002", "order_opened")
    scanner.scan(MUG, "label_printed")
    qtbot.mouseClick(screen.label, Qt.MouseButton.LeftButton)
    preview = screen.preview
    assert preview is not None and preview.isVisible()
    big, small = preview.image.pixmap().height(), screen.label.pixmap().height()
    assert big >= 2 * small and big >= 600
    qtbot.mouseClick(preview, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not preview.isVisible())


def large_labels_shown() -> list[LabelPreview]:
    return [w for w in QApplication.topLevelWidgets() if isinstance(w, LabelPreview) and w.isVisible()]


def test_the_preview_command_enlarges_the_label_and_the_next_scan_closes_it_and_counts(
        qtbot: QtBot, station: Station) -> None:
    screen = station.window.pack_screen
    scanner = Scanner(qtbot, station)
    preview_code = command_barcode(Command.PREVIEW)
    scanner.scan(preview_code, "nothing_to_preview")  # answered, even before anyone logged in
    assert screen.preview is None and "还没有打印面单" in screen.banner.text()
    scanner.scan(PACKER, "login")
    scanner.scan("TB2026112500002", "order_opened")
    scanner.scan(MUG, "label_printed")
    scanner.scan(preview_code, "label_enlarged")
    preview = screen.preview
    assert preview is not None and preview.isVisible() and preview.image.pixmap().height() >= 600
    scanner.scan(preview_code, "label_preview_closed")  # the same code again closes it
    assert screen.preview is None and not large_labels_shown()
    scanner.scan(preview_code, "label_enlarged")
    assert screen.preview is not None and screen.preview.isVisible()
    scanner.scan(ORDER, "order_opened")  # any other scan closes it and is taken as usual
    assert screen.preview is None and not large_labels_shown() and ORDER in screen.order.text()
    scanner.scan(TEA, "item_ok")
    events = [e.outcome for e in ScanEvent.select().order_by(ScanEvent.id)]
    assert events.count("label_enlarged") == 2 and events[-2:] == ["order_opened", "item_ok"]


def test_a_click_and_the_preview_scan_share_what_is_shown(qtbot: QtBot, station: Station) -> None:
    """The scan toggles what is on the screen, whoever opened or closed it last."""
    screen = station.window.pack_screen
    scanner = Scanner(qtbot, station)
    preview_code = command_barcode(Command.PREVIEW)
    scanner.scan(PACKER, "login")
    scanner.scan("TB2026112500002", "order_opened")
    scanner.scan(MUG, "label_printed")
    qtbot.mouseClick(screen.label, Qt.MouseButton.LeftButton)  # opened by a click
    assert screen.preview is not None and screen.preview.isVisible()
    scanner.scan(preview_code, "label_preview_closed")  # so the scan closes it
    assert screen.preview is None and not large_labels_shown()
    scanner.scan(preview_code, "label_enlarged")
    preview = screen.preview
    assert preview is not None
    qtbot.mouseClick(preview, Qt.MouseButton.LeftButton)  # closed by a click
    qtbot.waitUntil(lambda: screen.preview is None and QApplication.focusWidget() is screen)
    scanner.scan(preview_code, "label_enlarged")  # so the scan opens it again
    assert screen.preview is not None and screen.preview.isVisible()
