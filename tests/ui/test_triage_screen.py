"""The triage screen driven end to end: cases opened in the demo store, filtered, acknowledged, resolved in
bulk (never without a note), the heat map and the mode badge; the evidence pack; the sync chip."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

from pypdf import PdfReader
from pytestqt.qtbot import QtBot

from app.barcodes import Command, command_barcode
from app.calls_board import RemoteCall, save_board
from app.cases import open_case, transition
from app.clock import FakeClock, iso
from app.demo import ORDERS, product_barcode
from app.pack.outcomes import Level
from app.store.models import AuditEntry, ExceptionCase, Operator, Order
from sync.worker import SyncStatus
from ui.app import Station
from ui.main_window import EXCEPTIONS, PACK
from ui.qt import QApplication, QMessageBox, QPixmap
from ui.screenshot import shoot_triage
from ui.sync_status import SyncBar
from ui.triage_screen import TriageScreen
from ui.widgets import plain_tip

CJK = re.compile(r"[\u3400-\u9fff\uff00-\uffef\u3000-\u303f]")

PACKER, SUPERVISOR, ADMIN = "B-1001", "S-2001", "A-9001"


TEA = product_barcode("TEA-LJ-250")


def open_cases(station: Station, clock: FakeClock, specs: list[tuple[str, str, str, int, float]]) -> None:
    """(tag, severity, route, order index, hours ago) each, opened on the runtime thread."""
    def work() -> None:
        for n, (tag, severity, route, order, hours) in enumerate(specs):
            clock.advance(hours=-hours)
            try:
                open_case(station.store, clock, dedupe_key=f"t:{tag}:{n}:{order}", tag=tag, rule_id=f"r.{tag}",
                          severity=severity, route=route, title=f"{tag} on {ORDERS[order][0]}",
                          sop=f"SOP for {tag}: call the buyer 联系买家",
                          order=Order.get(Order.order_id == ORDERS[order][0]))
            finally:
                clock.advance(hours=hours)
    station.runtime.call(work)
    assert station.runtime.wait_idle(5)


def login_supervisor(qtbot: QtBot, station: Station) -> None:
    station.opened.devices.scanner.feed(SUPERVISOR)
    qtbot.waitUntil(lambda: station.window.pack_screen.last_event == "login")


def badge(station: Station, code: str) -> None:
    station.opened.devices.scanner.feed(code)


def triage(station: Station) -> TriageScreen:
    screen = station.window.triage_screen
    assert screen is not None
    return screen


def wait_rows(qtbot: QtBot, screen: TriageScreen, total: int, refresh: bool = True) -> None:
    if refresh:
        screen.controller.refresh()
    qtbot.waitUntil(lambda: screen.snapshot is not None and screen.snapshot.total == total)


def act(qtbot: QtBot, screen: TriageScreen, do: object, until: str) -> None:
    seen = screen.seen
    do()  # type: ignore[operator]
    qtbot.waitUntil(lambda: screen.seen > seen)
    assert screen.last_event == until, screen.banner.text()


def test_triage_filters_acknowledges_resolves_in_bulk_and_counts(qtbot: QtBot, station: Station,
                                                                  clock: FakeClock) -> None:
    login_supervisor(qtbot, station)
    open_cases(station, clock, [
        ("payment_anomaly", "critical", "supervisor", 3, 30),  # > 24 h old
        ("address_risk", "warning", "supervisor", 0, 0),
        ("stock_gap", "critical", "supervisor", 1, 0),
        ("address_risk", "info", "packer", 2, 0),
    ])
    screen = triage(station)
    window = station.window
    window.mode_buttons[EXCEPTIONS].click()
    assert window.stack.currentWidget() is screen and window.mode == EXCEPTIONS
    wait_rows(qtbot, screen, 4)
    assert [r.tag for r in screen.shown] == ["payment_anomaly", "address_risk", "stock_gap", "address_risk"]
    assert screen.queue.rowCount() == 4 and screen.queue.columnCount() == 8
    # The badge: open cases routed to the supervisor's role.
    assert screen.snapshot is not None and screen.snapshot.role == "supervisor"
    assert window.badge.text() == "3" and not window.badge.isHidden()

    # Filters: tag, severity, route ("mine"), age.
    filters = screen.filters
    filters.choose(filters.tag, "address_risk")
    assert [r.severity for r in screen.shown] == ["warning", "info"] and screen.queue.rowCount() == 2
    filters.choose(filters.severity, "info")
    assert [r.route for r in screen.shown] == ["packer"]
    filters.choose(filters.tag, None)
    filters.choose(filters.severity, "critical")
    assert {r.tag for r in screen.shown} == {"payment_anomaly", "stock_gap"}
    filters.choose(filters.severity, None)
    filters.route.setCurrentIndex(1)  # "mine (supervisor)"
    assert len(screen.shown) == 3 and all(r.route == "supervisor" for r in screen.shown)
    filters.choose(filters.route, None)
    filters.choose(filters.age, "> 24 h")
    assert [r.tag for r in screen.shown] == ["payment_anomaly"]
    filters.choose(filters.age, "any")
    assert len(screen.shown) == 4

    # One case selected: its SOP, copied to the clipboard.
    ids = [r.id for r in screen.shown]
    screen.select_ids([ids[1]])
    assert "SOP for address_risk" in screen.sop.toPlainText() and screen.copy_button.isEnabled()
    screen.copy_button.click()
    assert QApplication.clipboard().text() == screen.sop.toPlainText()

    # Acknowledge one: routed to supervisors, so it takes a supervisor's badge scan (even one logged in).
    act(qtbot, screen, screen.ack_button.click, "badge_wanted")
    assert ExceptionCase.get_by_id(ids[1]).state == "open"
    act(qtbot, screen, lambda: badge(station, SUPERVISOR), "acknowledged")
    assert ExceptionCase.get_by_id(ids[1]).state == "acknowledged"
    assert ExceptionCase.get_by_id(ids[1]).acked_by == "李强"
    qtbot.waitUntil(lambda: window.badge.text() == "2")

    # Resolve two in bulk: refused without a note, done with one.
    screen.select_ids([ids[2], ids[3]])
    assert len(screen.selected_ids()) == 2 and not screen.evidence_button.isEnabled()
    screen.resolve_button.click()
    dialog = screen.note_dialog
    assert dialog is not None and dialog.isVisible()
    dialog.setTextValue("   ")
    act(qtbot, screen, dialog.accept, "note_needed")
    assert screen.banner_level is Level.ERROR
    assert {ExceptionCase.get_by_id(i).state for i in ids[2:]} == {"open"}
    screen.resolve_button.click()
    dialog = screen.note_dialog
    assert dialog is not None
    dialog.setTextValue("Restocked; buyer called 已补货")
    act(qtbot, screen, dialog.accept, "badge_wanted")
    act(qtbot, screen, lambda: badge(station, SUPERVISOR), "resolved")
    assert [ExceptionCase.get_by_id(i).state for i in ids[2:]] == ["resolved", "resolved"]
    assert ExceptionCase.get_by_id(ids[3]).note == "Restocked; buyer called 已补货"
    assert AuditEntry.select().where(AuditEntry.kind == "exception.resolved").count() == 2
    qtbot.waitUntil(lambda: screen.snapshot is not None and screen.snapshot.total == 2)
    assert [r.id for r in screen.shown] == ids[:2]
    assert [screen.queue.item(row, 6).text() for row in range(2)] == ["待处理", "已确认"]  # states, not "打开"
    assert window.badge.text() == "1"

    # The heat map counts every case opened this week (resolved ones too), per tag and day.
    cells = screen.heat.cells
    assert screen.heat.heat is not None and len(screen.heat.heat.days) == 7
    assert cells[("address_risk", 6)].text() == "2"
    assert cells[("stock_gap", 6)].text() == "1"
    assert cells[("payment_anomaly", 5)].text() == "1"  # 30 h before 10:00 Shanghai time: yesterday
    assert sum(int(cells[("payment_anomaly", i)].text() or 0) for i in range(7)) == 1

    # A case routed to the supervisor shows at once: its commit triggers a re-read (not the 5 s timer).
    station.triage.timer.stop()
    open_cases(station, clock, [("compliance", "warning", "supervisor", 4, 0)])
    qtbot.waitUntil(lambda: screen.snapshot is not None and screen.snapshot.total == 3, timeout=2000)
    assert window.badge.text() == "2"


def test_a_supervisor_call_shows_on_the_badges_and_only_a_supervisor_badge_works_it(
        qtbot: QtBot, station: Station, clock: FakeClock) -> None:
    window = station.window
    screen = triage(station)
    station.opened.devices.scanner.feed(PACKER)
    qtbot.waitUntil(lambda: window.pack_screen.last_event == "login")
    station.opened.devices.scanner.feed(ORDERS[0][0])
    qtbot.waitUntil(lambda: window.pack_screen.last_event == "order_opened")
    call = command_barcode(Command.CALL_SUPERVISOR)
    station.opened.devices.scanner.feed(call)
    qtbot.waitUntil(lambda: window.pack_screen.last_event == "supervisor_called")
    assert "已呼叫主管" in window.pack_screen.banner.text()  # the packer sees the call went out
    # The call is counted at once (its commit re-reads the queue), whoever is logged in: a packer here.
    qtbot.waitUntil(lambda: screen.snapshot is not None and screen.snapshot.calls == 1)
    assert screen.snapshot.role == "packer" and screen.snapshot.for_supervisors == 1
    assert window.badge.text() == "☎1 · 0" and not window.badge.isHidden()  # a packer: no packer cases
    assert "1 supervisor calls" not in window.badge.toolTip() and "主管呼叫 1 个" in window.badge.toolTip()
    assert "主管呼叫：1" in screen.calls.text()
    station.opened.devices.scanner.feed(call)  # called again: the same case, counted twice
    qtbot.waitUntil(lambda: window.pack_screen.last_event == "supervisor_called_again")
    assert ExceptionCase.select().where(ExceptionCase.tag == "supervisor_call").count() == 1

    window.set_mode(EXCEPTIONS)
    wait_rows(qtbot, screen, 1)
    (row,) = screen.shown
    assert row.route == "supervisor" and row.tag == "supervisor_call" and ORDERS[0][0] in row.title.text("zh_CN")
    screen.select_ids([row.id])
    act(qtbot, screen, screen.ack_button.click, "badge_wanted")
    assert "主管" in screen.banner.text() and screen.banner_level is Level.WARN
    # The packer's badge is refused with the reason; the action keeps waiting, nothing changed.
    act(qtbot, screen, lambda: badge(station, PACKER), "badge_refused")
    assert "王芳 无权处理" in screen.banner.text() and "打包员" in screen.banner.text()
    assert screen.banner_level is Level.ERROR and ExceptionCase.get_by_id(row.id).state == "open"
    act(qtbot, screen, lambda: badge(station, "B-0000"), "badge_refused")
    assert "未知工牌 B-0000" in screen.banner.text()
    refused = AuditEntry.select().where(AuditEntry.kind == "exception.refused").order_by(AuditEntry.seq)
    assert [e.actor for e in refused] == ["王芳", "-"]  # every refused scan is on the record
    # A supervisor's badge acts, and is the actor; the pack flow never saw these scans.
    act(qtbot, screen, lambda: badge(station, SUPERVISOR), "acknowledged")
    assert ExceptionCase.get_by_id(row.id).acked_by == "李强" and "李强" in screen.banner.text()
    assert window.pack_screen.last_event == "supervisor_called_again"
    qtbot.waitUntil(lambda: window.badge.isHidden())

    # Leaving the screen calls off an action still waiting: the next scan is the pack flow's again.
    screen.select_ids([row.id])
    screen.resolve(screen.selected_ids(), "tape gun fixed")
    qtbot.waitUntil(lambda: screen.last_event == "badge_wanted")
    window.set_mode(PACK)
    station.opened.devices.scanner.feed(TEA)
    qtbot.waitUntil(lambda: window.pack_screen.last_event == "item_ok")
    assert ExceptionCase.get_by_id(row.id).state == "acknowledged"


def test_calls_at_the_other_stations_count_on_this_ones_badges(qtbot: QtBot, station: Station,
                                                               clock: FakeClock) -> None:
    screen = triage(station)
    heard = RemoteCall("BENCH-3", "TB9", "open", iso(clock.now()), iso(clock.now()))
    station.runtime.call(lambda: save_board(station.store, [heard], clock.now()))  # as a sync round leaves it
    screen.controller.refresh()
    qtbot.waitUntil(lambda: screen.snapshot is not None and screen.snapshot.calls == 1)
    assert screen.snapshot.elsewhere == (heard,) and screen.snapshot.for_supervisors == 0
    assert "呼叫来自 BENCH-3 (TB9)" in screen.calls.text()
    assert station.window.badge.text() == "☎1 · 0" and not station.window.badge.isHidden()


def test_evidence_button_writes_the_order_pack(qtbot: QtBot, station: Station, clock: FakeClock,
                                               tmp_path: Path) -> None:
    open_cases(station, clock, [("weight_mismatch", "warning", "supervisor", 3, 1)])
    screen = triage(station)
    station.window.set_mode(EXCEPTIONS)
    wait_rows(qtbot, screen, 1)
    screen.select_ids([screen.shown[0].id])
    assert screen.evidence_button.isEnabled()
    act(qtbot, screen, screen.evidence_button.click, "evidence")
    pdf = tmp_path / "evidence" / "1004.pdf"
    assert screen.evidence_path == str(pdf) and pdf.exists()
    text = "".join(page.extract_text() for page in PdfReader(pdf).pages)
    assert ORDERS[3][0] in text
    offer = screen.evidence_offer
    assert offer is not None and offer.isVisible() and str(pdf) in offer.text()
    offer.button(QMessageBox.StandardButton.No).click()


def test_sync_chip_says_not_enrolled(station: Station) -> None:
    bar = station.window.sync_bar
    assert bar is not None and station.opened.sync_worker is None
    assert "未注册" in bar.chip.text() and not bar.sync_now.isEnabled()


def test_sync_bar_shows_online_offline_depth_and_age(qtbot: QtBot) -> None:
    bar = SyncBar("zh_CN", enrolled=True)
    qtbot.addWidget(bar)
    at = datetime(2026, 11, 25, tzinfo=UTC)
    bar.show_status(SyncStatus(True, None, 3, 12 * 60 + 5, at, 0, as_of=at))
    assert "在线" in bar.chip.text() and bar.queue.text() == "3 条待上传 · 最早 12 分钟"
    bar.show_status(SyncStatus(False, "server unreachable", 3, 7200, None, 0))
    assert "离线" in bar.chip.text() and bar.chip.toolTip() == plain_tip("server unreachable")
    assert "#c62828" in bar.chip.styleSheet() and bar.queue.text().endswith("2 小时")
    bar.show_status(SyncStatus(False, "enrollment refused", 0, None, None, 0, needs_admin=True))
    assert "需管理员" in bar.chip.text() and bar.queue.text() == "已全部上传"


def test_triage_screenshot(qapp: QApplication, tmp_path: Path) -> None:
    out = tmp_path / "triage.png"
    shoot_triage(out)
    assert QPixmap(str(out)).width() == 1280


def test_refusals_on_the_triage_screen_are_in_the_logged_in_operators_language(
        qtbot: QtBot, station: Station, clock: FakeClock) -> None:
    """An English packer at a Chinese station: the badge refusals, a case someone else already resolved
    and the missing note all read in English; the station's Chinese again after the logout."""
    Operator.update(language="en").where(Operator.badge == PACKER).execute()
    window, screen = station.window, triage(station)
    badge(station, PACKER)
    qtbot.waitUntil(lambda: window.pack_screen.last_event == "login" and window.lang == "en")
    open_cases(station, clock, [("compliance", "warning", "supervisor", 1, 1), ("stock_gap", "info", "packer", 2, 1)])
    window.set_mode(EXCEPTIONS)
    wait_rows(qtbot, screen, 2)
    supervised, mine = screen.shown
    screen.select_ids([supervised.id])
    act(qtbot, screen, screen.ack_button.click, "badge_wanted")
    act(qtbot, screen, lambda: badge(station, PACKER), "badge_refused")
    assert "may not act" in screen.banner.text() and "Packer" in screen.banner.text()
    act(qtbot, screen, lambda: badge(station, "B-0000"), "badge_refused")
    assert "unknown badge B-0000" in screen.banner.text()
    assert not CJK.search(screen.banner.text().replace("王芳", ""))
    screen.deactivate()
    # The console resolved the packer's case meanwhile; acting on the stale row is refused, in English.
    station.runtime.call(lambda: transition(station.store, clock, mine.id, "resolved", "console", "done"))
    assert station.runtime.wait_idle(5)
    screen.select_ids([mine.id])
    act(qtbot, screen, screen.ack_button.click, "partly")
    assert f"case {mine.id} is resolved; cannot make it acknowledged" in screen.banner.text()
    assert not CJK.search(screen.banner.text())
    screen.controller.resolve([mine.id], " ")
    qtbot.waitUntil(lambda: screen.last_event == "error")
    assert screen.banner.text() == "Exceptions: Resolving needs a note — nothing resolved"
    window.set_mode(PACK)
    badge(station, command_barcode(Command.LOGOUT))
    qtbot.waitUntil(lambda: window.pack_screen.last_event == "logout" and window.lang == "zh_CN")
    window.set_mode(EXCEPTIONS)
    screen.controller.resolve([mine.id], "")
    qtbot.waitUntil(lambda: screen.banner.text() == "异常：处理完成需要填写说明——未做更改")
