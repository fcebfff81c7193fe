"""Faults of the bench take the whole window and give it back by themselves (demo station, simulated
devices driven like the demo panel drives them, scans typed by a wedge scanner)."""

from __future__ import annotations

import pytest
from pytestqt.qtbot import QtBot

from app.alarms import AlarmKind
from app.demo import product_barcode
from app.pack.outcomes import Level
from app.store.faults import mount_point
from app.store.models import PrintJob, ScanEvent
from drivers.scales import SimulatedScale
from drivers.scanners import SimulatedScanner
from sync.worker import SyncStatus
from tests.helpers import FullDisk
from tests.ui.keys import SCANNER_MS, type_keys
from ui.app import Station
from ui.main_window import HANDOVER
from ui.qt import QApplication

PACKER, ORDER, NEXT_ORDER = "B-1001", "TB2026112500001", "TB2026112500002"  # TEA ×2 + CHOP; MUG
TEA, CHOP = product_barcode("TEA-LJ-250"), product_barcode("CHOP-BMB-5")


class Bench:
    """The station as the packer meets it: wedge scans, and what the window shows."""

    def __init__(self, qtbot: QtBot, station: Station, monkeypatch: pytest.MonkeyPatch) -> None:
        self.qtbot = qtbot
        self.station = station
        self.window = station.window
        self.ts = 10_000
        self.sounds: list[Level] = []
        monkeypatch.setattr(self.window.sounds, "play", self.sounds.append)

    def scan(self, code: str, until: str) -> None:
        """Type `code` and wait until the window has the answer `until` (shown on the pack screen,
        hidden or not, and on the alarm page's strip)."""
        screen = self.window.pack_screen
        seen = screen.recent.count()
        self.ts = type_keys(code, self.ts, SCANNER_MS) + 1_000
        self.qtbot.waitUntil(lambda: screen.last_event == until and screen.recent.count() > seen)

    def wait_alarm(self, kind: AlarmKind | None) -> None:
        def shown() -> bool:
            alarm = self.window.alarm_view.alarm
            return (alarm.kind if alarm else None) is kind and self.window.alarm_shown is (kind is not None)
        self.qtbot.waitUntil(shown)

    def open_order(self) -> None:
        self.scan(PACKER, "login")
        self.scan(ORDER, "order_opened")
        self.scan(TEA, "item_ok")


@pytest.fixture
def bench(qtbot: QtBot, station: Station, monkeypatch: pytest.MonkeyPatch) -> Bench:
    return Bench(qtbot, station, monkeypatch)


def test_an_unplugged_scanner_is_the_whole_window_and_its_return_gives_the_order_back(bench: Bench) -> None:
    window, panel = bench.window, bench.window.demo_panel
    assert panel is not None and isinstance(bench.station.opened.devices.scanner, SimulatedScanner)
    bench.open_order()
    bench.sounds.clear()
    panel.unplug.click()  # the demo panel pulls the simulated scanner's cable
    bench.wait_alarm(AlarmKind.SCANNER)
    view = window.alarm_view
    assert view.isVisible() and not window.pack_screen.isVisible()
    assert view.title.text() == "扫描枪断开" and "恢复后自动继续" in view.action.text()
    assert bench.sounds == [Level.ERROR] and window.remind.isActive()  # the error sound, and again while it stands
    assert QApplication.focusWidget() is view  # keys (a second, wedge scanner) still arrive, with no input method
    panel.unplug.click()  # plugged back in: nothing else to do
    bench.wait_alarm(None)
    assert window.pack_screen.isVisible() and QApplication.focusWidget() is window.pack_screen
    assert not window.remind.isActive()
    bench.scan(CHOP, "item_ok")  # the open order goes on where it was
    assert ORDER in window.pack_screen.order.text()
    assert [window.pack_screen.lines.item(r, 2).text() for r in range(2)] == ["1 / 2", "1 / 1"]


def test_paper_out_is_the_whole_window_scans_meanwhile_are_answered_and_the_label_prints_after(
        bench: Bench) -> None:
    window, panel = bench.window, bench.window.demo_panel
    assert panel is not None
    bench.open_order()
    bench.scan(CHOP, "item_ok")
    panel.paper_out.click()
    bench.scan(TEA, "print_failed")  # complete → weighed → label queued → the printer refuses it
    bench.wait_alarm(AlarmKind.PRINTER)
    view = window.alarm_view
    assert view.title.text() == "打印机停止工作" and view.detail.text() == "详情：缺纸"
    assert PrintJob.get().error == "paper out"  # the record keeps the driver's English, the screen words it
    assert not window.pack_screen.isVisible()
    bench.scan(NEXT_ORDER, "order_opened")  # the packer carries on with the next order meanwhile
    assert NEXT_ORDER in view.answer.text() and "请扫描" in view.answer.text()
    assert window.alarm_shown  # still the printer's page: only a printed label ends it
    panel.paper_out.click()  # paper loaded: the waiting label goes out by itself
    bench.wait_alarm(None)
    assert ScanEvent.select().where(ScanEvent.outcome == "label_printed").count() == 1
    assert NEXT_ORDER in window.pack_screen.order.text()  # the order opened during the alarm is on screen


def test_several_alarms_show_the_most_severe_and_list_the_others(bench: Bench, qtbot: QtBot) -> None:
    window, panel = bench.window, bench.window.demo_panel
    scale = bench.station.opened.devices.scale
    assert panel is not None and isinstance(scale, SimulatedScale)
    scale.unplug()
    bench.wait_alarm(AlarmKind.SCALE)
    assert window.alarm_view.title.text() == "电子秤断开" and not window.alarm_view.others.isVisible()
    panel.unplug.click()
    bench.wait_alarm(AlarmKind.SCANNER)  # more severe: it takes the page, the scale is listed under it
    assert window.alarm_view.others.text() == "另有：电子秤断开" and bench.sounds == [Level.ERROR, Level.ERROR]
    panel.unplug.click()
    bench.wait_alarm(AlarmKind.SCALE)
    assert bench.sounds == [Level.ERROR, Level.ERROR]  # a recovery is no new alarm
    scale.replug()
    bench.wait_alarm(None)


def test_a_full_disk_stops_packing_on_the_alarm_page_and_freed_space_gives_the_order_back(
        bench: Bench, monkeypatch: pytest.MonkeyPatch) -> None:
    bench.open_order()
    disk = FullDisk(bench.station.store, monkeypatch)
    runtime, view, screen = bench.station.runtime, bench.window.alarm_view, bench.window.pack_screen
    bench.ts = type_keys(CHOP, bench.ts, SCANNER_MS) + 1_000  # the commit finds the disk full
    bench.wait_alarm(AlarmKind.DISK)
    assert view.title.text() == "磁盘已满，打包已停止" and "自动继续" in view.action.text()
    assert view.detail.text() == f"详情：{mount_point(bench.station.store.path.parent)}"
    bench.qtbot.waitUntil(lambda: CHOP in view.answer.text() and "未被记录" in view.answer.text())
    shown = [screen.banner.text(), *(screen.recent.item(i).text() for i in range(screen.recent.count()))]
    assert not any("disk" in text for text in shown)  # the runtime's English line is the log's, not the screen's
    bench.station.opened.devices.scanner.unplug()  # type: ignore[union-attr]
    bench.qtbot.waitUntil(lambda: "扫描枪断开" in view.others.text())
    assert view.title.text() == "磁盘已满，打包已停止"  # the disk outranks everything
    bench.station.opened.devices.scanner.replug()  # type: ignore[union-attr]
    bench.qtbot.waitUntil(lambda: not view.others.isVisible())
    runtime.worker.schedule(runtime.disk_recheck, 0)  # the periodic re-check, now: still full
    runtime.worker.post(lambda: None)  # runs after the re-check (the worker's loop runs chores first)
    assert runtime.worker.wait_idle(5) and runtime.halted is not None and bench.window.alarm_shown
    disk.free()
    runtime.worker.schedule(runtime.disk_recheck, 0)
    bench.wait_alarm(None)  # back to the order by itself, told which scan to repeat
    assert "磁盘已有空间" in screen.banner.text() and CHOP in screen.banner.text()
    assert ORDER in screen.order.text()
    bench.scan(CHOP, "item_ok")  # scanned again: counted once
    assert [screen.lines.item(r, 2).text() for r in range(2)] == ["1 / 2", "1 / 1"]


def test_sync_needing_an_admin_is_the_whole_window_until_a_round_is_accepted(bench: Bench) -> None:
    assert bench.station.sync is not None
    refused = SyncStatus(False, "clock skew: request time is 700 s behind the server — automatic sync paused",
                         3, 60.0, None, 0, needs_admin=True)
    bench.station.sync.listen(refused)
    bench.wait_alarm(AlarmKind.SYNC)
    view = bench.window.alarm_view
    assert view.title.text() == "本机时间不正确" and not view.sync_button.isHidden()
    kicks: list[bool] = []
    view.sync_now.connect(lambda: kicks.append(True))
    view.sync_button.click()
    assert kicks == [True]
    bench.station.sync.listen(SyncStatus(True, None, 0, None, None, 0))
    bench.wait_alarm(None)


def test_handover_scans_during_an_alarm_are_answered_on_the_alarm_page(bench: Bench) -> None:
    window, handover, scale = bench.window, bench.window.handover_screen, bench.station.opened.devices.scale
    assert handover is not None and isinstance(scale, SimulatedScale)
    bench.scan(PACKER, "login")
    window.set_mode(HANDOVER)
    seen = handover.seen
    handover.carriers.buttons["SF"].click()
    bench.qtbot.waitUntil(lambda: handover.seen > seen and bench.station.runtime.scans_diverted)
    scale.unplug()
    bench.wait_alarm(AlarmKind.SCALE)
    seen = handover.seen
    bench.ts = type_keys("SF9999999999999", bench.ts, SCANNER_MS) + 1_000  # no such parcel: refused, with why
    bench.qtbot.waitUntil(lambda: handover.seen > seen)
    assert window.alarm_view.answer.text() == handover.banner.text() and "SF9999999999999" in handover.banner.text()
    scale.replug()
    bench.wait_alarm(None)
    assert window.mode == HANDOVER and QApplication.focusWidget() is handover  # back where the packer was
