"""Pulls since a cursor: orders, products and tracking, paged; changes come again (docs/architecture.md §10.3)."""

from __future__ import annotations

from pathlib import Path

from server_harness import Running, Station
from server_hook_calls import generic_push

from app.clock import SystemClock
from protocol import API
from server.intake import import_orders, import_products

FIXTURES = Path(__file__).parents[1] / "fixtures" / "imports"
CANONICAL = FIXTURES / "canonical_orders.csv"


def _import(server: Running, path: Path, warehouse: str = "WH1", fmt: str = "canonical") -> None:
    svc = server.services
    import_orders(svc.sdb, path, fmt, warehouse, SystemClock(), svc.config.zone)


def _pull_all(station: Station, stream: str, cursor: str = "", limit: int = 2) -> tuple[list[dict], str, int]:
    items, pages = [], 0
    while True:
        reply = station.get(f"{API}/{stream}", cursor=cursor, limit=limit)
        assert reply.status_code == 200, reply.text
        page = reply.json()
        items += page["items"]
        cursor, pages = page["next_cursor"], pages + 1
        if not page["has_more"]:
            return items, cursor, pages


def test_orders_page_through_with_a_cursor(server: Running, station: Station) -> None:
    _import(server, CANONICAL)
    items, cursor, pages = _pull_all(station, "orders")
    assert [o["order_id"] for o in items] == ["PB-0001", "PB-0002", "PB-0003"]
    assert pages == 2  # two, then one with has_more false
    first = items[0]
    assert first["warehouse"] == "WH1" and first["total_cents"] == 25700
    assert [(ln["line_no"], ln["sku"], ln["qty"]) for ln in first["lines"]] == [(1, "TS-WHT-L", 2), (2, "BAG-CNV", 1)]
    assert station.get(f"{API}/orders", cursor=cursor).json() == {"items": [], "next_cursor": cursor,
                                                                   "has_more": False}


def test_a_changed_order_comes_again_cancelled_and_refunded_included(server: Running, station: Station,
                                                                     tmp_path: Path) -> None:
    _import(server, CANONICAL)
    _, cursor, _ = _pull_all(station, "orders")
    text = CANONICAL.read_text(encoding="utf-8")
    changed = tmp_path / "changed.csv"
    changed.write_text(text.replace("PB-0001,,Flagship,paid,", "PB-0001,,Flagship,cancelled,")
                       .replace("PB-0003,canonical,Flagship,paid,", "PB-0003,canonical,Flagship,refunded,"),
                       encoding="utf-8")
    _import(server, changed)
    again, cursor2, _ = _pull_all(station, "orders", cursor)
    assert {(o["order_id"], o["status"]) for o in again} == {("PB-0001", "cancelled"), ("PB-0003", "refunded")}
    _import(server, changed)  # the same file again changes nothing
    assert _pull_all(station, "orders", cursor2)[0] == []


def test_orders_of_another_warehouse_stay_there(server: Running, station: Station) -> None:
    _import(server, CANONICAL, warehouse="WH2")
    assert _pull_all(station, "orders")[0] == []
    other = server.enroll("WH2", "BENCH-B")
    assert len(_pull_all(other, "orders")[0]) == 3


def test_products_with_barcodes_weights_and_stock(server: Running, station: Station) -> None:
    svc = server.services
    import_products(svc.sdb, FIXTURES / "products.csv", SystemClock())
    items, _, _ = _pull_all(station, "products", limit=1)
    bag = next(p for p in items if p["sku"] == "BAG-CNV")
    assert (bag["weight_g"], bag["stock"], bag["barcodes"]) == (250, 40, ["012345678905", "BAG-CNV-INT"])


def test_bad_cursors_are_400(station: Station) -> None:
    assert station.get(f"{API}/orders", cursor="o.x").status_code == 400
    reply = station.get(f"{API}/orders", cursor="p.3")
    assert reply.status_code == 400 and "another stream" in reply.json()["detail"]


def test_tracking_reaches_the_warehouse_that_packed_the_parcel(server: Running, station: Station) -> None:
    early = generic_push(server, [("SF1234567890123", "2026-11-25T10:00:00+08:00", "【杭州】已揽收", "picked_up")])
    assert early.status_code == 200
    assert _pull_all(station, "tracking")[0] == []  # nobody packed it yet
    station.push(station.event("shipment.created", {"order_id": "PB-0001", "tracking_no": "SF1234567890123",
                                                     "carrier": "SF"}))
    generic_push(server, [("SF1234567890123", "2026-11-25T18:00:00+08:00", "【杭州转运中心】已发出", "in_transit"),
                          ("YT1234567890123", "2026-11-25T18:00:00+08:00", "someone else's parcel", "in_transit")])
    items, cursor, _ = _pull_all(station, "tracking", limit=1)
    assert [(e["tracking_no"], e["context"], e["status"]) for e in items] == [
        ("SF1234567890123", "【杭州】已揽收", "picked_up"), ("SF1234567890123", "【杭州转运中心】已发出", "in_transit")]
    other = server.enroll("WH2", "BENCH-B")
    assert _pull_all(other, "tracking")[0] == []
    assert station.get(f"{API}/tracking", cursor=cursor).json()["items"] == []


def test_discount_and_postage_travel_to_the_station(server: Running, station: Station, tmp_path: Path) -> None:
    from app.clock import FakeClock
    from app.store import open_store
    from app.store.models import Order as StationOrder
    from protocol import OrderOut
    from sync.pull import apply_orders_page

    _import(server, FIXTURES / "pdd_orders_2026_gbk.csv", fmt="pdd")
    items, _, _ = _pull_all(station, "orders", limit=10)
    pulled = {o["order_id"]: o for o in items}
    assert (pulled["260301-402918374650183"]["discount_cents"], pulled["260301-582019384756102"]["shipping_cents"]) \
        == (1500, 800)
    store = open_store(tmp_path / "station")
    with store.atomic():
        apply_orders_page(store, FakeClock(), [OrderOut.model_validate(o) for o in items], "sha")
    mug = StationOrder.get(StationOrder.order_id == "260301-582019384756102")
    assert (mug.paid_cents, mug.discount_cents, mug.shipping_cents) == (5300, 0, 800)
