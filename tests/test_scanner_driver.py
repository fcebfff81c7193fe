"""Scanner drivers over real pseudo-terminals, plus the spec parser and the line framing they share."""

from __future__ import annotations

import io
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.clock import FakeClock
from app.devices import DeviceState, DeviceStatus, Scan
from app.read_back import translate_reasons
from drivers.scanners import (
    DoubleReadFilter,
    FileScanner,
    SerialScanner,
    SimulatedScanner,
    open_scanner,
)
from drivers.serialport import FrameSplitter, PortBusyError, SerialLineReader
from drivers.spec import DeviceSpec, SpecError, parse_spec
from tests.ptypair import PtyDevice, wait_until
from tests.test_message_languages import foreign_latin

RETRY = 0.02  # seconds between reopen attempts; small so unplug/replug tests stay fast


class Recorder:
    """Collects what a device reports; list.append is atomic, so the reader thread may call it."""

    def __init__(self) -> None:
        self.scans: list[Scan] = []
        self.statuses: list[DeviceStatus] = []

    def on_scan(self, scan: Scan) -> None:
        self.scans.append(scan)

    def on_status(self, status: DeviceStatus) -> None:
        self.statuses.append(status)

    @property
    def raws(self) -> list[bytes]:
        return [s.raw for s in self.scans]

    def states(self) -> list[DeviceState]:
        return [s.state for s in self.statuses]

    def count(self, state: DeviceState) -> int:
        return self.states().count(state)


@pytest.fixture
def device(tmp_path: Path) -> Iterator[PtyDevice]:
    with PtyDevice(tmp_path) as dev:
        yield dev


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def rec() -> Recorder:
    return Recorder()


@pytest.fixture
def scanner(device: PtyDevice, clock: FakeClock, rec: Recorder) -> Iterator[SerialScanner]:
    """A SerialScanner on the pty, started and CONNECTED."""
    sc = SerialScanner(f"serial:{device.path}?suffix=any", clock=clock, retry_interval=RETRY)
    sc.start(rec.on_scan, rec.on_status)
    wait_until(lambda: rec.count(DeviceState.CONNECTED) == 1)
    yield sc
    sc.stop()


# -- spec ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("serial:/dev/ttyUSB0?baud=9600&suffix=cr",
         DeviceSpec("serial", "/dev/ttyUSB0", {"baud": "9600", "suffix": "cr"})),
        ("serial:COM3", DeviceSpec("serial", "COM3", {})),
        ("tcp:127.0.0.1:9100?lang=zpl&dpi=203", DeviceSpec("tcp", "127.0.0.1:9100", {"lang": "zpl", "dpi": "203"})),
        ("tcp:[::1]:9100", DeviceSpec("tcp", "[::1]:9100", {})),
        ("file:-", DeviceSpec("file", "-", {})),
        ("file:C:\\scans.txt", DeviceSpec("file", "C:\\scans.txt", {})),
        ("pdf:/srv/labels", DeviceSpec("pdf", "/srv/labels", {})),
        ("sim", DeviceSpec("sim", "", {})),
        ("sim?weight=1200", DeviceSpec("sim", "", {"weight": "1200"})),
        ("SIM:", DeviceSpec("sim", "", {})),
        ("file:/tmp/a?name=x%26y", DeviceSpec("file", "/tmp/a", {"name": "x&y"})),
    ],
)
def test_parse_spec(text: str, expected: DeviceSpec) -> None:
    assert parse_spec(text) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty"),
        ("ftp:host", "unknown device scheme 'ftp'"),
        ("/dev/ttyUSB0", "write serial:/dev/ttyUSB0"),
        ("serial:", "missing serial port"),
        ("serial:/dev/ttyUSB0?baud=fast", "not a whole number"),
        ("serial:/dev/ttyUSB0?baud=0", "bad baud rate 0"),
        ("tcp:printer.local", "missing port"),
        ("tcp:printer.local:99999", "bad TCP port"),
        ("tcp::9100", "missing host"),
        ("serial:/dev/x?baud", "write key=value"),
        ("serial:/dev/x?baud=1&baud=2", "given twice"),
    ],
)
def test_parse_spec_errors_are_one_line(text: str, message: str) -> None:
    with pytest.raises(SpecError, match=message) as info:
        parse_spec(text)
    assert "\n" not in str(info.value)
    assert isinstance(info.value, ValueError)


def test_spec_helpers_round_trip() -> None:
    spec = parse_spec("tcp:10.0.0.5:9100?lang=zpl")
    assert spec.host_port() == ("10.0.0.5", 9100)
    assert parse_spec(str(spec)) == spec
    assert spec.int_option("dpi", 203) == 203
    assert parse_spec("usb:x", schemes={"usb"}).scheme == "usb"
    with pytest.raises(SpecError):
        parse_spec("serial:/dev/x", schemes={"usb"})


# -- framing ------------------------------------------------------------------------------------------


def test_splitter_crlf_is_one_frame_end_even_across_reads() -> None:
    sp = FrameSplitter(b"\r\n")
    assert sp.feed(b"A\r\nB\rC\n\r\n") == [b"A", b"B", b"C"]
    assert sp.feed(b"D\r") == [b"D"]
    assert sp.feed(b"\nE") == []
    assert sp.feed(b"\r") == [b"E"]


def test_splitter_drops_overlong_frame_and_recovers() -> None:
    sp = FrameSplitter(b"\r", max_frame=8)
    assert sp.feed(b"123456789\rok\r") == [b"ok"]
    assert sp.feed(b"x" * 5) == []
    assert sp.feed(b"x" * 5) == []  # buffer gave up here
    assert sp.feed(b"x" * 50 + b"\rnext\r") == [b"next"]
    assert sp.dropped == 2


# -- serial scanner over a pty ------------------------------------------------------------------------


def test_frames_with_each_suffix_arrive_as_scans(device: PtyDevice, scanner: SerialScanner,
                                                 rec: Recorder, clock: FakeClock) -> None:
    device.write(b"6901234567892\r")
    device.write(b"SF1234567890123\n")
    device.write(b"]C1010690123456789213\r\n")
    wait_until(lambda: len(rec.scans) == 3)
    assert rec.raws == [b"6901234567892", b"SF1234567890123", b"]C1010690123456789213"]
    assert rec.scans[0].source == f"serial:{device.path}"
    assert rec.scans[0].at == clock.now()


def test_several_frames_in_one_write_and_one_frame_split_across_writes(
    device: PtyDevice, scanner: SerialScanner, rec: Recorder
) -> None:
    device.write(b"A1\rB2\r\nC3\r")
    device.write(b"SPL")
    wait_until(lambda: len(rec.scans) == 3)
    time.sleep(0.05)  # let the reader see the half frame on its own before the rest arrives
    device.write(b"IT\r")
    wait_until(lambda: len(rec.scans) == 4)
    assert rec.raws == [b"A1", b"B2", b"C3", b"SPLIT"]


def test_suffix_cr_strips_a_stray_lf(device: PtyDevice, clock: FakeClock, rec: Recorder) -> None:
    sc = SerialScanner(device.path, suffix="cr", clock=clock, retry_interval=RETRY)
    sc.start(rec.on_scan, rec.on_status)
    try:
        wait_until(lambda: rec.count(DeviceState.CONNECTED))
        device.write(b"ONE\r\nTWO\r\n")
        wait_until(lambda: len(rec.scans) == 2)
        assert rec.raws == [b"ONE", b"TWO"]
    finally:
        sc.stop()


def test_double_read_within_window_counts_once(device: PtyDevice, scanner: SerialScanner,
                                               rec: Recorder, clock: FakeClock) -> None:
    doubles: list[bytes] = []
    scanner.on_double_read = doubles.append
    device.write(b"ITEM\r")
    wait_until(lambda: len(rec.scans) == 1)
    clock.advance(0.15)
    device.write(b"ITEM\rMARK\r")  # MARK shows the reader got past the repeat
    wait_until(lambda: b"MARK" in rec.raws)
    assert rec.raws == [b"ITEM", b"MARK"]
    clock.advance(0.25)
    device.write(b"MARK\r")  # a different code in between never hides a real second read
    device.write(b"ITEM\r")
    wait_until(lambda: len(rec.scans) == 4)
    assert rec.raws == [b"ITEM", b"MARK", b"MARK", b"ITEM"]
    assert scanner.filter.suppressed == 1 and doubles == [b"ITEM"]  # dropped, but said


def test_double_read_filter_window() -> None:
    clock = FakeClock()
    f = DoubleReadFilter(200, clock)
    assert f.accept(b"X")
    clock.advance(0.199)
    assert not f.accept(b"X")
    clock.advance(0.001)  # 200 ms after the accepted read: a real second scan
    assert f.accept(b"X")
    assert f.accept(b"Y")
    assert f.accept(b"X")


def test_unplug_reports_once_and_replug_resumes_without_restart(
    device: PtyDevice, scanner: SerialScanner, rec: Recorder
) -> None:
    device.write(b"BEFORE\r")
    wait_until(lambda: rec.raws == [b"BEFORE"])
    device.unplug()
    wait_until(lambda: rec.count(DeviceState.DISCONNECTED) == 1)
    time.sleep(10 * RETRY)  # many failed reopen attempts happen here
    assert rec.states() == [DeviceState.CONNECTED, DeviceState.DISCONNECTED]
    # Linux gives EIO from the hung-up pty, or pyserial's "readiness to read but returned no data",
    # depending on which call sees the hang-up first; both are SerialException/OSError.
    assert rec.statuses[-1].detail.startswith(device.path)

    device.replug()
    wait_until(lambda: rec.count(DeviceState.CONNECTED) == 2)
    device.write(b"AFTER\r")
    wait_until(lambda: len(rec.scans) == 2)
    assert rec.raws == [b"BEFORE", b"AFTER"]
    assert rec.states() == [DeviceState.CONNECTED, DeviceState.DISCONNECTED, DeviceState.CONNECTED]


def test_partial_frame_is_discarded_on_disconnect(device: PtyDevice, scanner: SerialScanner,
                                                  rec: Recorder) -> None:
    device.write(b"HALF")
    time.sleep(0.05)
    device.unplug()
    wait_until(lambda: rec.count(DeviceState.DISCONNECTED) == 1)
    device.replug()
    wait_until(lambda: rec.count(DeviceState.CONNECTED) == 2)
    device.write(b"WHOLE\r")
    wait_until(lambda: rec.scans)
    assert rec.raws == [b"WHOLE"]


def test_port_missing_at_start_connects_when_it_appears(tmp_path: Path, rec: Recorder) -> None:
    dev = PtyDevice(tmp_path)
    dev.unplug()
    sc = SerialScanner(dev.path, retry_interval=RETRY)
    sc.start(rec.on_scan, rec.on_status)
    try:
        wait_until(lambda: rec.states() == [DeviceState.DISCONNECTED])
        detail = rec.statuses[0].detail  # English (the log's); the device chip and alarm page word it again
        assert detail.startswith(f"{dev.path} not available (")
        chinese = translate_reasons(detail, "zh_CN")
        assert "不可用" in chinese and not foreign_latin(chinese, {"port": dev.path}), chinese
        dev.replug()
        wait_until(lambda: rec.count(DeviceState.CONNECTED) == 1)
        dev.write(b"LATE\r")
        wait_until(lambda: rec.raws == [b"LATE"])
    finally:
        sc.stop()
        dev.close()


def test_overlong_frame_is_dropped_and_reader_survives(device: PtyDevice, scanner: SerialScanner,
                                                       rec: Recorder) -> None:
    device.write(b"Z" * 5000 + b"\rGOOD\r")
    wait_until(lambda: rec.scans)
    assert rec.raws == [b"GOOD"]
    assert scanner.dropped_frames == 1


def test_a_failing_callback_does_not_kill_the_reader(device: PtyDevice, rec: Recorder) -> None:
    def flaky(scan: Scan) -> None:
        rec.on_scan(scan)
        if scan.raw == b"BOOM":
            raise RuntimeError("handler bug")

    sc = SerialScanner(device.path, retry_interval=RETRY)
    sc.start(flaky, rec.on_status)
    try:
        wait_until(lambda: rec.count(DeviceState.CONNECTED))
        device.write(b"BOOM\rNEXT\r")
        wait_until(lambda: len(rec.scans) == 2)
    finally:
        sc.stop()


def test_stop_joins_quickly_and_releases_the_port(device: PtyDevice, rec: Recorder) -> None:
    sc = SerialScanner(device.path, retry_interval=RETRY)
    sc.start(rec.on_scan, rec.on_status)
    wait_until(lambda: rec.count(DeviceState.CONNECTED))
    t0 = time.monotonic()
    sc.stop()
    assert time.monotonic() - t0 < 0.5
    assert not [t for t in threading.enumerate() if t.name.startswith("serial-reader")]
    sc.stop()  # idempotent
    device.write(b"IGNORED\r")
    time.sleep(0.05)
    assert rec.scans == []
    # The port is free again: a new scanner can own it.
    again = SerialScanner(device.path, retry_interval=RETRY)
    again.start(rec.on_scan, rec.on_status)
    again.stop()


def test_stop_while_port_is_missing_is_prompt(tmp_path: Path, rec: Recorder) -> None:
    sc = SerialScanner(str(tmp_path / "nothing"), retry_interval=5.0)
    sc.start(rec.on_scan, rec.on_status)
    wait_until(lambda: rec.statuses)
    t0 = time.monotonic()
    sc.stop()
    assert time.monotonic() - t0 < 0.5


def test_one_reader_per_port(device: PtyDevice, scanner: SerialScanner, rec: Recorder) -> None:
    with pytest.raises(PortBusyError):
        SerialScanner(device.path).start(rec.on_scan, rec.on_status)


def test_loop_url_and_greeting() -> None:
    frames: list[bytes] = []
    states: list[DeviceState] = []
    reader = SerialLineReader("loop://", frames.append, lambda s, d: states.append(s), greeting=b"HI\r")
    reader.start()
    try:
        wait_until(lambda: frames == [b"HI"])
        assert states == [DeviceState.CONNECTED]
    finally:
        reader.stop()


# -- simulated and file scanners ----------------------------------------------------------------------


def test_simulated_scanner(clock: FakeClock, rec: Recorder) -> None:
    sim = SimulatedScanner(clock)
    with pytest.raises(RuntimeError):
        sim.feed("too early")
    sim.start(rec.on_scan, rec.on_status)
    scan = sim.feed("6901234567892")
    assert rec.scans == [scan] == [Scan(b"6901234567892", "sim", clock.now())]
    sim.unplug()
    sim.replug()
    assert rec.states() == [DeviceState.CONNECTED, DeviceState.DISCONNECTED, DeviceState.CONNECTED]
    sim.stop()
    assert not sim.running


def test_file_scanner_reads_lines_then_reports_end_of_input(tmp_path: Path, rec: Recorder) -> None:
    path = tmp_path / "scans.txt"
    path.write_bytes(b"BADGE-7\r\n\nORDER-1\nSKU \xe4\xb8\xad\n")
    fs = FileScanner(str(path))
    fs.start(rec.on_scan, rec.on_status)
    assert fs.done.wait(3)
    fs.stop()
    assert rec.raws == [b"BADGE-7", b"ORDER-1", "SKU 中".encode()]
    assert {s.source for s in rec.scans} == {"file"}
    assert rec.statuses[-1] == DeviceStatus("scanner", DeviceState.DISCONNECTED, "end of input")


def test_file_scanner_stream_and_stdin(monkeypatch: pytest.MonkeyPatch, rec: Recorder) -> None:
    fs = FileScanner(io.StringIO("A\nB\n"))
    fs.start(rec.on_scan, rec.on_status)
    assert fs.done.wait(3)

    class FakeStdin:
        buffer = io.BytesIO(b"C\n")

    monkeypatch.setattr("sys.stdin", FakeStdin())
    stdin = open_scanner("file:-")
    assert isinstance(stdin, FileScanner)
    stdin.start(rec.on_scan, rec.on_status)
    assert stdin.done.wait(3)
    assert rec.raws == [b"A", b"B", b"C"]


def test_file_scanner_missing_file_is_a_fault(tmp_path: Path, rec: Recorder) -> None:
    fs = FileScanner(tmp_path / "nope.txt")
    fs.start(rec.on_scan, rec.on_status)
    assert fs.done.wait(3)
    assert rec.states() == [DeviceState.FAULT]


def test_open_scanner_by_spec(device: PtyDevice) -> None:
    assert isinstance(open_scanner("sim"), SimulatedScanner)
    serial_scanner = open_scanner(f"serial:{device.path}?baud=19200&suffix=crlf")
    assert isinstance(serial_scanner, SerialScanner)
    assert serial_scanner.source == f"serial:{device.path}"
    with pytest.raises(SpecError, match="no scanner driver"):
        open_scanner("pdf:/tmp/x")
    with pytest.raises(SpecError, match="unknown suffix"):
        SerialScanner("serial:/dev/x?suffix=tab")
    with pytest.raises(SpecError, match="unknown option sufix"):
        SerialScanner("serial:/dev/x?sufix=lf")


def test_tcp_scanner_reads_lines_and_reconnects_when_the_peer_returns(clock: FakeClock) -> None:
    """`tcp:HOST:PORT` (a network scanner or serial device server) uses the same reader and recovery."""
    import socket

    from drivers.scanners import open_scanner

    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    scans: list[Scan] = []
    states: list[DeviceState] = []
    assert isinstance(open_scanner(f"tcp:127.0.0.1:{port}", clock), SerialScanner)
    scanner = SerialScanner(f"tcp:127.0.0.1:{port}", clock=clock, retry_interval=0.05)
    scanner.start(scans.append, lambda s: states.append(s.state))
    try:
        conn, _ = listener.accept()
        # pyserial's socket:// flushes its input right after connecting: send once the reader is up.
        wait_until(lambda: DeviceState.CONNECTED in states)
        conn.sendall(b"TB2026112500001\r6901234560015\r")
        wait_until(lambda: len(scans) == 2)
        assert scans[0].source == f"tcp:127.0.0.1:{port}" and scans[1].raw == b"6901234560015"
        conn.close()  # the device server drops the link
        wait_until(lambda: DeviceState.DISCONNECTED in states)
        conn, _ = listener.accept()  # the driver dials again by itself
        wait_until(lambda: states[-1] is DeviceState.CONNECTED)
        conn.sendall(b"AGAIN-1\r")
        wait_until(lambda: len(scans) == 3 and scans[2].raw == b"AGAIN-1")
        conn.close()
    finally:
        scanner.stop()
        listener.close()
