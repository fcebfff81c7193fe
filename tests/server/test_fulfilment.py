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


def _ends(server: Running, tracking_no: str) -> tuple[str | None, str | None, str | None]:
    """A parcel's first accepting, first terminal and first out-for-delivery event times (UTC)."""
    sdb = server.services.sdb
    with sdb.connection():
        row = sdb.execute('SELECT "accepted_at", "ended_at", "out_for_delivery_at" FROM "parcel" '
                          'WHERE "tracking_no" = ?', (tracking_no,)).fetchone()
    return (row[0], row[1], row[2])


def test_a_parcel_keeps_its_first_terminal_and_out_for_delivery_events(server: Running, station: Station,
                                                                       tmp_path: Path) -> None:
    # Events before the parcel is known count once it is: out for delivery, then an older pickup.
    generic_push(server, [("SF2000000000201", "2026-11-27T09:00:00+08:00", "派件中", "out_for_delivery")])
    _import(server, tmp_path, "E-1")
    _push(station, ship(station, "E-1", "SF2000000000201"))
    generic_push(server, [("SF2000000000201", "2026-11-25T19:00:00+08:00", "已揽收", "picked_up")])
    assert _ends(server, "SF2000000000201") == ("2026-11-25T11:00:00.000Z", None, "2026-11-27T01:00:00.000Z")
    # Delivered; then, carried late, an earlier trip out for delivery and a delivery that came after it.
    generic_push(server, [("SF2000000000201", "2026-11-28T10:00:00+08:00", "已签收", "delivered")])
    generic_push(server, [("SF2000000000201", "2026-11-26T15:00:00+08:00", "派件中", "out_for_delivery"),
                          ("SF2000000000201", "2026-11-29T10:00:00+08:00", "已签收", "delivered")])
    assert _ends(server, "SF2000000000201") == ("2026-11-25T11:00:00.000Z", "2026-11-28T02:00:00.000Z",
                                                "2026-11-26T07:00:00.000Z")
    # A refusal before that delivery is the first end; a carrier's order cancelled earlier still is the
    # first (a state that is not an acceptance refreshes the parcel too), and moves no acceptance.
    generic_push(server, [("SF2000000000201", "2026-11-27T20:00:00+08:00", "拒签", "refused")])
    assert _ends(server, "SF2000000000201")[1] == "2026-11-27T12:00:00.000Z"
    generic_push(server, [("SF2000000000201", "2026-11-25T12:00:00+08:00", "已销单", "cancelled")])
    assert _ends(server, "SF2000000000201") == ("2026-11-25T11:00:00.000Z", "2026-11-25T04:00:00.000Z",
                                                "2026-11-26T07:00:00.000Z")
    # Voided, the parcel keeps its carrier's history (order health leaves voided parcels out by their
    # voided_at); the number packed again for another order still reads it.
    _push(station, station.event("shipment.voided", {"tracking_no": "SF2000000000201"}))
    kept = _ends(server, "SF2000000000201")
    assert kept[1] == "2026-11-25T04:00:00.000Z"
    _import(server, tmp_path, "E-2")
    _push(station, ship(station, "E-2", "SF2000000000201"))
    assert _ends(server, "SF2000000000201") == kept
    # An earlier event in transit moves the acceptance back, and neither of the others.
    generic_push(server, [("SF2000000000201", "2026-11-24T10:00:00+08:00", "运输中", "in_transit")])
    assert _ends(server, "SF2000000000201") == ("2026-11-24T02:00:00.000Z", *kept[1:])
