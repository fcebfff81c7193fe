"""The keyboard-wedge filter: scanner bursts become scans, people keep typing into fields."""

from __future__ import annotations

import random
from collections.abc import Iterator

import pytest
from pytestqt.qtbot import QtBot

from app.wedge import WedgeSettings
from tests.ui.keys import (
    HUMAN_MS,
    SCANNER_MS,
    LoadedLoop,
    commit,
    deliver,
    enter,
    press,
    scanner_presses,
    type_keys,
)
from ui.qt import QApplication, QLineEdit, Qt, QVBoxLayout, QWidget
from ui.wedge import WedgeFilter

CODE = "6901234560011"


@pytest.fixture
def wedge(qapp: QApplication) -> Iterator[WedgeFilter]:
    f = WedgeFilter(WedgeSettings(gap_ms=30, min_length=4), double_read_ms=200)
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


@pytest.fixture
def screen(qtbot: QtBot) -> Iterator[QWidget]:
    """A screen that waits for scans (as the pack, handover and triage screens do): no text field."""
    window = QWidget()
    window.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    window.activateWindow()
    window.setFocus()
    qtbot.waitUntil(lambda: QApplication.focusWidget() is window)
    yield window


def filtered(qapp: QApplication, settings: WedgeSettings) -> Iterator[WedgeFilter]:
    f = WedgeFilter(settings)
    f.install(qapp)
    yield f
    f.uninstall(qapp)


def codes(rng: random.Random, n: int) -> list[str]:
    return ["".join(rng.choice("0123456789ABCDEFGHJKLMNPQRSTUVWXYZ-") for _ in range(rng.randint(6, 20)))
            for _ in range(n)]


@pytest.mark.parametrize("into", ["edit", "screen"])
def test_jittered_scans_on_a_loaded_loop_are_all_scans(qtbot: QtBot, wedge: WedgeFilter, into: str,
                                                       request: pytest.FixtureRequest) -> None:
    """Keys 10–80 ms apart (seeded), delivered through a UI thread kept busy: every code arrives
    whole, once, and nothing leaks into a field or is set aside."""
    focus = request.getfixturevalue(into)
    rng = random.Random(1204)
    sent = codes(rng, 25)
    scans, aside = collect(wedge), []
    wedge.typed.connect(aside.append)
    with LoadedLoop(rng) as load:
        deliver(qtbot, scanner_presses(sent, rng, start=5_000))
        settle(qtbot)
    assert load.burns > 0
    assert scans == sent and aside == [] and wedge.counts["scans"] == len(sent)
    if isinstance(focus, QLineEdit):
        assert focus.text() == ""


def test_a_person_typing_into_a_field_on_a_loaded_loop_is_no_scan(qtbot: QtBot, wedge: WedgeFilter,
                                                                   edit: QLineEdit) -> None:
    rng = random.Random(99)
    scans = collect(wedge)
    returns: list[str] = []
    edit.returnPressed.connect(lambda: returns.append(edit.text()))
    with LoadedLoop(rng):
        deliver(qtbot, scanner_presses(["B-1001 张师傅"[:6], "SF14000"], rng, start=5_000, low=100, high=350,
                                       pause=1_500), speedup=1)
        qtbot.waitUntil(lambda: len(returns) == 2)
    assert scans == [] and returns == ["B-1001", "B-1001SF14000"]


def test_typing_where_only_a_scan_is_meant_is_shown_and_can_be_accepted(qtbot: QtBot, wedge: WedgeFilter,
                                                                        screen: QWidget) -> None:
    scans, aside, confirmed = collect(wedge), [], []
    wedge.typed.connect(aside.append)
    wedge.confirmed.connect(confirmed.append)
    type_keys("6901", start=1_000, spacing=HUMAN_MS)  # a person at the keyboard, Enter included
    qtbot.waitUntil(lambda: wedge.set_aside.text == "6901")
    assert scans == [] and aside[-1] == "6901" and wedge.counts["set_aside"] == 4
    enter(5_000)  # a lone Enter: yes, that was meant
    assert confirmed == ["6901"] and aside[-1] == "" and wedge.counts["accepted"] == 1


def test_a_stretched_scan_is_set_aside_whole_not_lost(qtbot: QtBot, wedge: WedgeFilter, screen: QWidget) -> None:
    """Too slow for a scanner (110 ms a key): not a scan, but every character is shown."""
    scans = collect(wedge)
    type_keys(CODE, start=1_000, spacing=110)
    qtbot.waitUntil(lambda: wedge.set_aside.text == CODE)
    assert scans == [] and wedge.accept_typed() and wedge.set_aside.text == ""
    type_keys(CODE, start=10_000, spacing=110)
    qtbot.waitUntil(lambda: wedge.set_aside.text == CODE)
    aside: list[str] = []
    wedge.typed.connect(aside.append)
    type_keys(CODE, start=20_000, spacing=SCANNER_MS)  # scanned again, at scanner speed: that scan stands for it
    assert scans == [CODE] and wedge.set_aside.text == "" and aside == [""]


def test_set_aside_text_expires_logged(qtbot: QtBot, screen: QWidget, qapp: QApplication,
                                       caplog: pytest.LogCaptureFixture) -> None:
    clock = [0.0]
    f = WedgeFilter(monotonic=lambda: clock[0])
    f.install(qapp)
    try:
        aside: list[str] = []
        f.typed.connect(aside.append)
        press("x", 1_000)
        qtbot.waitUntil(lambda: aside == ["x"])
        f._expire()  # the expiry timer fired early (a clock change): nothing goes yet
        assert f.set_aside.text == "x"
        clock[0] = 31.0
        with caplog.at_level("INFO", logger="ui.wedge"):
            f._expire()
        assert aside == ["x", ""] and f.counts["expired"] == 1 and "'x'" in caplog.text
    finally:
        f.uninstall(qapp)


SF = "SF1400000000001"


@pytest.mark.parametrize(("settings", "prefix", "suffix", "gaps"), [
    (WedgeSettings(prefix="\x02"), "\x02", "\r", (60, 88)),  # slower than a bare scan may be: the prefix vouches
    (WedgeSettings(suffix="none"), "", "", (10, 80)),
    (WedgeSettings(suffix="#"), "", "#", (10, 80)),
], ids=["prefix", "no-suffix", "char-suffix"])
def test_prefix_and_suffix_settings_into_a_field(qtbot: QtBot, qapp: QApplication, edit: QLineEdit,
                                                 settings: WedgeSettings, prefix: str, suffix: str,
                                                 gaps: tuple[int, int]) -> None:
    rng = random.Random(3)
    presses = []
    ts = 1_000
    for code in (CODE, SF):
        for ch in prefix + code + suffix:
            presses.append((ch, ts, Qt.Key.Key_Return if ch == "\r" else None))
            ts += rng.randint(*gaps)
        ts += 800
    for f in filtered(qapp, settings):
        scans = collect(f)
        with LoadedLoop(rng):
            deliver(qtbot, presses)
            qtbot.waitUntil(lambda scans=scans: len(scans) == 2)  # type: ignore[misc]
        assert scans == [CODE, SF] and edit.text() == ""


def test_a_no_suffix_scan_where_only_a_scan_is_meant(qtbot: QtBot, wedge: WedgeFilter, screen: QWidget) -> None:
    scans = collect(wedge)
    type_keys(CODE, start=1_000, spacing=SCANNER_MS, suffix=False)
    qtbot.waitUntil(lambda: scans == [CODE])
    assert wedge.set_aside.text == ""


def test_a_double_read_is_counted_and_said(qtbot: QtBot, wedge: WedgeFilter, screen: QWidget) -> None:
    doubles: list[str] = []
    wedge.double_read.connect(doubles.append)
    end = type_keys(CODE, start=1_000, spacing=SCANNER_MS)
    type_keys(CODE, start=end + 40, spacing=SCANNER_MS)
    assert doubles == [CODE] and wedge.counts == {"scans": 1, "double_reads": 1, "set_aside": 0, "accepted": 0,
                                                 "expired": 0}
