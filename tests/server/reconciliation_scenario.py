"""One day of a warehouse as the reconciliation sees it: platform orders, the parcels the stations
reported (one twice, one of an order the platform never had), a handover, a carrier pickup."""

from __future__ import annotations

from pathlib import Path

from server_harness import Running, Station
from server_hook_calls import generic_push

from app.clock import SystemClock
from server.intake import import_orders


def ship(station: Station, order_id: str, tracking_no: str) -> dict[str, object]:
    return station.event("shipment.created", {"order_id": order_id, "tracking_no": tracking_no, "carrier": "SF"},
                         at="2026-11-25T02:00:00Z")


def packed_and_handed_over(server: Running, station: Station, orders_csv: str, tmp_path: Path) -> None:
    """Import `orders_csv` (A-1 … A-4 at least) into WH1, then: A-1 packed, handed over and picked up; A-3
    packed twice, one parcel handed over; A-4 packed though cancelled; GHOST-1 packed, unknown to the platform."""
    path = tmp_path / "orders.csv"
    path.write_text(orders_csv, encoding="utf-8")
    svc = server.services
    import_orders(svc.sdb, path, "canonical", "WH1", SystemClock(), svc.config.zone)
    reply = station.push(ship(station, "A-1", "SF1000000000001"), ship(station, "A-3", "SF1000000000003"),
                         ship(station, "A-3", "SF1000000000033"), ship(station, "A-4", "SF1000000000004"),
                         ship(station, "GHOST-1", "SF1000000000009"),
                         station.event("handover.closed", {"batch_id": "HO-1",
                                                           "tracking_nos": ["SF1000000000001", "SF1000000000003"]}))
    assert {r["status"] for r in reply.json()["results"]} == {"accepted"}
    generic_push(server, [("SF1000000000001", "2026-11-25T18:00:00+08:00", "已揽收", "picked_up")])
