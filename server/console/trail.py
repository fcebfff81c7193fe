"""What the console's Tracking page shows for an order id or a tracking number, from synced facts only.

The order (if the platform sent it), its parcels as the stations reported them, each parcel's raw
carrier trail exactly as received, and the SLA verdict of `app.evidence.sla` over the same times
the station's evidence pack uses. Only the user's warehouses are searched: a number of another
warehouse is "not found", the same as one that does not exist.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from app.clock import parse_iso
from app.evidence.sla import SlaFacts, SlaVerdict, analyse
from server.db import ServerDb
from server.models import Order, Parcel, TrackingEvent

MAX_QUERY = 64


@dataclass(frozen=True)
class ParcelTrail:
    parcel: Parcel
    events: list[TrackingEvent]  # newest first
    verdict: SlaVerdict


@dataclass(frozen=True)
class Found:
    query: str
    order: Order | None
    parcels: list[ParcelTrail]


def _at(text: str | None) -> datetime | None:
    return parse_iso(text) if text else None


def find(sdb: ServerDb, query: str, warehouses: tuple[str, ...], now: datetime) -> Found | None:
    query = query.strip()[:MAX_QUERY]
    if not query:
        return None
    with sdb.connection():
        order = Order.get_or_none((Order.order_id == query) & Order.warehouse.in_(list(warehouses)))
        parcels = list(Parcel.select().where(((Parcel.order_id == query) | (Parcel.tracking_no == query))
                                             & Parcel.warehouse.in_(list(warehouses))).order_by(Parcel.packed_at))
        if order is None and parcels:
            order = Order.get_or_none((Order.order_id == parcels[0].order_id) & Order.warehouse.in_(list(warehouses)))
        if order is None and not parcels:
            return None
        if order is not None and not parcels:
            parcels = list(Parcel.select().where(Parcel.order_id == order.order_id).order_by(Parcel.packed_at))
        trails = []
        for parcel in parcels:
            events = list(TrackingEvent.select().where(TrackingEvent.tracking_no == parcel.tracking_no)
                          .order_by(TrackingEvent.time.desc(), TrackingEvent.id.desc()))
            facts = SlaFacts(paid_at=_at(order.paid_at if order else None),
                             ship_by=_at(order.ship_by if order else None),
                             packed_at=_at(parcel.packed_at), handed_over_at=_at(parcel.handed_over_at),
                             tracking=tuple((str(e.status), parse_iso(str(e.time))) for e in events))
            trails.append(ParcelTrail(parcel, events, analyse(facts, now)))
    return Found(query, order, trails)
