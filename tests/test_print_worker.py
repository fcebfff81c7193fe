"""A printer that is down never holds up a scan, and its labels print exactly once when it is back.

The runtime runs on its threads here, against a real TCP printer on 127.0.0.1 (tests/fake_printer.py)
that is silent (accepts the connection, never answers ~HS), refusing (nothing listens) or drops the
connection in the middle of a job. "Promptly" is asserted by order, not by time: the next order's
scans are all answered while the print worker is still stuck on the first label.
"""

from __future__ import annotations

import queue
import socket
from collections.abc import Iterator

import pytest

from app.barcodes import Command, command_barcode
from app.clock import FakeClock
from app.demo import product_barcode
from app.devices import Scan, WeightReading
from app.labels import Party
from app.pack.flow import FlowConfig, PackFlow
from app.pack.outcomes import Outcome
from app.station import StationRuntime
from app.store import Store
from app.store.models import PrintJob
from drivers.printers.printer import LanguagePrinter, PrinterProfile
from drivers.printers.tcp import TcpTransport
from tests.fake_printer import FakePrinter, Fault

FORMAT = b"^XA^CI28^FO50,50^A0N,40,40^FDtest^FS^XZ"
PACKER = "B-1001"
ORDER_1 = ("TB2026112500001", (product_barcode("TEA-LJ-250"), product_barcode("CHOP-BMB-5"),
                               product_barcode("TEA-LJ-250")), 715)
ORDER_2 = ("TB2026112500002", (product_barcode("MUG-CER-01"),), 468)
PRINT_RESULTS = frozenset({"label_printed", "print_failed", "print_uncertain"})


class Bench:
    """A started runtime whose outcomes arrive in a queue, and the ways to feed it."""

    def __init__(self, store: Store, clock: FakeClock, port: int, status_timeout: float,
                 payload: bytes = FORMAT) -> None:
        self.clock = clock
        printer = LanguagePrinter(TcpTransport("127.0.0.1", port, timeout=1.0), lambda label: payload,
                                  PrinterProfile("zpl", status_timeout=status_timeout))
        self.runtime = StationRuntime(PackFlow(store, clock, FlowConfig(station="T-1")), clock, printer,
                                      Party("仓", "0571", "杭州"), retry_seconds=0.05)
        self.outcomes: queue.Queue[Outcome] = queue.Queue()
        self.seen: list[Outcome] = []
        self.runtime.listeners.outcome.append(self.outcomes.put)
        self.runtime.start()

    def next(self, timeout: float = 10.0) -> Outcome:
        outcome = self.outcomes.get(timeout=timeout)
        self.seen.append(outcome)
        return outcome

    def expect(self, *events: str) -> list[Outcome]:
        """The next outcomes are exactly `events` (print results excepted, which go to `seen`)."""
        got = []
        while len(got) < len(events):
            outcome = self.next()
            if outcome.event not in PRINT_RESULTS:
                got.append(outcome)
        assert [o.event for o in got] == list(events)
        return got

    def scan(self, code: str) -> None:
        self.runtime.submit_scan(Scan(code.encode(), "test", self.clock.now()))

    def pack(self, order: tuple[str, tuple[str, ...], int]) -> Outcome:
        order_id, items, grams = order
        for code in (order_id, *items):
            self.scan(code)
        self.expect("order_opened", *["item_ok"] * (len(items) - 1), "items_complete")
        self.runtime.submit_weight(WeightReading(grams, True, self.clock.now()))
        return self.expect("label_queued")[0]

    def print_results(self, count: int) -> list[Outcome]:
        """Wait until `count` print results have arrived in all; returns them in order."""
        while sum(o.event in PRINT_RESULTS for o in self.seen) < count:
            self.next()
        return [o for o in self.seen if o.event in PRINT_RESULTS]

    def settle(self, rounds: int = 5) -> None:
        """Let the print worker run a few more retry rounds; every result recorded."""
        for _ in range(rounds):
            self.runtime.print_worker.retry_now()
            assert self.runtime.wait_idle(10)
        while not self.outcomes.empty():
            self.next()

    def stop(self) -> None:
        self.runtime.stop()


@pytest.fixture
def fakes() -> Iterator[list[FakePrinter]]:
    made: list[FakePrinter] = []
    yield made
    for fake in made:
        fake.close()


def _printed_once_in_order(fake: FakePrinter, bench: Bench, count: int) -> None:
    bench.settle()
    assert fake.wait_jobs(count) == [FORMAT] * count  # every label exactly once, nothing resent
    assert [job.state for job in PrintJob.select().order_by(PrintJob.id)] == ["done"] * count
    printed = [o.order_id for o in bench.seen if o.event == "label_printed"]
    assert printed == [ORDER_1[0], ORDER_2[0]][:count]


def test_a_silent_printer_does_not_hold_up_the_next_order(demo_store: Store, clock: FakeClock,
                                                          fakes: list[FakePrinter]) -> None:
    fake = FakePrinter("zpl", Fault(silent=True), idle_timeout=60)
    fakes.append(fake)
    bench = Bench(demo_store, clock, fake.port, status_timeout=60)  # it would wait a minute for ~HS
    try:
        bench.scan(PACKER)
        bench.expect("login")
        bench.pack(ORDER_1)
        from tests.ptypair import wait_until

        wait_until(lambda: fake.status_queries >= 1)  # the print worker now waits for an answer
        bench.pack(ORDER_2)  # every scan of the next order answered meanwhile
        assert not [o for o in bench.seen if o.event in PRINT_RESULTS]  # the first label is still out
        assert PrintJob.get_by_id(1).state == "sent"
        fake.fault.silent = False
        fake.drop_connection()  # the printer is power-cycled: the hung job fails undelivered
        first = bench.print_results(1)[0]
        assert first.event == "print_failed" and first.order_id == ORDER_1[0]
        bench.print_results(3)  # then both labels, oldest first
        _printed_once_in_order(fake, bench, 2)
    finally:
        bench.stop()


def test_a_refusing_printer_keeps_labels_waiting_until_it_is_back(demo_store: Store, clock: FakeClock,
                                                                  fakes: list[FakePrinter]) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nothing listens here: connection refused
    bench = Bench(demo_store, clock, port, status_timeout=0.5)
    try:
        bench.scan(PACKER)
        bench.expect("login")
        bench.pack(ORDER_1)
        bench.pack(ORDER_2)
        bench.scan(ORDER_1[0])  # a scan after both labels: still answered (the order is packed)
        assert bench.expect("order_already_shipped")[0].order_id == ORDER_1[0]
        failed = bench.print_results(1)[0]
        assert failed.event == "print_failed" and "unreachable" in failed.detail["reason"].plain()
        assert {job.state for job in PrintJob.select()} <= {"queued", "sent"}
        fake = FakePrinter("zpl", bind_port=port)  # the printer comes back on its address
        fakes.append(fake)
        fake.wait_jobs(2, timeout=10)
        _printed_once_in_order(fake, bench, 2)
        # One print_failed per fault, not one per retry round: the scan log is not flooded.
        assert sum(o.event == "print_failed" for o in bench.seen) <= 2
    finally:
        bench.stop()


def test_a_connection_dropped_before_the_last_byte_is_sent_again_once(demo_store: Store, clock: FakeClock,
                                                                      fakes: list[FakePrinter]) -> None:
    big = FORMAT * 400_000  # more than the socket buffers hold: the drop lands before the last byte
    fake = FakePrinter("zpl", Fault(drop_after=20))
    fakes.append(fake)
    bench = Bench(demo_store, clock, fake.port, status_timeout=1.0, payload=big)
    try:
        bench.scan(PACKER)
        bench.expect("login")
        bench.pack(ORDER_1)
        failed = bench.print_results(1)[0]
        assert failed.event == "print_failed" and failed.detail["reason"]
        fake.fault.drop_after = None
        bench.print_results(2)
        bench.settle()
        assert [len(job) for job in fake.wait_jobs(2)] == [20, len(big)]  # the cut-off one printed nothing
        assert PrintJob.get().state == "done"
    finally:
        bench.stop()


def test_a_connection_dropped_after_the_job_is_uncertain_and_only_reprint_sends_it(
        demo_store: Store, clock: FakeClock, fakes: list[FakePrinter]) -> None:
    fake = FakePrinter("zpl", Fault(hang_up_after_job=True))  # gone before answering the ~HS after the job
    fakes.append(fake)
    bench = Bench(demo_store, clock, fake.port, status_timeout=1.0)
    try:
        bench.scan(PACKER)
        bench.expect("login")
        bench.pack(ORDER_1)
        uncertain = bench.print_results(1)[0]
        assert uncertain.event == "print_uncertain" and "closed the connection" in uncertain.detail["reason"].plain()
        fake.fault.hang_up_after_job = False
        bench.settle()  # retry rounds come and go: an uncertain label is never resent by itself
        assert fake.wait_jobs(1) == [FORMAT] and PrintJob.get().state == "failed"
        bench.scan(command_barcode(Command.REPRINT))
        assert bench.expect("reprint_queued")[0].detail["reprint_no"] == 2
        assert bench.print_results(2)[-1].event == "label_printed"
        bench.settle()
        assert fake.wait_jobs(2) == [FORMAT, FORMAT]
        assert [(j.reprint_no, j.state) for j in PrintJob.select().order_by(PrintJob.id)] == [(0, "failed"),
                                                                                             (2, "done")]
    finally:
        bench.stop()



def test_a_new_shipments_label_carries_the_passport_minted_in_its_transaction(demo_store: Store,
                                                                             clock: FakeClock) -> None:
    from app.config import StationConfig
    from app.keys import load_or_create_station_key
    from app.passport import verify_token
    from app.store.models import AuditEntry, Shipment
    from drivers.printers.simulated import SimulatedPrinter
    from wiring import build_runtime

    printer = SimulatedPrinter()
    runtime = build_runtime(demo_store, demo_store.path.parent, StationConfig(station="T-1"), clock, printer,
                            None, None)

    def feed(code: str) -> None:
        runtime.submit_scan(Scan(code.encode(), "test", clock.now()))
        runtime.run_pending()

    order_id, items, grams = ORDER_1
    for code in (PACKER, order_id, *items):
        feed(code)
    runtime.submit_weight(WeightReading(grams, True, clock.now()))
    runtime.run_pending()
    feed(command_barcode(Command.REPRINT))
    first, reprint = printer.printed
    shipment = Shipment.get()
    key = load_or_create_station_key(demo_store.path.parent).public_key()
    from app.keys import key_id

    fields = verify_token(first.passport_url, {key_id(key): key})
    assert (fields.passport_id, fields.order_id, fields.tracking_no) == (shipment.passport_id, order_id,
                                                                          shipment.tracking_no)
    assert reprint.passport_url == first.passport_url  # the same passport on every print of the parcel
    kinds = [e.kind for e in AuditEntry.select().order_by(AuditEntry.seq)]
    assert kinds.count("passport.minted") == 1
    # Written with the shipment, in its transaction: the entry right after shipment.created.
    assert kinds[kinds.index("shipment.created") + 1] == "passport.minted"


def test_a_passport_that_cannot_be_minted_never_holds_the_parcel(demo_store: Store, clock: FakeClock) -> None:
    from app.config import StationConfig
    from app.store.models import Shipment
    from drivers.printers.simulated import SimulatedPrinter
    from wiring import build_runtime

    printer = SimulatedPrinter()
    config = StationConfig(station="T-1", passport_base_url="https://" + "x" * 200 + ".example")
    runtime = build_runtime(demo_store, demo_store.path.parent, config, clock, printer, None, None)
    errors: list[str] = []
    runtime.listeners.error.append(errors.append)
    order_id, items, grams = ORDER_1
    for code in (PACKER, order_id, *items):
        runtime.submit_scan(Scan(code.encode(), "test", clock.now()))
    runtime.submit_weight(WeightReading(grams, True, clock.now()))
    runtime.run_pending()
    assert [label.passport_url for label in printer.printed] == [""]
    assert Shipment.get().passport_id is None
    assert errors and "label printed without passport" in errors[0] and "shorten the base URL" in errors[0]


def test_a_voided_parcels_waiting_label_is_not_sent(demo_store: Store, clock: FakeClock) -> None:
    from app.printing import claim_job
    from app.store.models import Shipment
    from tests.helpers import scan, weigh

    flow = PackFlow(demo_store, clock, FlowConfig(station="T-1"))
    order_id, items, grams = ORDER_1
    for code in (PACKER, order_id, *items):
        scan(flow, code)
    out = weigh(flow, grams)
    assert out is not None and out.event == "label_queued"
    Shipment.update(voided=True).execute()
    assert claim_job(demo_store, clock, out.detail["job_id"]) == "voided"
    assert PrintJob.get().state == "queued" and PrintJob.get().attempts == 0
    assert claim_job(demo_store, clock, 999) == "missing"
