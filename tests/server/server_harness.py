"""What the server tests are built from: empty databases (SQLite, or a PostgreSQL schema of their own),
the server on a real socket in a thread, and enrolled stations that sign their requests with
`sync.protocol.sign`. The fixtures themselves are in conftest.py."""

from __future__ import annotations

import json
import os
import secrets
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode
from uuid import uuid4

import httpx
import pytest
import uvicorn
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi import FastAPI

from app.clock import SystemClock
from app.keys import public_pem
from server.auth import issue_enrollment_token
from server.models import database_proxy
from server.services import Services
from sync.protocol import API, sign

PG_URL = os.environ.get("DATABASE_URL", "")
SALT = "kuaidi100-test-salt"
WEBHOOK_SECRET = "generic-hook-secret"


TABLES = ("nonce", "enrollment_token", "station", "station_event", "product_barcode", "product", "order_line",
          "order", "parcel", "carrier_push", "tracking_event", "tracking_feed", "waybill", "rule_set", "metric_hour")


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


class ServerThread:
    """uvicorn serving `app` on 127.0.0.1 in a thread, on a socket bound before it starts."""

    def __init__(self, app: FastAPI) -> None:
        # IPPROTO_TCP, or asyncio leaves Nagle on for accepted connections (40 ms per response)
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on", log_config=None))
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True)

    def __enter__(self) -> ServerThread:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the server did not start")
            time.sleep(0.01)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(10)
        self.sock.close()


@dataclass
class Running:
    url: str
    app: FastAPI
    http: httpx.Client

    def rebind(self) -> None:
        """Point the models back at this server's database (opening another one rebinds them)."""
        database_proxy.initialize(self.services.sdb.db)

    @property
    def services(self) -> Services:
        svc: Services = self.app.state.services
        return svc

    def enroll(self, warehouse: str = "WH1", name: str = "BENCH-1") -> Station:
        svc = self.services
        token, _ = issue_enrollment_token(svc.sdb, warehouse, SystemClock())
        key = Ed25519PrivateKey.generate()
        reply = self.http.post(f"{API}/enroll", json={"token": token, "station_name": name,
                                                      "passport_public_key": public_pem(key.public_key()).decode()})
        assert reply.status_code == 200, reply.text
        body = reply.json()
        return Station(self, body["station_id"], body["secret"], body["warehouse"], key)


@dataclass
class Station:
    server: Running
    station_id: str
    secret: str
    warehouse: str
    key: Ed25519PrivateKey
    seq: int = 0

    def request(self, method: str, path: str, body: Any = None, params: dict[str, Any] | None = None, *,
                timestamp: int | None = None, nonce: str | None = None, secret: str | None = None,
                station: str | None = None, raw: bytes | None = None) -> httpx.Response:
        target = path + ("?" + urlencode(params) if params else "")
        content = raw if raw is not None else (b"" if body is None else json.dumps(body).encode())
        ts = str(int(time.time()) if timestamp is None else timestamp)
        nonce = nonce or secrets.token_hex(12)
        headers = {"X-Station": station or self.station_id, "X-Timestamp": ts, "X-Nonce": nonce,
                   "X-Signature": sign(secret or self.secret, method, target, ts, nonce, content)}
        if content:
            headers["Content-Type"] = "application/json"
        return self.server.http.request(method, target, content=content, headers=headers)

    def get(self, path: str, **params: Any) -> httpx.Response:
        return self.request("GET", path, params=params or None)

    def event(self, kind: str, payload: dict[str, Any], *, at: str = "2026-11-25T02:00:00Z",
              seq: int | None = None) -> dict[str, Any]:
        """A new outbox event of this station (seq counts up unless given)."""
        if seq is None:
            self.seq += 1
            seq = self.seq
        return {"id": str(uuid4()), "kind": kind, "at": at, "station": self.station_id, "seq": seq,
                "payload": payload}

    def push(self, *events: dict[str, Any]) -> httpx.Response:
        return self.request("POST", f"{API}/events", {"events": list(events)})
