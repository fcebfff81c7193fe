"""Every screen fits a 1024×768 station PC (no demo panel, as at a real bench): the window keeps that
size, each key widget lies wholly inside it, and single-line texts are not cut — in Chinese and for an
English operator, whose words are the longest."""

from __future__ import annotations

import pytest
from pytestqt.qtbot import QtBot

from app.alarms import AlarmKind
from app.clock import FakeClock
from app.store.models import Operator
from tests.ui.test_triage_screen import open_cases
from tests.ui.test_ui_station import CHOP, MUG, ORDER, PACKER, TEA, Scanner
from ui.app import Station
from ui.main_window import EXCEPTIONS, HANDOVER, PACK
from ui.qt import QAbstractButton, QApplication, QLabel, QPoint, QRect, QSize, QWidget

SMALL = QSize(1024, 768)


def station_pc(station: Station) -> None:
    """The window as a real station shows it (no demo dock) on a 1024×768 screen."""
    window = station.window
    if window.demo_panel is not None:
        window.removeDockWidget(window.demo_panel)
    QApplication.processEvents()  # the window's minimum size without the dock, before the resize
    window.resize(SMALL)
    QApplication.processEvents()


def one_line(widget: QWidget) -> bool:
    return isinstance(widget, QAbstractButton) or (isinstance(widget, QLabel) and not widget.wordWrap())


def cut_off(station: Station, *widgets: QWidget) -> list[str]:
    """The widgets that are hidden, reach outside the window, or cut their one line of text."""
    window = station.window
    QApplication.processEvents()
    assert window.size() == SMALL, f"the window does not fit: {window.size()}"
    bad = []
    for widget in widgets:
        name = f"{type(widget).__name__} {widget.text() if isinstance(widget, QLabel | QAbstractButton) else ''}"
        inside = window.rect().contains(QRect(widget.mapTo(window, QPoint(0, 0)), widget.size()))
        if not widget.isVisible() or not inside:
            bad.append(f"{name}: visible={widget.isVisible()} at {widget.mapTo(window, QPoint(0, 0))} {widget.size()}")
        elif one_line(widget) and widget.sizeHint().width() > widget.width():
            bad.append(f"{name}: text cut ({widget.sizeHint().width()} > {widget.width()})")
    return bad


@pytest.mark.parametrize("lang", ["zh_CN", "en"])
def test_every_screen_fits_1024_by_768(qtbot: QtBot, station: Station, clock: FakeClock, lang: str) -> None:
    Operator.update(language=lang).execute()  # every operator's own language (the station's is zh_CN)
    window, screen = station.window, station.window.pack_screen
    station_pc(station)
    bar = [*window.mode_buttons.values(), *([window.sync_bar] if window.sync_bar else [])]
    pack = [*bar, screen.operator, *screen.chips.values(), screen.banner, screen.next_step, screen.order,
            screen.lines, screen.weight, screen.label, screen.recent]
    assert cut_off(station, *pack) == []  # nobody logged in yet
    scanner = Scanner(qtbot, station)
    scanner.scan(PACKER, "login")
    scanner.scan(ORDER, "order_opened")
    scanner.scan(TEA, "item_ok")
    scanner.scan(MUG, "wrong_item")
    assert cut_off(station, *pack) == []
    assert "…" not in QLabel.text(screen.banner), "the wrong item's message is cut"
    scanner.scan(CHOP, "item_ok")
    scanner.scan(TEA, "label_printed")
    assert cut_off(station, *pack, screen.expected) == [] and screen.label.pixmap().height() > 100

    handover = window.handover_screen
    assert handover is not None
    window.set_mode(HANDOVER)
    handover.carriers.buttons["SF"].click()
    qtbot.waitUntil(lambda: handover.last_event in ("opened", "resumed"))
    assert cut_off(station, *bar, handover.title, handover.count, *handover.carriers.buttons.values(),
                   handover.banner, handover.parcels, handover.remove_button, handover.close_button,
                   handover.print_button, handover.set_aside, handover.overdue, handover.pools) == []

    triage = window.triage_screen
    assert triage is not None
    open_cases(station, clock, [("compliance", "warning", "supervisor", 1, 1), ("stock_gap", "info", "packer", 2, 3)])
    window.set_mode(EXCEPTIONS)
    triage.controller.refresh()
    qtbot.waitUntil(lambda: triage.snapshot is not None and triage.snapshot.total == 2)
    triage.select_ids([triage.shown[0].id])
    assert cut_off(station, *bar, triage.banner, triage.calls, triage.filters, triage.queue_title, triage.queue,
                   triage.case_title, triage.sop, triage.ack_button, triage.resolve_button, triage.copy_button,
                   triage.evidence_button, triage.heat) == []

    window.set_mode(PACK)
    station.opened.devices.scanner.unplug()  # type: ignore[union-attr]
    qtbot.waitUntil(lambda: window.alarm_shown and window.alarm_view.alarm is not None
                    and window.alarm_view.alarm.kind is AlarmKind.SCANNER)
    view = window.alarm_view
    assert cut_off(station, view.title, view.action, view.detail, view.since, view.answer) == []
