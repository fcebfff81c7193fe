"""Order and product intake on the server: the centre is the order and product master.

Files are read by the station's own parsers and profiles (`app.importers.parse_orders`,
`parse_products`, `load_profile`): the same formats, the same row errors. Writing follows the
station's re-import rules (`app.importers.apply`) on the server's tables:

- upsert by `order_id`; only the columns the file carries are written;
- an order the stations reported packed or shipped keeps that status, except that cancelled and
  refunded from the platform are applied (the station then intercepts the parcel); its lines stay;
- every created or changed order (product) takes a new stream position, so stations pull it again;
  an unchanged one keeps its position and `updated_at`.

Orders are routed to the warehouse named on the command line. An order already routed to another
warehouse is refused (the whole file, naming the row): moving orders between warehouses is a
deliberate act, not a side effect of an import.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from app.clock import Clock, iso, parse_iso
from app.importers import ImportFileError, ImportReport, load_profile, parse_orders, parse_products
from app.importers.orders import OrderRecord
from app.importers.products import ProductRecord
from app.store.states import PACKED_STATUSES, STOPPED_STATUSES
from server.auth import check_warehouse
from server.db import ServerDb, chunks, take_positions
from server.fulfilment import refresh_orders
from server.models import Order, OrderLine, Product, ProductBarcode

PACKED = PACKED_STATUSES
PLATFORM_WINS = STOPPED_STATUSES
ORDER_DEFAULTS: dict[str, Any] = {
    "platform": "canonical", "shop": "", "buyer": "", "receiver_name": "", "receiver_phone": "", "receiver_address": "",
    "total_cents": 0, "paid_cents": 0, "discount_cents": 0, "shipping_cents": 0,
    "created_at": None, "paid_at": None, "ship_by": None, "carrier": "",
    "tracking_no": None, "note": "",
}
INSERT_CHUNK = 200


class _Rows:
    def __init__(self) -> None:
        self.total = 0

    def __call__(self, done: int, total: int) -> None:
        self.total = total


def business_day(values: dict[str, Any], zone: ZoneInfo, now: datetime) -> str:
    when = values.get("paid_at") or values.get("created_at")
    moment = parse_iso(when) if isinstance(when, str) and when else now
    return moment.astimezone(zone).date().isoformat()


def import_orders(sdb: ServerDb, path: Path | str, fmt: str | Path, warehouse: str, clock: Clock, zone: ZoneInfo,
                  lines_path: Path | str | None = None) -> ImportReport:
    check_warehouse(warehouse)
    path = Path(path)
    profile = load_profile(fmt)
    rows = _Rows()
    records = parse_orders(path, profile, lines_path, rows)
    with sdb.connection(), sdb.write():
        created, updated, unchanged = _apply_orders(sdb, path, records, warehouse, clock.now(), zone)
    return ImportReport(profile.name, rows.total, created, updated, unchanged)


def _existing(model: Any, key: Any, keys: Sequence[str]) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    for chunk in chunks(keys):
        found.update((row[key.name], row) for row in model.select().where(key.in_(chunk)).dicts())
    return found


def _lines(order_pks: Sequence[int]) -> dict[int, list[tuple[int, str, str, int, int]]]:
    lines: dict[int, list[tuple[int, str, str, int, int]]] = {}
    for chunk in chunks(order_pks):
        query = (OrderLine.select(OrderLine.order, OrderLine.line_no, OrderLine.sku, OrderLine.name, OrderLine.qty,
                                  OrderLine.unit_price_cents)
                 .where(OrderLine.order.in_(chunk)).order_by(OrderLine.order, OrderLine.line_no).tuples())
        for pk, *line in query:
            lines.setdefault(pk, []).append(tuple(line))
    return lines


def _apply_orders(sdb: ServerDb, path: Path, records: Sequence[OrderRecord], warehouse: str, now: datetime,
                  zone: ZoneInfo) -> tuple[int, int, int]:
    existing = _existing(Order, Order.order_id, [r.order_id for r in records])
    for rec in records:
        cur = existing.get(rec.order_id)
        if cur is not None and cur["warehouse"] != warehouse:
            raise ImportFileError(path, rec.row, "order_id", f"order {rec.order_id!r} is routed to warehouse "
                                  f"{cur['warehouse']}, not {warehouse}; nothing imported")
    stored_lines = _lines([row["id"] for row in existing.values()])
    stamp = iso(now)
    inserts: list[dict[str, Any]] = []
    updates: list[tuple[int, dict[str, Any]]] = []
    relined: list[OrderRecord] = []
    unchanged = 0
    for rec in records:
        cur = existing.get(rec.order_id)
        lines = [(x.line_no, x.sku, x.name, x.qty, x.unit_price_cents) for x in rec.lines]
        if cur is None:
            values = {**ORDER_DEFAULTS, **rec.values, "status": rec.status}
            inserts.append({**values, "order_id": rec.order_id, "warehouse": warehouse,
                            "day": business_day(values, zone, now), "updated_at": stamp})
            relined.append(rec)
            continue
        packed = cur["status"] in PACKED
        new = {**rec.values, "status": rec.status if not packed or rec.status in PLATFORM_WINS else cur["status"]}
        new["day"] = business_day({**cur, **new}, zone, now)
        lines_differ = not packed and lines != stored_lines.get(cur["id"], [])
        if not lines_differ and all(cur[k] == v for k, v in new.items()):
            unchanged += 1
            continue
        updates.append((cur["id"], new))
        if lines_differ:
            relined.append(rec)
    if inserts or updates:
        pos = take_positions(sdb, "order", len(inserts) + len(updates))
        for row in inserts:
            row["pos"], pos = pos, pos + 1
        for batch in chunks(inserts, INSERT_CHUNK):
            Order.insert_many(batch).execute()
        for pk, values in updates:
            Order.update(**values, updated_at=stamp, pos=pos).where(Order.id == pk).execute()
            pos += 1
    pks = {row["order_id"]: row["id"] for row in _existing(Order, Order.order_id, [r.order_id for r in relined])
           .values()}
    for chunk in chunks([pks[r.order_id] for r in relined]):
        OrderLine.delete().where(OrderLine.order.in_(chunk)).execute()
    line_rows = [{"order": pks[rec.order_id], "line_no": x.line_no, "sku": x.sku, "name": x.name, "qty": x.qty,
                  "unit_price_cents": x.unit_price_cents} for rec in relined for x in rec.lines]
    for batch in chunks(line_rows, INSERT_CHUNK):
        OrderLine.insert_many(batch).execute()
    refresh_orders(sdb, [row["order_id"] for row in inserts])  # parcels packed before the platform sent the order
    return len(inserts), len(updates), unchanged


def import_products(sdb: ServerDb, path: Path | str, clock: Clock) -> ImportReport:
    path = Path(path)
    rows = _Rows()
    records = parse_products(path, rows)
    with sdb.connection(), sdb.write():
        created, updated, unchanged = _apply_products(sdb, path, records, iso(clock.now()))
    return ImportReport("products", rows.total, created, updated, unchanged)


def _barcodes(product_pks: Sequence[int]) -> dict[int, list[tuple[str, str]]]:
    found: dict[int, list[tuple[str, str]]] = {}
    for chunk in chunks(product_pks):
        for pk, key, raw in (ProductBarcode.select(ProductBarcode.product, ProductBarcode.key, ProductBarcode.raw)
                             .where(ProductBarcode.product.in_(chunk)).order_by(ProductBarcode.id).tuples()):
            found.setdefault(pk, []).append((key, raw))
    return found


def _apply_products(sdb: ServerDb, path: Path, records: Sequence[ProductRecord], stamp: str) -> tuple[int, int, int]:
    existing = _existing(Product, Product.sku, [r.sku for r in records])
    relisted = {r.sku for r in records if r.barcodes is not None}
    listed = {key: r for r in records for key, _ in (r.barcodes or ())}
    for chunk in chunks(list(listed)):
        owners = (ProductBarcode.select(ProductBarcode.key, Product.sku).join(Product)
                  .where(ProductBarcode.key.in_(chunk)).tuples())
        for key, sku in owners:
            rec = listed[key]
            if sku != rec.sku and sku not in relisted:
                raise ImportFileError(path, rec.row, rec.barcode_column, f"barcode {key!r} belongs to sku {sku!r} "
                                      f"on the server; list it for one sku only")
    stored = _barcodes([row["id"] for row in existing.values()])
    inserts, updates, unchanged = [], [], 0
    for rec in records:
        cur = existing.get(rec.sku)
        if cur is None:
            inserts.append(rec)
            continue
        codes_differ = rec.barcodes is not None and list(rec.barcodes) != stored.get(cur["id"], [])
        if codes_differ or any(cur[k] != v for k, v in rec.values.items()):
            updates.append(rec)
        else:
            unchanged += 1
    changed = inserts + updates
    if changed:
        pos = take_positions(sdb, "product", len(changed))
        rows = [{"sku": r.sku, "name": "", "weight_g": 0, "stock": 0, **r.values, "updated_at": stamp,
                 "pos": pos + i} for i, r in enumerate(inserts)]
        for batch in chunks(rows, INSERT_CHUNK):
            Product.insert_many(batch).execute()
        for i, rec in enumerate(updates, start=len(inserts)):
            Product.update(**rec.values, updated_at=stamp, pos=pos + i).where(Product.sku == rec.sku).execute()
    relist = [r for r in changed if r.barcodes is not None]
    pks = {sku: row["id"] for sku, row in _existing(Product, Product.sku, [r.sku for r in relist]).items()}
    for chunk in chunks(list(pks.values())):
        ProductBarcode.delete().where(ProductBarcode.product.in_(chunk)).execute()
    code_rows = [{"product": pks[r.sku], "key": key, "raw": raw} for r in relist for key, raw in (r.barcodes or ())]
    for batch in chunks(code_rows, INSERT_CHUNK):
        ProductBarcode.insert_many(batch).execute()
    return len(inserts), len(updates), unchanged
