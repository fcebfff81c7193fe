"""Real store rows for rule tests: products, orders with lines, parcels, tracking events, handovers."""

from __future__ import annotations

import itertools
import json
from datetime import datetime, timedelta

from app.clock import FakeClock, iso
from app.pack.weights import items_key
from app.store.handover_models import Handover, HandoverItem
from app.store.models import Order, OrderLine, PackSession, Product, Shipment, TrackingEvent

_server_ids = itertools.count(1)
_waybills = itertools.count(1)
ADDRESS = "浙江省杭州市西湖区文三路 90 号 东部软件园 3 幢"
# One rule, as a server upload or a served rule set carries it: holds orders for parcel lockers.
HOLD_WORDS = """\
[[rule]]
id = "hold-words"
tag = "address_risk"
title = "驿站代收"
condition = 'order.receiver_address matches "驿站|代收"'
severity = "warning"
route = "supervisor"
sop = "联系买家 / call the buyer"
when = ["import"]
"""


def product(sku: str, *, name: str = "陶瓷杯 Ceramic mug", stock: int = 100, weight_g: int = 400) -> Product:
    return Product.create(sku=sku, name=name, stock=stock, weight_g=weight_g, updated_at="2026-11-01T00:00:00.000Z")


def order(clock: FakeClock, order_id: str, lines: list[tuple[str, int]] | None = None, *, status: str = "paid",
          phone: str = "13812345678", address: str = ADDRESS, price: int = 3900, paid: int | None = None,
          note: str = "", created: datetime | None = None, paid_at: datetime | None = None,
          line_names: dict[str, str] | None = None) -> Order:
    """An order (default: one mug, paid now, paid amount = line total)."""
    lines = lines if lines is not None else [("MUG-1", 1)]
    for sku, _ in lines:
        if not Product.select().where(Product.sku == sku).exists():
            product(sku)
    total = sum(qty * price for _, qty in lines)
    created = created or clock.now()
    row = Order.create(
        order_id=order_id, status=status, buyer="张伟", receiver_name="张伟", receiver_phone=phone,
        receiver_address=address, total_cents=total, paid_cents=total if paid is None else paid,
        created_at=iso(created), paid_at=None if status == "new" else iso(paid_at or created), note=note,
        updated_at=iso(clock.now()),
    )
    for n, (sku, qty) in enumerate(lines, start=1):
        OrderLine.create(order=row, line_no=n, sku=sku, qty=qty, unit_price_cents=price,
                         name=(line_names or {}).get(sku, f"{sku} 商品"))
    return row


def pack(clock: FakeClock, row: Order, *, weight_g: int = 460, expected_g: int = 460,
         items: dict[str, int] | None = None, short: bool = False, carrier: str = "SF") -> Shipment:
    """A parcel packed now: session, shipment, order status packed (as PackFlow._ship leaves them)."""
    if items is None:
        items = {line.sku: line.qty for line in OrderLine.select().where(OrderLine.order == row)}
    now = iso(clock.now())
    session = PackSession.create(order=row, station="T-1", started_at=now, ended_at=now,
                                 state="short_shipped" if short else "completed", expected_weight_g=expected_g,
                                 weight_g=weight_g, scanned=json.dumps(items))
    waybill = f"SF{1500000000000 + next(_waybills)}"
    shipment = Shipment.create(order=row, session=session, carrier=carrier, tracking_no=waybill, weight_g=weight_g,
                               items_key=items_key(items), created_at=now)
    Order.update(status="packed").where(Order.id == row.id).execute()
    return shipment


def track(clock: FakeClock, shipment: Shipment, status: str, at: datetime | None = None) -> TrackingEvent:
    when = iso(at or clock.now())
    return TrackingEvent.create(server_id=next(_server_ids), carrier=shipment.carrier, tracking_no=shipment.tracking_no,
                                status=status, carrier_status=status, time=when, context=f"{status} 杭州转运中心",
                                source="generic", received_at=when)


def hand_over(clock: FakeClock, shipment: Shipment) -> HandoverItem:
    now = iso(clock.now())
    batch = Handover.create(batch_id=f"HO-{shipment.tracking_no}", carrier=shipment.carrier, station="T-1",
                            state="closed", opened_at=now, opened_by="李强", closed_at=now, closed_by="李强")
    return HandoverItem.create(handover=batch, shipment=shipment, tracking_no=shipment.tracking_no, scanned_at=now,
                               scanned_by="李强", handed_over_at=now)


def set_status(row: Order, status: str) -> None:
    Order.update(status=status).where(Order.id == row.id).execute()


def hours_ago(clock: FakeClock, hours: float) -> datetime:
    return clock.now() - timedelta(hours=hours)
