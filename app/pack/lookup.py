"""Store look-ups on the scan path. Each is one or two indexed queries: they run on every scan."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import peewee as pw

from app.barcodes import Kind, ParsedScan
from app.clock import iso
from app.store.models import (
    Operator,
    Order,
    OrderLine,
    PrintJob,
    Product,
    ProductBarcode,
    Shipment,
    WaybillPool,
)


def is_badge(code: str) -> bool:
    return bool(Operator.select(Operator.id).where((Operator.badge == code) & (Operator.active == True)).exists())  # noqa: E712


def describe(parsed: ParsedScan) -> dict[str, Any]:
    """The interpretation as stored in scan_event.parsed (only the fields that carry meaning)."""
    fields = {"kind": parsed.kind.value, "text": parsed.text}
    for name in ("gtin", "carrier", "sscc", "batch", "serial"):
        value = getattr(parsed, name, None)
        if value:
            fields[name] = value
    if parsed.command is not None:
        fields["command"] = parsed.command.name
    return fields


def find_order(parsed: ParsedScan) -> tuple[Order | None, Shipment | None]:
    """An order by its number, by its bound waybill, or by a label already printed for it."""
    text = parsed.text
    if parsed.kind is not Kind.TRACKING:
        order = Order.get_or_none(Order.order_id == text)
        if order is not None:
            return order, None
    order = Order.get_or_none(Order.tracking_no == text)
    if order is not None:
        return order, None
    shipment = Shipment.get_or_none((Shipment.tracking_no == text) & (Shipment.voided == False))  # noqa: E712
    if shipment is not None:
        return shipment.order, shipment
    return None, None


def find_product(parsed: ParsedScan) -> Product | None:
    keys = [k for k in (parsed.gtin, parsed.text) if k]
    row = (Product.select().join(ProductBarcode).where(ProductBarcode.key.in_(keys)).first())
    if row is None and parsed.kind is Kind.ORDER:
        row = Product.get_or_none(Product.sku == parsed.text)  # shelf labels often carry the SKU itself
    return row  # type: ignore[no-any-return]


def order_lines(order: Order) -> tuple[dict[str, int], dict[str, str]]:
    expected: dict[str, int] = {}
    names: dict[str, str] = {}
    for line in OrderLine.select().where(OrderLine.order == order).order_by(OrderLine.line_no):
        expected[line.sku] = expected.get(line.sku, 0) + line.qty
        names.setdefault(line.sku, line.name or line.sku)
    return expected, names


def expected_weight_g(counts: dict[str, int], box_tare_g: int) -> int:
    if not counts:
        return box_tare_g
    weights = dict(Product.select(Product.sku, Product.weight_g).where(Product.sku.in_(list(counts))).tuples())
    return box_tare_g + sum(int(weights.get(sku, 0)) * qty for sku, qty in counts.items())


def live_shipment(order: Order) -> Shipment | None:
    live = Shipment.get_or_none((Shipment.order == order) & (Shipment.voided == False))  # noqa: E712
    return live  # type: ignore[no-any-return]


def tracking_in_use(tracking_no: str, order: Order) -> bool:
    other = Order.select(Order.id).where((Order.tracking_no == tracking_no) & (Order.id != order.id)).exists()
    return bool(other or Shipment.select(Shipment.id).where(Shipment.tracking_no == tracking_no).exists())


def take_waybill(carrier: str, order: Order, at: datetime) -> str | None:
    """The next free pre-allocated number for the carrier. Runs inside the shipment's transaction,
    which is IMMEDIATE, so two processes can never take the same number."""
    row = (WaybillPool.select().where((WaybillPool.carrier == carrier) & (WaybillPool.state == "free"))
           .order_by(WaybillPool.id).first())
    if row is None:
        return None
    WaybillPool.update(state="used", order=order, used_at=iso(at)).where(WaybillPool.id == row.id).execute()
    return str(row.number)


def max_reprint_no(shipment: Shipment) -> int:
    value = PrintJob.select(pw.fn.MAX(PrintJob.reprint_no)).where(PrintJob.shipment == shipment).scalar()
    return int(value or 0)
