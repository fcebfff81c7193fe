"""Tracking-number squatting: a station's number is accepted only from its warehouse's pool, its own
order, or as a pre-printed number flagged for review; a conflict opens a case on both sides."""

from __future__ import annotations

from pathlib import Path

from server_harness import Running, Station

from app.clock import SystemClock
from protocol import API
from server.intake import import_orders
from server.waybills import import_pool


def _ship(station: Station, order_id: str, tracking_no: str) -> dict[str, str]:
    reply = station.push(station.event("shipment.created", {"order_id": order_id, "tracking_no": tracking_no,
                                                            "carrier": "ZTO"}))
    assert reply.status_code == 200, reply.text
    result: dict[str, str] = reply.json()["results"][0]
    return result


def _cases(server: Running) -> list[tuple[str, str, str, str | None]]:
    sdb = server.services.sdb
    with sdb.connection():
        return [tuple(r) for r in sdb.execute('SELECT "warehouse", "tracking_no", "kind", "other_warehouse" '
                                              'FROM "tracking_case" ORDER BY "id"').fetchall()]  # type: ignore[misc]


def _parcel(server: Running, tracking_no: str) -> tuple[str, str]:
    sdb = server.services.sdb
    with sdb.connection():
        return tuple(sdb.execute('SELECT "warehouse", "claim" FROM "parcel" WHERE "tracking_no" = ?',  # type: ignore
                                 (tracking_no,)).fetchone())


def _orders(server: Running, tmp_path: Path, warehouse: str, rows: list[tuple[str, str]]) -> None:
    path = tmp_path / f"orders-{warehouse}.csv"
    path.write_text("order_id,status,tracking_no,line_no,sku,qty\n"
                    + "".join(f"{o},paid,{t},1,SKU1,1\n" for o, t in rows), encoding="utf-8")
    svc = server.services
    import_orders(svc.sdb, path, "canonical", warehouse, SystemClock(), svc.config.zone)


def test_pool_numbers_belong_to_the_warehouse_they_were_allocated_to(server: Running, station: Station,
                                                                     tmp_path: Path) -> None:
    pool = tmp_path / "zt.txt"
    pool.write_text("\n".join(f"73{n:012d}" for n in range(1, 11)), encoding="utf-8")
    import_pool(server.services.sdb, pool, "ZTO", SystemClock())
    theirs = server.enroll("WH2", "BENCH-B")
    mine = station.request("POST", f"{API}/waybills/allocate", {"carrier": "ZTO", "count": 2}).json()["numbers"]
    other = theirs.request("POST", f"{API}/waybills/allocate", {"carrier": "ZTO", "count": 2}).json()["numbers"]
    assert _ship(station, "O-1", mine[0])["status"] == "accepted"
    assert _parcel(server, mine[0]) == ("WH1", "pool")
    squat = _ship(station, "O-2", other[0])  # warehouse 2's number, registered first by warehouse 1
    assert squat["status"] == "rejected" and "allocated to a station of warehouse WH2" in squat["reason"]
    assert _cases(server) == [("WH1", other[0], "conflict", "WH2"), ("WH2", other[0], "conflict", "WH1")]
    assert _ship(theirs, "O-9", other[0])["status"] == "accepted"  # the real shipment is not blocked
    assert _parcel(server, other[0]) == ("WH2", "pool")
    free = _ship(station, "O-3", "73000000000010")  # still free in the pool: not this warehouse's
    assert free["status"] == "rejected" and "never allocated to this warehouse" in free["reason"]


def test_order_bound_numbers_and_pre_printed_ones(server: Running, station: Station, tmp_path: Path) -> None:
    theirs = server.enroll("WH2", "BENCH-B")
    _orders(server, tmp_path, "WH1", [("A-1", "YT7000000000001")])
    _orders(server, tmp_path, "WH2", [("B-1", "YT7000000000002")])
    assert _ship(station, "A-1", "YT7000000000001")["status"] == "accepted"
    assert _parcel(server, "YT7000000000001") == ("WH1", "order")
    taken = _ship(station, "A-1", "YT7000000000002")  # the number printed on warehouse 2's order
    assert taken["status"] == "rejected" and "bound to order B-1 of warehouse WH2" in taken["reason"]
    assert _ship(theirs, "B-1", "YT7000000000002")["status"] == "accepted"
    assert _cases(server)[-2:] == [("WH1", "YT7000000000002", "conflict", "WH2"),
                                   ("WH2", "YT7000000000002", "conflict", "WH1")]
    # A number nothing vouches for: accepted, flagged for review.
    assert _ship(station, "A-2", "YT7000000000009")["status"] == "accepted"
    assert _parcel(server, "YT7000000000009") == ("WH1", "preprinted")
    assert _cases(server)[-1] == ("WH1", "YT7000000000009", "unverified", None)
    # Another warehouse's unvouched claim on the same number is refused, with a case on both sides.
    again = _ship(theirs, "B-7", "YT7000000000009")
    assert again["status"] == "rejected" and "belongs to warehouse WH1" in again["reason"]
    assert _cases(server)[-2:] == [("WH2", "YT7000000000009", "conflict", "WH1"),
                                   ("WH1", "YT7000000000009", "conflict", "WH2")]
    # … but the warehouse whose order the number is really on takes it over, never silently.
    _orders(server, tmp_path, "WH2", [("B-8", "YT7000000000009")])
    assert _ship(theirs, "B-8", "YT7000000000009")["status"] == "accepted"
    assert _parcel(server, "YT7000000000009") == ("WH2", "order")
    assert _cases(server)[-2:] == [("WH2", "YT7000000000009", "taken_over", "WH1"),
                                   ("WH1", "YT7000000000009", "taken_over", "WH2")]


def test_an_e_waybill_belongs_to_the_warehouse_it_was_issued_to(server: Running, station: Station) -> None:
    theirs = server.enroll("WH2", "BENCH-B")
    sdb = server.services.sdb
    with sdb.connection(), sdb.write():
        for order_id, warehouse, number in (("E-1", "WH1", "SF1000000000071"), ("E-2", "WH2", "SF1000000000072")):
            sdb.execute('INSERT INTO "ewaybill" ("order_id", "warehouse", "carrier", "tracking_no", "routing_code", '
                        '"sorting", "task_id", "carrier_order_no", "subscribed", "state", "ordered_at") '
                        "VALUES (?, ?, 'SF', ?, '', '', 't', 'c', 0, 'ordered', '2026-11-25T02:00:00.000Z')",
                        (order_id, warehouse, number))
    assert _ship(station, "E-1", "SF1000000000071")["status"] == "accepted"
    assert _parcel(server, "SF1000000000071") == ("WH1", "ewaybill")
    stolen = _ship(station, "E-9", "SF1000000000072")
    assert stolen["status"] == "rejected" and "e-waybill issued to warehouse WH2" in stolen["reason"]
    assert _ship(theirs, "E-2", "SF1000000000072")["status"] == "accepted"
