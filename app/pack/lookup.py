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
from app.store.prepared import PreparedSelect
from app.store.states import PoolState

_ORDER_BY_ID = PreparedSelect(Order, lambda v: Order.select().where(Order.order_id == v).limit(1), 1)
_ORDER_BY_TRACKING = PreparedSelect(Order, lambda v: Order.select().where(Order.tracking_no == v).limit(1), 1)
_LIVE_BY_TRACKING = PreparedSelect(Shipment, lambda v: Shipment.select().where(
    (Shipment.tracking_no == v) & (Shipment.voided == False)).limit(1), 1)  # noqa: E712
_LIVE_BY_ORDER = PreparedSelect(Shipment, lambda v: Shipment.select().where(
    (Shipment.order == v) & (Shipment.voided == False)).limit(1), 1)  # noqa: E712
_PRODUCT_BY_KEYS = {n: PreparedSelect(Product, lambda *v: Product.select().join(ProductBarcode).where(
    ProductBarcode.key.in_(list(v))).limit(1), n) for n in (1, 2)}
_PRODUCT_BY_SKU = PreparedSelect(Product, lambda v: Product.select().where(Product.sku == v).limit(1), 1)
_BADGE = PreparedSelect(Operator, lambda v: Operator.select().where(
    (Operator.badge == v) & (Operator.active == True)).limit(1), 1)  # noqa: E712


def is_badge(code: str) -> bool:
    return _BADGE.first(code) is not None


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
        order = _ORDER_BY_ID.first(text)
        if order is not None:
            return order, None
    order = _ORDER_BY_TRACKING.first(text)
    if order is not None:
        return order, None
    shipment = _LIVE_BY_TRACKING.first(text)
    if shipment is not None:
        return shipment.order, shipment
    return None, None


def find_product(parsed: ParsedScan) -> Product | None:
    keys = [k for k in (parsed.gtin, parsed.text) if k]
    row = _PRODUCT_BY_KEYS[len(keys)].first(*keys)
    if row is None and parsed.kind is Kind.ORDER:
        row = _PRODUCT_BY_SKU.first(parsed.text)  # shelf labels often carry the SKU itself
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
    return _LIVE_BY_ORDER.first(order.id)  # type: ignore[no-any-return]


def tracking_in_use(tracking_no: str, order: Order) -> bool:
    other = Order.select(Order.id).where((Order.tracking_no == tracking_no) & (Order.id != order.id)).exists()
    return bool(other or Shipment.select(Shipment.id).where(Shipment.tracking_no == tracking_no).exists())


def order_carrier(order: Order, default: str) -> str:
    """The carrier an order ships with: its e-waybill's, else the order's own, else the station's default."""
    return str(order.ewaybill_carrier or order.carrier or default)


def choose_waybill(carrier: str, order: Order, at: datetime) -> tuple[str, str | None]:
    """(source, number) for the order's parcel: a waybill bound to the order (pre-printed, scanned or
    from the platform), else the carrier e-waybill the server ordered for it (if it is for this
    carrier and no shipment used it yet: a voided label's number is never printed again), else the
    next number of the local pool (None when that is empty too)."""
    if order.tracking_no:
        return "preprinted", str(order.tracking_no)
    number = order.ewaybill_no
    if number and order.ewaybill_carrier == carrier and not Shipment.select(Shipment.id).where(
            Shipment.tracking_no == number).exists():
        return "ewaybill", str(number)
    return "pool", take_waybill(carrier, order, at)


def take_waybill(carrier: str, order: Order, at: datetime) -> str | None:
    """The next free pre-allocated number for the carrier. Runs inside the shipment's transaction,
    which is IMMEDIATE, so two processes can never take the same number."""
    row = (WaybillPool.select().where((WaybillPool.carrier == carrier) & (WaybillPool.state == PoolState.FREE))
           .order_by(WaybillPool.id).first())
    if row is None:
        return None
    WaybillPool.update(state=PoolState.USED, order=order, used_at=iso(at)).where(WaybillPool.id == row.id).execute()
    return str(row.number)


def waybill_available(carrier: str) -> bool:
    return bool(WaybillPool.select(WaybillPool.id).where(
        (WaybillPool.carrier == carrier) & (WaybillPool.state == PoolState.FREE)).exists())


def max_reprint_no(shipment: Shipment) -> int:
    value = PrintJob.select(pw.fn.MAX(PrintJob.reprint_no)).where(PrintJob.shipment == shipment).scalar()
    return int(value or 0)
