"""Raw TCP (port 9100, "JetDirect"): the usual link to a networked label printer."""

from __future__ import annotations

import contextlib
import socket

from app.i18n import N_
from drivers.printers.transport import TransportError, why

LOST = N_("connection to the printer lost ({problem})")


class TcpTransport:
    bidirectional = True

    def __init__(self, host: str, port: int = 9100, timeout: float = 3.0) -> None:
        self.host, self.port, self.timeout = host, port, timeout
        self.name = f"tcp:{host}:{port}"
        self._sock: socket.socket | None = None

    def open(self) -> None:
        try:
            self._sock = socket.create_connection((self.host, self.port), timeout=self.timeout)
        except OSError as exc:
            raise TransportError(N_("printer {address} unreachable ({problem})"), address=f"{self.host}:{self.port}",
                                 problem=why(exc)) from exc
        self._sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def write(self, data: bytes) -> None:
        sock = self._require()
        sent = 0
        view = memoryview(data)
        try:
            while sent < len(data):
                sent += sock.send(view[sent:])
        except OSError as exc:
            raise TransportError(LOST, sent=sent, problem=why(exc)) from exc

    def read(self, max_bytes: int, timeout: float) -> bytes:
        sock = self._require()
        sock.settimeout(max(timeout, 0.001))
        try:
            chunk = sock.recv(max_bytes)
        except TimeoutError:
            return b""
        except OSError as exc:
            raise TransportError(LOST, problem=why(exc)) from exc
        if not chunk:
            raise TransportError(N_("the printer closed the connection"))
        return chunk

    def close(self) -> None:
        sock, self._sock = self._sock, None
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_WR)  # let the printer see the end of the job before we go
            sock.close()

    def _require(self) -> socket.socket:
        if self._sock is None:
            raise TransportError(N_("the printer connection is not open"))
        return self._sock
