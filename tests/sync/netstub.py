"""Network stand-ins on 127.0.0.1: a scripted HTTP server, a fault-injecting TCP proxy, uvicorn in a thread."""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tests.live_server import free_port  # noqa: F401 (the sync tests import it from here)


@dataclass
class Seen:
    method: str
    path: str  # path and query exactly as received
    headers: dict[str, str]
    body: bytes


@dataclass
class Reply:
    status: int = 200
    body: bytes | str | dict[str, Any] | list[Any] = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0

    def encoded(self) -> bytes:
        if isinstance(self.body, bytes):
            return self.body
        if isinstance(self.body, str):
            return self.body.encode()
        return json.dumps(self.body).encode()


Handler = Callable[[Seen], Reply]


class StubServer:
    """A scripted HTTP/1.1 server: `handler(request) -> Reply`; every request is kept in `seen`."""

    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.seen: list[Seen] = []
        stub = self

        class _H(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                seen = Seen(self.command, self.path, dict(self.headers.items()), body)
                stub.seen.append(seen)
                reply = stub.handler(seen)
                if reply.delay:
                    time.sleep(reply.delay)
                data = reply.encoded()
                try:
                    self.send_response(reply.status)
                    for k, v in reply.headers.items():
                        self.send_header(k, v)
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            do_GET = do_POST = _serve

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), _H)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    def __enter__(self) -> StubServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self._thread.join(5)


# ----- a fault-injecting proxy -----
def _read_message(sock: socket.socket, buf: bytearray) -> bytes | None:
    """One HTTP/1.1 message (request or response) from `sock`: head, then a Content-Length or chunked body."""
    while b"\r\n\r\n" not in buf:
        chunk = sock.recv(65536)
        if not chunk:
            return None
        buf += chunk
    head_end = buf.index(b"\r\n\r\n") + 4
    head = bytes(buf[:head_end]).decode("latin-1").lower()
    length = 0
    chunked = False
    for line in head.split("\r\n")[1:]:
        name, _, value = line.partition(":")
        if name.strip() == "content-length":
            length = int(value.strip())
        elif name.strip() == "transfer-encoding" and "chunked" in value:
            chunked = True
    if chunked:
        while b"0\r\n\r\n" not in buf[head_end:]:
            chunk = sock.recv(65536)
            if not chunk:
                return None
            buf += chunk
        end = buf.index(b"0\r\n\r\n", head_end) + 5
    else:
        while len(buf) < head_end + length:
            chunk = sock.recv(65536)
            if not chunk:
                return None
            buf += chunk
        end = head_end + length
    message = bytes(buf[:end])
    del buf[:end]
    return message


# request bytes → "pass" | "drop" (forward, then close before relaying) | "500" | "garbage"
Fault = Callable[[bytes], str]


def http_reply(status: int, body: bytes, reason: str = "X") -> bytes:
    head = f"HTTP/1.1 {status} {reason}\r\nContent-Type: text/html\r\nContent-Length: {len(body)}\r\n\r\n"
    return head.encode() + body


SERVER_ERROR = http_reply(500, b"Internal Server Error", "Internal Server Error")
GARBAGE = http_reply(200, b"<html><body>Welcome to the hotel Wi-Fi. Please log in.</body></html>", "OK")


class FaultProxy:
    """TCP proxy in front of `upstream`: per request, `fault(request)` says what happens to it.

    "drop": the request is forwarded and the server's whole answer read (so the server has committed),
    then the client connection is closed without relaying it — the station never hears the answer.
    "500" / "garbage": answered here, never forwarded. "committed-500" / "committed-garbage": forwarded,
    the server's answer read and thrown away, and a 500 / garbage sent instead. "pass": relayed.
    """

    def __init__(self, upstream_port: int, fault: Fault | None = None) -> None:
        self.upstream_port = upstream_port
        self.fault: Fault = fault or (lambda request: "pass")
        self.log: list[str] = []
        self.forwarded = 0
        self._sock = socket.socket()
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(16)
        self.port = self._sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._open: set[socket.socket] = set()
        self._lock = threading.Lock()

    def __enter__(self) -> FaultProxy:
        t = threading.Thread(target=self._accept, daemon=True)
        t.start()
        self._threads.append(t)
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        with contextlib.suppress(OSError):
            self._sock.close()
        with self._lock:
            still_open = list(self._open)
        for sock in still_open:  # wake the threads blocked reading an idle keep-alive connection
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        for t in self._threads:
            t.join(5)

    def _accept(self) -> None:
        self._sock.settimeout(0.05)
        while not self._stop.is_set():
            try:
                client, _ = self._sock.accept()
            except (TimeoutError, OSError):
                continue
            t = threading.Thread(target=self._serve, args=(client,), daemon=True)
            t.start()
            self._threads.append(t)

    def _track(self, sock: socket.socket) -> socket.socket:
        with self._lock:
            self._open.add(sock)
        return sock

    def _serve(self, client: socket.socket) -> None:
        client.settimeout(30)
        self._track(client)
        buf = bytearray()
        upstream: socket.socket | None = None
        up_buf = bytearray()
        try:
            while not self._stop.is_set():
                request = _read_message(client, buf)
                if request is None:
                    return
                with self._lock:
                    action = self.fault(request)
                    self.log.append(action)
                if action == "500":
                    client.sendall(SERVER_ERROR)
                    continue
                if action == "garbage":
                    client.sendall(GARBAGE)
                    continue
                if upstream is None:
                    upstream = self._track(socket.create_connection(("127.0.0.1", self.upstream_port), timeout=30))
                upstream.sendall(request)
                response = _read_message(upstream, up_buf)
                self.forwarded += 1
                if response is None:
                    return
                if action == "drop":
                    return  # the server committed and answered; the station hears nothing
                replacement = {"committed-500": SERVER_ERROR, "committed-garbage": GARBAGE}.get(action)
                client.sendall(replacement or response)
        except OSError:
            return
        finally:
            with self._lock:
                self._open.discard(client)
                if upstream is not None:
                    self._open.discard(upstream)
            client.close()
            if upstream is not None:
                upstream.close()


def times(n: int, action: str, match: bytes = b"") -> Fault:
    """A fault that does `action` to the first `n` requests containing `match`, then passes everything."""
    left = [n]

    def fault(request: bytes) -> str:
        if left[0] > 0 and match in request:
            left[0] -= 1
            return action
        return "pass"

    return fault


# ----- uvicorn in a thread -----
