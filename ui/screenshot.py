"""Screenshots of the pack screen in demo mode: `python -m ui.screenshot OUT.png [--error]`.

Runs the demo station offscreen in a throw-away data dir, clicks through the demo panel (one order
shipped, the next one half scanned; with --error, then a wrong item) and saves the window as a PNG.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from app.demo import product_barcode
from ui.app import Station, application, build_station
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


if __name__ == "__main__":
    args = sys.argv[1:]
    if not args or args[0].startswith("-"):
        sys.exit("usage: python -m ui.screenshot OUT.png [--error]")
    shoot(Path(args[0]), error="--error" in args)
