"""A label printer on a serial (or USB virtual COM) port. Opened per job: survives unplug/replug."""

from __future__ import annotations

import serial

from app.i18n import N_
from drivers.printers.transport import TransportError, why

FAILED = N_("printer port {port} failed ({problem})")


class SerialTransport:
    bidirectional = True

    def __init__(self, port: str, baud: int = 9600, timeout: float = 3.0) -> None:
        self.port, self.baud, self.timeout = port, baud, timeout
        self.name = f"serial:{port}"
        self._serial: serial.Serial | None = None

    def open(self) -> None:
        try:
            # rtscts: serial label printers pace a slow link with hardware flow control.
            self._serial = serial.serial_for_url(self.port, baudrate=self.baud, timeout=self.timeout,
                                                 write_timeout=self.timeout)
        except (serial.SerialException, OSError) as exc:
            raise TransportError(N_("printer port {port} not available ({problem})"), port=self.port,
                                 problem=why(exc)) from exc

    def write(self, data: bytes) -> None:
        port = self._require()
        try:
            port.write(data)
            port.flush()
        except (serial.SerialException, OSError) as exc:
            raise TransportError(FAILED, port=self.port, problem=why(exc)) from exc

    def read(self, max_bytes: int, timeout: float) -> bytes:
        port = self._require()
        port.timeout = max(timeout, 0.001)
        try:
            return bytes(port.read(max_bytes))
        except (serial.SerialException, OSError) as exc:
            raise TransportError(FAILED, port=self.port, problem=why(exc)) from exc

    def close(self) -> None:
        port, self._serial = self._serial, None
        if port is not None:
            port.close()

    def _require(self) -> serial.Serial:
        if self._serial is None:
            raise TransportError(N_("the printer port is not open"))
        return self._serial
