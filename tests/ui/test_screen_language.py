"""Every screen and dialog speaks one language: in Chinese no Latin word outside codes, names and units;
in English no Chinese outside the data (names, products, addresses). The window follows the language
of the operator who logs in, and back to the station's at logout."""

from __future__ import annotations

import html
import re

from pytestqt.qtbot import QtBot

from app.barcodes import Command, command_barcode
from app.clock import FakeClock
from app.demo import OPERATORS, ORDERS, PRODUCTS
from app.store.models import Operator
from tests.ui.test_ui_station import CHOP, ORDER, PACKER, TEA, Scanner
from ui.app import Station
from ui.main_window import EXCEPTIONS, HANDOVER, PACK
from ui.qt import (
    QAbstractButton,
    QApplication,
    QComboBox,
    QDockWidget,
    QGroupBox,
    QLabel,
    QListWidget,
    QMessageBox,
    QTableWidget,
    QWidget,
)
from ui.screenshot import DEMO_CASES, seed_cases

# Words a Chinese screen shows as they are: codes, carriers' and the product's names, units, the CLI.
ALLOWED = {"PackBench", "SKU", "SOP", "g", "kg", "h", "ms", "SF", "YTO", "ZTO", "STO", "EMS", "JD", "packbench",
           "station", "enroll", "server", "URL", "token", "T", "QR", "sim"}
LATIN_WORD = re.compile(r"[A-Za-z][A-Za-z0-9_\-.:*]*")
PATH = re.compile(r"\S*/\S*")
MNEMONIC = re.compile(r"\(&[A-Z]\)")  # Qt's Chinese buttons keep the key: 是(&Y)
CJK = re.compile(r"[\u3400-\u9fff\uff00-\uffef\u3000-\u303f]")
TAGS = re.compile(r"<[^>]+>")
DATA = sorted({*(o[0] for o in OPERATORS), *(p[1] for p in PRODUCTS), *(x for o in ORDERS for x in o[1:5])},
              key=len, reverse=True)


def texts(widget: QWidget) -> list[str]:
    """What a person can read on `widget` and its visible children (texts, tooltips, headers, items)."""
    found = [widget.windowTitle()]
    for part in [widget, *widget.findChildren(QWidget)]:
        if not part.isVisible():
            continue
        found.append(part.toolTip())
        if isinstance(part, (QLabel, QAbstractButton)):
            found.append(part.text())
        elif isinstance(part, QGroupBox):
            found.append(part.title())
        elif isinstance(part, QDockWidget):
            found.append(part.windowTitle())
        elif isinstance(part, QComboBox):
            found += [part.itemText(i) for i in range(part.count())]
        elif isinstance(part, QListWidget):
            found += [part.item(i).text() for i in range(part.count())]  # type: ignore[union-attr]
        elif isinstance(part, QTableWidget):
            for column in range(part.columnCount()):
                header = part.horizontalHeaderItem(column)
                found.append(header.text() if header else "")
                for row in range(part.rowCount()):
                    item = part.item(row, column)
                    found += [item.text(), item.toolTip()] if item else []
    return [t for t in found if t]


def without_data(text: str) -> str:
    """The text with the data taken out: names, products, receivers, addresses and file paths. Case
    titles and SOPs are not data: the shipped rules' are worded by the catalog (docs/i18n.md)."""
    text = MNEMONIC.sub(" ", html.unescape(TAGS.sub(" ", text)))  # a tooltip's rich text: &lt; is "<"
    for value in DATA:
        text = text.replace(value, " ")
    return PATH.sub(" ", text)


def is_code(word: str) -> bool:
    """An order, tracking or badge number, a barcode's payload (PB:CMD:ABORT), a device SPEC."""
    return any(c.isdigit() for c in word) or ":" in word.rstrip(":") or "*" in word


def foreign_words(widget: QWidget, lang: str) -> set[str]:
    words: set[str] = set()
    for text in texts(widget):
        plain = without_data(text)
        if lang == "zh_CN":
            words |= {w for w in LATIN_WORD.findall(plain) if w.rstrip("-.:") not in ALLOWED and not is_code(w)}
        else:
            words |= set(CJK.findall(plain))
    return words


def walk_every_screen(qtbot: QtBot, station: Station, lang: str) -> dict[str, set[str]]:
    """Open each screen and dialog with something on it; the foreign words each one shows."""
    window = station.window
    scanner = Scanner(qtbot, station)
    scanner.scan(PACKER, "login")
    scanner.scan(ORDER, "order_opened")
    scanner.scan(TEA, "item_ok")
    seen = {"pack": foreign_words(window, lang)}
    scanner.scan(CHOP, "item_ok")
    scanner.scan(TEA, "label_printed")
    seen["pack, shipped"] = foreign_words(window, lang)
    handover = window.handover_screen
    assert handover is not None
    window.mode_buttons[HANDOVER].click()
    handover.carriers.buttons["SF"].click()
    qtbot.waitUntil(lambda: handover.last_event in ("opened", "resumed"))
    seen["handover"] = foreign_words(window, lang)
    handover.close_button.click()
    assert handover.courier_dialog is not None
    seen["courier dialog"] = foreign_words(handover.courier_dialog, lang)
    handover.courier_dialog.reject()
    handover.manifest_path = station.opened.data_dir / "manifests" / "HO-0001.pdf"
    handover._offer_print("HO-0001")
    assert handover.print_offer is not None
    seen["print offer"] = foreign_words(handover.print_offer, lang)
    handover.print_offer.reject()
    clock = station.runtime.clock
    assert isinstance(clock, FakeClock)
    seed_cases(station, clock)  # cases of the shipped rules, titled and SOP'd as they are
    window.mode_buttons[EXCEPTIONS].click()
    triage = window.triage_screen
    assert triage is not None
    qtbot.waitUntil(lambda: triage.snapshot is not None)
    triage.queue.selectAll()
    seen["triage"] = foreign_words(window, lang)
    qtbot.waitUntil(lambda: len(triage.shown) == len(DEMO_CASES))
    for row in triage.shown:  # one case at a time: its title and SOP in the details
        triage.select_ids([row.id])
        assert triage.sop.toPlainText()
        seen[f"triage, case #{row.id} {row.tag}"] = foreign_words(window, lang)
    window.mode_buttons[PACK].click()
    return {name: words for name, words in seen.items() if words}


def operator_speaks(badge: str, lang: str) -> None:
    Operator.update(language=lang).where(Operator.badge == badge).execute()


def test_a_chinese_screen_shows_no_english_words(qtbot: QtBot, station: Station) -> None:
    assert station.window.lang == "zh_CN"
    assert walk_every_screen(qtbot, station, "zh_CN") == {}
    box = QMessageBox(QMessageBox.Icon.Question, "", "", QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No
                      | QMessageBox.StandardButton.Ok | QMessageBox.StandardButton.Cancel
                      | QMessageBox.StandardButton.Save)
    assert all(CJK.search(button.text()) for button in box.buttons())  # Qt's own words, from qtbase_zh_CN


def test_an_english_operator_gets_english_everywhere_and_logout_gives_the_station_its_language_back(
        qtbot: QtBot, station: Station) -> None:
    operator_speaks(PACKER, "en")
    assert walk_every_screen(qtbot, station, "en") == {}
    assert station.window.lang == "en" and station.window.mode_buttons[PACK].text() == "Pack"
    box = QMessageBox(QMessageBox.Icon.Question, "", "", QMessageBox.StandardButton.Yes)
    assert box.buttons()[0].text() == "&Yes"
    Scanner(qtbot, station).scan(command_barcode(Command.LOGOUT), "logout")
    assert station.window.lang == "zh_CN" and station.window.mode_buttons[PACK].text() == "打包"
    assert QApplication.translate("QPlatformTheme", "Cancel") == "取消"
