"""The byte pipe under a label printer. One module per transport (tcp, serial, usb, file, system).

A transport is opened for one job and closed after it: a printer that was switched off, unplugged
or rebooted between two labels costs nothing but a new connection.
"""

from __future__ import annotations

import time
from typing import Protocol

from app.errors import DeviceError


class TransportError(DeviceError):
    """The link failed; `sent` counts the bytes that went out before it did."""

    def __init__(self, reason: str, sent: int = 0) -> None:
        super().__init__(reason)
        self.reason = reason
        self.sent = sent


class Transport(Protocol):
    name: str
    bidirectional: bool  # can the printer answer a status query over it?

    def open(self) -> None: ...

    def write(self, data: bytes) -> None:
        """Send all of `data` or raise TransportError with the count that went out."""
        ...

    def read(self, max_bytes: int, timeout: float) -> bytes:
        """Whatever arrives within `timeout` seconds (b"" if nothing did)."""
        ...

    def close(self) -> None: ...


def read_exact(transport: Transport, count: int, timeout: float) -> bytes:
    deadline = time.monotonic() + timeout
    reply = b""
    while len(reply) < count:
        left = deadline - time.monotonic()
        if left <= 0:
            break
        reply += transport.read(count - len(reply), left)
    return reply
