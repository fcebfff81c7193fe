"""Each order's fulfilment flags follow its parcels through every path that changes them: shipments, voids,
handovers, carrier events (before or after the parcel), and orders the platform sends after the parcel."""

from __future__ import annotations

from pathlib import Path

from reconciliation_scenario import ship
from server_harness import Running, Station
from server_hook_calls import generic_push

from app.clock import SystemClock
from server.fulfilment import refresh_warehouse
from server.intake import import_orders

HEADER = "order_id,shop,status,paid_at,line_no,sku,qty\n"


def _import(server: Running, tmp_path: Path, *order_ids: str) -> None:
    path = tmp_path / f"orders-{'-'.join(order_ids)}.csv"
    path.write_text(HEADER + "".join(f"{o},Flagship,paid,2026-11-25T09:00:00+08:00,1,SKU1,1\n" for o in order_ids),
                    encoding="utf-8")
    svc = server.services
    import_orders(svc.sdb, path, "canonical", "WH1", SystemClock(), svc.config.zone)


def _flags(server: Running) -> dict[str, tuple[int, int, int]]:
    sdb = server.services.sdb
    with sdb.connection():
        return {str(o): (int(a), int(b), int(c)) for o, a, b, c in sdb.execute(
            'SELECT "order_id", "live_parcels", "handed_over", "carrier_accepted" FROM "order" ORDER BY 1')}


def _push(station: Station, *events: dict[str, object]) -> None:
    reply = station.push(*events)
    assert {r["status"] for r in reply.json()["results"]} == {"accepted"}, reply.json()


def test_flags_follow_shipments_handovers_voids_and_carrier_events(server: Running, station: Station,
                                                                   tmp_path: Path) -> None:
    _import(server, tmp_path, "F-1", "F-2")
    assert _flags(server) == {"F-1": (0, 0, 0), "F-2": (0, 0, 0)}
    _push(station, ship(station, "F-1", "SF2000000000001"), ship(station, "F-2", "SF2000000000002"),
          ship(station, "F-2", "SF2000000000022"))
    assert _flags(server) == {"F-1": (1, 0, 0), "F-2": (2, 0, 0)}
    _push(station, station.event("handover.closed", {"batch_id": "HO-1",
                                                     "tracking_nos": ["SF2000000000001", "SF2000000000002"]}))
    # F-2's second parcel is still on the shelf: F-2 is not handed over.
    assert _flags(server) == {"F-1": (1, 1, 0), "F-2": (2, 0, 0)}
    generic_push(server, [("SF2000000000001", "2026-11-25T18:00:00+08:00", "已下单", "ordered")])
    assert _flags(server)["F-1"] == (1, 1, 0)  # the carrier's order system is not a pickup
    generic_push(server, [("SF2000000000001", "2026-11-25T19:00:00+08:00", "已揽收", "picked_up")])
    assert _flags(server)["F-1"] == (1, 1, 1)
    _push(station, station.event("shipment.voided", {"tracking_no": "SF2000000000022"}))
    assert _flags(server)["F-2"] == (1, 1, 0)  # the parcel left behind was a duplicate label, now voided
    _push(station, station.event("shipment.voided", {"tracking_no": "SF2000000000001"}))
    assert _flags(server)["F-1"] == (0, 0, 0)


def test_events_before_the_parcel_and_orders_after_it_count(server: Running, station: Station,
                                                            tmp_path: Path) -> None:
    generic_push(server, [("SF2000000000009", "2026-11-25T19:00:00+08:00", "已揽收", "picked_up")])
    _push(station, ship(station, "LATE-1", "SF2000000000009"),
          station.event("handover.closed", {"batch_id": "HO-2", "tracking_nos": ["SF2000000000009"]}))
    assert "LATE-1" not in _flags(server)  # the platform has not sent the order yet
    _import(server, tmp_path, "LATE-1")
    assert _flags(server)["LATE-1"] == (1, 1, 1)


def test_a_bulk_load_is_brought_up_to_date_by_refresh_warehouse(server: Running, station: Station,
                                                                tmp_path: Path) -> None:
    _import(server, tmp_path, "B-1")
    _push(station, ship(station, "B-1", "SF2000000000101"))
    sdb = server.services.sdb
    with sdb.connection(), sdb.write():  # what a bulk load does: rows written past the projections
        sdb.execute('UPDATE "order" SET "live_parcels" = 0')
        sdb.execute('UPDATE "parcel" SET "handed_over_at" = ?', ("2026-11-25T05:00:00.000Z",))
    assert _flags(server)["B-1"] == (0, 0, 0)
    with sdb.connection(), sdb.write():
        refresh_warehouse(sdb, "WH1")
    assert _flags(server)["B-1"] == (1, 1, 0)
