"""Reconciliation per shop and day, with the orders found on one side only; plus the migrations."""

from __future__ import annotations

from pathlib import Path

import pytest
from reconciliation_scenario import packed_and_handed_over, ship
from server_harness import Running, Station, fresh_database
from server_hook_calls import kuaidi100_param, kuaidi100_push

from app.clock import SystemClock
from protocol import API
from server.db import open_database
from server.intake import import_orders
from server.migrations import LATEST_VERSION, SchemaTooNewError, migrate

ORDERS = """order_id,shop,status,paid_at,line_no,sku,qty
A-1,Flagship,paid,2026-11-24T10:00:00+08:00,1,SKU1,1
A-2,Flagship,paid,2026-11-24T11:00:00+08:00,1,SKU1,1
A-3,Outlet,paid,2026-11-25T09:00:00+08:00,1,SKU1,1
A-4,Outlet,cancelled,2026-11-25T09:30:00+08:00,1,SKU1,1
"""


def test_reconciliation_per_shop_and_day(server: Running, station: Station, tmp_path: Path) -> None:
    packed_and_handed_over(server, station, ORDERS, tmp_path)
    body = station.get(f"{API}/reconciliation", day_from="2026-11-24", day_to="2026-11-25").json()
    rows = [(r["shop"], r["day"], r["orders"], r["cancelled"], r["packed"], r["handed_over"], r["carrier_accepted"],
             r["deviation_pct"]) for r in body["rows"]]
    # A-3 is not handed over: its second parcel (SF…033) stayed behind.
    assert rows == [("Flagship", "2026-11-24", 2, 0, 1, 1, 1, 50.0), ("Outlet", "2026-11-25", 2, 1, 2, 0, 0, 0.0)]
    lists = {name: body[name]["order_ids"] for name in ("not_packed", "packed_not_on_platform", "packed_but_cancelled",
                                                         "packed_not_handed_over", "handed_over_not_accepted",
                                                         "duplicates")}
    assert lists == {"not_packed": ["A-2"], "packed_not_on_platform": ["GHOST-1"], "packed_but_cancelled": ["A-4"],
                     "packed_not_handed_over": ["A-3", "A-4"], "handed_over_not_accepted": [],
                     "duplicates": ["A-3"]}
    assert station.get(f"{API}/reconciliation", day_from="2026-11-25", day_to="2026-11-24").status_code == 400


def test_migrations_are_idempotent_and_refuse_a_newer_schema(backend: str, tmp_path: Path) -> None:
    with fresh_database(backend, tmp_path) as url:
        _migrate_twice_then_refuse(url)


def _migrate_twice_then_refuse(url: str) -> None:
    sdb = open_database(url)
    try:
        assert migrate(sdb) == LATEST_VERSION
        assert migrate(sdb) == LATEST_VERSION
        with sdb.connection(), sdb.write():
            sdb.execute('INSERT INTO "schema_version" ("version", "name", "applied_at") VALUES (?, ?, ?)',
                        (LATEST_VERSION + 1, "from the future", "2030-01-01T00:00:00.000Z"))
        with pytest.raises(SchemaTooNewError, match="newer than this PackBench understands"):
            migrate(sdb)
    finally:
        sdb.close()


def test_ordered_or_awaiting_pickup_is_not_carrier_acceptance(server: Running, station: Station,
                                                              tmp_path: Path) -> None:
    path = tmp_path / "orders.csv"
    path.write_text(ORDERS, encoding="utf-8")
    svc = server.services
    import_orders(svc.sdb, path, "canonical", "WH1", SystemClock(), svc.config.zone)
    station.push(ship(station, "A-3", "SF1000000000003"),
                 station.event("handover.closed", {"batch_id": "HO-1", "tracking_nos": ["SF1000000000003"]}))
    waiting = [{"time": "2026-11-25 12:00:00", "context": "您的快件已由顺丰下单，等待快递员揽收", "status": "揽收",
                "statusCode": "102"},
               {"time": "2026-11-25 10:00:00", "context": "已下单", "status": "揽收", "statusCode": "101"}]
    assert kuaidi100_push(server, kuaidi100_param("SF1000000000003", waiting, state="1")).status_code == 200

    def accepted() -> tuple[int, list[str]]:
        body = station.get(f"{API}/reconciliation", day_from="2026-11-25", day_to="2026-11-25").json()
        return body["rows"][0]["carrier_accepted"], body["handed_over_not_accepted"]["order_ids"]

    assert accepted() == (0, ["A-3"])  # never collected: still "handed over, not accepted"
    picked = [{"time": "2026-11-25 18:00:00", "context": "顺丰速运 已收取快件", "status": "揽收",
               "statusCode": "103"}, *waiting]
    assert kuaidi100_push(server, kuaidi100_param("SF1000000000003", picked, state="1")).status_code == 200
    assert accepted() == (1, [])
