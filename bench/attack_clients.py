"""Hostile HTTP clients on raw sockets, for the server's attack tests and `bench.server_attack`.

Loopback only. Bodies are generated lazily, chunk by chunk, so a "1 GB body" costs the client no
memory; every client stops as soon as the server answers or closes, and each has its own deadline.
"""

from __future__ import annotations

import select
import socket
import time
from collections.abc import Mapping
from dataclasses import dataclass

CHUNK = 64 << 10
HOST = "127.0.0.1"


@dataclass(frozen=True)
class Outcome:
    status: int | None  # the HTTP status the server answered, if any
    sent: int  # body bytes the client got onto the wire before the answer or the close
    closed: bool  # the server closed the connection
    seconds: float


def _head(method: str, path: str, headers: Mapping[str, str]) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", f"Host: {HOST}", *(f"{k}: {v}" for k, v in headers.items())]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def _status(data: bytes) -> int | None:
    if data.startswith(b"HTTP/1.1 ") and len(data) >= 12:
        return int(data[9:12])
    return None


def _read_answer(sock: socket.socket, deadline: float) -> tuple[bytes, bool]:
    """What the server sent until it closed the connection (or the deadline): (bytes, closed)."""
    data = b""
    while time.monotonic() < deadline:
        ready, _, _ = select.select([sock], [], [], max(0.0, min(0.5, deadline - time.monotonic())))
        if not ready:
            continue
        try:
            part = sock.recv(65536)
        except (ConnectionResetError, BrokenPipeError):
            return data, True
        if not part:
            return data, True
        data += part
    return data, False


def huge_body(port: int, path: str, total: int, *, chunked: bool, headers: Mapping[str, str] | None = None,
              send_head_only: bool = False, timeout: float = 60.0) -> Outcome:
    """POST a `total`-byte body of JSON-ish filler, declared (Content-Length) or chunked, generated as it
    goes, until the server answers or closes. `send_head_only`: declare the length, send no body."""
    start = time.monotonic()
    deadline = start + timeout
    head = {"Content-Type": "application/json", **(headers or {})}
    head["Transfer-Encoding" if chunked else "Content-Length"] = "chunked" if chunked else str(total)
    filler = (b"[" + b"1," * (CHUNK // 2 - 1) + b"1")[:CHUNK]
    sent = 0
    with socket.create_connection((HOST, port), timeout=timeout) as sock:
        sock.sendall(_head("POST", path, head))
        try:
            while not send_head_only and sent < total and time.monotonic() < deadline:
                ready, _, _ = select.select([sock], [], [], 0)
                if ready:  # the server answered (or closed) mid-body: stop sending
                    break
                piece = filler[:min(CHUNK, total - sent)]
                sock.sendall(b"%x\r\n%s\r\n" % (len(piece), piece) if chunked else piece)
                sent += len(piece)
            if chunked and sent >= total:
                sock.sendall(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass
        data, closed = _read_answer(sock, deadline)
    return Outcome(_status(data), sent, closed, time.monotonic() - start)


def slow_client(port: int, path: str, *, phase: str, byte_every: float, timeout: float,
                headers: Mapping[str, str] | None = None) -> Outcome:
    """A slowloris: `phase="headers"` trickles the request head one byte every `byte_every` seconds;
    `phase="body"` sends the head, declares 1 MB, and trickles the body. Ends when the server answers or
    closes, or after `timeout` seconds (then `closed` is False: the server let it hang)."""
    start = time.monotonic()
    deadline = start + timeout
    head = _head("POST", path, {"Content-Type": "application/json", "Content-Length": str(1 << 20),
                                **(headers or {})})
    sent = 0
    with socket.create_connection((HOST, port), timeout=timeout) as sock:
        if phase == "body":
            sock.sendall(head)
        trickle = head if phase == "headers" else b"[" + b"1," * (1 << 19)
        try:
            for i in range(len(trickle)):
                if time.monotonic() >= deadline:
                    break
                ready, _, _ = select.select([sock], [], [], byte_every)
                if ready:
                    break
                sock.sendall(trickle[i:i + 1])
                sent += phase == "body"
        except (BrokenPipeError, ConnectionResetError):
            pass
        data, closed = _read_answer(sock, min(deadline, time.monotonic() + 5))
    return Outcome(_status(data), sent, closed, time.monotonic() - start)
