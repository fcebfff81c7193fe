"""A shift at the bench without a keyboard (issue 12, "Done when"): the station window driven as a packer,
a supervisor and a courier would, every code typed by a keyboard-wedge scanner whose keys come 10–80 ms
apart (seeded) while the UI thread is kept busy, every dialog answered by a scan, and every other act a
touch on the screen (a mode, a carrier, a case, a line dealt with) or a device's own (a cable pulled,
paper run out).

A Chinese packer logs in with her badge and packs orders — one while the scanner is unplugged and
replugged (its label then enlarged by a scan), one with a wrong item, one switched to another carrier,
one while the printer runs out of paper, one short-shipped after a supervisor call the supervisor
acknowledges with his badge — and logs out; an English packer logs in, the screen turns English, packs
an order while the scale's cable is out for a moment and hands the day's parcels
to SF's courier with mistakes in the batch (a product code, a parcel twice, the other carrier's
parcel, one found late while the courier's badge is asked for), closed with the courier's badge; a
scan of CONFIRM opens the manifest to print for his signature.

At the end the figures come from the store and the screen, not from the test's own list alone:
every scan sent is in the store (a pack scan, a handover or triage fact, the courier on the closed
batch, the manifest opened) and had an answer on the page in front of the packer; every alarm raised
was the whole window; no key was pressed but the scanner's. `pytest -s` prints them.
"""

from __future__ import annotations

import contextlib
import json
import random
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from pytestqt.exceptions import TimeoutError as WaitTimeout
from pytestqt.qtbot import QtBot

from app.alarms import AlarmBoard, AlarmKind
from app.barcodes import Command, command_barcode
from app.clock import FakeClock
from app.demo import ORDERS, product_barcode
from app.operators import set_language
from app.pack.outcomes import Level
from app.store.handover_models import Handover, HandoverItem
from app.store.models import AuditEntry, ExceptionCase, Operator, Order, ScanEvent, Shipment
from drivers.printers.simulated import SimulatedPrinter
from drivers.scales import SimulatedScale
from tests.ui.keys import LoadedLoop, Press, deliver, scanner_presses
from ui.app import TYPED, Station
from ui.main_window import EXCEPTIONS, HANDOVER, PACK
from ui.qt import QApplication, QEvent, QKeyEvent, QObject, Qt, QWidget, isValid
from wiring import WEDGE

WANG, ALEX, SUPERVISOR = "B-1001", "B-1002", "S-2001"  # 王芳 (Chinese), Alex Chen (English), 李强
COURIER = "SFKD-0421"  # the SF courier's badge
CALL, SHORT_SHIP, SWITCH_CARRIER, LOGOUT, CONFIRM, PREVIEW = (command_barcode(c) for c in (
    Command.CALL_SUPERVISOR, Command.SHORT_SHIP, Command.SWITCH_CARRIER, Command.LOGOUT, Command.CONFIRM,
    Command.PREVIEW))
TEA, MUG, CHOP, SILK, NOTEBOOK, CABLE = (product_barcode(sku) for sku in (
    "TEA-LJ-250", "MUG-CER-01", "CHOP-BMB-5", "SILK-SCF-R", "NB-A5-DOT", "USB-C-1M"))
ORDER_IDS = [order[0] for order in ORDERS]
SCAN_WAIT_MS = 20_000
CHINESE = re.compile(r"[\u3400-\u9fff]")


@dataclass(frozen=True)
class Answer:
    code: str
    page: str  # where the packer looked: the alarm page or the screen of the mode
    event: str | None
    text: str
    shown: bool  # a visible widget of the page in front carried the answer


class KeySpy(QObject):
    """Every key press the application sees, once each (a press passes a filter once per widget it
    is offered to): (timestamp, key). Installed after the wedge, so it sees keys before the wedge
    swallows them."""

    def __init__(self) -> None:
        super().__init__()
        self.presses: set[tuple[int, int]] = set()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if isinstance(event, QKeyEvent) and event.type() == QEvent.Type.KeyPress:
            self.presses.add((event.timestamp(), event.key()))
        return False


class AlarmSpy:
    """Each alarm the board raises, and whether the window was the alarm page with it on at once
    (its title, or listed under a more severe one's). Listens after the window, so it sees what the
    window made of the change."""

    def __init__(self, station: Station) -> None:
        self.window = station.window
        self.board = self.window.alarms
        self.raised: list[tuple[AlarmKind, bool]] = []
        self._standing: set[AlarmKind] = set()
        self.board.listeners.append(self._changed)

    def _changed(self, board: AlarmBoard) -> None:
        standing = [a for a in (board.active, *board.others) if a is not None]
        view = self.window.alarm_view
        for alarm in standing:
            if alarm.kind in self._standing:
                continue
            on_page = view.title.text() == alarm.title(view.lang) or alarm.title(view.lang) in view.others.text()
            self.raised.append((alarm.kind, self.window.alarm_shown and view.isVisible() and on_page))
        self._standing = {a.kind for a in standing}

    @property
    def missed(self) -> int:
        return sum(1 for _, shown in self.raised if not shown)


class Shift:
    """The bench as its people meet it: a wedge scanner, touches on the screen, the devices."""

    def __init__(self, qtbot: QtBot, station: Station, clock: FakeClock) -> None:
        self.qtbot, self.station, self.clock = qtbot, station, clock
        self.window = station.window
        self.rng = random.Random(1212)
        self.ts = 100_000  # the scanner's key timestamps (ms)
        self.sent: list[str] = []
        self.answers: list[Answer] = []
        self.scanner_keys: set[tuple[int, int]] = set()
        self.touches = 0
        self.keys = KeySpy()
        self.alarms = AlarmSpy(station)

    # ----- the scanner -----
    def scan(self, code: str, until: str, page: str | None = None) -> Answer:
        """Scan `code` and wait for the answer `until` on the screen that takes it; the answer as the
        page in front shows it (`page`: that page must be the alarm page or the mode's screen)."""
        screen = self._answering_screen()
        seen = screen.seen
        presses: list[Press] = scanner_presses([code], self.rng, start=self.ts)
        self.ts = presses[-1][1] + 2_000
        self.scanner_keys |= {(ts, int(key) if key is not None else ord(text.upper())) for text, ts, key in presses}
        self.sent.append(code)
        with LoadedLoop(self.rng):
            deliver(self.qtbot, presses)
        with contextlib.suppress(WaitTimeout):  # no answer, or another one: the assertion below names what showed
            self.qtbot.waitUntil(lambda: screen.seen > seen and screen.last_event == until, timeout=SCAN_WAIT_MS)
        answer = self._front_answer(code, screen)
        self.answers.append(answer)
        assert answer.event == until, answer
        if page is not None:
            assert answer.page == page, answer
        self.clock.advance(seconds=20)  # the bench's own time moves on between scans
        return answer

    def _answering_screen(self) -> Any:
        return {PACK: self.window.pack_screen, HANDOVER: self.window.handover_screen,
                EXCEPTIONS: self.window.triage_screen}[self.window.mode]

    def _front_answer(self, code: str, screen: Any) -> Answer:
        if self.window.alarm_shown:
            label, page = self.window.alarm_view.answer, "alarm"
            shown = label.text() != "" and label.text() == screen.banner.text()
        else:
            label, page = screen.banner, self.window.mode
            shown = label.text() != ""
        return Answer(code, page, screen.last_event, label.text(), shown and label.isVisible())

    # ----- hands -----
    def touch(self, widget: QWidget, pos: Any = None) -> None:
        self.touches += 1
        if pos is None:
            self.qtbot.mouseClick(widget, Qt.MouseButton.LeftButton)
        else:
            self.qtbot.mouseClick(widget, Qt.MouseButton.LeftButton, pos=pos)

    def switch(self, mode: str) -> None:
        self.touch(self.window.mode_buttons[mode])
        target = self.window.screens[mode]
        self.qtbot.waitUntil(lambda: QApplication.focusWidget() is target)
        self.station.runtime.wait_idle(5)  # the screen took (or gave back) the scans

    def wait_alarm(self, kind: AlarmKind | None) -> None:
        view = self.window.alarm_view

        def shown() -> bool:
            return (view.alarm.kind if view.alarm else None) is kind and self.window.alarm_shown is (kind is not None)
        self.qtbot.waitUntil(shown)

    # ----- what the shift does -----
    def finish(self, code: str, page: str | None = None) -> str:
        """Scan the item that completes the parcel (weighed, labelled): the tracking number on the label
        the printer put out."""
        printer = self.printer
        printed = len(printer.printed)
        self.scan(code, "label_printed", page)
        assert len(printer.printed) == printed + 1
        return printer.printed[-1].tracking_no

    @property
    def printer(self) -> SimulatedPrinter:
        printer = self.station.opened.devices.printer
        assert isinstance(printer, SimulatedPrinter)
        return printer


# ----- what the store holds -----
def recorded_scans() -> list[str]:
    """Every scan the store took, in the order it took them, as the code scanned: the pack flow's scan
    facts (their scan event's raw bytes), the handover's accepted and refused parcels, the courier named
    on a closed batch, the badges a case action refused, and the badge behind a case acknowledged or
    resolved (its actor)."""
    badges = {o.name: o.badge for o in Operator.select()}
    codes: list[str] = []
    for entry in AuditEntry.select().order_by(AuditEntry.seq):
        fact: dict[str, Any] = json.loads(entry.payload)
        if entry.kind == "scan" and fact["source"] in (WEDGE, TYPED):
            codes.append(bytes(ScanEvent.get_by_id(fact["scan_event"]).raw).decode())
        elif entry.kind in ("handover.accepted", "handover.refused", "handover.manifest_opened", "exception.refused"):
            codes.append(fact["code"])
        elif entry.kind == "handover.closed":
            codes.append(fact["courier"])
        elif entry.kind in ("exception.acknowledged", "exception.resolved"):
            codes.append(badges[entry.actor])
    return codes


def set_aside_lines(shift: Shift) -> list[str]:
    screen = shift.window.handover_screen
    assert screen is not None
    return [screen.set_aside.item(row).text() for row in range(screen.set_aside.count())]


@pytest.fixture
def shift(qapp: QApplication, qtbot: QtBot, station: Station, clock: FakeClock,
          monkeypatch: pytest.MonkeyPatch) -> Iterator[Shift]:
    monkeypatch.setattr(station.window.sounds, "play", lambda level: None)  # no bell on the test machine

    def languages() -> None:  # as `packbench operator set-language` left them before the shift
        set_language(station.store, clock, WANG, "zh_CN")
        set_language(station.store, clock, ALEX, "en")
    station.runtime.call(languages)
    assert station.runtime.wait_idle(5)
    shift = Shift(qtbot, station, clock)
    qapp.installEventFilter(shift.keys)  # after the wedge's: filters installed last see keys first
    try:
        yield shift
    finally:
        qapp.removeEventFilter(shift.keys)


def test_a_shift_without_a_keyboard_accounts_for_every_scan(shift: Shift, qtbot: QtBot,
                                                            opened_files: list[Path]) -> None:
    window, station = shift.window, shift.station
    pack_screen, panel = window.pack_screen, window.demo_panel
    handover, triage = window.handover_screen, window.triage_screen
    assert panel is not None and handover is not None and triage is not None
    parcels: dict[str, str] = {}  # order id → tracking number, read off the printed label

    # 王芳 logs in: the bench speaks Chinese.
    shift.scan(WANG, "login")
    assert window.lang == "zh_CN" and "王芳" in pack_screen.operator.text() and "订单" in pack_screen.next_step.text()

    # An order with the scanner's cable pulled half-way: the whole window, and back by itself.
    first, second, third, fourth, fifth = ORDER_IDS[:5]
    shift.scan(first, "order_opened")
    shift.scan(TEA, "item_ok")
    panel.unplug.click()  # the cable
    shift.wait_alarm(AlarmKind.SCANNER)
    assert not pack_screen.isVisible() and "扫描枪" in window.alarm_view.title.text()
    shift.scan(CHOP, "item_ok", page="alarm")  # the bench's second (wedge) scanner: answered on the alarm page
    panel.unplug.click()  # plugged back in; nobody touches the screen
    shift.wait_alarm(None)
    assert pack_screen.isVisible() and QApplication.focusWidget() is pack_screen
    parcels[first] = shift.finish(TEA, page=PACK)
    weighed = Shipment.get(Shipment.tracking_no == parcels[first]).weight_g
    assert pack_screen.weight.text() == f"{weighed} g" and pack_screen.label_png
    shift.scan(PREVIEW, "label_enlarged")  # the label large, to check it against the parcel
    preview = pack_screen.preview
    assert preview is not None and preview.isVisible()

    # A wrong item on the next order: refused, said, recorded; the right one finishes it.
    shift.scan(second, "order_opened")  # and the large label goes
    assert pack_screen.preview is None and QApplication.focusWidget() is pack_screen
    assert pack_screen.weight.text() == "—"  # the last parcel's weight is not this one's
    shift.scan(CHOP, "wrong_item")
    assert pack_screen.banner.level is Level.ERROR
    parcels[second] = shift.finish(MUG)

    # Switched to ZTO (the parcel the SF courier must not take), and the printer runs out of paper.
    shift.scan(third, "order_opened")
    shift.scan(SWITCH_CARRIER, "order_opened")
    shift.scan(SILK, "item_ok")
    shift.scan(NOTEBOOK, "item_ok")
    panel.paper_out.click()
    shift.scan(NOTEBOOK, "print_failed")
    shift.wait_alarm(AlarmKind.PRINTER)
    assert "打印机" in window.alarm_view.title.text() and not pack_screen.isVisible()
    shift.scan(fourth, "order_opened", page="alarm")  # the packer goes on with the next order meanwhile
    panel.paper_out.click()  # paper loaded: the waiting label prints by itself, the alarm goes
    shift.wait_alarm(None)
    qtbot.waitUntil(lambda: len(shift.printer.printed) == 3)
    parcels[third] = shift.printer.printed[-1].tracking_no
    assert Shipment.get(Shipment.tracking_no == parcels[third]).carrier == "ZTO"
    assert fourth in pack_screen.order.text()  # the order opened during the alarm is on screen

    # Two cables of three on the shelf: the packer calls the supervisor.
    shift.scan(CABLE, "item_ok")
    shift.scan(CABLE, "item_ok")
    shift.scan(CALL, "supervisor_called")
    (case,) = ExceptionCase.select().where(ExceptionCase.tag == "supervisor_call")
    assert case.route == "supervisor" and case.state == "open"
    qtbot.waitUntil(lambda: not window.badge.isHidden() and window.badge.text().startswith("☎1"))
    # The supervisor comes over: the case on the triage screen, acknowledged with his badge (the packer's
    # own badge, tried first, is refused with the reason).
    shift.switch(EXCEPTIONS)
    qtbot.waitUntil(lambda: [r.id for r in triage.shown] == [case.id])
    queue, row = triage.queue, triage.queue.item(0, 0)
    assert row is not None
    shift.touch(queue.viewport(), queue.visualItemRect(row).center())
    assert triage.selected_ids() == [case.id]
    shift.touch(triage.ack_button)
    qtbot.waitUntil(lambda: triage.last_event == "badge_wanted")
    shift.scan(WANG, "badge_refused")
    shift.scan(SUPERVISOR, "acknowledged")
    assert ExceptionCase.get_by_id(case.id).acked_by == "李强" and "李强" in triage.banner.text()
    qtbot.waitUntil(lambda: window.badge.isHidden())  # no call open any more
    shift.switch(PACK)
    # He approves shipping it short, with his badge again; the finished parcel says it went short.
    shift.scan(SHORT_SHIP, "supervisor_required")
    printed = len(shift.printer.printed)
    shift.scan(SUPERVISOR, "label_printed")
    assert len(shift.printer.printed) == printed + 1
    parcels[fourth] = shift.printer.printed[-1].tracking_no
    assert "缺货发出" in pack_screen.order.text()

    shift.scan(LOGOUT, "logout")

    # Alex Chen logs in: the whole window turns English.
    shift.scan(ALEX, "login")
    assert window.lang == "en" and window.mode_buttons[PACK].text() == "Pack"
    assert not CHINESE.search(pack_screen.banner.text()) and "Alex Chen" in pack_screen.operator.text()
    shift.scan(fifth, "order_opened")
    shift.scan(MUG, "item_ok")
    shift.scan(MUG, "item_ok")
    scale = station.opened.devices.scale
    assert isinstance(scale, SimulatedScale)
    scale.unplug()  # its cable, knocked out as the parcel goes on it
    shift.wait_alarm(AlarmKind.SCALE)
    shift.scan(TEA, "items_complete", page="alarm")  # the parcel is ready; nothing can weigh it
    scale.replug()  # back: the parcel on it is weighed and labelled by itself
    shift.wait_alarm(None)
    qtbot.waitUntil(lambda: pack_screen.last_event == "label_printed", timeout=SCAN_WAIT_MS)
    parcels[fifth] = shift.printer.printed[-1].tracking_no

    # The SF courier: the day's SF parcels into one batch, with the day's mistakes.
    shift.switch(HANDOVER)
    shift.touch(handover.carriers.buttons["SF"])
    qtbot.waitUntil(lambda: handover.last_event == "opened")
    shift.scan(parcels[first], "accepted", page=HANDOVER)
    shift.scan(TEA, "not_a_tracking_number")  # the product's code, not the label's
    shift.scan(parcels[second], "accepted")
    shift.scan(parcels[second], "already_in_this_batch")  # the same parcel twice: counted once
    shift.scan(parcels[third], "wrong_carrier")  # ZTO's parcel
    shift.scan(parcels[fourth], "accepted")
    assert handover.view.count == 3 and not CHINESE.search(handover.banner.text())
    aside = set_aside_lines(shift)
    assert len(aside) == 2 and any(TEA in line for line in aside) and any(parcels[third] in line for line in aside)
    for _ in aside:  # each pulled out of the pile and touched off the list
        item = handover.set_aside.item(0)
        assert item is not None
        shift.touch(handover.set_aside.viewport(), handover.set_aside.visualItemRect(item).center())
    assert set_aside_lines(shift) == []
    shift.touch(handover.close_button)
    dialog = handover.courier_dialog
    assert dialog is not None and dialog.isVisible()
    shift.scan(parcels[fifth], "accepted")  # one more parcel found while the courier waits: the batch takes it
    assert dialog.isVisible() and handover.view.count == 4  # and the dialog still waits for his badge
    shift.scan(COURIER, "closed")  # the courier's badge names him and closes the batch
    assert not isValid(dialog) or not dialog.isVisible()  # accepted and gone
    batch = Handover.get(Handover.courier == COURIER)
    assert batch.state == "closed" and HandoverItem.select().where(HandoverItem.handover == batch).count() == 4
    offer = handover.print_offer
    assert offer is not None and offer.isVisible()
    shift.scan(CONFIRM, "manifest_opened")  # yes, print it for his signature
    assert opened_files == [handover.manifest_path] and (not isValid(offer) or not offer.isVisible())
    shift.switch(PACK)
    shift.scan(LOGOUT, "logout")
    assert window.lang == "zh_CN" and window.mode_buttons[PACK].text() == "打包"

    # ----- the figures, from the store and the screen -----
    station.runtime.wait_idle(5)
    recorded = recorded_scans()
    orders = Shipment.select().count()
    sent = Counter(shift.sent)
    unrecorded = sent - Counter(recorded)
    unanswered = [a for a in shift.answers if not a.shown]
    lost = sum(unrecorded.values()) + sum(1 for a in unanswered if a.code not in unrecorded)
    other_keys = shift.keys.presses - shift.scanner_keys
    alarms_raised = len(shift.alarms.raised)
    print(f"\nshift: {orders} orders packed, {len(shift.sent)} scans sent, "
          f"{len(recorded)} recorded, {len(shift.answers) - len(unanswered)} answered on the page in front")
    print(f"scans lost: {lost}")
    print(f"alarms raised: {alarms_raised} ({', '.join(k.value for k, _ in shift.alarms.raised)}), "
          f"shown full-window: {alarms_raised - shift.alarms.missed}; alarms missed: {shift.alarms.missed}")
    print(f"keys pressed: {len(shift.keys.presses)}, of them the scanner's {len(shift.scanner_keys)}, "
          f"others {len(other_keys)}; keystrokes per order: {len(other_keys) / orders:g}")
    print(f"touches: {shift.touches} ({shift.touches / orders:g} per order); wedge: {station.wedge.counts}")

    assert orders == 5 and Order.select().where(Order.status == "shipped").count() == 4
    assert recorded == shift.sent and unanswered == [] and lost == 0
    assert [kind for kind, _ in shift.alarms.raised] == [AlarmKind.SCANNER, AlarmKind.PRINTER, AlarmKind.SCALE]
    assert shift.alarms.missed == 0 and window.alarms.active is None
    assert ScanEvent.select().where(ScanEvent.outcome == "print_failed").count() == 1  # the one the printer refused
    assert shift.scanner_keys <= shift.keys.presses and other_keys == set()
    assert station.wedge.counts["scans"] == len(shift.sent) and station.wedge.counts["set_aside"] == 0
