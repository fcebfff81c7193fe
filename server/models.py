"""Peewee models of the server database; the schema itself is `server.migrations` (frozen DDL).

Their own `DatabaseProxy`, never the station's: a process may hold a station store and a server
database at once (tests do). Times are UTC ISO 8601 text as on the station (`app.clock.iso`), so
they sort as text on both SQLite and PostgreSQL; money is integer fen.
"""

from __future__ import annotations

import peewee as pw

from app.store.states import OrderStatus

database_proxy = pw.DatabaseProxy()


class BaseModel(pw.Model):  # type: ignore[misc]  # peewee is untyped here
    class Meta:
        database = database_proxy
        legacy_table_names = False


class SchemaVersion(BaseModel):
    version = pw.IntegerField(primary_key=True)
    name = pw.TextField()
    applied_at = pw.TextField()


class EnrollmentToken(BaseModel):
    token_hash = pw.TextField(unique=True)  # SHA-256 of the token: the token itself is shown once
    warehouse = pw.TextField()
    created_at = pw.TextField()
    expires_at = pw.TextField()
    used_at = pw.TextField(null=True)
    station_id = pw.TextField(null=True)


class Station(BaseModel):
    station_id = pw.TextField(unique=True)  # "ST-1A2B3C4D"
    name = pw.TextField()
    warehouse = pw.TextField()
    secret = pw.TextField()  # the HMAC key: the server must hold it to check signatures
    key_id = pw.TextField(index=True)  # hex of app.keys.key_id of its passport key
    public_key = pw.TextField()  # PEM
    enrolled_at = pw.TextField()
    revoked_at = pw.TextField(null=True)
    revoked_reason = pw.TextField(null=True)
    last_seen_at = pw.TextField(null=True)  # its last signed request, to the minute
    next_seq = pw.BigIntegerField(default=1)  # the outbox seq the server expects next
    audit_seq = pw.BigIntegerField(null=True)  # the station's audit chain head the server keeps (migration 3)
    audit_hash = pw.TextField(null=True)
    audit_at = pw.TextField(null=True)


class StationEvent(BaseModel):
    event_id = pw.TextField(unique=True)
    station_id = pw.TextField()
    seq = pw.BigIntegerField()
    kind = pw.TextField()
    at = pw.TextField()
    payload = pw.TextField()
    body_hash = pw.TextField()
    status = pw.TextField()  # accepted | rejected
    reason = pw.TextField(null=True)  # why rejected
    note = pw.TextField(null=True)  # accepted but flagged: a seq gap or regression
    received_at = pw.TextField()


class Product(BaseModel):
    sku = pw.TextField(unique=True)
    name = pw.TextField()
    weight_g = pw.IntegerField(default=0)
    stock = pw.IntegerField(default=0)
    updated_at = pw.TextField()
    pos = pw.BigIntegerField()


class ProductBarcode(BaseModel):
    product = pw.ForeignKeyField(Product, backref="barcodes", on_delete="CASCADE")
    key = pw.TextField(unique=True)
    raw = pw.TextField()


class Order(BaseModel):
    order_id = pw.TextField(unique=True)
    warehouse = pw.TextField()
    day = pw.TextField()  # business day (server timezone) of payment, else creation, else import
    platform = pw.TextField(default="canonical")
    shop = pw.TextField(default="")
    status = pw.TextField(default=OrderStatus.PAID)
    buyer = pw.TextField(default="")
    receiver_name = pw.TextField(default="")
    receiver_phone = pw.TextField(default="")
    receiver_address = pw.TextField(default="")
    total_cents = pw.BigIntegerField(default=0)
    paid_cents = pw.BigIntegerField(default=0)
    discount_cents = pw.BigIntegerField(default=0)
    shipping_cents = pw.BigIntegerField(default=0)
    created_at = pw.TextField(null=True)
    paid_at = pw.TextField(null=True)
    ship_by = pw.TextField(null=True)
    carrier = pw.TextField(default="")
    tracking_no = pw.TextField(null=True)
    note = pw.TextField(default="")
    updated_at = pw.TextField()
    pos = pw.BigIntegerField()
    # Fulfilment flags, recomputed by server.fulfilment whenever the order's parcels change.
    live_parcels = pw.IntegerField(default=0)
    handed_over = pw.IntegerField(default=0)
    carrier_accepted = pw.IntegerField(default=0)


class OrderLine(BaseModel):
    order = pw.ForeignKeyField(Order, backref="lines", on_delete="CASCADE")
    line_no = pw.IntegerField()
    sku = pw.TextField()
    name = pw.TextField(default="")
    qty = pw.IntegerField()
    unit_price_cents = pw.BigIntegerField(default=0)


class Parcel(BaseModel):
    tracking_no = pw.TextField(unique=True)
    carrier = pw.TextField()
    order_id = pw.TextField(index=True)  # the platform order id (text), not a foreign key
    warehouse = pw.TextField()
    station_id = pw.TextField()
    passport_id = pw.TextField(null=True)
    packed_at = pw.TextField()
    voided_at = pw.TextField(null=True)
    handed_over_at = pw.TextField(null=True)
    handover_batch = pw.TextField(null=True)
    updated_at = pw.TextField()
    claim = pw.TextField(default="legacy")  # pool | order | ewaybill | preprinted | legacy
    accepted_at = pw.TextField(null=True)  # the first picked-up-or-later carrier event (server.fulfilment)
    ended_at = pw.TextField(null=True)  # the first delivered, refused, returned or cancelled event (same)
    out_for_delivery_at = pw.TextField(null=True)  # the first out-for-delivery event (same)
    order_known = pw.IntegerField(default=0)  # the platform sent its order (server.fulfilment)


class CarrierPush(BaseModel):
    source = pw.TextField()
    received_at = pw.TextField()
    body = pw.TextField()
    body_sha256 = pw.TextField(null=True)
    events = pw.IntegerField()
    new_events = pw.IntegerField()


class TrackingEvent(BaseModel):
    carrier = pw.TextField()
    tracking_no = pw.TextField()
    status = pw.TextField()
    carrier_status = pw.TextField()
    time = pw.TextField()  # UTC ISO, for ordering
    time_raw = pw.TextField()  # as the carrier sent it
    site = pw.TextField()
    courier = pw.TextField()
    context = pw.TextField()
    context_hash = pw.TextField()
    source = pw.TextField()
    push_id = pw.BigIntegerField()
    raw = pw.TextField()
    received_at = pw.TextField()


class Waybill(BaseModel):
    carrier = pw.TextField()
    number = pw.TextField(unique=True)
    state = pw.TextField(default="free")  # free | allocated
    station_id = pw.TextField(null=True)
    imported_at = pw.TextField()
    allocated_at = pw.TextField(null=True)


class RuleSet(BaseModel):
    version = pw.IntegerField(primary_key=True)
    content = pw.TextField()
    sha256 = pw.TextField()
    created_at = pw.TextField()
    source = pw.TextField()


class MetricHour(BaseModel):
    station_id = pw.TextField()
    hour = pw.TextField()
    warehouse = pw.TextField()
    scans = pw.IntegerField(default=0)
    errors = pw.IntegerField(default=0)
    shipments = pw.IntegerField(default=0)
    reprints = pw.IntegerField(default=0)

    class Meta:
        primary_key = pw.CompositeKey("station_id", "hour")


class ConsoleUser(BaseModel):
    name = pw.TextField(unique=True)
    role = pw.TextField()  # viewer | supervisor | admin
    warehouses = pw.TextField()  # space-separated warehouse codes
    password_hash = pw.TextField()  # argon2id, PHC string
    lang = pw.TextField(default="")  # "" = from the browser's Accept-Language
    failed_logins = pw.IntegerField(default=0)
    locked_until = pw.TextField(null=True)
    disabled_at = pw.TextField(null=True)
    created_at = pw.TextField()
    updated_at = pw.TextField()


class ConsoleSession(BaseModel):
    token_hash = pw.TextField(primary_key=True)
    user = pw.ForeignKeyField(ConsoleUser, on_delete="CASCADE")
    csrf = pw.TextField()
    created_at = pw.TextField()
    seen_at = pw.TextField()
    expires_at = pw.TextField()


class ServerAudit(BaseModel):
    at = pw.TextField()
    actor = pw.TextField()
    action = pw.TextField()
    warehouse = pw.TextField(default="")
    target = pw.TextField(default="")
    detail = pw.TextField(default="")
    address = pw.TextField(default="")


class TrackingCase(BaseModel):
    opened_at = pw.TextField()
    warehouse = pw.TextField()
    tracking_no = pw.TextField()
    kind = pw.TextField()  # conflict | unverified
    station_id = pw.TextField()  # the station whose claim opened it
    other_warehouse = pw.TextField(null=True)
    detail = pw.TextField()
    closed_at = pw.TextField(null=True)


class AuditHeadConflict(BaseModel):
    """An audit chain head a station offered and the server refused, keeping the first (server.audit_heads)."""

    station_id = pw.TextField()
    at = pw.TextField()
    kept_seq = pw.BigIntegerField()
    kept_hash = pw.TextField()
    offered_seq = pw.BigIntegerField()
    offered_hash = pw.TextField()
    reason = pw.TextField()


class ServerCase(BaseModel):
    """An exception case of a station (or of the server's own rules, station_id ""): `server.cases`."""

    warehouse = pw.TextField()
    station_id = pw.TextField()
    station_case = pw.BigIntegerField(null=True)
    dedupe_key = pw.TextField()
    tag = pw.TextField()
    rule_id = pw.TextField()
    severity = pw.TextField()
    route = pw.TextField()
    order_id = pw.TextField(null=True)
    tracking_no = pw.TextField(null=True)
    title = pw.TextField()
    title_words = pw.TextField(default="")  # JSON of the title's phrase (app.stored_words), '' for older cases
    state = pw.TextField()
    opened_at = pw.TextField()
    updated_at = pw.TextField()
    acked_by = pw.TextField(null=True)
    acked_at = pw.TextField(null=True)
    resolved_by = pw.TextField(null=True)
    resolved_at = pw.TextField(null=True)
    note = pw.TextField(default="")
    pos = pw.BigIntegerField(null=True)


ALL_MODELS: list[type[BaseModel]] = [
    SchemaVersion, EnrollmentToken, Station, StationEvent, Product, ProductBarcode, Order, OrderLine, Parcel,
    CarrierPush, TrackingEvent, Waybill, RuleSet, MetricHour, ConsoleUser, ConsoleSession, ServerAudit,
    TrackingCase, AuditHeadConflict, ServerCase,
]
