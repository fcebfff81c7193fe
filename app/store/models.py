"""Peewee models of the station's local store (docs/architecture.md §3).

The schema itself is created by the numbered migrations in `migrations.py`; these classes only map
it. `tests/test_store.py` checks that every model column exists in the migrated schema. The states a
column keeps as text are the `StrEnum`s of `app.store.states`.
Times are UTC ISO 8601 text (see `app.clock.iso`), money is integer fen, weights integer grams.
"""

from __future__ import annotations

import peewee as pw

from app.store.states import CaseState, OrderStatus, PoolState, PrintJobState, SessionState

database_proxy = pw.DatabaseProxy()


class BaseModel(pw.Model):  # type: ignore[misc]  # peewee is untyped here
    class Meta:
        database = database_proxy
        legacy_table_names = False


class SchemaVersion(BaseModel):
    version = pw.IntegerField(primary_key=True)
    name = pw.TextField()
    applied_at = pw.TextField()


class Meta(BaseModel):
    """Small key/value facts about this store: station id, created_at, ..."""

    key = pw.TextField(primary_key=True)
    value = pw.TextField()


class Product(BaseModel):
    sku = pw.TextField(unique=True)
    name = pw.TextField()
    weight_g = pw.IntegerField(default=0)
    stock = pw.IntegerField(default=0)
    updated_at = pw.TextField()


class ProductBarcode(BaseModel):
    # `key` is the normalised form: a 14-digit GTIN key for EAN/UPC codes, else the code as scanned.
    key = pw.TextField(unique=True)
    raw = pw.TextField()
    product = pw.ForeignKeyField(Product, backref="barcodes", on_delete="CASCADE")


class Order(BaseModel):
    order_id = pw.TextField(unique=True)
    platform = pw.TextField(default="canonical")
    shop = pw.TextField(default="")
    status = pw.TextField(default=OrderStatus.PAID)
    buyer = pw.TextField(default="")
    receiver_name = pw.TextField(default="")
    receiver_phone = pw.TextField(default="")
    receiver_address = pw.TextField(default="")
    total_cents = pw.IntegerField(default=0)
    paid_cents = pw.IntegerField(default=0)
    discount_cents = pw.IntegerField(default=0)  # shop + platform discounts the export states
    shipping_cents = pw.IntegerField(default=0)  # postage charged to the buyer
    created_at = pw.TextField(null=True)
    paid_at = pw.TextField(null=True)
    ship_by = pw.TextField(null=True)
    carrier = pw.TextField(default="")
    tracking_no = pw.TextField(null=True, index=True)  # a pre-printed waybill bound to the order
    ewaybill_no = pw.TextField(null=True)  # the carrier e-waybill the server ordered (migration 8)
    ewaybill_carrier = pw.TextField(default="")
    routing_code = pw.TextField(default="")  # 大头笔 (Kuaidi100 bulkpen), printed big on the label
    sorting = pw.TextField(default="")  # the carrier's other sorting fields, JSON
    note = pw.TextField(default="")
    updated_at = pw.TextField()


class OrderLine(BaseModel):
    order = pw.ForeignKeyField(Order, backref="lines", on_delete="CASCADE")
    line_no = pw.IntegerField()
    sku = pw.TextField()
    name = pw.TextField(default="")
    qty = pw.IntegerField()
    unit_price_cents = pw.IntegerField(default=0)

    class Meta:
        indexes = ((("order", "line_no"), True),)


class Operator(BaseModel):
    name = pw.TextField(unique=True)
    role = pw.TextField()  # packer | supervisor | admin | line
    badge = pw.TextField(unique=True)
    pin_hash = pw.TextField(null=True)
    active = pw.BooleanField(default=True)
    created_at = pw.TextField()
    language = pw.TextField(default="")  # zh_CN | en; "" follows the station's (migration 9)


class PackSession(BaseModel):
    order = pw.ForeignKeyField(Order, backref="sessions")
    operator = pw.ForeignKeyField(Operator, null=True)
    station = pw.TextField()
    started_at = pw.TextField()
    ended_at = pw.TextField(null=True)
    state = pw.TextField(default=SessionState.OPEN)
    expected_weight_g = pw.IntegerField(null=True)
    weight_g = pw.IntegerField(null=True)
    scanned = pw.TextField(default="{}")  # JSON {sku: count}, derived from scan events, kept for restart


class ScanEvent(BaseModel):
    """Append-only: every input and every outcome at the bench."""

    session = pw.ForeignKeyField(PackSession, null=True, backref="events")
    order = pw.ForeignKeyField(Order, null=True)
    operator = pw.ForeignKeyField(Operator, null=True)
    station = pw.TextField()
    at = pw.TextField()
    source = pw.TextField()  # serial:..., wedge, file, sim, scale, system
    raw = pw.BlobField(null=True)
    symbology = pw.TextField(null=True)
    parsed = pw.TextField(null=True)  # JSON of the interpretation
    outcome = pw.TextField()
    message = pw.TextField(default="")
    state_after = pw.TextField()


class Shipment(BaseModel):
    order = pw.ForeignKeyField(Order, backref="shipments")
    session = pw.ForeignKeyField(PackSession, null=True)
    carrier = pw.TextField()
    service = pw.TextField(default="standard")
    tracking_no = pw.TextField(unique=True)
    weight_g = pw.IntegerField()
    items_key = pw.TextField(index=True)  # "sku1*2|sku2*1": parcels with the same items share it
    passport_id = pw.TextField(null=True)
    voided = pw.BooleanField(default=False)
    created_at = pw.TextField()


class PrintJob(BaseModel):
    shipment = pw.ForeignKeyField(Shipment, backref="print_jobs")
    printer = pw.TextField()
    format = pw.TextField()
    payload_hash = pw.TextField(default="")
    state = pw.TextField(default=PrintJobState.QUEUED)
    attempts = pw.IntegerField(default=0)
    reprint_no = pw.IntegerField(default=0)
    error = pw.TextField(default="")
    created_at = pw.TextField()
    updated_at = pw.TextField()


class WaybillPool(BaseModel):
    carrier = pw.TextField()
    number = pw.TextField(unique=True)
    state = pw.TextField(default=PoolState.FREE)
    order = pw.ForeignKeyField(Order, null=True)
    used_at = pw.TextField(null=True)


class AuditEntry(BaseModel):
    seq = pw.IntegerField(primary_key=True)
    at = pw.TextField()
    actor = pw.TextField()
    kind = pw.TextField()
    payload = pw.TextField()
    prev_hash = pw.TextField()
    hash = pw.TextField()
    covers = pw.TextField(null=True)  # "table id digest" lines (migration 6); NULL on older entries


class Outbox(BaseModel):
    seq = pw.AutoField()
    event_id = pw.TextField(unique=True)
    kind = pw.TextField()
    payload = pw.TextField()
    created_at = pw.TextField()
    attempts = pw.IntegerField(default=0)
    acked_at = pw.TextField(null=True)
    rejected_reason = pw.TextField(null=True)


class SyncCursor(BaseModel):
    name = pw.TextField(primary_key=True)
    cursor = pw.TextField()
    updated_at = pw.TextField()


class TrackingEvent(BaseModel):
    """Append-only carrier tracking, as pulled from the server (migration 4)."""

    server_id = pw.IntegerField(unique=True)
    carrier = pw.TextField()
    tracking_no = pw.TextField()
    status = pw.TextField()  # picked_up | in_transit | out_for_delivery | delivered | exception | returned
    carrier_status = pw.TextField()
    time = pw.TextField()
    site = pw.TextField(default="")
    courier = pw.TextField(default="")
    context = pw.TextField()
    source = pw.TextField()
    received_at = pw.TextField()


class ExceptionCase(BaseModel):
    dedupe_key = pw.TextField()
    tag = pw.TextField()
    rule_id = pw.TextField()
    severity = pw.TextField()  # info | warning | critical
    route = pw.TextField()  # the role that handles it: packer | supervisor | admin
    state = pw.TextField(default=CaseState.OPEN)
    order = pw.ForeignKeyField(Order, null=True)
    shipment = pw.ForeignKeyField(Shipment, null=True)
    title = pw.TextField()
    detail = pw.TextField(default="{}")
    sop = pw.TextField(default="")
    opened_at = pw.TextField()
    updated_at = pw.TextField()
    acked_by = pw.TextField(null=True)
    acked_at = pw.TextField(null=True)
    resolved_by = pw.TextField(null=True)
    resolved_at = pw.TextField(null=True)
    note = pw.TextField(default="")


ALL_MODELS: list[type[BaseModel]] = [
    SchemaVersion, Meta, Product, ProductBarcode, Order, OrderLine, Operator, PackSession, ScanEvent,
    Shipment, PrintJob, WaybillPool, AuditEntry, Outbox, SyncCursor, ExceptionCase,
    TrackingEvent,
]

