"""Numbered schema migrations of the station store.

Each migration is a list of SQL statements, applied in one transaction together with its row in
`schema_version`. Never edit a migration that has shipped: add the next number. The DDL is frozen
text (not generated from the models at run time) so that a model edit cannot silently change what an
old migration does.
"""

from __future__ import annotations

from typing import NamedTuple

from app.store.migration_0002 import MIGRATION_2, MIGRATION_2_NAME
from app.store.migration_0003 import MIGRATION_3, MIGRATION_3_NAME
from app.store.migration_0004 import MIGRATION_4, MIGRATION_4_NAME
from app.store.migration_0005 import MIGRATION_5, MIGRATION_5_NAME
from app.store.migration_0006 import MIGRATION_6, MIGRATION_6_NAME, MIGRATION_6_VERSION
from app.store.migration_0007 import MIGRATION_7, MIGRATION_7_NAME
from app.store.migration_0008 import MIGRATION_8, MIGRATION_8_NAME
from app.store.migration_0009 import MIGRATION_9, MIGRATION_9_NAME


class Migration(NamedTuple):
    version: int
    name: str
    statements: tuple[str, ...]


_INITIAL = (
    """CREATE TABLE "meta" (
        "key" TEXT NOT NULL PRIMARY KEY,
        "value" TEXT NOT NULL
    )""",
    """CREATE TABLE "product" (
        "id" INTEGER NOT NULL PRIMARY KEY,
        "sku" TEXT NOT NULL,
        "name" TEXT NOT NULL,
        "weight_g" INTEGER NOT NULL,
        "stock" INTEGER NOT NULL,
        "updated_at" TEXT NOT NULL
    )""",
    """CREATE UNIQUE INDEX "product_sku" ON "product" ("sku")""",
    """CREATE TABLE "product_barcode" (
        "id" INTEGER NOT NULL PRIMARY KEY,
        "key" TEXT NOT NULL,
        "raw" TEXT NOT NULL,
        "product_id" INTEGER NOT NULL,
        FOREIGN KEY ("product_id") REFERENCES "product" ("id") ON DELETE CASCADE
    )""",
    """CREATE UNIQUE INDEX "product_barcode_key" ON "product_barcode" ("key")""",
    """CREATE INDEX "product_barcode_product_id" ON "product_barcode" ("product_id")""",
    """CREATE TABLE "order" (
        "id" INTEGER NOT NULL PRIMARY KEY,
        "order_id" TEXT NOT NULL,
        "platform" TEXT NOT NULL,
        "shop" TEXT NOT NULL,
        "status" TEXT NOT NULL,
        "buyer" TEXT NOT NULL,
        "receiver_name" TEXT NOT NULL,
        "receiver_phone" TEXT NOT NULL,
        "receiver_address" TEXT NOT NULL,
        "total_cents" INTEGER NOT NULL,
        "paid_cents" INTEGER NOT NULL,
        "created_at" TEXT,
        "paid_at" TEXT,
        "ship_by" TEXT,
        "carrier" TEXT NOT NULL,
        "tracking_no" TEXT,
        "note" TEXT NOT NULL,
        "updated_at" TEXT NOT NULL
    )""",
    """CREATE UNIQUE INDEX "order_order_id" ON "order" ("order_id")""",
    """CREATE INDEX "order_tracking_no" ON "order" ("tracking_no")""",
    """CREATE TABLE "order_line" (
        "id" INTEGER NOT NULL PRIMARY KEY,
        "order_id" INTEGER NOT NULL,
        "line_no" INTEGER NOT NULL,
        "sku" TEXT NOT NULL,
        "name" TEXT NOT NULL,
        "qty" INTEGER NOT NULL,
        "unit_price_cents" INTEGER NOT NULL,
        FOREIGN KEY ("order_id") REFERENCES "order" ("id") ON DELETE CASCADE
    )""",
    """CREATE INDEX "order_line_order_id" ON "order_line" ("order_id")""",
    """CREATE UNIQUE INDEX "order_line_order_id_line_no" ON "order_line" ("order_id", "line_no")""",
    """CREATE TABLE "operator" (
        "id" INTEGER NOT NULL PRIMARY KEY,
        "name" TEXT NOT NULL,
        "role" TEXT NOT NULL,
        "badge" TEXT NOT NULL,
        "pin_hash" TEXT,
        "active" INTEGER NOT NULL,
        "created_at" TEXT NOT NULL
    )""",
    """CREATE UNIQUE INDEX "operator_name" ON "operator" ("name")""",
    """CREATE UNIQUE INDEX "operator_badge" ON "operator" ("badge")""",
    """CREATE TABLE "pack_session" (
        "id" INTEGER NOT NULL PRIMARY KEY,
        "order_id" INTEGER NOT NULL,
        "operator_id" INTEGER,
        "station" TEXT NOT NULL,
        "started_at" TEXT NOT NULL,
        "ended_at" TEXT,
        "state" TEXT NOT NULL,
        "expected_weight_g" INTEGER,
        "weight_g" INTEGER,
        "scanned" TEXT NOT NULL,
        FOREIGN KEY ("order_id") REFERENCES "order" ("id"),
        FOREIGN KEY ("operator_id") REFERENCES "operator" ("id")
    )""",
    """CREATE INDEX "pack_session_order_id" ON "pack_session" ("order_id")""",
    """CREATE INDEX "pack_session_operator_id" ON "pack_session" ("operator_id")""",
    """CREATE TABLE "scan_event" (
        "id" INTEGER NOT NULL PRIMARY KEY,
        "session_id" INTEGER,
        "order_id" INTEGER,
        "operator_id" INTEGER,
        "station" TEXT NOT NULL,
        "at" TEXT NOT NULL,
        "source" TEXT NOT NULL,
        "raw" BLOB,
        "symbology" TEXT,
        "parsed" TEXT,
        "outcome" TEXT NOT NULL,
        "message" TEXT NOT NULL,
        "state_after" TEXT NOT NULL,
        FOREIGN KEY ("session_id") REFERENCES "pack_session" ("id"),
        FOREIGN KEY ("order_id") REFERENCES "order" ("id"),
        FOREIGN KEY ("operator_id") REFERENCES "operator" ("id")
    )""",
    """CREATE INDEX "scan_event_session_id" ON "scan_event" ("session_id")""",
    """CREATE INDEX "scan_event_order_id" ON "scan_event" ("order_id")""",
    """CREATE INDEX "scan_event_operator_id" ON "scan_event" ("operator_id")""",
    """CREATE TABLE "shipment" (
        "id" INTEGER NOT NULL PRIMARY KEY,
        "order_id" INTEGER NOT NULL,
        "session_id" INTEGER,
        "carrier" TEXT NOT NULL,
        "service" TEXT NOT NULL,
        "tracking_no" TEXT NOT NULL,
        "weight_g" INTEGER NOT NULL,
        "items_key" TEXT NOT NULL,
        "passport_id" TEXT,
        "voided" INTEGER NOT NULL,
        "created_at" TEXT NOT NULL,
        FOREIGN KEY ("order_id") REFERENCES "order" ("id"),
        FOREIGN KEY ("session_id") REFERENCES "pack_session" ("id")
    )""",
    """CREATE INDEX "shipment_order_id" ON "shipment" ("order_id")""",
    """CREATE INDEX "shipment_session_id" ON "shipment" ("session_id")""",
    """CREATE UNIQUE INDEX "shipment_tracking_no" ON "shipment" ("tracking_no")""",
    """CREATE INDEX "shipment_items_key" ON "shipment" ("items_key")""",
    """CREATE TABLE "print_job" (
        "id" INTEGER NOT NULL PRIMARY KEY,
        "shipment_id" INTEGER NOT NULL,
        "printer" TEXT NOT NULL,
        "format" TEXT NOT NULL,
        "payload_hash" TEXT NOT NULL,
        "state" TEXT NOT NULL,
        "attempts" INTEGER NOT NULL,
        "reprint_no" INTEGER NOT NULL,
        "error" TEXT NOT NULL,
        "created_at" TEXT NOT NULL,
        "updated_at" TEXT NOT NULL,
        FOREIGN KEY ("shipment_id") REFERENCES "shipment" ("id")
    )""",
    """CREATE INDEX "print_job_shipment_id" ON "print_job" ("shipment_id")""",
    """CREATE TABLE "waybill_pool" (
        "id" INTEGER NOT NULL PRIMARY KEY,
        "carrier" TEXT NOT NULL,
        "number" TEXT NOT NULL,
        "state" TEXT NOT NULL,
        "order_id" INTEGER,
        "used_at" TEXT,
        FOREIGN KEY ("order_id") REFERENCES "order" ("id")
    )""",
    """CREATE UNIQUE INDEX "waybill_pool_number" ON "waybill_pool" ("number")""",
    """CREATE INDEX "waybill_pool_order_id" ON "waybill_pool" ("order_id")""",
    """CREATE TABLE "audit_entry" (
        "seq" INTEGER NOT NULL PRIMARY KEY,
        "at" TEXT NOT NULL,
        "actor" TEXT NOT NULL,
        "kind" TEXT NOT NULL,
        "payload" TEXT NOT NULL,
        "prev_hash" TEXT NOT NULL,
        "hash" TEXT NOT NULL
    )""",
    """CREATE TABLE "outbox" (
        "seq" INTEGER NOT NULL PRIMARY KEY,
        "event_id" TEXT NOT NULL,
        "kind" TEXT NOT NULL,
        "payload" TEXT NOT NULL,
        "created_at" TEXT NOT NULL,
        "attempts" INTEGER NOT NULL,
        "acked_at" TEXT,
        "rejected_reason" TEXT
    )""",
    """CREATE UNIQUE INDEX "outbox_event_id" ON "outbox" ("event_id")""",
    """CREATE TABLE "sync_cursor" (
        "name" TEXT NOT NULL PRIMARY KEY,
        "cursor" TEXT NOT NULL,
        "updated_at" TEXT NOT NULL
    )""",
    """CREATE INDEX "scan_event_at" ON "scan_event" ("at")""",
    # The store itself refuses a second live shipment for an order, whatever the code above it does.
    """CREATE UNIQUE INDEX "shipment_one_live_per_order" ON "shipment" ("order_id") WHERE "voided" = 0""",
    """CREATE INDEX "pack_session_open" ON "pack_session" ("station") WHERE "state" = 'open'""",
    """CREATE INDEX "waybill_pool_carrier_state" ON "waybill_pool" ("carrier", "state")""",
    """CREATE INDEX "outbox_unacked" ON "outbox" ("seq") WHERE "acked_at" IS NULL""",
)

MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "initial schema", _INITIAL),
    Migration(2, MIGRATION_2_NAME, MIGRATION_2),
    Migration(3, MIGRATION_3_NAME, MIGRATION_3),
    Migration(4, MIGRATION_4_NAME, MIGRATION_4),
    Migration(5, MIGRATION_5_NAME, MIGRATION_5),
    Migration(MIGRATION_6_VERSION, MIGRATION_6_NAME, MIGRATION_6),
    Migration(7, MIGRATION_7_NAME, MIGRATION_7),
    Migration(8, MIGRATION_8_NAME, MIGRATION_8),
    Migration(9, MIGRATION_9_NAME, MIGRATION_9),
)

LATEST_VERSION = MIGRATIONS[-1].version
