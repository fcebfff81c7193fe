"""The real central server (server/) on 127.0.0.1 for the station's sync tests.

SQLite always; PostgreSQL too when DATABASE_URL is postgresql://…, each test in a schema of its own.
`Central` can be stopped and started again on the same port over the same database (a restart).

The fixtures are bound by the modules that use them (`central = realserver.central`), not shared
through a conftest.py: tests/server imports its own conftest by module name, and a second module
named `conftest` on the path would shadow it.
"""

from __future__ import annotations

import csv
import json
import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest

from app.clock import SystemClock
from app.keys import load_or_create_station_key, public_pem
from app.store import Store
from sync.client import SyncClient, enroll
from sync.credentials import SyncCredentials
from tests.live_server import UvicornThread, fresh_database

PG_URL = os.environ.get("DATABASE_URL", "")

WAREHOUSE = "HZ-1"
ORDER_COLUMNS = ("order_id", "platform", "shop", "status", "buyer", "receiver_name", "receiver_phone",
                 "receiver_address", "created_at", "paid_at", "ship_by", "total", "paid", "carrier", "tracking_no",
                 "note", "line_no", "sku", "name", "qty", "unit_price")


class Central:
    """The reference server app, served by uvicorn in a thread."""

    def __init__(self, data_dir: Path, database_url: str) -> None:
        from server.config import ServerConfig

        self.config = ServerConfig(data_dir, database_url=database_url, webhook_secret="hook-secret")
        self.http = UvicornThread()
        self.url = self.http.url
        self.app: Any = None
        self.starts = 0

    def start(self) -> Central:
        from server.app import create_app

        self.app = create_app(self.config)  # as a restarted process does: open, migrate (no-op), serve
        self.http.start(self.app)
        self.starts += 1
        return self

    def stop(self) -> None:
        self.http.stop()

    @property
    def sdb(self) -> Any:
        return self.app.state.services.sdb

    # ----- administration, as `packbench server …` does it -----
    def enroll_station(self, data_dir: Path, name: str = "BENCH-1", warehouse: str = WAREHOUSE) -> SyncCredentials:
        from server.auth import issue_enrollment_token

        token, _ = issue_enrollment_token(self.sdb, warehouse, SystemClock())
        key = load_or_create_station_key(data_dir)
        return enroll(self.url, token, name, public_pem(key.public_key()).decode())

    def token(self, warehouse: str = WAREHOUSE) -> str:
        from server.auth import issue_enrollment_token

        return issue_enrollment_token(self.sdb, warehouse, SystemClock())[0]

    def import_orders(self, folder: Path, rows: Sequence[dict[str, Any]], warehouse: str = WAREHOUSE) -> Any:
        from server.intake import import_orders

        path = folder / f"orders-{uuid4().hex[:6]}.csv"
        with path.open("w", newline="", encoding="utf-8") as f:
            writer = csv.DictWriter(f, ORDER_COLUMNS)
            writer.writeheader()
            writer.writerows(rows)
        return import_orders(self.sdb, path, "canonical", warehouse, SystemClock(), self.config.zone)

    def import_products(self, folder: Path, rows: Sequence[tuple[str, str, str, int, int]]) -> Any:
        from server.intake import import_products

        path = folder / f"products-{uuid4().hex[:6]}.csv"
        with path.open("w", newline="", encoding="utf-8") as f:
            writer = csv.writer(f)
            writer.writerow(["sku", "name", "barcodes", "weight_g", "stock"])
            writer.writerows(rows)
        return import_products(self.sdb, path, SystemClock())

    def ingest_tracking(self, records: Sequence[Any]) -> Any:
        from server.tracking import ingest

        with self.sdb.connection():
            body = json.dumps({"events": [r.raw for r in records]}, ensure_ascii=False)  # as a hook gets them
            return ingest(self.sdb, "generic", body, records, SystemClock())

    # ----- what the server holds -----
    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        with self.sdb.connection():
            return [tuple(row) for row in self.sdb.execute(sql, params).fetchall()]

    def events(self) -> dict[str, int]:
        """Copies of each station event the server holds, by event id."""
        return {str(event_id): int(n) for event_id, n in self.query(
            'SELECT "event_id", COUNT(*) FROM "station_event" GROUP BY "event_id"')}

    def event_rows(self) -> list[tuple[Any, ...]]:
        return self.query('SELECT "event_id", "seq", "kind", "body_hash", "status", "reason", "received_at" '
                          'FROM "station_event" ORDER BY "event_id"')


def order_row(order_id: str, sku: str = "TEA-LJ-250", qty: int = 1, status: str = "paid", line_no: int = 1,
              **values: Any) -> dict[str, Any]:
    row = {"order_id": order_id, "platform": "taobao", "shop": "main", "status": status, "buyer": "tb_buyer",
           "receiver_name": "张伟", "receiver_phone": "13812345678",
           "receiver_address": "浙江省杭州市西湖区文三路 90 号",
           "created_at": "2026-11-25T01:00:00Z", "paid_at": "2026-11-25T01:05:00Z", "ship_by": "", "total": "39.00",
           "paid": "39.00", "carrier": "SF", "tracking_no": "", "note": "", "line_no": line_no, "sku": sku,
           "name": f"item {sku}", "qty": qty, "unit_price": "39.00"}
    row.update(values)
    return row


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def server_db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    with fresh_database(request.param, tmp_path) as url:
        yield url


@pytest.fixture
def central(tmp_path: Path, server_db_url: str) -> Iterator[Central]:
    server = Central(tmp_path / "server", server_db_url).start()
    try:
        yield server
    finally:
        server.stop()
        server.sdb.close()


@pytest.fixture
def client(central: Central, store: Store) -> Iterator[SyncClient]:
    """The test station (`store`) enrolled with `central`."""
    creds = central.enroll_station(store.path.parent)
    with SyncClient.from_credentials(creds, clock=SystemClock()) as c:
        yield c
