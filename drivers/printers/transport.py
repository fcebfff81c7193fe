"""The byte pipe under a label printer. One module per transport (tcp, serial, usb, file, system).

A transport is opened for one job and closed after it: a printer that was switched off, unplugged
or rebooted between two labels costs nothing but a new connection.
"""

from __future__ import annotations

import time
from typing import Any, Protocol

from app.errors import DeviceError, os_problem
from app.i18n import Words


class TransportError(DeviceError):
    """The link failed: a msgid and its values, or words. `reason` is its English line — what the print job
    keeps and the screens word again from its msgid (`app.read_back.translate_reasons`); `sent` counts the
    bytes that went out before it failed."""

    def __init__(self, reason: str | Words, /, sent: int = 0, **values: Any) -> None:
        super().__init__(reason, **values)
        self.reason = str(self)
        self.sent = sent


def why(exc: BaseException) -> Words | str:
    """What the system said of a link's failure, in the catalog's words where it has them; a library's
    own text (pyusb's, lp's) as it said it."""
    return os_problem(exc) if isinstance(exc, OSError) else str(exc)


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
