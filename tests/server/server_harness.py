"""What the server tests are built from: empty databases (SQLite, or a PostgreSQL schema of their own),
the server on a real socket in a thread, and enrolled stations that sign their requests with
`protocol.sign`. The fixtures themselves are in conftest.py."""

from __future__ import annotations

import json
import secrets
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode
from uuid import uuid4

import httpx
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi import FastAPI

from app.clock import SystemClock
from app.keys import public_pem
from protocol import API, sign
from server.auth import issue_enrollment_token
from server.models import database_proxy
from server.services import Services
from tests.live_server import PG_URL, fresh_database  # noqa: F401 (conftest imports them from here)

SALT = "kuaidi100-test-salt"
WEBHOOK_SECRET = "generic-hook-secret"


TABLES = ("console_session", "console_user", "server_audit", "alert_delivery", "alert", "alert_state", "job_lease",
          "health_silence", "health_threshold", "health_alert", "health_report", "health_reading",
          "server_case",
          "nonce", "enrollment_token", "station", "station_event", "product_barcode", "product", "order_line",
          "order", "parcel", "carrier_push", "tracking_event", "tracking_feed", "waybill", "rule_set", "metric_hour",
          "tracking_case", "warehouse", "ewaybill", "tracking_subscription", "carrier_job")


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
