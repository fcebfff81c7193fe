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
