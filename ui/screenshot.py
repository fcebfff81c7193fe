"""Screenshots in demo mode: `python -m ui.screenshot OUT.png [--error | --handover]`.

Runs the demo station offscreen in a throw-away data dir, clicks through the demo panel (one order
shipped, the next one half scanned; with --error, then a wrong item) and saves the window as a PNG.
With --handover: three orders packed (one of them 13 hours ago, one cancelled since), then the
handover screen mid-batch for SF, showing the cancelled order's parcel intercepted.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from app.clock import FakeClock, SystemClock
from app.demo import ORDERS, product_barcode
from app.store.models import Order, Shipment
from drivers.scanners import SimulatedScanner
from ui.app import Station, application, build_station
from ui.main_window import HANDOVER
from ui.qt import QEventLoop, QTimer

TIMEOUT_S = 10.0


def wait_until(predicate: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + TIMEOUT_S
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError(f"screenshot: gave up waiting for {what}")
        loop = QEventLoop()
        QTimer.singleShot(20, loop.quit)
        loop.exec()


def click(station: Station, code: str, until_event: str) -> None:
    panel = station.window.demo_panel
    screen = station.window.pack_screen
    assert panel is not None
    seen = screen.recent.count()
    panel.buttons[code].click()
    wait_until(lambda: screen.last_event == until_event and screen.recent.count() > seen, until_event)


def shoot(out: Path, error: bool = False) -> None:
    application()
    with tempfile.TemporaryDirectory() as tmp:
        station = build_station(Path(tmp), demo=True, retry_seconds=0.2)
        station.start()
        try:
            click(station, "B-1001", "login")
            click(station, "TB2026112500002", "order_opened")
            click(station, product_barcode("MUG-CER-01"), "label_printed")
            panel = station.window.demo_panel
            assert panel is not None
            panel.take_off.click()
            wait_until(lambda: station.window.pack_screen.weight.text().startswith("0 g"), "the scale to read 0 g")
            click(station, "TB2026112500001", "order_opened")
            click(station, product_barcode("TEA-LJ-250"), "item_ok")
            click(station, product_barcode("CHOP-BMB-5"), "item_ok")
            if error:
                click(station, product_barcode("MUG-CER-01"), "wrong_item")
                wait_until(lambda: not station.window.flash.isVisible(), "the error flash to pass")
            application().processEvents()  # pending re-layouts (a chip's new text) before the grab
            out.parent.mkdir(parents=True, exist_ok=True)
            if not station.window.grab().save(str(out)):
                raise OSError(f"cannot write {out}")
        finally:
            station.close()


def _pack(station: Station, order_id: str) -> str:
    """Pack a demo order with the simulated scanner; its tracking number."""
    lines = next(order[5] for order in ORDERS if order[0] == order_id)
    panel, screen = station.window.demo_panel, station.window.pack_screen
    assert panel is not None
    for code in [order_id] + [product_barcode(sku) for sku, qty in lines for _ in range(qty)]:
        seen = screen.recent.count()
        panel.buttons[code].click()
        wait_until(lambda: screen.recent.count() > seen, code)  # noqa: B023 (called at once)
    wait_until(lambda: station.window.pack_screen.last_event == "label_printed", f"{order_id}'s label")
    return str(Shipment.get(Shipment.order == Order.get(Order.order_id == order_id)).tracking_no)


def shoot_handover(out: Path) -> None:
    application()
    clock = FakeClock(SystemClock().now())
    with tempfile.TemporaryDirectory() as tmp:
        station = build_station(Path(tmp), demo=True, clock=clock, retry_seconds=0.2)
        station.start()
        try:
            click(station, "B-1001", "login")
            _pack(station, ORDERS[5][0])
            clock.advance(hours=13)  # that one is overdue now
            parcels = [_pack(station, order[0]) for order in ORDERS[:3]]
            cancelled = ORDERS[2][0]
            station.runtime.call(lambda: Order.update(status="cancelled").where(Order.order_id == cancelled).execute())
            station.window.set_mode(HANDOVER)
            screen = station.window.handover_screen
            assert screen is not None and isinstance(station.scanner, SimulatedScanner)
            scanner = station.scanner

            def scan(act: Callable[[], object], until: str) -> None:
                seen = screen.seen
                act()
                wait_until(lambda: screen.seen > seen and screen.last_event == until, until)

            scan(screen.carriers.buttons["SF"].click, "opened")
            for tracking, until in zip(parcels, ("accepted", "accepted", "intercept_cancelled"), strict=True):
                scan(lambda t=tracking: scanner.feed(t), until)  # type: ignore[misc]
            wait_until(lambda: bool(screen.overdue.tracking_nos), "the overdue list")
            wait_until(lambda: not station.window.flash.isVisible(), "the error flash to pass")
            application().processEvents()
            out.parent.mkdir(parents=True, exist_ok=True)
            if not station.window.grab().save(str(out)):
                raise OSError(f"cannot write {out}")
        finally:
            station.close()


if __name__ == "__main__":
    args = sys.argv[1:]
    if not args or args[0].startswith("-"):
        sys.exit("usage: python -m ui.screenshot OUT.png [--error | --handover]")
    if "--handover" in args:
        shoot_handover(Path(args[0]))
    else:
        shoot(Path(args[0]), error="--error" in args)
