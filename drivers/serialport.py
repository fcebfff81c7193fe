"""One owning reader thread per serial port: open, read, split into frames, survive unplug/replug.

Both the scanner and the scale sit on `SerialLineReader`. The shape follows pyserial's own
`serial.threaded.ReaderThread`, with what a pack bench needs on top:

* the port is opened with `serial.serial_for_url`, so tests and demos can use ``loop://``;
* any SerialException/OSError (the USB adapter was pulled) reports DISCONNECTED once, closes the port,
  and retries the open every `retry_interval` seconds until the device is back, then reports
  CONNECTED: nobody restarts the app because a cable was bumped;
* `stop()` returns within about one read timeout, and no callback fires after it returns, so the UI
  can tear down whatever the callbacks touch.

Callbacks run on the reader thread. An exception in a callback is logged and swallowed: one bad
frame must not silence the device for the rest of the shift.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import threading
from collections.abc import Callable
from typing import Any

import serial

from app.devices import DeviceState
from app.errors import DeviceError, os_problem
from app.i18n import ENGLISH, N_, render
from drivers.spec import DeviceSpec, SpecError, parse_spec

log = logging.getLogger(__name__)

MAX_FRAME = 4096

#: Suffix names an admin writes (``?suffix=crlf``) → the bytes that end a frame.
#: "crlf" and "any" are the same set: either byte ends a frame and the empty frame between CR and LF is
#: dropped, so CRLF counts as one frame end even when CR and LF arrive in different reads.
SUFFIXES: dict[str, bytes] = {"cr": b"\r", "lf": b"\n", "crlf": b"\r\n", "any": b"\r\n"}

FrameCallback = Callable[[bytes], None]
StateCallback = Callable[[DeviceState, str], None]

# Ports with a live reader in this process: a second reader on the same device would steal half the
# bytes from the first, which shows up as "random" missing scans. Refuse it loudly instead.
_claimed: set[str] = set()
_claimed_lock = threading.Lock()


class PortBusyError(DeviceError, RuntimeError):
    """Another reader in this process already owns the port."""


def terminators_for(suffix: str) -> bytes:
    try:
        return SUFFIXES[suffix.lower()]
    except KeyError:
        raise SpecError(N_("unknown suffix {suffix!r}; expected one of {known}"), suffix=suffix,
                        known=", ".join(SUFFIXES)) from None


def resolve_port(spec_or_port: DeviceSpec | str) -> tuple[str, dict[str, str]]:
    """Accept a DeviceSpec, a ``serial:...``/``tcp:HOST:PORT`` spec string, or a bare port/URL.

    ``tcp:`` (a network scanner or a serial device server) becomes pyserial's ``socket://`` URL, so
    the same reader thread, framing and reconnect logic serve both.
    """
    if isinstance(spec_or_port, str):
        if not spec_or_port.startswith(("serial:", "tcp:")):
            return spec_or_port, {}
        spec_or_port = parse_spec(spec_or_port)
    if spec_or_port.scheme == "tcp":
        host, port = spec_or_port.host_port()
        return f"socket://{host}:{port}", dict(spec_or_port.options)
    if spec_or_port.scheme != "serial":
        raise SpecError(N_("{spec}: a serial device needs a serial: or tcp: spec"), spec=str(spec_or_port))
    return spec_or_port.target, dict(spec_or_port.options)


class FrameSplitter:
    """Bytes in, complete frames out. Pure, so the framing rules are testable without a port.

    Any byte in `terminators` ends a frame; empty frames are dropped (hence CRLF = one end). A frame
    longer than `max_frame` is dropped whole, including the tail that arrives after the buffer gave up,
    and counted in `dropped`: a scanner stuck streaming garbage must not grow memory without bound.
    """

    def __init__(self, terminators: bytes = b"\r\n", max_frame: int = MAX_FRAME) -> None:
        if not terminators:
            raise ValueError("at least one terminator byte is needed")
        self._pattern = re.compile(b"[" + re.escape(terminators) + b"]")
        self._max = max_frame
        self._buf = bytearray()
        self._overflow = False
        self.dropped = 0

    def feed(self, data: bytes) -> list[bytes]:
        parts = self._pattern.split(data)
        tail = parts.pop()  # after the last terminator: an incomplete frame (maybe empty)
        frames: list[bytes] = []
        for part in parts:
            frame = bytes(self._buf) + part if self._buf else part
            self._buf.clear()
            if self._overflow:  # the end of an over-long frame whose head we already threw away
                self._overflow = False
                self.dropped += 1
            elif len(frame) > self._max:
                self.dropped += 1
            elif frame:
                frames.append(frame)
        self._buf += tail
        if len(self._buf) > self._max:
            self._buf.clear()
            self._overflow = True
        return frames

    def reset(self) -> None:
        """Forget a partial frame (after a disconnect its head and tail belong to different worlds)."""
        self._buf.clear()
        self._overflow = False


class SerialLineReader:
    """Owns one port on one thread; hands complete frames to `on_frame`, state changes to `on_state`.

    `greeting` is written after every (re)open, from the owning thread, for devices that must be asked
    to start streaming (an MT-SICS balance wants ``SIR``).
    """

    def __init__(
        self,
        port: str,
        on_frame: FrameCallback,
        on_state: StateCallback,
        *,
        baudrate: int = 9600,
        terminators: bytes = b"\r\n",
        retry_interval: float = 1.0,
        read_timeout: float = 0.1,
        max_frame: int = MAX_FRAME,
        greeting: bytes = b"",
    ) -> None:
        self.port = port
        self._on_frame = on_frame
        self._on_state = on_state
        self._baudrate = baudrate
        self._retry = retry_interval
        self._timeout = read_timeout
        self._greeting = greeting
        self._splitter = FrameSplitter(terminators, max_frame)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._state: DeviceState | None = None
        self._claim_key: str | None = None

    @property
    def dropped_frames(self) -> int:
        return self._splitter.dropped

    @property
    def state(self) -> DeviceState | None:
        return self._state

    def start(self) -> None:
        if self._thread is not None:
            raise RuntimeError(f"reader for {self.port} already started")
        self._claim()
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name=f"serial-reader {self.port}", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 2.0) -> None:
        """Stop and join the reader. Idempotent; safe to call from a callback (it then does not join)."""
        self._stop.set()
        thread, self._thread = self._thread, None
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)
            if thread.is_alive():
                log.warning("reader for %s did not stop within %.1f s", self.port, timeout)
        self._release()

    # -- the owning thread ------------------------------------------------------------------------

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                port = serial.serial_for_url(self.port, baudrate=self._baudrate, timeout=self._timeout)
            except ValueError as exc:  # bad settings: retrying cannot help, say so and give up
                self._report(DeviceState.FAULT, self._detail(N_("{port}: unusable settings ({problem})"), exc))
                return
            except (serial.SerialException, OSError) as exc:
                self._report(DeviceState.DISCONNECTED, self._detail(N_("{port} not available ({problem})"), exc))
                self._stop.wait(self._retry)
                continue
            try:
                self._pump(port)
            except (serial.SerialException, OSError) as exc:
                self._report(DeviceState.DISCONNECTED, self._detail(N_("{port} lost ({problem})"), exc))
                self._stop.wait(self._retry)  # a node that opens but fails at once must not spin
            finally:
                self._splitter.reset()
                _close_quietly(port)

    def _pump(self, port: Any) -> None:
        if self._greeting:
            port.write(self._greeting)
        first = True
        while not self._stop.is_set():
            data: bytes = port.read(port.in_waiting or 1)
            if first:
                # CONNECTED only after a read succeeded: a stale device node can open fine and fail
                # on the first read, and reporting CONNECTED/DISCONNECTED for it every retry would
                # flap the packer's screen.
                first = False
                self._report(DeviceState.CONNECTED, self.port)
            if data:
                for frame in self._splitter.feed(data):
                    if self._stop.is_set():
                        return
                    try:
                        self._on_frame(frame)
                    except Exception:
                        log.exception("frame handler failed on %s for %r", self.port, frame[:64])

    def _detail(self, msgid: str, exc: BaseException) -> str:
        """A state's detail: the English line (the log's) of a msgid the screens word again from it
        (`app.read_back.translate_reasons`); what the system said in the catalog's words where it has them."""
        problem = os_problem(exc) if isinstance(exc, OSError) else _one_line(exc)
        return render(msgid, ENGLISH, {"port": self.port, "problem": problem})

    def _report(self, state: DeviceState, detail: str) -> None:
        if state is self._state or self._stop.is_set():
            return  # once per change, and nothing after stop()
        self._state = state
        log.info("%s: %s %s", self.port, state.value, detail)
        try:
            self._on_state(state, detail)
        except Exception:
            log.exception("state handler failed on %s", self.port)

    # -- one reader per port ----------------------------------------------------------------------

    def _claim(self) -> None:
        if "://" in self.port:  # loop://, socket://: every URL open is its own channel
            return
        key = os.path.realpath(self.port)
        with _claimed_lock:
            if key in _claimed:
                raise PortBusyError(N_("{port} already has a reader in this process"), port=self.port)
            _claimed.add(key)
        self._claim_key = key

    def _release(self) -> None:
        if self._claim_key is not None:
            with _claimed_lock:
                _claimed.discard(self._claim_key)
            self._claim_key = None


def _close_quietly(port: Any) -> None:
    # Closing an unplugged device may fail; it is gone either way.
    with contextlib.suppress(serial.SerialException, OSError):
        port.close()


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__
