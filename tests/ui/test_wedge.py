"""The keyboard-wedge filter: scanner bursts become scans, people keep typing into fields."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from pytestqt.qtbot import QtBot

from tests.ui.keys import HUMAN_MS, SCANNER_MS, commit, enter, press, type_keys
from ui.qt import QApplication, QLineEdit, Qt, QVBoxLayout, QWidget
from ui.wedge import WedgeFilter

CODE = "6901234560011"


@pytest.fixture
def wedge(qapp: QApplication) -> Iterator[WedgeFilter]:
    f = WedgeFilter(gap_ms=30, min_length=4, double_read_ms=200)
    f.install(qapp)
    yield f
    f.uninstall(qapp)


@pytest.fixture
def edit(qtbot: QtBot) -> Iterator[QLineEdit]:
    """A text field with the focus, as in any dialog the packer may have open when a scan comes."""
    window = QWidget()
    field = QLineEdit(window)
    QVBoxLayout(window).addWidget(field)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    window.activateWindow()
    field.setFocus()
    qtbot.waitUntil(lambda: QApplication.focusWidget() is field)
    yield field  # (a generator, so `window` stays referenced for the whole test)


def collect(wedge: WedgeFilter) -> list[str]:
    scans: list[str] = []
    wedge.scanned.connect(scans.append)
    return scans


def settle(qtbot: QtBot) -> None:
    """Long enough for any held key to be replayed (the hold is 2 × 30 ms)."""
    qtbot.wait(150)


def test_scanner_burst_is_a_scan_and_never_reaches_the_field(qtbot: QtBot, wedge: WedgeFilter,
                                                             edit: QLineEdit) -> None:
    scans = collect(wedge)
    returns: list[bool] = []
    edit.returnPressed.connect(lambda: returns.append(True))
    type_keys(CODE, start=1_000, spacing=SCANNER_MS)
    assert scans == [CODE]
    settle(qtbot)
    assert edit.text() == "" and returns == []


def test_human_typing_lands_in_the_field_and_is_no_scan(qtbot: QtBot, wedge: WedgeFilter, edit: QLineEdit) -> None:
    scans = collect(wedge)
    returns: list[str] = []
    edit.returnPressed.connect(lambda: returns.append(edit.text()))
    type_keys("B-1001", start=1_000, spacing=HUMAN_MS)
    qtbot.waitUntil(lambda: returns == ["B-1001"])
    assert scans == [] and edit.text() == "B-1001"


def test_double_read_within_200_ms_counts_once(qtbot: QtBot, wedge: WedgeFilter, edit: QLineEdit) -> None:
    scans = collect(wedge)
    end = type_keys(CODE, start=1_000, spacing=SCANNER_MS)
    end = type_keys(CODE, start=end + 40, spacing=SCANNER_MS)  # retransmitted after a NAK
    assert scans == [CODE]
    type_keys(CODE, start=end + 300, spacing=SCANNER_MS)  # the packer scanning the same item again
    assert scans == [CODE, CODE] and wedge.double_reads.suppressed == 1
    settle(qtbot)
    assert edit.text() == ""


def test_fast_but_short_burst_is_typing(qtbot: QtBot, wedge: WedgeFilter, edit: QLineEdit) -> None:
    scans = collect(wedge)
    type_keys("ab", start=1_000, spacing=SCANNER_MS)  # key rollover: two keys 10 ms apart, then Enter
    assert scans == [] and edit.text() == "ab"


def test_fast_burst_without_enter_is_released_to_the_field(qtbot: QtBot, wedge: WedgeFilter,
                                                           edit: QLineEdit) -> None:
    scans = collect(wedge)
    type_keys("then", start=1_000, spacing=SCANNER_MS, suffix=False)
    assert edit.text() == ""  # held: it could still be a scan
    qtbot.waitUntil(lambda: edit.text() == "then")
    assert scans == []


def test_scanner_shift_presses_do_not_break_a_burst(wedge: WedgeFilter, edit: QLineEdit) -> None:
    scans = collect(wedge)
    ts = 1_000
    for ch in "SF1400000000001":
        if ch.isupper():
            press("", ts - 2, key=Qt.Key.Key_Shift)
        press(ch, ts)
        ts += SCANNER_MS
    enter(ts)
    assert scans == ["SF1400000000001"] and edit.text() == ""


def test_other_keys_release_held_keys_first(qtbot: QtBot, wedge: WedgeFilter, edit: QLineEdit) -> None:
    press("a", 1_000)
    press("b", 1_150)
    press("", 1_300, key=Qt.Key.Key_Backspace)
    assert edit.text() == "a"


def test_input_method_commit_during_a_burst_joins_the_scan(qtbot: QtBot, wedge: WedgeFilter,
                                                          edit: QLineEdit) -> None:
    assert edit.testAttribute(Qt.WidgetAttribute.WA_InputMethodEnabled)  # a field that keeps its IME
    scans = collect(wedge)
    press("B", 1_000)
    press("-", 1_010)
    commit("1001")  # the IME took the digits and committed them as text
    enter(1_020)
    assert scans == ["B-1001"]
    settle(qtbot)
    assert edit.text() == ""


def test_input_method_commit_without_a_scan_still_reaches_the_field(qtbot: QtBot, wedge: WedgeFilter,
                                                                    edit: QLineEdit) -> None:
    scans = collect(wedge)
    press("1", 1_000)
    commit("你好")  # committed while "1" was held back
    qtbot.waitUntil(lambda: edit.text() == "1你好")
    assert scans == []


def test_late_event_loop_still_yields_the_whole_scan(qtbot: QtBot, wedge: WedgeFilter, edit: QLineEdit) -> None:
    """If the UI thread stalls, the hold can run out mid-burst: the keys already replayed cannot be
    taken back, but the scan must still be the whole code, never its tail."""
    scans = collect(wedge)
    press("B", 1_000)
    qtbot.waitUntil(lambda: edit.text() == "B")
    type_keys("-1001", start=1_010, spacing=SCANNER_MS)
    assert scans == ["B-1001"]


def test_keys_without_timestamps_are_typing(qtbot: QtBot, wedge: WedgeFilter, edit: QLineEdit) -> None:
    scans = collect(wedge)
    qtbot.keyClicks(edit, "B-1001")
    qtbot.keyClick(edit, Qt.Key.Key_Return)
    assert scans == [] and edit.text() == "B-1001"
