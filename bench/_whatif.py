"""What-if: the fix bench/README.md recommends for the scan path, applied in this process only.

`install_cached_sql()` replaces, by monkeypatching, the store statements every scan runs with the
same SQL built once and executed with new parameters (`db.execute_sql(sql, params)`), instead of
peewee building the query anew on every call (~150–250 µs of Python per statement here, against
~10 µs for SQLite to run it):

- `app.pack.lookup.is_badge`, `find_order`, `find_product` (same logic, same SQL as the app's);
- `app.audit.record_fact` (head SELECT + audit INSERT + outbox INSERT; same rows);
- the `scan_event` INSERT of `PackFlow._record` (a prepared INSERT behind a `ScanEvent` shim).

Nothing in app/ is edited; `uninstall()` restores the originals. The figures it gives are the
expected gain of making the same change in the app (see the README's recommendations).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

import peewee as pw

_SENTINEL = "\x00whatif-param-{}"


class Prepared:
    """A SELECT built once by peewee from `build(*sentinels)`, then run with real values."""

    def __init__(self, model: Any, build: Callable[..., Any], arity: int) -> None:
        self.model = model
        sentinels = [_SENTINEL.format(k) for k in range(arity)]
        self.sql, params = build(*sentinels).sql()
        # Where each bound value comes from: an argument (by index) or a constant peewee put in (LIMIT 1).
        self.slots: list[tuple[bool, Any]] = [
            (True, sentinels.index(p)) if isinstance(p, str) and p in sentinels else (False, p) for p in params]
        self.fields: list[Any] | None = None

    def params(self, args: Sequence[Any]) -> tuple[Any, ...]:
        return tuple(args[v] if is_arg else v for is_arg, v in self.slots)

    def first(self, *args: Any) -> Any:
        cursor = self.model._meta.database.execute_sql(self.sql, self.params(args))
        row = cursor.fetchone()
        if row is None:
            return None
        if self.fields is None:
            by_column = {f.column_name: f for f in self.model._meta.sorted_fields}
            self.fields = [by_column[d[0]] for d in cursor.description]
        obj = self.model(__no_default__=1)
        obj.__data__ = {f.name: f.python_value(v) for f, v in zip(self.fields, row, strict=True)}
        return obj


class _PreparedInsert:
    """`Model.insert(**values).execute()` with the INSERT's SQL cached per set of columns."""

    def __init__(self, model: Any) -> None:
        self.model = model
        self.cache: dict[tuple[str, ...], tuple[str, list[Any]]] = {}

    def __getattr__(self, name: str) -> Any:  # everything else: the real model
        return getattr(self.model, name)

    def insert(self, **values: Any) -> Any:
        names = tuple(values)
        entry = self.cache.get(names)
        if entry is None:
            fields = [self.model._meta.fields[n] for n in names]
            cols = ", ".join(f'"{f.column_name}"' for f in fields)
            marks = ", ".join("?" * len(fields))
            entry = (f'INSERT INTO "{self.model._meta.table_name}" ({cols}) VALUES ({marks})', fields)
            self.cache[names] = entry
        sql, fields = entry
        params = tuple(f.db_value(v.id if isinstance(v, pw.Model) else v) for f, v in zip(fields, values.values(),
                                                                                             strict=True))
        db = self.model._meta.database

        class _Run:
            @staticmethod
            def execute() -> int:
                return int(db.execute_sql(sql, params).lastrowid)

        return _Run


_saved: list[tuple[Any, str, Any]] = []


def _patch(owner: Any, name: str, value: Any) -> None:
    _saved.append((owner, name, getattr(owner, name)))
    setattr(owner, name, value)


def install_cached_sql() -> None:
    from app import audit
    from app.barcodes import Kind
    from app.clock import iso
    from app.pack import flow, lookup
    from app.store.models import AuditEntry, Order, Product, ProductBarcode, ScanEvent, Shipment

    if _saved:
        return
    order_by_id = Prepared(Order, lambda v: Order.select().where(Order.order_id == v).limit(1), 1)
    order_by_tracking = Prepared(Order, lambda v: Order.select().where(Order.tracking_no == v).limit(1), 1)
    live_by_tracking = Prepared(Shipment, lambda v: Shipment.select().where(
        (Shipment.tracking_no == v) & (Shipment.voided == False)).limit(1), 1)  # noqa: E712
    product_by_keys = {
        k: Prepared(Product, lambda *v: Product.select().join(ProductBarcode).where(
            ProductBarcode.key.in_(list(v))).limit(1), k) for k in (1, 2)}
    product_by_sku = Prepared(Product, lambda v: Product.select().where(Product.sku == v).limit(1), 1)
    badge_sql = 'SELECT 1 FROM "operator" WHERE "badge" = ? AND "active" = 1 LIMIT 1'

    def is_badge(code: str) -> bool:
        return Order._meta.database.execute_sql(badge_sql, (code,)).fetchone() is not None

    def find_order(parsed: Any) -> tuple[Any, Any]:
        text = parsed.text
        if parsed.kind is not Kind.TRACKING:
            order = order_by_id.first(text)
            if order is not None:
                return order, None
        order = order_by_tracking.first(text)
        if order is not None:
            return order, None
        shipment = live_by_tracking.first(text)
        if shipment is not None:
            return shipment.order, shipment
        return None, None

    def find_product(parsed: Any) -> Any:
        keys = [k for k in (parsed.gtin, parsed.text) if k]
        row = product_by_keys[len(keys)].first(*keys)
        if row is None and parsed.kind is Kind.ORDER:
            row = product_by_sku.first(parsed.text)
        return row

    head_sql = 'SELECT "seq", "hash" FROM "audit_entry" ORDER BY "seq" DESC LIMIT 1'
    audit_sql = ('INSERT INTO "audit_entry" ("seq", "at", "actor", "kind", "payload", "prev_hash", "hash") '
                 "VALUES (?, ?, ?, ?, ?, ?, ?)")
    outbox_sql = ('INSERT INTO "outbox" ("event_id", "kind", "payload", "created_at", "attempts") '
                  "VALUES (?, ?, ?, ?, 0)")

    def record_fact(kind: str, actor: str, at: datetime, payload: dict[str, Any], *, sync: bool = True) -> int:
        db = AuditEntry._meta.database
        head = db.execute_sql(head_sql).fetchone()
        seq = head[0] + 1 if head else 1
        prev = head[1] if head else audit.GENESIS
        when = iso(at)
        body = audit.canonical_json(payload)
        db.execute_sql(audit_sql, (seq, when, actor, kind, body, prev,
                                   audit.entry_hash(prev, seq, when, actor, kind, body)))
        if sync:
            db.execute_sql(outbox_sql, (str(uuid.uuid4()), kind,
                                        audit.canonical_json({"audit_seq": seq, "actor": actor, **payload}), when))
        return seq

    _patch(lookup, "is_badge", is_badge)
    _patch(lookup, "find_order", find_order)
    _patch(lookup, "find_product", find_product)
    _patch(audit, "record_fact", record_fact)
    _patch(flow, "record_fact", record_fact)
    _patch(flow, "ScanEvent", _PreparedInsert(ScanEvent))


def uninstall() -> None:
    while _saved:
        owner, name, value = _saved.pop()
        setattr(owner, name, value)
