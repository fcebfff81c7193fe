"""Scales: pure frame parsers, the serial driver, and the simulated twin.

Parsers take one frame (terminator already stripped by the reader) and return a `WeightReading`, or
None for a frame that carries no weight (a tare report, a pieces-count, "balance busy", overload), and
raise `ScaleFrameError` for garbage. The driver skips and counts garbage; it never crashes on it.

Protocols:
  stgs    ``ST,GS,+0001.234kg`` — A&D, Ohaus and many Chinese indicators. Header ST stable / US unstable /
          OL overload; optional GS gross / NT net / TR tare (no load weight); units kg, g, lb, oz.
  toledo  Mettler-Toledo continuous output (layout below).
  sics    MT-SICS ``S S     12.34 g`` (stable) / ``S D ...`` (dynamic), the answer to SI and SIR.
  plain   ``  1.234 kg`` lines with no status at all; the settle rule alone decides stability.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import IO

from app.clock import Clock, SystemClock
from app.devices import DeviceState, DeviceStatus, Scale, StatusCallback, WeightReading
from app.errors import DeviceError, os_problem
from app.i18n import ENGLISH, N_, render
from drivers.serialport import SerialLineReader, resolve_port
from drivers.spec import DeviceSpec, SpecError, parse_spec

log = logging.getLogger(__name__)

DEVICE = "scale"
WeightCallback = Callable[[WeightReading], None]


class ScaleFrameError(DeviceError, ValueError):
    """A frame that no parser can read (line noise, a partial frame, the wrong protocol)."""


@dataclass(frozen=True)
class ScaleFrame:
    """What a frame says, before the driver's settle rule: `stable` is the scale's own claim."""

    grams: int
    stable: bool
    overload: bool = False


Decoder = Callable[[bytes], ScaleFrame | None]

# Units → grams per unit. Count and percent modes carry no weight (None); anything else is garbage.
_UNIT_GRAMS: dict[str, Decimal | None] = {
    "kg": Decimal(1000), "g": Decimal(1), "mg": Decimal("0.001"),
    "lb": Decimal("453.59237"), "oz": Decimal("28.349523125"),
    "pc": None, "pcs": None, "%": None,
}


def _grams(negative: bool, number: str, unit: str, frame: bytes) -> int | None:
    unit = unit.lower()
    if unit not in _UNIT_GRAMS:
        raise ScaleFrameError(f"unknown unit {unit!r} in {frame!r}")
    factor = _UNIT_GRAMS[unit]
    if factor is None:
        return None
    try:
        value = Decimal(number.replace(" ", "")) * factor
    except InvalidOperation:
        raise ScaleFrameError(f"bad number {number!r} in {frame!r}") from None
    grams = int(value.to_integral_value(ROUND_HALF_UP))
    return -grams if negative else grams


def _text(frame: bytes) -> str:
    try:
        return frame.decode("ascii").strip()
    except UnicodeDecodeError:
        raise ScaleFrameError(f"non-ASCII bytes in {frame!r}") from None


# -- stgs ---------------------------------------------------------------------------------------------

_STGS_HEADER = {"ST": True, "US": False}  # OL handled first: its value field is often not a number
_STGS_KIND = {None: True, "GS": True, "NT": True, "TR": False}  # False: a tare report, not the load
_STGS = re.compile(
    r"^(?P<head>[A-Z]{2})\s*,\s*(?:(?P<kind>[A-Z]{2})\s*,\s*)?"
    r"(?P<sign>[+-])?\s*(?P<num>\d[\d ]*(?:\.\d*)?|\.\d+)\s*(?P<unit>[A-Za-z%]+)$"
)


def decode_stgs(frame: bytes) -> ScaleFrame | None:
    text = _text(frame)
    if text[:3] == "OL,":
        return ScaleFrame(0, False, overload=True)
    m = _STGS.match(text)
    if m is None or m["head"] not in _STGS_HEADER or m["kind"] not in _STGS_KIND:
        raise ScaleFrameError(f"not an ST,GS frame: {frame!r}")
    if not _STGS_KIND[m["kind"]]:
        return None
    grams = _grams(m["sign"] == "-", m["num"], m["unit"], frame)
    return None if grams is None else ScaleFrame(grams, _STGS_HEADER[m["head"]])


# -- toledo -------------------------------------------------------------------------------------------
# Mettler-Toledo continuous output, from the METTLER TOLEDO WILDCAT Technical Manual (12/00),
# Appendix 2, tables 6-8..6-11; the Fairbanks FB3000/PC2250 manuals print the same SWB bits.
#   STX SWA SWB SWC  W W W W W W  T T T T T T  CR [CHK]
#   weight and tare: six ASCII digits each, no sign, no decimal point
#   SWA bits 0-2: decimal position, code 0 = XXXX00, 1 = XXXXX0, 2 = XXXXXX, 3 = XXXXX.X ... 7 = X.XXXXX
#         so value = digits × 10^(2 - code); bits 3-4 increment size; 5 = 1; 6 = 0
#   SWB bit 0 net, 1 negative, 2 out of range, 3 motion, 4 kg (0 = lb), 5 = 1, 6 power-up not zeroed
#   SWC bit 0 grams (overrides SWB bit 4), 3 print request, 4 expanded display
#   CHK (optional): two's complement of the low 7 bits of the sum of STX..CR.
# Bit 7 of every byte is parity on 7-bit links, so it is masked off. Because the reader splits on CR,
# a checksum byte shows up at the *start* of the next frame; the parser skips anything before STX.
STX = 0x02
_TOLEDO_LEN = 16  # STX + 3 status + 6 weight + 6 tare


def decode_toledo(frame: bytes) -> ScaleFrame | None:
    start = frame.find(STX)
    if start < 0 or len(frame) - start < _TOLEDO_LEN:
        raise ScaleFrameError(f"not a Toledo frame: {frame!r}")
    body = frame[start:]
    rest = body[_TOLEDO_LEN:]
    if rest and (rest[:1] != b"\r" or len(rest) > 2):
        raise ScaleFrameError(f"trailing bytes after Toledo frame: {frame!r}")
    if len(rest) == 2 and (sum(body[:_TOLEDO_LEN + 1]) + rest[1]) & 0x7F:
        raise ScaleFrameError(f"Toledo checksum mismatch: {frame!r}")
    swa, swb, swc = (b & 0x7F for b in body[1:4])
    digits = body[4:10].decode("ascii", "replace").replace(" ", "0")  # some blank leading zeros
    if not digits.isdigit() or not body[10:16].replace(b" ", b"0").isdigit():
        raise ScaleFrameError(f"non-digit weight in Toledo frame: {frame!r}")
    if swb & 0x04:
        return ScaleFrame(0, False, overload=True)
    unit = "g" if swc & 0x01 else "kg" if swb & 0x10 else "lb"
    number = str(Decimal(int(digits)).scaleb(2 - (swa & 0x07)))
    grams = _grams(bool(swb & 0x02), number, unit, frame)
    assert grams is not None  # g/kg/lb always carry weight
    # In motion, or not yet zeroed since power-up (its weight is not to be trusted): not stable.
    return ScaleFrame(grams, stable=not swb & 0x48)


# -- sics ---------------------------------------------------------------------------------------------

_SICS = re.compile(r"^S\s+(?P<st>[SD])\s+(?P<sign>-)?\s*(?P<num>\d+(?:\.\d*)?)\s*(?P<unit>\S+)$")
_SICS_NO_WEIGHT = re.compile(r"^(S\s+I|ES|ET|EL)$")  # busy, syntax/transmission/logic error
_SICS_RANGE = re.compile(r"^S\s+[+-]$")  # over / under range


def decode_sics(frame: bytes) -> ScaleFrame | None:
    text = _text(frame)
    if _SICS_RANGE.match(text):
        return ScaleFrame(0, False, overload=True)
    if _SICS_NO_WEIGHT.match(text):
        return None
    m = _SICS.match(text)
    if m is None:
        raise ScaleFrameError(f"not an MT-SICS weight: {frame!r}")
    grams = _grams(m["sign"] == "-", m["num"], m["unit"], frame)
    return None if grams is None else ScaleFrame(grams, stable=m["st"] == "S")


# -- plain --------------------------------------------------------------------------------------------

_PLAIN = re.compile(r"^(?P<sign>[+-])?\s*(?P<num>\d+(?:\.\d*)?)\s*(?P<unit>kg|g|lb|oz)$", re.IGNORECASE)


def decode_plain(frame: bytes) -> ScaleFrame | None:
    m = _PLAIN.match(_text(frame))
    if m is None:
        raise ScaleFrameError(f"not a plain weight line: {frame!r}")
    grams = _grams(m["sign"] == "-", m["num"], m["unit"], frame)
    return None if grams is None else ScaleFrame(grams, stable=True)  # no claim: the settle rule decides


DECODERS: dict[str, Decoder] = {
    "stgs": decode_stgs, "toledo": decode_toledo, "sics": decode_sics, "plain": decode_plain,
}
# Auto-detect tries these in order. The first three have unmistakable headers and lock on one frame;
# "plain" would also match the tail of a half-read ST,GS or SICS frame, so it needs two in a row.
_CONFIDENT = ("stgs", "toledo", "sics")
_REDETECT_AFTER = 10  # consecutive garbled frames: maybe another scale is on the cable now


def parse_frame(protocol: str, frame: bytes, at: datetime) -> WeightReading | None:
    """One frame → a reading as the scale claims it, or None (no weight, or overload)."""
    decoded = DECODERS[protocol](frame)
    if decoded is None or decoded.overload:
        return None
    return WeightReading(decoded.grams, decoded.stable, at)


def parse_stgs(frame: bytes, at: datetime) -> WeightReading | None:
    return parse_frame("stgs", frame, at)


def parse_toledo(frame: bytes, at: datetime) -> WeightReading | None:
    return parse_frame("toledo", frame, at)


def parse_sics(frame: bytes, at: datetime) -> WeightReading | None:
    return parse_frame("sics", frame, at)


def parse_plain(frame: bytes, at: datetime) -> WeightReading | None:
    return parse_frame("plain", frame, at)


# -- stability ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class StabilityRule:
    """Stable = the scale says so AND `readings` readings over >= `settle_ms` agree within ±division.

    Some indicators flag every frame stable; this keeps a parcel still swinging onto the pan from
    printing a label with a transient weight.
    """

    settle_ms: int = 500
    readings: int = 3
    division_g: int = 5


class _Settler:
    """Tracks the current run of frame-stable readings that agree with the run's first reading."""

    def __init__(self, rule: StabilityRule) -> None:
        self.rule = rule
        self.reset()

    def reset(self) -> None:
        self._ref: int | None = None
        self._since: datetime | None = None
        self._count = 0

    def update(self, grams: int, claimed_stable: bool, at: datetime) -> bool:
        if not claimed_stable:
            self.reset()
            return False
        if self._ref is None or self._since is None or abs(grams - self._ref) > self.rule.division_g:
            self._ref, self._since, self._count = grams, at, 0
        self._count += 1
        settled_ms = (at - self._since).total_seconds() * 1000
        return self._count >= self.rule.readings and settled_ms >= self.rule.settle_ms


# -- drivers ------------------------------------------------------------------------------------------


class SerialScale:
    """A scale on a serial port (``serial:/dev/ttyUSB1?baud=9600&protocol=toledo&settle_ms=500``).

    Every reading is emitted, stable or not, on the reader thread; `stable` follows `StabilityRule`.
    Overload reports FAULT "overload" until a weight is readable again. protocol="sics" also sends
    ``SIR`` after each (re)connect so the balance streams.
    """

    def __init__(
        self,
        spec: DeviceSpec | str,
        protocol: str = "auto",
        clock: Clock | None = None,
        stability: StabilityRule | None = None,
        baud: int = 9600,
        retry_interval: float = 1.0,
    ) -> None:
        port, options = resolve_port(spec)
        opts = DeviceSpec("serial", port, options)
        opts.check_options(("baud", "protocol", "settle_ms", "readings", "division_g"))
        self.port = port
        self._protocol = opts.option("protocol", protocol).lower()
        if self._protocol != "auto" and self._protocol not in DECODERS:
            known = ", ".join(DECODERS)
            raise SpecError(N_("unknown scale protocol {protocol!r}; expected auto, {known}"), protocol=self._protocol,
                            known=known)
        rule = stability or StabilityRule()
        self.stability = StabilityRule(
            settle_ms=opts.int_option("settle_ms", rule.settle_ms),
            readings=opts.int_option("readings", rule.readings, minimum=1),
            division_g=opts.int_option("division_g", rule.division_g),
        )
        self._baud = opts.int_option("baud", baud, minimum=1)
        self._clock = clock or SystemClock()
        self._retry = retry_interval
        self._settler = _Settler(self.stability)
        self._reader: SerialLineReader | None = None
        self._on_weight: WeightCallback | None = None
        self._on_status: StatusCallback | None = None
        self._state: DeviceState | None = None
        self._detected: str | None = None
        self._plain_run = 0
        self._garbled_run = 0
        self.garbled_frames = 0

    @property
    def protocol(self) -> str | None:
        """The protocol in use: the configured one, or what auto-detect found (None until it has)."""
        return self._protocol if self._protocol != "auto" else self._detected

    def start(self, on_weight: WeightCallback, on_status: StatusCallback) -> None:
        if self._reader is not None:
            raise RuntimeError(f"scale on {self.port} already started")
        self._on_weight, self._on_status = on_weight, on_status
        reader = SerialLineReader(
            self.port, self._frame, self._reader_state, baudrate=self._baud,
            # Toledo ends in CR alone; an LF there would be a status or checksum byte, not an end.
            terminators=b"\r" if self._protocol == "toledo" else b"\r\n",
            retry_interval=self._retry, greeting=b"SIR\r\n" if self._protocol == "sics" else b"",
        )
        reader.start()
        self._reader = reader

    def stop(self) -> None:
        reader, self._reader = self._reader, None
        if reader is not None:
            reader.stop()

    # Everything below runs on the reader thread.

    def _reader_state(self, state: DeviceState, detail: str) -> None:
        if state is not DeviceState.CONNECTED:
            self._settler.reset()
            # The next device on this port may speak something else.
            self._detected, self._plain_run, self._garbled_run = None, 0, 0
        self._report(state, detail)

    def _report(self, state: DeviceState, detail: str) -> None:
        if state is not self._state:
            self._state = state
            if self._on_status is not None:
                self._on_status(DeviceStatus(DEVICE, state, detail))

    def _frame(self, frame: bytes) -> None:
        at = self._clock.now()
        try:
            decoded = self._decode(frame)
        except ScaleFrameError as exc:
            self.garbled_frames += 1
            self._garbled_run += 1
            if self._garbled_run >= _REDETECT_AFTER and self._protocol == "auto":
                self._detected, self._plain_run = None, 0
            log.debug("%s: skipped frame: %s", self.port, exc)
            return
        self._garbled_run = 0
        if decoded is None:
            return
        if decoded.overload:
            self._settler.reset()
            self._report(DeviceState.FAULT, N_("overload or out of range"))
            return
        self._report(DeviceState.CONNECTED, self.port)
        stable = self._settler.update(decoded.grams, decoded.stable, at)
        if self._on_weight is not None:
            self._on_weight(WeightReading(decoded.grams, stable, at))

    def _decode(self, frame: bytes) -> ScaleFrame | None:
        name = self.protocol
        if name is not None:
            return DECODERS[name](frame)
        for name in _CONFIDENT:
            try:
                decoded = DECODERS[name](frame)
            except ScaleFrameError:
                continue
            self._detected = name
            log.info("%s: scale protocol detected: %s", self.port, name)
            return decoded
        decoded = decode_plain(frame)  # raises for garbage, which also breaks a plain run
        self._plain_run += 1
        if self._plain_run < 2:
            return None
        self._detected = "plain"
        log.info("%s: scale protocol detected: plain", self.port)
        return decoded


class SimulatedScale:
    """The scale's twin for --demo and tests. Readings go out synchronously on the caller's thread.

    `place(grams)` emits two unstable readings then a stable one (a person putting a parcel down);
    `clear()` places 0; `unplug()`/`replug()` drive its status as a real scale's driver would. Given
    nothing else it settles on the parcel's expected weight: the station runtime calls
    `poll(expected_g)` whenever a parcel awaits weighing (see `app.station.PolledScale`), and a
    weight placed by hand wins over the expected one until it is cleared. Nothing here sleeps.
    """

    def __init__(self, clock: Clock | None = None) -> None:
        self._clock = clock or SystemClock()
        self._on_weight: WeightCallback | None = None
        self._on_status: StatusCallback | None = None
        self.grams = 0
        self._placed: int | None = None
        self._plugged = True

    def start(self, on_weight: WeightCallback, on_status: StatusCallback) -> None:
        self._on_weight, self._on_status = on_weight, on_status
        on_status(DeviceStatus(DEVICE, DeviceState.CONNECTED, "sim"))

    def stop(self) -> None:
        self._on_weight = self._on_status = None

    def unplug(self, detail: str = N_("unplugged")) -> None:
        """Reads nothing until `replug`, and says so the way a real scale's driver does."""
        self._plugged = False
        if self._on_status is not None:
            self._on_status(DeviceStatus(DEVICE, DeviceState.DISCONNECTED, detail))

    def replug(self) -> None:
        self._plugged = True
        if self._on_status is not None:
            self._on_status(DeviceStatus(DEVICE, DeviceState.CONNECTED, "sim"))

    def place(self, grams: int) -> WeightReading | None:
        self._placed = grams or None
        # A parcel lands heavy and bounces before it settles.
        for swing in (grams + max(grams // 10, 20), grams - max(grams // 40, 5)):
            self._emit(max(swing, 0), stable=False)
        return self._emit(grams, stable=True)

    def clear(self) -> WeightReading | None:
        return self.place(0)

    def poll(self, expected_g: int | None) -> WeightReading | None:
        grams = self._placed if self._placed is not None else expected_g
        if grams is None or not self._plugged:
            return None
        self.grams = grams
        return WeightReading(grams, True, self._clock.now())

    def _emit(self, grams: int, stable: bool) -> WeightReading | None:
        if self._on_weight is None or not self._plugged:
            return None
        self.grams = grams
        reading = WeightReading(grams, stable, self._clock.now())
        self._on_weight(reading)
        return reading


class WeightsFileScale:
    """`--weights FILE`: one reading per line (`1.234kg`, `1234g`, `1234`), handed out one per parcel.

    A headless run fed from files must be deterministic, so readings are not pushed on a timer: the
    runtime polls once each time a parcel awaits weighing. A garbled line is reported (FAULT) and
    skipped; the next line is used. `-` reads standard input.
    """

    def __init__(self, path: str, clock: Clock | None = None) -> None:
        self.path = path
        self._clock = clock or SystemClock()
        self._stream: IO[str] | None = None
        self._on_status: StatusCallback | None = None

    def start(self, on_weight: WeightCallback, on_status: StatusCallback) -> None:
        self._on_status = on_status
        try:
            stream = sys.stdin if self.path == "-" else open(self.path, encoding="utf-8")  # noqa: SIM115
        except OSError as exc:
            problem = os_problem(exc)
            detail = render(N_("cannot read {path}: {problem}"), ENGLISH, {"path": self.path, "problem": problem})
            on_status(DeviceStatus(DEVICE, DeviceState.FAULT, detail))  # English; the screens word it again
            return
        self._stream = stream
        on_status(DeviceStatus(DEVICE, DeviceState.CONNECTED, f"file:{self.path}"))

    def stop(self) -> None:
        stream, self._stream = self._stream, None
        if stream is not None and stream is not sys.stdin:
            stream.close()

    def poll(self, expected_g: int | None) -> WeightReading | None:
        for line in self._stream or ():
            text = line.strip()
            if not text:
                continue
            try:
                grams = parse_weight_text(text)
            except ScaleFrameError as exc:
                if self._on_status is not None:
                    self._on_status(DeviceStatus(DEVICE, DeviceState.FAULT, str(exc)))
                continue
            return WeightReading(grams, True, self._clock.now())
        return None


def parse_weight_text(text: str) -> int:
    """`1.234kg` / `1234g` / `1234` (grams) / `2.5 lb` → grams."""
    match = _WEIGHT_TEXT.fullmatch(text.strip().lower())
    if match is None:
        raise ScaleFrameError(f"not a weight: {text[:40]!r} (use 1.234kg or 1234g)")
    grams = _grams(False, match["value"], match["unit"] or "g", text.encode())
    if grams is None:
        raise ScaleFrameError(f"not a weight: {text[:40]!r}")
    return grams


_WEIGHT_TEXT = re.compile(r"(?P<value>\d+(?:\.\d+)?)\s*(?P<unit>kg|g|lb|oz|)")


def open_scale(spec: DeviceSpec | str, clock: Clock | None = None) -> Scale:
    """Build the scale a config spec names: ``serial:...`` or ``sim``."""
    if isinstance(spec, str):
        spec = parse_spec(spec)
    if spec.scheme in ("serial", "tcp"):
        return SerialScale(spec, clock=clock)
    if spec.scheme == "file":
        return WeightsFileScale(spec.target, clock=clock)
    if spec.scheme == "sim":
        return SimulatedScale(clock=clock)
    raise SpecError(N_("{spec}: no scale driver for scheme {scheme!r}"), spec=str(spec), scheme=spec.scheme)
