"""A label printer on 127.0.0.1 for tests: captures each job's bytes and answers status queries.

It speaks ZPL (`~HS`), ESC/POS (`DLE EOT n`) and TSPL (`ESC !?`) status, and can play the faults
real printers have: paper out, head/cover open (a Zebra then stays silent), offline, and a connection
that drops in the middle of a job.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from dataclasses import dataclass, field

STX, ETX = b"\x02", b"\x03"


@dataclass
class Fault:
    paper_out: bool = False
    head_open: bool = False  # Zebra: no ~HS answer at all; ESC/POS: cover open bit; TSPL: bit 0
    silent: bool = False  # switched off / hung: accepts the connection, answers nothing
    drop_after: int | None = None  # close the connection after this many job bytes
    hang_up_after_job: bool = False  # close the connection instead of answering the status query after a job


@dataclass
class FakePrinter:
    language: str  # zpl | escpos | tspl
    fault: Fault = field(default_factory=Fault)
    jobs: list[bytes] = field(default_factory=list)
    status_queries: int = 0
    bind_port: int = 0  # 0: any free port; else this one (a printer coming back where it was)
    idle_timeout: float = 2.0  # the printer ends a connection that sent nothing for this long

    def __post_init__(self) -> None:
        self._server = socket.create_server(("127.0.0.1", self.bind_port))
        self.port = self._server.getsockname()[1]
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._conn: socket.socket | None = None
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    @property
    def spec(self) -> str:
        return f"tcp:127.0.0.1:{self.port}?lang={self.language}"

    def close(self) -> None:
        self._stop.set()
        self._server.close()
        self._thread.join(timeout=2)

    def drop_connection(self) -> None:
        """Close the connection in progress, as a printer being power-cycled does."""
        conn = self._conn
        if conn is not None:
            with contextlib.suppress(OSError):  # wakes the recv blocked on it and tells the peer
                conn.shutdown(socket.SHUT_RDWR)

    def wait_jobs(self, count: int, timeout: float = 3.0) -> list[bytes]:
        from tests.ptypair import wait_until

        wait_until(lambda: len(self.jobs) >= count, timeout)
        return self.jobs

    # ----- the device -----
    def _serve(self) -> None:
        self._server.settimeout(0.05)
        while not self._stop.is_set():
            try:
                conn, _ = self._server.accept()
            except (TimeoutError, OSError):
                continue
            self._session(conn)

    def _session(self, conn: socket.socket) -> None:
        job = bytearray()
        conn.settimeout(self.idle_timeout)
        pending = b""
        self._conn = conn
        self._queries_here = 0
        try:
            while True:
                try:
                    chunk = conn.recv(65536)
                except (TimeoutError, OSError):
                    break
                if not chunk:
                    break
                data = pending + chunk
                data, pending = self._answer_queries(conn, data)
                job += data
                if self.fault.drop_after is not None and len(job) >= self.fault.drop_after:
                    job = job[: self.fault.drop_after]
                    conn.close()
                    break
        finally:
            self._conn = None
            job += pending
            conn.close()
            if job:
                with self._lock:
                    self.jobs.append(bytes(job))

    def _answer_queries(self, conn: socket.socket, data: bytes) -> tuple[bytes, bytes]:
        """Strip status queries out of the stream, answering each; keep a possibly cut-off one."""
        query, reply_for = {"zpl": (b"~HS", self._zpl), "escpos": (b"\x10\x04", self._escpos),
                            "tspl": (b"\x1b!?", self._tspl)}[self.language]
        out = bytearray()
        while True:
            at = data.find(query)
            if at < 0:
                break
            end = at + len(query) + (1 if self.language == "escpos" else 0)
            if end > len(data):
                break
            out += data[:at]
            self.status_queries += 1
            self._queries_here += 1
            if self.fault.hang_up_after_job and self._queries_here > 1:
                self.drop_connection()  # the job is in; the printer goes away before it answers
                return bytes(out), b""
            reply = reply_for(data[at:end])
            if reply and not self.fault.silent:
                conn.sendall(reply)
            data = data[end:]
        # A query split across reads: hold back a tail that could be its start.
        for keep in range(len(query), 0, -1):
            if data.endswith(query[:keep]):
                return bytes(out + data[:-keep]), data[-keep:]
        return bytes(out + data), b""

    def _zpl(self, _: bytes) -> bytes:
        if self.fault.head_open:
            return b""  # a Zebra with its head open does not answer ~HS
        paper = b"1" if self.fault.paper_out else b"0"
        return (STX + b"030," + paper + b",0,1218,000,0,0,0,000,0,0,0" + ETX + b"\r\n"
                + STX + b"000,0,0,0,1,2,6,0,00000000,1,000" + ETX + b"\r\n"
                + STX + b"1234,0" + ETX + b"\r\n")

    def _escpos(self, query: bytes) -> bytes:
        n = query[-1]
        byte = 0x12
        if n == 1 and (self.fault.paper_out or self.fault.head_open):
            byte |= 0x08  # offline
        if n == 2 and self.fault.head_open:
            byte |= 0x04
        if n == 2 and self.fault.paper_out:
            byte |= 0x20
        if n == 4 and self.fault.paper_out:
            byte |= 0x60
        return bytes([byte])

    def _tspl(self, _: bytes) -> bytes:
        return bytes([(0x01 if self.fault.head_open else 0) | (0x04 if self.fault.paper_out else 0)])
