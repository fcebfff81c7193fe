"""Imported text is shown as written, never as markup: a product named like an HTML table must not
turn the red WRONG ITEM banner into a green OK box, and a receiver name must not restyle the header."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from app.clock import FakeClock
from app.demo import product_barcode, seed_demo
from app.pack.outcomes import Level
from app.store import open_store
from app.store.models import Operator, Order, OrderLine, Product
from tests.ui.conftest import running_station
from tests.ui.test_ui_station import Scanner
from ui.app import Station
from ui.qt import QApplication, QColor, QImage, QLabel, QMessageBox, Qt, QWidget
from ui.widgets import LEVEL_COLOURS, PlainMessageBox, plain_tip

ORDER, PACKER = "TB2026112500001", "B-1001"
FAKE_OK = ('<table width="100%" bgcolor="#1e7b34"><tr><td>'
           '<font color="white" size="7">✓ OK 正确</font></td></tr></table>')
BIG_RED = '<span style="color:#c62828; font-size:40px">张伟</span>'
BOLD_OPERATOR = "<b><i>王芳</i></b>"


@pytest.fixture
def hostile_station(qapp: QApplication, qtbot: QtBot, tmp_path: Path, clock: FakeClock) -> Iterator[Station]:
    """The demo station after an import full of markup (and control characters) in every text field."""
    store = open_store(tmp_path, clock)
    seed_demo(store, clock)
    with store.atomic():
        Product.update(name=FAKE_OK).where(Product.sku == "MUG-CER-01").execute()
        Product.update(name="绿茶\x1b[32m 250g").where(Product.sku == "TEA-LJ-250").execute()
        OrderLine.update(name=FAKE_OK).execute()
        Order.update(receiver_name=BIG_RED, platform="<h1>taobao</h1>").where(Order.order_id == ORDER).execute()
        Operator.update(name=BOLD_OPERATOR).where(Operator.badge == PACKER).execute()
    store.close()
    with running_station(qtbot, tmp_path, clock) as s:
        yield s


def _labels(root: QWidget) -> list[QLabel]:
    return [w for w in root.findChildren(QLabel) if w.text()]


def _share(image: QImage, colour: str) -> float:
    """The share of the image's pixels within a small distance of `colour`."""
    target = QColor(colour)
    hits = total = 0
    for y in range(0, image.height(), 3):
        for x in range(0, image.width(), 3):
            c = image.pixelColor(x, y)
            total += 1
            if abs(c.red() - target.red()) + abs(c.green() - target.green()) + abs(c.blue() - target.blue()) < 40:
                hits += 1
    return hits / total


def test_markup_in_names_is_shown_as_text_and_the_wrong_item_banner_stays_red(
        qtbot: QtBot, hostile_station: Station) -> None:
    screen = hostile_station.window.pack_screen
    scanner = Scanner(qtbot, hostile_station)
    scanner.scan(PACKER, "login")
    assert BOLD_OPERATOR in screen.operator.text()
    scanner.scan(ORDER, "order_opened")
    assert BIG_RED in screen.order.text() and "<h1>taobao</h1>" in screen.order.text()
    scanner.scan(product_barcode("MUG-CER-01"), "wrong_item")
    assert screen.banner.level is Level.ERROR and FAKE_OK in screen.banner.text()
    banner = screen.banner.grab().toImage()
    red, green = LEVEL_COLOURS[Level.ERROR][0], LEVEL_COLOURS[Level.OK][0]
    # Rendered as markup, the table would fill the banner with green; as text it is a few glyphs.
    assert _share(banner, red) > 0.5 and _share(banner, green) < 0.01
    # Every label of the window, on every screen, shows plain text.
    rich = [(type(w).__name__, w.text()[:40]) for w in _labels(hostile_station.window)
            if w.textFormat() != Qt.TextFormat.PlainText]
    assert rich == []
    # The header is as tall as with an ordinary name: the receiver's 40 px span did not apply.
    assert screen.order.sizeHint().height() < 40


def test_tooltips_and_message_boxes_show_text_as_written(qapp: QApplication) -> None:
    assert plain_tip(FAKE_OK).startswith("<p>&lt;table") and "<table" not in plain_tip(FAKE_OK)
    assert plain_tip("") == ""
    box = PlainMessageBox(QMessageBox.Icon.Warning, "标题", FAKE_OK)
    assert box.textFormat() == Qt.TextFormat.PlainText and box.text() == FAKE_OK


def test_no_screen_builds_a_bare_qlabel() -> None:
    # A QLabel reads markup-looking text as rich text: screens use PlainLabel (ui/widgets.py) instead.
    ui = Path(__file__).resolve().parents[2] / "ui"
    offenders = [f"{path.name}:{n}" for path in sorted(ui.glob("*.py")) if path.name not in ("widgets.py", "qt.py")
                 for n, line in enumerate(path.read_text("utf-8").splitlines(), 1)
                 if "QLabel(" in line or ("QMessageBox(" in line and "PlainMessageBox(" not in line)
                 or (".setToolTip(" in line and "plain_tip(" not in line)]
    assert offenders == []
