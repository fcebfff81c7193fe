"""A live central server for tests: uvicorn in a thread on 127.0.0.1, on an empty SQLite file or a fresh
PostgreSQL schema (when DATABASE_URL is a postgresql:// URL). Shared by the server and sync suites."""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import quote
from uuid import uuid4

import pytest

PG_URL = os.environ.get("DATABASE_URL", "")


@contextmanager
def fresh_database(kind: str, directory: Path) -> Iterator[str]:
    """An empty database: a new SQLite file, or a new PostgreSQL schema (dropped afterwards)."""
    if kind == "sqlite":
        yield f"sqlite:///{directory / f'server-{uuid4().hex[:8]}.sqlite3'}"
        return
    if not PG_URL.startswith("postgresql://"):
        pytest.skip("DATABASE_URL is not a postgresql:// URL")
    import psycopg2

    schema = f"pbtest_{uuid4().hex[:12]}"
    admin = psycopg2.connect(PG_URL)
    admin.autocommit = True
    admin.cursor().execute(f'CREATE SCHEMA "{schema}"')
    try:
        yield PG_URL + ("&" if "?" in PG_URL else "?") + "options=" + quote(f"-c search_path={schema}")
    finally:
        admin.cursor().execute(f'DROP SCHEMA "{schema}" CASCADE')
        admin.close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class UvicornThread:
    """Serve an ASGI app on 127.0.0.1:`port` from a thread, on a socket bound before it starts;
    `stop()` then `start()` again (with a new app, as after a restart) keeps the port. Also a context
    manager: `with UvicornThread().serving(app) as http: ...`."""

    def __init__(self, port: int | None = None, header_timeout: float = 10.0) -> None:
        self.port = port or free_port()
        self.header_timeout = header_timeout
        self.url = f"http://127.0.0.1:{self.port}"
        self._server: Any = None
        self._thread: threading.Thread | None = None
        self._sock: socket.socket | None = None

    def start(self, app: Any) -> UvicornThread:
        import uvicorn

        # IPPROTO_TCP, or asyncio leaves Nagle on for accepted connections (40 ms per response).
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", self.port))
        self._sock = sock
        from server.limits import serving_options

        options = {**serving_options(self.header_timeout), "timeout_keep_alive": 30}
        config = uvicorn.Config(app, log_level="warning", lifespan="on", log_config=None, access_log=False,
                                **options)
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [sock]}, daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"uvicorn did not start on port {self.port}")
            time.sleep(0.01)
        return self

    @property
    def running(self) -> bool:
        return self._server is not None

    def stop(self) -> None:
        if self._server is not None and self._thread is not None:
            self._server.should_exit = True
            self._thread.join(10)
            self._server = None
        if self._sock is not None:
            self._sock.close()
            self._sock = None

    def __enter__(self) -> UvicornThread:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
