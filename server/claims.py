"""Who may put a tracking number on a parcel (one station must not hurt another warehouse).

A station's `shipment.created` names a tracking number; the server accepts it only when something
vouches for it, and records how (`parcel.claim`):

- `pool`: a number of the server's pool allocated to a station of the same warehouse;
- `ewaybill`: a Kuaidi100 e-waybill the server ordered for the same warehouse (not cancelled);
- `order`: the number bound to the order by the platform import (a pre-printed waybill on the order);
- `preprinted`: nothing on the server knows the number (a roll the warehouse bought and imported at
  the bench) — accepted, but flagged: an "unverified" case opens for the warehouse to review.

A number another warehouse holds — allocated to its station, its e-waybill, bound to its order, on its
parcel — or
a pool number never allocated to this station is refused, and a "conflict" case opens for both
warehouses. The one exception is a parcel that was only ever `preprinted` (unverified) in another
warehouse, claimed now with a pool, e-waybill or order number: the vouched claim wins (a squatter cannot block
a real shipment or steer its carrier events), and cases on both sides say so — never silently.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from server.db import ServerDb
from server.models import Order, Station, Waybill, database_proxy
from server.states import WaybillState

VOUCHED = frozenset({"pool", "ewaybill", "order"})


@dataclass(frozen=True)
class Claim:
    source: str  # pool | order | preprinted | conflict
    other_warehouse: str | None = None
    why: str = ""


@dataclass(frozen=True)
class Case:
    warehouse: str
    tracking_no: str
    kind: str  # conflict | unverified | taken_over
    station_id: str
    other_warehouse: str | None
    detail: str


def claim_of(warehouse: str, tracking_no: str, order: Any) -> Claim:
    """How `warehouse` may hold `tracking_no` for `order` (its own order row, or None)."""
    waybill = Waybill.get_or_none(Waybill.number == tracking_no)
    if waybill is not None:
        owner = Station.get_or_none(Station.station_id == waybill.station_id) if waybill.station_id else None
        if waybill.state == WaybillState.ALLOCATED and owner is not None and owner.warehouse == warehouse:
            return Claim("pool")
        if owner is not None:
            return Claim("conflict", owner.warehouse, f"allocated to a station of warehouse {owner.warehouse}")
        return Claim("conflict", None, "a number of the server's pool that was never allocated to this warehouse")
    sql = f'SELECT "warehouse" FROM "ewaybill" WHERE "tracking_no" = {database_proxy.param} AND "cancelled_at" IS NULL'
    issued = database_proxy.execute_sql(sql, (tracking_no,)).fetchone()
    if issued is not None:  # a Kuaidi100 e-waybill the server ordered for a warehouse
        if issued[0] == warehouse:
            return Claim("ewaybill")
        return Claim("conflict", issued[0], f"an e-waybill issued to warehouse {issued[0]}")
    if order is not None and order.tracking_no == tracking_no:
        return Claim("order")
    bound = Order.get_or_none((Order.tracking_no == tracking_no) & (Order.warehouse != warehouse))
    if bound is not None:
        return Claim("conflict", bound.warehouse, f"bound to order {bound.order_id} of warehouse {bound.warehouse}")
    return Claim("preprinted")


def open_cases(sdb: ServerDb, cases: list[Case], opened_at: str) -> None:
    """In the batch's transaction, after its projections (a refused event's savepoint is gone by then)."""
    sdb.executemany('INSERT INTO "tracking_case" ("opened_at", "warehouse", "tracking_no", "kind", "station_id", '
                    '"other_warehouse", "detail") VALUES (?, ?, ?, ?, ?, ?, ?)',
                    [(opened_at, c.warehouse, c.tracking_no, c.kind, c.station_id, c.other_warehouse, c.detail)
                     for c in cases])
