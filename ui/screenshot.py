"""Screenshots in demo mode: `python -m ui.screenshot OUT.png [--error | --handover | --triage | --alarm]
[--lang en]`, or every README screenshot in both languages: `python -m ui.screenshot --all DIR`
(`make screenshots` writes docs/screenshots/).

Runs the demo station offscreen in a throw-away data dir, clicks through the demo panel (one order
shipped, the next one half scanned; with --error, then a wrong item) and saves the window as a PNG.
With --handover: three orders packed (one of them 13 hours ago, one cancelled since), then the
handover screen mid-batch for SF, showing the cancelled order's parcel intercepted.
With --triage: a week of exception cases, the supervisor logged in, the triage screen with a case selected.
With --alarm: the printer out of paper as an order is labelled, and the next order scanned meanwhile.

`python -m ui.screenshot --at 1024x768 DIR` shoots every screen — login, pack mid-order, a wrong item,
the finished parcel, handover, triage, alarm — in both languages as a station PC of that size shows
them (no demo panel: it is driven out of sight), to check the layout on a small screen.
"""

from __future__ import annotations

import os
import re
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from app.alarms import AlarmKind
from app.cases import RULE_TITLE, open_case
from app.clock import FakeClock, SystemClock
from app.config import StationConfig, save_config
from app.demo import ORDERS, product_barcode
from app.i18n import DEFAULT_LANGUAGE, Phrase
from app.rules.book import RuleBook
from app.store.models import Order, Shipment
from app.store.states import OrderStatus
from drivers.scanners import SimulatedScanner
from ui.app import Station, application, build_station
from ui.main_window import EXCEPTIONS, HANDOVER
from ui.qt import QEventLoop, QTimer

TIMEOUT_S = 10.0
# The README's screenshots: Chinese under these names, English with "-en" before ".png".
README_SHOTS = ("pack-screen", "pack-screen-error", "handover-screen", "triage-screen", "alarm-screen")
LABEL_PREVIEW = "label-preview.png"


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


Size = tuple[int, int]


@contextmanager
def demo_station(lang: str = DEFAULT_LANGUAGE, clock: FakeClock | None = None,
                 size: Size | None = None) -> Iterator[Station]:
    """The demo station in a throw-away data dir, speaking `lang`, started; closed afterwards. With
    `size`: a station PC's window of that size, without the demo panel (still driven by its buttons)."""
    application()
    with tempfile.TemporaryDirectory() as tmp:
        if lang != DEFAULT_LANGUAGE:
            save_config(Path(tmp), StationConfig(language=lang))
        station = build_station(Path(tmp), demo=True, clock=clock, retry_seconds=0.2)
        station.start()
        if size is not None:
            as_station_pc(station, size)
        try:
            yield station
        finally:
            station.close()


def as_station_pc(station: Station, size: Size) -> None:
    window = station.window
    if window.demo_panel is not None:
        window.removeDockWidget(window.demo_panel)
    application().processEvents()  # the window's minimum size without the panel, before the resize
    window.resize(*size)


def save(station: Station, out: Path) -> None:
    wait_until(lambda: not station.window.flash.isVisible(), "the error flash to pass")
    application().processEvents()  # pending re-layouts (a chip's new text) before the grab
    out.parent.mkdir(parents=True, exist_ok=True)
    if not station.window.grab().save(str(out)):
        raise OSError(f"cannot write {out}")


def shoot_login(out: Path, lang: str = DEFAULT_LANGUAGE, size: Size | None = None) -> None:
    with demo_station(lang, size=size) as station:
        wait_until(lambda: station.window.pack_screen.view is not None, "the bench")
        save(station, out)


def shoot_finished(out: Path, lang: str = DEFAULT_LANGUAGE, size: Size | None = None) -> None:
    with demo_station(lang, size=size) as station:
        _ship_a_mug(station)
        save(station, out)


def _ship_a_mug(station: Station) -> None:
    click(station, "B-1001", "login")
    click(station, "TB2026112500002", "order_opened")
    click(station, product_barcode("MUG-CER-01"), "label_printed")


def shoot(out: Path, error: bool = False, lang: str = DEFAULT_LANGUAGE, label: Path | None = None,
          size: Size | None = None) -> None:
    """The pack screen; `label`: also save the preview of the label printed on the way."""
    with demo_station(lang, size=size) as station:
        _ship_a_mug(station)
        if label is not None:
            wait_until(lambda: bool(station.window.pack_screen.label_png), "the label preview")
            label.parent.mkdir(parents=True, exist_ok=True)
            label.write_bytes(station.window.pack_screen.label_png)
        panel = station.window.demo_panel
        assert panel is not None
        panel.take_off.click()
        wait_until(lambda: station.window.pack_screen.weight.text().startswith("0 g"), "the scale to read 0 g")
        click(station, "TB2026112500001", "order_opened")
        click(station, product_barcode("TEA-LJ-250"), "item_ok")
        click(station, product_barcode("CHOP-BMB-5"), "item_ok")
        if error:
            click(station, product_barcode("MUG-CER-01"), "wrong_item")
        save(station, out)


def shoot_alarm(out: Path, lang: str = DEFAULT_LANGUAGE, size: Size | None = None) -> None:
    with demo_station(lang, size=size) as station:
        panel = station.window.demo_panel
        assert panel is not None
        click(station, "B-1001", "login")
        click(station, "TB2026112500001", "order_opened")
        click(station, product_barcode("TEA-LJ-250"), "item_ok")
        click(station, product_barcode("CHOP-BMB-5"), "item_ok")
        panel.paper_out.click()
        click(station, product_barcode("TEA-LJ-250"), "print_failed")
        wait_until(lambda: station.window.alarm_view.alarm is not None
                   and station.window.alarm_view.alarm.kind is AlarmKind.PRINTER, "the printer's alarm")
        click(station, "TB2026112500002", "order_opened")  # answered on the alarm page
        save(station, out)


def shoot_all(folder: Path) -> list[Path]:
    """Every README screenshot, Chinese and English, and the label preview; the files written."""
    shots: dict[str, Callable[[Path, str], None]] = {
        "pack-screen": lambda out, lang: shoot(out, lang=lang, label=folder / LABEL_PREVIEW if lang != "en" else None),
        "pack-screen-error": lambda out, lang: shoot(out, error=True, lang=lang),
        "handover-screen": shoot_handover, "triage-screen": shoot_triage, "alarm-screen": shoot_alarm,
    }
    written = [folder / LABEL_PREVIEW]
    for lang, suffix in ((DEFAULT_LANGUAGE, ""), ("en", "-en")):
        for name in README_SHOTS:
            out = folder / f"{name}{suffix}.png"
            shots[name](out, lang)
            written.append(out)
    return written


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


def shoot_handover(out: Path, lang: str = DEFAULT_LANGUAGE, size: Size | None = None) -> None:
    clock = FakeClock(SystemClock().now())
    with demo_station(lang, clock, size) as station:
        click(station, "B-1001", "login")
        _pack(station, ORDERS[5][0])
        clock.advance(hours=13)  # that one is overdue now
        parcels = [_pack(station, order[0]) for order in ORDERS[:3]]
        cancelled = ORDERS[2][0]
        station.runtime.call(
            lambda: Order.update(status=OrderStatus.CANCELLED).where(Order.order_id == cancelled).execute())
        station.window.set_mode(HANDOVER)
        screen = station.window.handover_screen
        assert screen is not None and isinstance(station.opened.devices.scanner, SimulatedScanner)
        scanner = station.opened.devices.scanner

        def scan(act: Callable[[], object], until: str) -> None:
            seen = screen.seen
            act()
            wait_until(lambda: screen.seen > seen and screen.last_event == until, until)

        scan(screen.carriers.buttons["SF"].click, "opened")
        for tracking, until in zip(parcels, ("accepted", "accepted", "intercept_cancelled"), strict=True):
            scan(lambda t=tracking: scanner.feed(t), until)  # type: ignore[misc]
        wait_until(lambda: bool(screen.overdue.tracking_nos), "the overdue list")
        save(station, out)


# (shipped rule, order index, hours before now): the cases the shipped rules open, worded as they word them
DEMO_CASES = [
    ("address_hold_words", 5, 2),
    ("stock_gap", 2, 5),
    ("weight_mismatch", 0, 26),
    ("payment_mismatch", 3, 50),
    ("address_phone", 4, 75),
    ("tracking_stalled", 1, 100),
    ("restricted_goods", 1, 130),
]


def seed_cases(station: Station, clock: FakeClock) -> None:
    """Open DEMO_CASES on the runtime thread, each `hours` before the clock's now, and wait for them."""
    rules = RuleBook().defaults

    def open_all() -> None:
        for n, (rule_id, order, hours) in enumerate(DEMO_CASES):
            rule = rules.get(rule_id)
            assert rule is not None, rule_id
            order_id = ORDERS[order][0]
            clock.advance(hours=-hours)  # opened in the demo's past; the clock goes back to now after
            try:
                open_case(station.store, clock, dedupe_key=f"demo:{n}", tag=rule.tag, rule_id=rule.id,
                          severity=rule.severity, route=rule.route, sop=rule.sop,
                          title=Phrase(RULE_TITLE, {"subject": order_id, "title": Phrase(rule.title)}),
                          order=Order.get(Order.order_id == order_id))
            finally:
                clock.advance(hours=hours)

    station.runtime.call(open_all)
    station.runtime.wait_idle(TIMEOUT_S)


def shoot_triage(out: Path, lang: str = DEFAULT_LANGUAGE, size: Size | None = None) -> None:
    clock = FakeClock(SystemClock().now())
    with demo_station(lang, clock, size) as station:
        click(station, "S-2001", "login")  # the supervisor
        seed_cases(station, clock)
        station.window.set_mode(EXCEPTIONS)
        screen = station.window.triage_screen
        assert screen is not None
        wait_until(lambda: screen.snapshot is not None and screen.snapshot.total == len(DEMO_CASES)
                   and screen.snapshot.role == "supervisor", "the case queue")
        screen.select_ids([screen.shown[-2].id])
        save(station, out)


def shoot_screens(folder: Path, size: Size) -> list[Path]:
    """Every screen in both languages at `size`, as a station PC shows it; the files written."""
    shots: dict[str, Callable[..., None]] = {
        "login": shoot_login, "pack": shoot, "wrong-item": partial(shoot, error=True), "finished": shoot_finished,
        "handover": shoot_handover, "triage": shoot_triage, "alarm": shoot_alarm,
    }
    written = []
    for lang in (DEFAULT_LANGUAGE, "en"):
        for name, shot in shots.items():
            out = folder / f"{name}-{lang}-{size[0]}x{size[1]}.png"
            shot(out, lang=lang, size=size)
            written.append(out)
    return written


USAGE = ("usage: python -m ui.screenshot OUT.png [--error | --handover | --triage | --alarm] [--lang en]\n"
         "       python -m ui.screenshot --all DIR\n"
         "       python -m ui.screenshot --at WIDTHxHEIGHT DIR")

if __name__ == "__main__":
    args = sys.argv[1:]
    if args[:1] == ["--all"] and len(args) == 2:
        for path in shoot_all(Path(args[1])):
            print(path)
        sys.exit(0)
    if args[:1] == ["--at"] and len(args) == 3 and re.fullmatch(r"\d+x\d+", args[1]):
        width, height = (int(n) for n in args[1].split("x"))
        for path in shoot_screens(Path(args[2]), (width, height)):
            print(path)
        sys.exit(0)
    if not args or args[0].startswith("-"):
        sys.exit(USAGE)
    language = args[args.index("--lang") + 1] if "--lang" in args[:-1] else DEFAULT_LANGUAGE
    target = Path(args[0])
    if "--triage" in args:
        shoot_triage(target, language)
    elif "--handover" in args:
        shoot_handover(target, language)
    elif "--alarm" in args:
        shoot_alarm(target, language)
    else:
        shoot(target, error="--error" in args, lang=language)
