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
    from app.station import build_runtime
    from app.store.models import ExceptionCase

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
