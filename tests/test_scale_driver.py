"""Scale frame parsers, the settle rule, the serial scale over a pty, and the simulated scale."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from app.clock import FakeClock
from app.devices import DeviceState, DeviceStatus, WeightReading
from drivers.scales import (
    STX,
    ScaleFrame,
    ScaleFrameError,
    SerialScale,
    SimulatedScale,
    StabilityRule,
    WeightsFileScale,
    decode_sics,
    decode_stgs,
    decode_toledo,
    open_scale,
    parse_plain,
    parse_sics,
    parse_stgs,
    parse_toledo,
)
from drivers.spec import SpecError
from tests.ptypair import PtyDevice, wait_until

RETRY = 0.02
AT = FakeClock().now()


class Recorder:
    def __init__(self) -> None:
        self.readings: list[WeightReading] = []
        self.statuses: list[DeviceStatus] = []

    def on_weight(self, reading: WeightReading) -> None:
        self.readings.append(reading)

    def on_status(self, status: DeviceStatus) -> None:
        self.statuses.append(status)

    def states(self) -> list[DeviceState]:
        return [s.state for s in self.statuses]

    def pairs(self) -> list[tuple[int, bool]]:
        return [(r.grams, r.stable) for r in self.readings]


def toledo(weight: str, tare: str = "000000", *, dp: int = 5, swb: int = 0x30, swc: int = 0x20,
           checksum: bool = False) -> bytes:
    """A Toledo continuous frame. dp = SWA bits 0-2 (5 = XXX.XXX); SWB 0x30 = kg, in range, still."""
    swa = 0x20 | 0x08 | dp  # bit 5 always 1, increment x1
    frame = bytes([STX, swa, swb, swc]) + weight.encode() + tare.encode() + b"\r"
    if checksum:
        frame += bytes([-sum(frame) & 0x7F])
    return frame


# -- ST,GS family -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("frame", "grams", "stable"),
    [
        (b"ST,GS,+0001.234kg", 1234, True),
        (b"ST,GS,+  1.234kg", 1234, True),
        (b"US,NT,-   12.5 g", -13, False),  # half a gram rounds away from zero
        (b"ST,NT,+   250.0 g", 250, True),
        (b"ST,GS,+  2.000lb", 907, True),  # 2 lb = 907.18 g
        (b"ST,GS,+  0.50 oz", 14, True),
        (b"ST,+00123.45  g", 123, True),  # A&D: no GS/NT field
        (b"  ST , GS , + 0.000 kg ", 0, True),
    ],
)
def test_stgs_frames(frame: bytes, grams: int, stable: bool) -> None:
    assert parse_stgs(frame, AT) == WeightReading(grams, stable, AT)


def test_stgs_frames_without_a_weight() -> None:
    assert decode_stgs(b"OL,GS,+9999.99kg") == ScaleFrame(0, False, overload=True)
    assert decode_stgs(b"OL,+9999999E+19") == ScaleFrame(0, False, overload=True)
    assert parse_stgs(b"OL,GS,+9999.99kg", AT) is None
    assert parse_stgs(b"ST,TR,+0000.500kg", AT) is None  # a tare report, not the parcel
    assert parse_stgs(b"ST,GS,+    12 PCS", AT) is None  # counting mode


@pytest.mark.parametrize(
    "frame",
    [b"", b"ST,GS", b"XX,GS,+1.0kg", b"ST,ZZ,+1.0kg", b"ST,GS,+1.0furlong", b"ST,GS,+1.2.3kg",
     b"ST,GS,\xff1.0kg", b"GS,+1.0kg", b"1.234kg"],
)
def test_stgs_garbage_raises(frame: bytes) -> None:
    with pytest.raises(ScaleFrameError):
        decode_stgs(frame)


# -- Toledo -------------------------------------------------------------------------------------------


def test_toledo_decimal_position_and_units() -> None:
    assert parse_toledo(toledo("001234"), AT) == WeightReading(1234, True, AT)  # 1.234 kg
    assert parse_toledo(toledo("001234", dp=2), AT) == WeightReading(1_234_000, True, AT)  # 1234 kg
    assert parse_toledo(toledo("000012", dp=0), AT) == WeightReading(1_200_000, True, AT)  # 12 00 kg
    assert parse_toledo(toledo("000250", dp=4, swb=0x20), AT) == WeightReading(1134, True, AT)  # 2.50 lb
    assert parse_toledo(toledo("012345", dp=3, swc=0x21), AT) == WeightReading(1235, True, AT)  # g
    assert parse_toledo(toledo("  1234"), AT) == WeightReading(1234, True, AT)  # blanked zeros


def test_toledo_status_bits() -> None:
    assert parse_toledo(toledo("000500", swb=0x30 | 0x02), AT) == WeightReading(-500, True, AT)
    assert parse_toledo(toledo("000500", swb=0x30 | 0x08), AT) == WeightReading(500, False, AT)  # motion
    assert parse_toledo(toledo("000500", swb=0x30 | 0x40), AT) == WeightReading(500, False, AT)  # not zeroed
    assert parse_toledo(toledo("000500", swb=0x30 | 0x01), AT) == WeightReading(500, True, AT)  # net
    assert decode_toledo(toledo("999999", swb=0x30 | 0x04)) == ScaleFrame(0, False, overload=True)
    assert parse_toledo(toledo("000500", swb=0x30 | 0x80), AT) == WeightReading(500, True, AT)  # parity


def test_toledo_checksum_and_framing() -> None:
    good = toledo("001234", checksum=True)
    assert parse_toledo(good, AT) == WeightReading(1234, True, AT)
    with pytest.raises(ScaleFrameError, match="checksum"):
        decode_toledo(good[:-1] + bytes([(good[-1] + 1) & 0x7F]))
    # As the reader delivers it: CR stripped, the previous frame's checksum byte in front.
    assert parse_toledo(b"\x5a" + toledo("000100")[:-1], AT) == WeightReading(100, True, AT)
    for garbage in (b"", toledo("001234")[:10], toledo("00x234"), toledo("001234") + b"junk", b"ST,GS,+1kg"):
        with pytest.raises(ScaleFrameError):
            decode_toledo(garbage)


# -- MT-SICS and plain --------------------------------------------------------------------------------


def test_sics_frames() -> None:
    assert parse_sics(b"S S     12.34 g", AT) == WeightReading(12, True, AT)
    assert parse_sics(b"S D      1.234 kg", AT) == WeightReading(1234, False, AT)
    assert parse_sics(b"S S    -0.500 kg", AT) == WeightReading(-500, True, AT)
    assert decode_sics(b"S +") == ScaleFrame(0, False, overload=True)
    assert decode_sics(b"S -") == ScaleFrame(0, False, overload=True)
    assert parse_sics(b"S I", AT) is None
    assert parse_sics(b"ES", AT) is None
    for garbage in (b"S X 12 g", b"S S", b"S S 12 parsecs", b"T S 12.0 g"):
        with pytest.raises(ScaleFrameError):
            decode_sics(garbage)


def test_plain_lines() -> None:
    assert parse_plain(b"  1.234 kg", AT) == WeightReading(1234, True, AT)
    assert parse_plain(b"-350g", AT) == WeightReading(-350, True, AT)
    assert parse_plain(b"1.5 LB", AT) == WeightReading(680, True, AT)
    with pytest.raises(ScaleFrameError):
        parse_plain(b"1.234", AT)


# -- the serial scale over a pty ----------------------------------------------------------------------


@pytest.fixture
def device(tmp_path: Path) -> Iterator[PtyDevice]:
    with PtyDevice(tmp_path, "ttyS_scale") as dev:
        yield dev


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def rec() -> Recorder:
    return Recorder()


def started(scale: SerialScale, rec: Recorder) -> SerialScale:
    scale.start(rec.on_weight, rec.on_status)
    wait_until(lambda: DeviceState.CONNECTED in rec.states())
    return scale


@pytest.fixture
def stgs_scale(device: PtyDevice, clock: FakeClock, rec: Recorder) -> Iterator[SerialScale]:
    scale = started(SerialScale(device.path, clock=clock, retry_interval=RETRY), rec)
    yield scale
    scale.stop()


def send(device: PtyDevice, rec: Recorder, frame: bytes) -> None:
    """Write one frame and wait until the driver has emitted it."""
    n = len(rec.readings)
    device.write(frame)
    wait_until(lambda: len(rec.readings) > n)


def test_stable_only_after_settle_time_and_count(device: PtyDevice, stgs_scale: SerialScale,
                                                 rec: Recorder, clock: FakeClock) -> None:
    send(device, rec, b"US,GS,+  1.400kg\r\n")  # still swinging
    for _ in range(4):
        clock.advance(0.2)
        send(device, rec, b"ST,GS,+  1.234kg\r\n")  # the scale claims stable at once
    clock.advance(0.2)
    send(device, rec, b"ST,GS,+  1.237kg\r\n")  # within one 5 g division: still the same parcel
    assert rec.pairs() == [(1400, False), (1234, False), (1234, False), (1234, False), (1234, True),
                           (1237, True)]
    clock.advance(0.2)
    send(device, rec, b"ST,GS,+  2.000kg\r\n")  # something added: settle again
    assert rec.pairs()[-1] == (2000, False)
    assert stgs_scale.protocol == "stgs"


def test_scale_that_always_claims_stable_needs_agreement(device: PtyDevice, clock: FakeClock,
                                                         rec: Recorder) -> None:
    rule = StabilityRule(settle_ms=300, readings=2, division_g=10)
    scale = started(SerialScale(f"serial:{device.path}?protocol=plain", clock=clock, stability=rule,
                                retry_interval=RETRY), rec)
    try:
        for grams in (900, 1300, 1150, 1210, 1205, 1208):
            clock.advance(0.2)
            send(device, rec, f"{grams / 1000:.3f} kg\r\n".encode())
        assert [s for _, s in rec.pairs()] == [False, False, False, False, False, True]
    finally:
        scale.stop()


def test_garbled_frames_are_skipped_and_counted(device: PtyDevice, stgs_scale: SerialScale,
                                                rec: Recorder) -> None:
    send(device, rec, b"ST,GS,+  0.100kg\r\n")
    device.write(b"\xff\xfe~~\r\nST,GS,+  0.1\x00kg\r\n")
    send(device, rec, b"ST,GS,+  0.200kg\r\n")
    assert [g for g, _ in rec.pairs()] == [100, 200]
    assert stgs_scale.garbled_frames == 2


def test_overload_is_a_fault_until_a_weight_returns(device: PtyDevice, stgs_scale: SerialScale,
                                                    rec: Recorder) -> None:
    device.write(b"OL,GS,+9999.99kg\r\n")
    wait_until(lambda: DeviceState.FAULT in rec.states())
    send(device, rec, b"ST,GS,+  0.000kg\r\n")
    assert rec.states() == [DeviceState.CONNECTED, DeviceState.FAULT, DeviceState.CONNECTED]


def test_auto_detects_toledo_with_checksum(device: PtyDevice, clock: FakeClock, rec: Recorder) -> None:
    scale = started(SerialScale(device.path, clock=clock, retry_interval=RETRY), rec)
    try:
        assert scale.protocol is None
        device.write(toledo("000750", checksum=True) * 2)
        wait_until(lambda: len(rec.readings) == 2)
        assert scale.protocol == "toledo"
        assert [g for g, _ in rec.pairs()] == [750, 750]
        assert scale.garbled_frames == 0
    finally:
        scale.stop()


def test_auto_detect_ignores_a_fragment_and_confirms_plain_twice(device: PtyDevice, clock: FakeClock,
                                                                 rec: Recorder) -> None:
    scale = started(SerialScale(device.path, clock=clock, retry_interval=RETRY), rec)
    try:
        # The port opened mid-frame: the tail "1.234kg" looks like a plain line but is not trusted.
        device.write(b"1.234kg\r\nST,GS,+  1.234kg\r\n")
        wait_until(lambda: len(rec.readings) == 1)
        assert scale.protocol == "stgs"
    finally:
        scale.stop()
    plain_rec = Recorder()
    scale = started(SerialScale(device.path, clock=clock, retry_interval=RETRY), plain_rec)
    try:
        device.write(b" 0.500 kg\r\n 0.501 kg\r\n")
        wait_until(lambda: plain_rec.readings)
        assert scale.protocol == "plain"
        assert [g for g, _ in plain_rec.pairs()] == [501]
    finally:
        scale.stop()


def test_sics_asks_the_balance_to_stream(device: PtyDevice, clock: FakeClock, rec: Recorder) -> None:
    scale = started(SerialScale(device.path, protocol="sics", clock=clock, retry_interval=RETRY), rec)
    try:
        assert device.read() == b"SIR\r\n"
        send(device, rec, b"S D     0.512 kg\r\n")
        assert rec.pairs() == [(512, False)]
    finally:
        scale.stop()


def test_scale_survives_unplug_and_redetects(device: PtyDevice, clock: FakeClock, rec: Recorder) -> None:
    scale = started(SerialScale(device.path, clock=clock, retry_interval=RETRY), rec)
    try:
        send(device, rec, b"ST,GS,+  0.300kg\r\n")
        device.unplug()
        wait_until(lambda: DeviceState.DISCONNECTED in rec.states())
        assert scale.protocol is None
        device.replug()
        wait_until(lambda: rec.states().count(DeviceState.CONNECTED) == 2)
        send(device, rec, b"S S      0.300 kg\r\n")  # a different scale came back on that port
        assert scale.protocol == "sics"
        assert rec.states() == [DeviceState.CONNECTED, DeviceState.DISCONNECTED, DeviceState.CONNECTED]
    finally:
        scale.stop()


def test_spec_options_configure_the_scale() -> None:
    scale = SerialScale("serial:/dev/null?protocol=toledo&settle_ms=800&readings=4&division_g=2&baud=4800")
    assert scale.protocol == "toledo"
    assert scale.stability == StabilityRule(settle_ms=800, readings=4, division_g=2)
    with pytest.raises(SpecError, match="unknown scale protocol"):
        SerialScale("/dev/null", protocol="morse")


# -- simulated scale ----------------------------------------------------------------------------------


def test_simulated_scale_place_and_clear(clock: FakeClock, rec: Recorder) -> None:
    sim = SimulatedScale(clock)
    assert sim.place(1000) is None  # not started: nobody to tell
    sim.start(rec.on_weight, rec.on_status)
    assert sim.place(1200) == WeightReading(1200, True, clock.now())
    assert [s for _, s in rec.pairs()] == [False, False, True]
    assert rec.pairs()[0][0] != 1200
    sim.clear()
    assert rec.pairs()[-1] == (0, True)
    assert all(g >= 0 for g, _ in rec.pairs())
    assert rec.states() == [DeviceState.CONNECTED]


def test_simulated_scale_settles_on_the_expected_weight(clock: FakeClock, rec: Recorder) -> None:
    sim = SimulatedScale(clock)
    sim.start(rec.on_weight, rec.on_status)
    assert sim.poll(None) is None
    assert sim.poll(1850) == WeightReading(1850, True, clock.now())
    sim.place(900)  # a parcel put down by hand wins over the expected weight
    assert sim.poll(1850) == WeightReading(900, True, clock.now())
    sim.clear()
    assert sim.poll(1850) == WeightReading(1850, True, clock.now())


def test_weights_file_hands_out_one_reading_per_poll(tmp_path: Path, clock: FakeClock, rec: Recorder) -> None:
    path = tmp_path / "weights.txt"
    path.write_text("1.234kg\n\n  980g \ngarbage\n2.5 lb\n1500\n", "utf-8")
    scale = WeightsFileScale(str(path), clock)
    scale.start(rec.on_weight, rec.on_status)
    grams = [r.grams if r else None for r in (scale.poll(None) for _ in range(5))]
    assert grams == [1234, 980, 1134, 1500, None]
    assert [s.state for s in rec.statuses] == [DeviceState.CONNECTED, DeviceState.FAULT]
    assert "garbage" in rec.statuses[-1].detail
    scale.stop()


def test_weights_file_missing_is_a_fault(tmp_path: Path, clock: FakeClock, rec: Recorder) -> None:
    scale = WeightsFileScale(str(tmp_path / "nope.txt"), clock)
    scale.start(rec.on_weight, rec.on_status)
    assert rec.statuses[-1].state is DeviceState.FAULT and scale.poll(100) is None


def test_open_scale_by_spec() -> None:
    assert isinstance(open_scale("sim"), SimulatedScale)
    assert isinstance(open_scale("serial:/dev/ttyUSB1?protocol=stgs"), SerialScale)
    assert isinstance(open_scale("file:/tmp/weights"), WeightsFileScale)
    assert isinstance(open_scale("tcp:127.0.0.1:4001"), SerialScale)
    with pytest.raises(SpecError, match="no scale driver"):
        open_scale("usb:0416:5011")
