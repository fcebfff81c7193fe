"""Each order's fulfilment flags: how many live parcels it has, whether all of them were handed over, and
whether the carrier accepted all of them (a picked-up-or-later tracking event,
`app.tracking_states.CARRIER_ACCEPTED`). "All", not "one": the second parcel of an order left on the
shelf is exactly what a reconciliation must show.

They are a projection, recomputed from the parcels (never counted up and down) for the orders a
transaction touched: shipments, voids and handovers (`server.events`), tracking events
(`server.tracking`), orders arriving after their parcels (`server.intake`) and bulk loads (the demo
history, benchmarks: `refresh_warehouse`). The reconciliation reads them from one covering index
(`server.console.reconcile`). Each parcel keeps the time of its first accepting event (`accepted_at`,
the Today page), of its first terminal one (`ended_at`: delivered, refused, returned or cancelled) and of
its first out-for-delivery one (`out_for_delivery_at`) — what order health asks of a parcel as of any
hour is then a comparison of columns, not a search of its tracking events — and whether the platform
sent its order (`order_known`: "packed but unknown to the platform" reads a small partial index instead
of looking every parcel's order up). Each is the earliest such event whenever it arrived: an event
carried late, or older than one already kept, moves it back; never forward.
"""

from __future__ import annotations

from collections.abc import Iterable

from app.tracking_states import CARRIER_ACCEPTED
from server.db import ServerDb, chunks, lock_stream, placeholders

ENDED = frozenset({"delivered", "refused", "returned", "cancelled"})  # the carrier owes no more news
KEPT = CARRIER_ACCEPTED | ENDED  # the states a parcel's columns follow: an event of another changes none


def _listed(states: frozenset[str]) -> str:
    return "(" + ", ".join(f"'{s}'" for s in sorted(states)) + ")"


def _first(states: frozenset[str]) -> str:
    return f"""(SELECT MIN(e."time") FROM "tracking_event" e
    WHERE e."tracking_no" = "parcel"."tracking_no" AND e."status" IN {_listed(states)})"""


_PARCELS = f"""UPDATE "parcel" SET "accepted_at" = {_first(CARRIER_ACCEPTED)}, "ended_at" = {_first(ENDED)},
    "out_for_delivery_at" = {_first(frozenset({"out_for_delivery"}))},
    "order_known" = CASE WHEN EXISTS (SELECT 1 FROM "order" o WHERE o."order_id" = "parcel"."order_id")
                    THEN 1 ELSE 0 END"""
_LIVE = 'p."order_id" = "order"."order_id" AND p."voided_at" IS NULL'
_FLAGS = f"""UPDATE "order" SET
    "live_parcels" = (SELECT COUNT(*) FROM "parcel" p WHERE {_LIVE}),
    "handed_over" = CASE WHEN EXISTS (SELECT 1 FROM "parcel" p WHERE {_LIVE}) AND NOT EXISTS (
                    SELECT 1 FROM "parcel" p WHERE {_LIVE} AND p."handed_over_at" IS NULL) THEN 1 ELSE 0 END,
    "carrier_accepted" = CASE WHEN EXISTS (SELECT 1 FROM "parcel" p WHERE {_LIVE}) AND NOT EXISTS (
                         SELECT 1 FROM "parcel" p WHERE {_LIVE} AND p."accepted_at" IS NULL) THEN 1 ELSE 0 END"""


def refresh_orders(sdb: ServerDb, order_ids: Iterable[str]) -> None:
    """Recompute the flags of these orders and those of their parcels (in the caller's transaction;
    an id without an order row is skipped: its parcels count once the order arrives).

    Under the tracking stream's lock, which tracking ingest also holds when it refreshes: of a shipment
    or handover and a carrier event for the same order, whichever refreshes second sees the other's
    rows, so neither can overwrite the flags with a view that misses the other."""
    ids = sorted(set(order_ids))
    if ids:
        lock_stream(sdb, "tracking")
    for chunk in chunks(ids):
        marks = placeholders(len(chunk))
        sdb.execute(f'{_PARCELS} WHERE "order_id" IN ({marks})', chunk)
        sdb.execute(f'{_FLAGS} WHERE "order_id" IN ({marks})', chunk)


def refresh_tracking(sdb: ServerDb, tracking_nos: Iterable[str]) -> None:
    """New carrier events for these numbers: refresh the orders of their parcels."""
    numbers = sorted(set(tracking_nos))
    orders: set[str] = set()
    for chunk in chunks(numbers):
        orders.update(str(r[0]) for r in sdb.execute(
            f'SELECT "order_id" FROM "parcel" WHERE "tracking_no" IN ({placeholders(len(chunk))})', chunk))
    refresh_orders(sdb, orders)


def refresh_warehouse(sdb: ServerDb, warehouse: str) -> None:
    """Every order and parcel of a warehouse, set-based: after a bulk load that bypassed the projections."""
    sdb.execute(f'{_PARCELS} WHERE "warehouse" = ?', (warehouse,))
    sdb.execute(f'{_FLAGS} WHERE "warehouse" = ?', (warehouse,))
