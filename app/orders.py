"""Read models of orders for people and scripts (`packbench order show`)."""

from __future__ import annotations

from typing import Any

from app.labels import mask_phone
from app.store.models import Order, OrderLine, PackSession, PrintJob, Shipment, TrackingEvent


def tracking_trail(order: Order) -> list[dict[str, Any]]:
    """The carrier events pulled for the order's parcels (every shipment, and a waybill bound to the
    order), newest first: the state PackBench gave each, the carrier's own code and text unchanged."""
    numbers = {sh.tracking_no for sh in Shipment.select(Shipment.tracking_no).where(Shipment.order == order)}
    if order.tracking_no:
        numbers.add(order.tracking_no)
    if not numbers:
        return []
    query = (TrackingEvent.select().where(TrackingEvent.tracking_no.in_(sorted(numbers)))
             .order_by(TrackingEvent.time.desc(), TrackingEvent.server_id.desc()))
    return [{"time": ev.time, "state": ev.status, "code": ev.carrier_status, "text": ev.context, "site": ev.site,
             "tracking_no": ev.tracking_no} for ev in query]


def order_snapshot(order_id: str, reveal_phone: bool = False) -> dict[str, Any] | None:
    order = Order.get_or_none(Order.order_id == order_id)
    if order is None:
        return None
    phone = order.receiver_phone if reveal_phone else mask_phone(order.receiver_phone)
    return {
        "order_id": order.order_id, "platform": order.platform, "shop": order.shop, "status": order.status,
        "buyer": order.buyer, "receiver_name": order.receiver_name, "receiver_phone": phone,
        "receiver_address": order.receiver_address, "total_cents": order.total_cents,
        "paid_cents": order.paid_cents, "created_at": order.created_at, "paid_at": order.paid_at,
        "ship_by": order.ship_by, "carrier": order.carrier, "tracking_no": order.tracking_no, "note": order.note,
        "lines": [
            {"line_no": ln.line_no, "sku": ln.sku, "name": ln.name, "qty": ln.qty,
             "unit_price_cents": ln.unit_price_cents}
            for ln in OrderLine.select().where(OrderLine.order == order).order_by(OrderLine.line_no)
        ],
        "sessions": [
            {"id": s.id, "state": s.state, "station": s.station, "operator": s.operator.name if s.operator else None,
             "started_at": s.started_at, "ended_at": s.ended_at, "weight_g": s.weight_g,
             "expected_weight_g": s.expected_weight_g}
            for s in PackSession.select().where(PackSession.order == order).order_by(PackSession.id)
        ],
        "shipments": [
            {"carrier": sh.carrier, "tracking_no": sh.tracking_no, "weight_g": sh.weight_g, "voided": sh.voided,
             "created_at": sh.created_at,
             "print_jobs": [{"id": j.id, "state": j.state, "reprint_no": j.reprint_no, "attempts": j.attempts,
                             "error": j.error} for j in PrintJob.select().where(PrintJob.shipment == sh)]}
            for sh in Shipment.select().where(Shipment.order == order).order_by(Shipment.id)
        ],
        "tracking": tracking_trail(order),
    }
