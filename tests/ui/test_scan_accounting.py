"""Every wedge scan at the station is accounted for: a scanner whose keys come 10–80 ms apart
(seeded), read on a UI thread kept busy, at the pack, handover and triage screens — each scan sent
is recorded in the store and answered on the screen that shows, none lost."""

from __future__ import annotations

import json
import random
import threading

import pytest
from pytestqt.qtbot import QtBot

from app.demo import ORDERS, product_barcode
from app.store.models import AuditEntry, ScanEvent
from tests.helpers import FullDisk
from tests.ui.keys import LoadedLoop, deliver, scanner_presses
from tests.ui.test_handover_screen import Bench
from ui.app import TYPED, Station
from ui.main_window import EXCEPTIONS, HANDOVER
from ui.qt import QApplication

PACKER, SUPERVISOR = "B-1001", "S-2001"
ORDER, LINES = ORDERS[0][0], ORDERS[0][5]


def wedge_scans() -> list[bytes]:
    return [bytes(e.raw) for e in ScanEvent.select().where(ScanEvent.source == "wedge").order_by(ScanEvent.id)]


def handover_facts() -> list[dict[str, object]]:
    rows = AuditEntry.select().where(AuditEntry.kind.in_(("handover.accepted", "handover.refused")))
    return [json.loads(e.payload) for e in rows.order_by(AuditEntry.seq)]


def scan_jittered(qtbot: QtBot, codes: list[str], rng: random.Random, start: int) -> None:
    with LoadedLoop(rng) as load:
        deliver(qtbot, scanner_presses(codes, rng, start=start))
    assert load.burns > 0  # the loop really was busy while the keys came


def report(where: str, sent: int, answered: int) -> None:
    print(f"\n{where}: scans sent {sent} / answered {answered} / lost {sent - answered}")


def test_pack_screen_every_jittered_scan_is_recorded_and_answered(qtbot: QtBot, station: Station) -> None:
    rng = random.Random(2026)
    items = [product_barcode(sku) for sku, qty in LINES for _ in range(qty)]
    strays = [f"69{rng.randrange(10**10, 10**11)}" for _ in range(12)]  # no such product: refused, recorded
    sent = [PACKER, ORDER, *items[:-1], *strays, items[-1]]
    scan_jittered(qtbot, sent, rng, start=20_000)
    qtbot.waitUntil(lambda: len(wedge_scans()) == len(sent), timeout=30_000)
    assert wedge_scans() == [code.encode() for code in sent]
    screen = station.window.pack_screen
    qtbot.waitUntil(lambda: screen.last_event == "label_printed", timeout=30_000)
    assert station.wedge.counts["scans"] == len(sent) and station.wedge.set_aside.text == ""
    report("pack", len(sent), len(wedge_scans()))


def test_handover_two_waybills_after_an_accepted_one_are_both_processed(qtbot: QtBot, station: Station) -> None:
    """The Handover case from the floor: a parcel accepted, then two more waybills 0.8 s later,
    keys stretched by load. Both are added, each with its audit entry; and a scan before any
    carrier was picked is recorded as well as answered."""
    bench = Bench(qtbot, station)
    bench.pack_scan(PACKER, "login")
    parcels = [bench.pack(order) for order in (ORDERS[0][0], ORDERS[1][0], ORDERS[3][0])]
    bench.switch(HANDOVER)
    screen = bench.handover
    rng = random.Random(812)
    scan_jittered(qtbot, [parcels[0]], rng, start=30_000)
    qtbot.waitUntil(lambda: screen.last_event == "no_batch")
    bench.click(screen.carriers.buttons["SF"], "opened")

    sent = [*parcels, parcels[1], "SF9999999999999", "not a waybill"]  # then a repeat, an unknown, junk
    scan_jittered(qtbot, sent, rng, start=40_000)
    qtbot.waitUntil(lambda: len(handover_facts()) == 1 + len(sent), timeout=30_000)
    facts = handover_facts()
    assert [f["outcome"] for f in facts] == ["not_in_a_batch", "accepted", "accepted", "accepted",
                                            "already_in_this_batch", "unknown_parcel", "not_a_tracking_number"]
    assert [f["code"] for f in facts[:5]] == [parcels[0], *parcels, parcels[1]]
    qtbot.waitUntil(lambda: screen.seen >= 2 + len(sent))
    assert screen.view.count == 3 and screen.last_event == "not_a_tracking_number"
    report("handover", 1 + len(sent), len(facts))


def test_triage_screen_scans_are_answered_there(qtbot: QtBot, station: Station) -> None:
    window = station.window
    window.mode_buttons[EXCEPTIONS].click()
    triage = window.triage_screen
    assert triage is not None
    qtbot.waitUntil(lambda: QApplication.focusWidget() is triage)
    rng = random.Random(1111)
    sent = [SUPERVISOR, ORDER, "69" + "0" * 11]
    seen = triage.seen
    scan_jittered(qtbot, sent, rng, start=50_000)
    qtbot.waitUntil(lambda: len(wedge_scans()) == len(sent), timeout=30_000)
    assert wedge_scans() == [code.encode() for code in sent]
    qtbot.waitUntil(lambda: triage.seen >= seen + len(sent))
    assert triage.last_event == "bad_scan" and "6900000000000" in triage.banner.text()
    report("triage", len(sent), len(wedge_scans()))


def test_typing_on_the_pack_screen_is_shown_and_accepted_as_a_scan(qtbot: QtBot, station: Station) -> None:
    notes = station.window.scan_notes
    assert notes is not None
    with LoadedLoop(random.Random(4)):
        deliver(qtbot, scanner_presses([PACKER], random.Random(4), 60_000, low=150, high=300), speedup=1)
    qtbot.waitUntil(lambda: notes.chip.isVisible())
    assert PACKER in notes.chip.text() and "手动输入" in notes.chip.text() and wedge_scans() == []
    notes.chip.click()
    qtbot.waitUntil(lambda: ScanEvent.select().where(ScanEvent.source == TYPED).count() == 1)
    qtbot.waitUntil(lambda: station.window.pack_screen.last_event == "login")
    assert not notes.chip.isVisible()


def test_a_scan_after_the_disk_stopped_the_bench_is_answered_not_recorded(qtbot: QtBot, station: Station,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    view = station.window.alarm_view
    FullDisk(station.store, monkeypatch)  # the scan below is the one that finds it full: packing stops
    scan_jittered(qtbot, [PACKER], random.Random(9), start=70_000)
    qtbot.waitUntil(lambda: "未被记录" in view.answer.text())
    assert PACKER in view.answer.text() and wedge_scans() == []


def test_double_reads_are_counted_quietly_from_either_scanner(qtbot: QtBot, station: Station) -> None:
    """The wedge's own, and a serial scanner's, told from its reader thread."""
    notes = station.window.scan_notes
    assert notes is not None
    deliver(qtbot, scanner_presses([PACKER, PACKER], random.Random(5), start=80_000, low=7, high=16, pause=40))
    qtbot.waitUntil(lambda: notes.doubles.isVisible())
    reader = threading.Thread(target=lambda: notes.double_read.emit("SF1400000000001"))
    reader.start()
    reader.join()
    qtbot.waitUntil(lambda: notes.double_reads == 2)
    assert "重复读取：2" in notes.doubles.text() and "SF1400000000001" in notes.doubles.toolTip()
    qtbot.waitUntil(lambda: len(wedge_scans()) == 1)  # the double read was no second scan
