"""The station runtime's threads: scans on one, long periodic checks on another."""

from __future__ import annotations

import threading

from app.clock import FakeClock
from app.labels import Party
from app.pack.flow import FlowConfig, PackFlow
from app.station import Chore, StationRuntime
from app.store import Store
from drivers.printers.simulated import SimulatedPrinter
from tests.ptypair import wait_until


def test_background_checks_run_off_the_scan_thread(demo_store: Store, clock: FakeClock) -> None:
    ran_on: list[str] = []
    release = threading.Event()

    def slow_check() -> None:
        ran_on.append(threading.current_thread().name)
        release.wait(2)  # a check that takes long must not hold up scans

    runtime = StationRuntime(PackFlow(demo_store, clock, FlowConfig(station="T-1")), clock, SimulatedPrinter(),
                             Party("仓", "0571", "杭州"), background=[Chore(0.01, slow_check)])
    runtime.start()
    try:
        wait_until(lambda: ran_on)
        handled = threading.Event()
        runtime.call(handled.set)
        assert handled.wait(1), "the scan thread waited for a background check"
        assert ran_on[0] == "station-housekeeping"
    finally:
        release.set()
        runtime.stop()


def test_a_weight_accepted_by_a_supervisor_becomes_a_case_off_the_scan_thread(demo_store: Store,
                                                                               clock: FakeClock) -> None:
    from app.config import StationConfig
    from app.demo import product_barcode
    from app.devices import Scan, WeightReading
    from app.store.models import ExceptionCase
    from wiring import build_runtime

    runtime = build_runtime(demo_store, demo_store.path.parent, StationConfig(station="T-1"), clock,
                            SimulatedPrinter(), None, None)
    runtime.start()
    try:
        for code in ("B-1001", "TB2026112500001", product_barcode("TEA-LJ-250"), product_barcode("CHOP-BMB-5"),
                     product_barcode("TEA-LJ-250")):
            runtime.submit_scan(Scan(code.encode(), "test", clock.now()))
        runtime.submit_weight(WeightReading(900, True, clock.now()))  # 715 g expected: blocked
        runtime.submit_scan(Scan(b"S-2001", "test", clock.now()))  # the supervisor accepts it
        wait_until(lambda: ExceptionCase.select().where(ExceptionCase.tag == "weight_mismatch").exists(), 5)
        case = ExceptionCase.get(ExceptionCase.tag == "weight_mismatch")
        assert case.shipment is not None and case.shipment.weight_g == 900
    finally:
        runtime.stop()


PACKER, ORDER = "B-1001", "TB2026112500001"  # TEA-LJ-250 ×2, CHOP-BMB-5 ×1: 715 g with the box


def _simulated_bench(store: Store, clock: FakeClock) -> tuple[StationRuntime, list[str], list[str]]:
    from app.config import StationConfig
    from drivers.scales import SimulatedScale
    from wiring import build_runtime

    runtime = build_runtime(store, store.path.parent, StationConfig(station="T-1"), clock, SimulatedPrinter(),
                            None, SimulatedScale(clock))
    events: list[str] = []
    errors: list[str] = []
    runtime.listeners.outcome.append(lambda outcome: events.append(outcome.event))
    runtime.listeners.error.append(errors.append)
    return runtime, events, errors


def _scan(runtime: StationRuntime, clock: FakeClock, *codes: str) -> None:
    from app.devices import Scan

    for code in codes:
        clock.advance(1)
        runtime.submit_scan(Scan(code.encode(), "test", clock.now()))


def _no_waybill_rows() -> int:
    from app.store.models import ScanEvent

    return int(ScanEvent.select().where(ScanEvent.outcome == "no_waybill").count())


def test_an_empty_pool_is_refused_once_with_the_simulated_scale(store: Store, clock: FakeClock) -> None:
    """Regression: the polled scale's reading of a refused parcel re-entered the flow until RecursionError."""
    from app.demo import product_barcode, seed_demo
    from app.devices import WeightReading
    from app.waybills import add_numbers

    seed_demo(store, clock, waybills=0)
    runtime, events, errors = _simulated_bench(store, clock)
    tea, chop = product_barcode("TEA-LJ-250"), product_barcode("CHOP-BMB-5")
    _scan(runtime, clock, PACKER, ORDER, tea, chop, tea)
    runtime.run_pending()
    assert events[-2:] == ["items_complete", "no_waybill"] and errors == []
    assert _no_waybill_rows() == 1
    _scan(runtime, clock, product_barcode("MUG-CER-01"))  # any other input: no second judgement
    runtime.submit_weight(WeightReading(715, True, clock.now()))  # the scale repeating itself
    runtime.run_pending()
    assert _no_waybill_rows() == 1 and events.count("no_waybill") == 1
    # Numbers arrive (an import on this bench or a server allocation): the runtime notices on its
    # timer and the parcel still on the scale ships without another scan.
    add_numbers(store, ["SF1400000099999"], "SF", clock, "admin")
    runtime.start()
    try:
        wait_until(lambda: "label_printed" in events, 5)
    finally:
        runtime.stop()
    assert _no_waybill_rows() == 1 and errors == []


def test_a_pool_emptied_mid_order_is_refused_once(demo_store: Store, clock: FakeClock) -> None:
    from app.demo import product_barcode
    from app.store.models import WaybillPool

    runtime, events, errors = _simulated_bench(demo_store, clock)
    tea, chop = product_barcode("TEA-LJ-250"), product_barcode("CHOP-BMB-5")
    _scan(runtime, clock, PACKER, ORDER, tea, chop)
    runtime.run_pending()
    assert events[-1] == "item_ok"
    WaybillPool.update(state="used").where(WaybillPool.state == "free").execute()  # another bench took the rest
    _scan(runtime, clock, tea)
    runtime.run_pending()
    assert events[-1] == "no_waybill" and _no_waybill_rows() == 1 and errors == []
    # A pre-printed waybill scanned is the change the parcel waited for: it ships on it at once.
    _scan(runtime, clock, "SF1234567890123")
    runtime.run_pending()
    assert events[-3:] == ["waybill_bound", "label_queued", "label_printed"] and _no_waybill_rows() == 1


def test_the_station_housekeeping_chores_do_not_set_their_own_delay(demo_store: Store, clock: FakeClock) -> None:
    """A number a chore returns is the delay to its next run (app.worker). The overdue-handover check
    returned how many cases it opened — 0 on an idle bench — so from five minutes after start it ran
    again at once, for ever: the housekeeping thread spun a core and held the GIL against the scan
    thread. The station's chores run every period they were given."""
    from app.config import StationConfig
    from wiring import build_runtime

    runtime = build_runtime(demo_store, demo_store.path.parent, StationConfig(station="T-1"), clock,
                            SimulatedPrinter(), None, None)
    try:
        chores = runtime.housekeeper.chores
        assert len(chores) == 3
        delays = [result for result in (chore.run() for chore in chores) if type(result) in (int, float)]
        assert delays == []
    finally:
        runtime.stop()
