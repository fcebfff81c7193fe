"""Raw TCP (port 9100, "JetDirect"): the usual link to a networked label printer."""

from __future__ import annotations

import contextlib
import socket

from drivers.printers.transport import TransportError


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
            raise TransportError(f"printer {self.host}:{self.port} unreachable ({_why(exc)})") from exc
        self._sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def write(self, data: bytes) -> None:
        sock = self._require()
        sent = 0
        view = memoryview(data)
        try:
            while sent < len(data):
                sent += sock.send(view[sent:])
        except OSError as exc:
            raise TransportError(f"connection to printer lost ({_why(exc)})", sent) from exc

    def read(self, max_bytes: int, timeout: float) -> bytes:
        sock = self._require()
        sock.settimeout(max(timeout, 0.001))
        try:
            chunk = sock.recv(max_bytes)
        except TimeoutError:
            return b""
        except OSError as exc:
            raise TransportError(f"connection to printer lost ({_why(exc)})") from exc
        if not chunk:
            raise TransportError("printer closed the connection")
        return chunk

    def close(self) -> None:
        sock, self._sock = self._sock, None
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_WR)  # let the printer see the end of the job before we go
            sock.close()

    def _require(self) -> socket.socket:
        if self._sock is None:
            raise TransportError("printer connection is not open")
        return self._sock


def _why(exc: OSError) -> str:
    return exc.strerror or type(exc).__name__
