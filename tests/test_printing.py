"""Print jobs against a printer on 127.0.0.1: status before and after, faults, and no lost or doubled labels."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.clock import FakeClock
from app.devices import PrinterError
from app.errors import ExitCode
from app.labels import Label, Party
from app.pack.flow import FlowConfig, PackFlow
from app.pack.outcomes import Outcome
from app.printing import claim_job
from app.station import StationRuntime
from app.store import Store
from app.store.models import PrintJob
from drivers.printers.printer import LanguagePrinter, PrinterProfile
from drivers.printers.tcp import TcpTransport
from tests.fake_printer import FakePrinter, Fault
from tests.helpers import scan, weigh

FORMAT = b"^XA^CI28^FO50,50^A0N,40,40^FDtest^FS^XZ"
LABEL = Label("SF", "standard", "SF1400000000000", Party("仓", "0571", "杭州"), Party("张伟", "138****5678", "杭州"),
              "TB1", 715, 3, "2026-11-25 10:00", "T-1", "https://pb.example/p/x")


@pytest.fixture(params=["zpl", "escpos", "tspl"])
def printer(request: pytest.FixtureRequest) -> Iterator[FakePrinter]:
    fake = FakePrinter(request.param)
    yield fake
    fake.close()


def connect(fake: FakePrinter, payload: bytes = FORMAT, timeout: float = 0.3) -> LanguagePrinter:
    return LanguagePrinter(TcpTransport("127.0.0.1", fake.port, timeout=1.0), lambda label: payload,
                           PrinterProfile(fake.language, status_timeout=timeout))


def test_a_job_is_status_checked_before_and_after(printer: FakePrinter) -> None:
    connect(printer).print_label(LABEL)
    assert printer.wait_jobs(1) == [FORMAT]
    expected_queries = {"zpl": 2, "escpos": 6, "tspl": 2}[printer.language]  # ESC/POS asks n = 1, 2, 4
    assert printer.status_queries == expected_queries


def test_a_recent_ready_answer_spares_the_next_jobs_first_status_query() -> None:
    fake = FakePrinter("zpl")
    now = [100.0]
    printer = LanguagePrinter(TcpTransport("127.0.0.1", fake.port, timeout=1.0), lambda label: FORMAT,
                              PrinterProfile("zpl", status_timeout=0.3, status_fresh=3.0), monotonic=lambda: now[0])
    try:
        printer.print_label(LABEL)
        assert fake.status_queries == 2  # before and after
        now[0] += 2.0
        printer.print_label(LABEL)  # the answer after the first job is 2 s old: asked only after
        assert fake.status_queries == 3
        now[0] += 3.5
        printer.print_label(LABEL)  # 3.5 s since the last answer: asked before again
        assert fake.status_queries == 5
        fake.fault.paper_out = True  # ran out printing the last one: the next job finds out after it
        now[0] += 1.0
        with pytest.raises(PrinterError, match="paper out after the label was sent") as caught:
            printer.print_label(LABEL)
        assert caught.value.delivered  # uncertain, so only a REPRINT sends it again
        with pytest.raises(PrinterError, match="paper out") as caught:  # a fault forgets the ready answer
            printer.print_label(LABEL)
        assert not caught.value.delivered
        assert len(fake.wait_jobs(4)) == 4
    finally:
        fake.close()


def test_paper_out_stops_the_job_before_any_label_byte(printer: FakePrinter) -> None:
    printer.fault.paper_out = True
    with pytest.raises(PrinterError, match="paper out") as caught:
        connect(printer).print_label(LABEL)
    assert not caught.value.delivered
    assert printer.jobs == []


def test_open_head_or_cover_is_reported(printer: FakePrinter) -> None:
    printer.fault.head_open = True
    reason = {"zpl": "does not answer", "escpos": "cover open", "tspl": "head open"}[printer.language]
    with pytest.raises(PrinterError, match=reason):
        connect(printer).print_label(LABEL)
    assert printer.jobs == []


def test_a_silent_printer_is_a_fault_not_a_success(printer: FakePrinter) -> None:
    printer.fault.silent = True
    with pytest.raises(PrinterError, match="does not answer"):
        connect(printer, timeout=0.2).print_label(LABEL)


def test_a_connection_dropped_mid_job_is_undelivered() -> None:
    fake = FakePrinter("zpl", Fault(drop_after=20))
    # Bigger than the loopback socket buffers, so the drop lands before the last byte went out.
    # (A drop after the kernel took every byte is "delivered": the label may exist, a person decides.)
    payload = FORMAT * 400_000
    try:
        with pytest.raises(PrinterError) as caught:
            connect(fake, payload).print_label(LABEL)
        assert not caught.value.delivered
        assert len(fake.wait_jobs(1)[0]) == 20
    finally:
        fake.close()


def test_an_unreachable_printer_is_one_clear_reason() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nothing listens here once the socket closes
    printer = LanguagePrinter(TcpTransport("127.0.0.1", port, timeout=0.5), lambda label: FORMAT,
                              PrinterProfile("zpl"))
    with pytest.raises(PrinterError, match="unreachable"):
        printer.print_label(LABEL)


# ----- jobs through the station runtime -----

PACKER, ORDER = "B-1001", "TB2026112500001"


def _runtime(store: Store, clock: FakeClock, fake: FakePrinter) -> tuple[StationRuntime, list[Outcome]]:
    flow = PackFlow(store, clock, FlowConfig(station="T-1"))
    runtime = StationRuntime(flow, clock, connect(fake, timeout=0.2), Party("仓", "0571", "杭州"))
    seen: list[Outcome] = []
    runtime.listeners.outcome.append(seen.append)
    return runtime, seen


def _pack(runtime: StationRuntime) -> None:
    from app.demo import product_barcode

    for code in (PACKER, ORDER, product_barcode("TEA-LJ-250"), product_barcode("CHOP-BMB-5"),
                 product_barcode("TEA-LJ-250")):
        scan(runtime.flow, code)
    out = weigh(runtime.flow, 715)
    assert out is not None and out.event == "label_queued"
    runtime.call(lambda: out)  # the runtime prints what the flow queued, on its own thread
    runtime.run_pending()


def test_paper_out_job_waits_and_prints_once_when_fixed(demo_store: Store, clock: FakeClock) -> None:
    fake = FakePrinter("zpl", Fault(paper_out=True))
    try:
        runtime, seen = _runtime(demo_store, clock, fake)
        _pack(runtime)
        assert seen[-1].event == "print_failed" and "paper out" in seen[-1].detail["reason"].plain()
        job = PrintJob.get()
        assert (job.state, job.error) == ("queued", "paper out")
        runtime.print_worker.retry_now()  # still out of paper: no new outcome, no new row
        runtime.run_pending()
        assert seen[-1].event == "print_failed" and len(seen) == 2
        assert PrintJob.get().attempts == 2
        fake.fault.paper_out = False
        runtime.print_worker.retry_now()
        runtime.run_pending()
        assert seen[-1].event == "label_printed"
        assert fake.wait_jobs(1) == [FORMAT] and PrintJob.get().state == "done"
        runtime.print_worker.retry_now()  # nothing waits any more: nothing is sent twice
        runtime.run_pending()
        assert len(fake.jobs) == 1
    finally:
        fake.close()


def test_fault_after_delivery_is_never_resent_by_itself(demo_store: Store, clock: FakeClock) -> None:
    fake = FakePrinter("tspl")
    original = fake._tspl
    calls = {"n": 0}

    def status_after_job(query: bytes) -> bytes:
        calls["n"] += 1
        return original(query) if calls["n"] == 1 else b"\x04"  # paper ran out printing this label

    fake._tspl = status_after_job  # type: ignore[method-assign]
    try:
        runtime, seen = _runtime(demo_store, clock, fake)
        _pack(runtime)
        assert seen[-1].event == "print_uncertain"
        assert PrintJob.get().state == "failed"
        runtime.print_worker.retry_now()
        runtime.run_pending()
        assert len(fake.wait_jobs(1)) == 1  # only a person's REPRINT sends it again
        from app.barcodes import Command, command_barcode

        reprint = scan(runtime.flow, command_barcode(Command.REPRINT))
        assert reprint.event == "reprint_queued" and reprint.detail["reprint_no"] == 2
    finally:
        fake.close()


def test_a_job_caught_mid_send_by_a_crash_is_reported_not_resent(demo_store: Store, clock: FakeClock) -> None:
    fake = FakePrinter("zpl")
    try:
        runtime, seen = _runtime(demo_store, clock, fake)
        from app.demo import product_barcode

        for code in (PACKER, ORDER, product_barcode("TEA-LJ-250"), product_barcode("CHOP-BMB-5"),
                     product_barcode("TEA-LJ-250")):
            scan(runtime.flow, code)
        out = weigh(runtime.flow, 715)
        assert out is not None
        assert claim_job(demo_store, clock, out.detail["job_id"]) == "queued"  # ... and the station died here
        restarted, seen = _runtime(demo_store, clock, fake)
        restarted.call(restarted._resume_print_jobs)
        restarted.run_pending()
        assert seen[-1].event == "print_uncertain" and "stopped while printing" in seen[-1].detail["reason"].plain()
        assert "打印时工位停止运行" in seen[-1].text("zh_CN")  # a reason the bench itself gives, translated
        assert fake.jobs == []
    finally:
        fake.close()


def test_print_test_command_reaches_the_printer_or_says_why(tmp_path: Path,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    from main import main

    fake = FakePrinter("zpl")
    try:
        assert main(["print-test", "--data-dir", str(tmp_path), "--printer", fake.spec]) == 0
        job = fake.wait_jobs(1)[0]
        assert (b"SF1234567890123" in job and job.startswith(b"^XA")) or b"^XA" in job
        fake.fault.paper_out = True
        assert main(["print-test", "--data-dir", str(tmp_path), "--printer", fake.spec]) == ExitCode.DEVICE
        assert "test label not printed: paper out" in capsys.readouterr().err
    finally:
        fake.close()
