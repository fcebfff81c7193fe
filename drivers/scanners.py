"""Barcode scanners: serial (on the shared reader thread), simulated, and a line source for headless runs.

All three implement `app.devices.Scanner`. `DoubleReadFilter` lives here too so the Qt keyboard-wedge
capture in ui/ applies the same de-duplication rule as the serial driver.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
from collections.abc import Callable
from datetime import datetime
from typing import IO

from app.clock import Clock, SystemClock
from app.devices import DeviceState, DeviceStatus, Scan, Scanner, StatusCallback
from app.i18n import N_
from drivers.serialport import SerialLineReader, resolve_port, terminators_for
from drivers.spec import DeviceSpec, SpecError, parse_spec

log = logging.getLogger(__name__)

DEVICE = "scanner"
END_OF_INPUT = N_("end of input")  # a --scans file or stream read to its end
ScanCallback = Callable[[Scan], None]


class DoubleReadFilter:
    """Drop the same code read again within `window_ms` of its last accepted read.

    Scanners with ACK/NAK retransmit the last code, and some beep-and-resend on a weak read; a packer
    scanning the same item twice on purpose takes far longer than 200 ms to re-aim. The window is
    measured from the last *accepted* read, so a scanner stuck repeating one code still lets it through
    once per window instead of hiding it for ever. Time comes from the injected clock. Thread-safe.
    """

    def __init__(self, window_ms: int = 200, clock: Clock | None = None) -> None:
        self.window_ms = window_ms
        self._clock = clock or SystemClock()
        self._lock = threading.Lock()
        self._last: tuple[bytes, datetime] | None = None
        self.suppressed = 0

    def accept(self, raw: bytes, at: datetime | None = None) -> bool:
        now = at or self._clock.now()
        with self._lock:
            if self._last is not None and self._last[0] == raw:
                elapsed_ms = (now - self._last[1]).total_seconds() * 1000
                if 0 <= elapsed_ms < self.window_ms:
                    self.suppressed += 1
                    return False
            self._last = (raw, now)
            return True

    def reset(self) -> None:
        with self._lock:
            self._last = None


class SerialScanner:
    """A scanner in serial (or USB virtual COM) mode.

    `spec_or_port`: ``serial:/dev/ttyUSB0?baud=9600&suffix=cr&dedupe_ms=200``, a DeviceSpec, or a bare
    port/URL. Options in the spec win over the keyword defaults: the spec is what the admin configured.
    """

    def __init__(
        self,
        spec_or_port: DeviceSpec | str,
        baud: int = 9600,
        suffix: str = "cr",
        clock: Clock | None = None,
        retry_interval: float = 1.0,
        dedupe_ms: int = 200,
    ) -> None:
        port, options = resolve_port(spec_or_port)
        opts = DeviceSpec("serial", port, options)
        opts.check_options(("baud", "suffix", "dedupe_ms"))
        self.port = port
        self.source = f"tcp:{port.removeprefix('socket://')}" if port.startswith("socket://") else f"serial:{port}"
        self._baud = opts.int_option("baud", baud, minimum=1)
        self._terminators = terminators_for(opts.option("suffix", suffix))
        self._clock = clock or SystemClock()
        self._retry = retry_interval
        self.filter = DoubleReadFilter(opts.int_option("dedupe_ms", dedupe_ms), self._clock)
        self._reader: SerialLineReader | None = None
        self._on_scan: ScanCallback | None = None
        self._on_status: StatusCallback | None = None
        # Told of each double read the filter dropped (on the reader thread), for a screen to count.
        self.on_double_read: Callable[[bytes], None] | None = None

    @property
    def dropped_frames(self) -> int:
        return self._reader.dropped_frames if self._reader else 0

    def start(self, on_scan: ScanCallback, on_status: StatusCallback) -> None:
        if self._reader is not None:
            raise RuntimeError(f"scanner on {self.port} already started")
        self._on_scan, self._on_status = on_scan, on_status
        self.filter.reset()
        reader = SerialLineReader(
            self.port,
            self._frame,
            self._state,
            baudrate=self._baud,
            terminators=self._terminators,
            retry_interval=self._retry,
        )
        reader.start()  # raises PortBusyError if another reader owns the port; then we stay unstarted
        self._reader = reader

    def stop(self) -> None:
        reader, self._reader = self._reader, None
        if reader is not None:
            reader.stop()

    def _frame(self, frame: bytes) -> None:
        # A scanner configured for CR that really sends CRLF would otherwise prefix every code with LF.
        raw = frame.strip(b"\r\n")
        if not raw:
            return
        at = self._clock.now()
        if not self.filter.accept(raw, at):
            if self.on_double_read is not None:
                self.on_double_read(raw)
        elif self._on_scan is not None:
            self._on_scan(Scan(raw=raw, source=self.source, at=at))

    def _state(self, state: DeviceState, detail: str) -> None:
        if self._on_status is not None:
            self._on_status(DeviceStatus(DEVICE, state, detail))


class SimulatedScanner:
    """The scanner's twin for --demo and tests.

    `feed()` delivers the scan synchronously on the *caller's* thread (real scanners call back from
    their reader thread; consumers must already cope with a foreign thread, so this is no new case).
    `unplug()`/`replug()` drive the status the same way a real device would.
    """

    def __init__(self, clock: Clock | None = None, source: str = "sim") -> None:
        self._clock = clock or SystemClock()
        self.source = source
        self._on_scan: ScanCallback | None = None
        self._on_status: StatusCallback | None = None

    @property
    def running(self) -> bool:
        return self._on_scan is not None

    def start(self, on_scan: ScanCallback, on_status: StatusCallback) -> None:
        self._on_scan, self._on_status = on_scan, on_status
        on_status(DeviceStatus(DEVICE, DeviceState.CONNECTED, self.source))

    def stop(self) -> None:
        self._on_scan = self._on_status = None

    def feed(self, text: str | bytes) -> Scan:
        if self._on_scan is None:
            raise RuntimeError("SimulatedScanner.feed() before start()")
        raw = text.encode() if isinstance(text, str) else text
        scan = Scan(raw=raw, source=self.source, at=self._clock.now())
        self._on_scan(scan)
        return scan

    def unplug(self, detail: str = N_("unplugged")) -> None:
        if self._on_status is not None:
            self._on_status(DeviceStatus(DEVICE, DeviceState.DISCONNECTED, detail))

    def replug(self) -> None:
        if self._on_status is not None:
            self._on_status(DeviceStatus(DEVICE, DeviceState.CONNECTED, self.source))


class FileScanner:
    """Scans one per line from a file, ``-`` (stdin) or an open stream: headless ``--scans FILE``.

    Lines are delivered as bytes on the scanner's own thread, line endings stripped and blank lines
    skipped; at EOF it reports DISCONNECTED "end of input" and sets `done`. Delivery is as fast as the
    `on_scan` callback returns, which is the back-pressure a headless run wants. `stop()` cannot
    interrupt a read blocked on an interactive stdin; the thread is a daemon so it never holds up exit.
    """

    def __init__(
        self,
        source: str | os.PathLike[str] | IO[str] | IO[bytes],
        clock: Clock | None = None,
        name: str = "file",
    ) -> None:
        self._source = source
        self._clock = clock or SystemClock()
        self.source = name
        self.done = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self, on_scan: ScanCallback, on_status: StatusCallback) -> None:
        if self._thread is not None:
            raise RuntimeError("FileScanner already started")
        self._stop.clear()
        self.done.clear()
        self._thread = threading.Thread(
            target=self._run, args=(on_scan, on_status), name="file-scanner", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        thread, self._thread = self._thread, None
        if thread is not None and thread is not threading.current_thread():
            thread.join(1.0)

    def _run(self, on_scan: ScanCallback, on_status: StatusCallback) -> None:
        try:
            stream, owned = self._open()
        except OSError as exc:
            on_status(DeviceStatus(DEVICE, DeviceState.FAULT, f"{self._source}: {exc.strerror or exc}"))
            self.done.set()
            return
        on_status(DeviceStatus(DEVICE, DeviceState.CONNECTED, self.source))
        try:
            for line in stream:
                if self._stop.is_set():
                    return
                raw = (line.encode() if isinstance(line, str) else line).strip(b"\r\n")
                if not raw:
                    continue
                try:
                    on_scan(Scan(raw=raw, source=self.source, at=self._clock.now()))
                except Exception:  # same rule as the serial reader: one bad scan must not end the run
                    log.exception("scan handler failed for %r", raw[:64])
            if not self._stop.is_set():
                on_status(DeviceStatus(DEVICE, DeviceState.DISCONNECTED, END_OF_INPUT))
        finally:
            if owned:
                stream.close()
            self.done.set()

    def _open(self) -> tuple[IO[str] | IO[bytes], bool]:
        src = self._source
        if isinstance(src, str) and src == "-":
            return sys.stdin.buffer, False
        if isinstance(src, (str, os.PathLike)):
            return open(src, "rb"), True  # closed in _run's finally, on this thread
        return src, False


def open_scanner(spec: DeviceSpec | str, clock: Clock | None = None) -> Scanner:
    """Build the scanner a config spec names: ``serial:...``, ``tcp:HOST:PORT``, ``file:PATH`` (``file:-``),
    or ``sim``."""
    if isinstance(spec, str):
        spec = parse_spec(spec)
    if spec.scheme in ("serial", "tcp"):
        return SerialScanner(spec, clock=clock)
    if spec.scheme == "file":
        return FileScanner(spec.target, clock=clock)
    if spec.scheme == "sim":
        return SimulatedScanner(clock=clock)
    if spec.scheme == "wedge":
        raise SpecError(N_("a keyboard-wedge scanner is read by the station window, not by a driver"))
    raise SpecError(N_("{spec}: no scanner driver for scheme {scheme!r}"), spec=str(spec), scheme=spec.scheme)
