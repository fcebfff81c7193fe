"""Frozen DDL of the first server migration: stations, their events, the catalog, orders, parcels,
tracking, waybills, rules and metrics. Never edit it once shipped."""

INITIAL = (
    # Change streams: positions handed out in commit order (see server.db.take_positions).
    """CREATE TABLE "counter" ("name" TEXT NOT NULL PRIMARY KEY, "value" $bigint NOT NULL)""",
    """INSERT INTO "counter" ("name", "value") VALUES ('order', 0), ('product', 0), ('tracking', 0)""",
    # ----- stations -----
    """CREATE TABLE "enrollment_token" (
        "id" $pk,
        "token_hash" TEXT NOT NULL,
        "warehouse" TEXT NOT NULL,
        "created_at" TEXT NOT NULL,
        "expires_at" TEXT NOT NULL,
        "used_at" TEXT,
        "station_id" TEXT
    )""",
    """CREATE UNIQUE INDEX "enrollment_token_hash" ON "enrollment_token" ("token_hash")""",
    """CREATE TABLE "station" (
        "id" $pk,
        "station_id" TEXT NOT NULL,
        "name" TEXT NOT NULL,
        "warehouse" TEXT NOT NULL,
        "secret" TEXT NOT NULL,
        "key_id" TEXT NOT NULL,
        "public_key" TEXT NOT NULL,
        "enrolled_at" TEXT NOT NULL,
        "revoked_at" TEXT,
        "next_seq" $bigint NOT NULL
    )""",
    """CREATE UNIQUE INDEX "station_station_id" ON "station" ("station_id")""",
    """CREATE INDEX "station_key_id" ON "station" ("key_id")""",
    """CREATE TABLE "nonce" (
        "station_id" TEXT NOT NULL,
        "nonce" TEXT NOT NULL,
        "expires_at" TEXT NOT NULL,
        PRIMARY KEY ("station_id", "nonce")
    )""",
    """CREATE INDEX "nonce_expires_at" ON "nonce" ("expires_at")""",
    # ----- station events (outbox pushes), applied at most once -----
    """CREATE TABLE "station_event" (
        "id" $pk,
        "event_id" TEXT NOT NULL,
        "station_id" TEXT NOT NULL,
        "seq" $bigint NOT NULL,
        "kind" TEXT NOT NULL,
        "at" TEXT NOT NULL,
        "payload" TEXT NOT NULL,
        "body_hash" TEXT NOT NULL,
        "status" TEXT NOT NULL,
        "reason" TEXT,
        "note" TEXT,
        "received_at" TEXT NOT NULL
    )""",
    """CREATE UNIQUE INDEX "station_event_event_id" ON "station_event" ("event_id")""",
    """CREATE INDEX "station_event_station_seq" ON "station_event" ("station_id", "seq")""",
    """CREATE INDEX "station_event_attention" ON "station_event" ("received_at")
        WHERE "status" = 'rejected' OR "note" IS NOT NULL""",
    # ----- master data -----
    """CREATE TABLE "product" (
        "id" $pk,
        "sku" TEXT NOT NULL,
        "name" TEXT NOT NULL,
        "weight_g" INTEGER NOT NULL,
        "stock" INTEGER NOT NULL,
        "updated_at" TEXT NOT NULL,
        "pos" $bigint NOT NULL
    )""",
    """CREATE UNIQUE INDEX "product_sku" ON "product" ("sku")""",
    """CREATE INDEX "product_pos" ON "product" ("pos")""",
    """CREATE TABLE "product_barcode" (
        "id" $pk,
        "product_id" $bigint NOT NULL REFERENCES "product" ("id") ON DELETE CASCADE,
        "key" TEXT NOT NULL,
        "raw" TEXT NOT NULL
    )""",
    """CREATE UNIQUE INDEX "product_barcode_key" ON "product_barcode" ("key")""",
    """CREATE INDEX "product_barcode_product_id" ON "product_barcode" ("product_id")""",
    """CREATE TABLE "order" (
        "id" $pk,
        "order_id" TEXT NOT NULL,
        "warehouse" TEXT NOT NULL,
        "day" TEXT NOT NULL,
        "platform" TEXT NOT NULL,
        "shop" TEXT NOT NULL,
        "status" TEXT NOT NULL,
        "buyer" TEXT NOT NULL,
        "receiver_name" TEXT NOT NULL,
        "receiver_phone" TEXT NOT NULL,
        "receiver_address" TEXT NOT NULL,
        "total_cents" $bigint NOT NULL,
        "paid_cents" $bigint NOT NULL,
        "created_at" TEXT,
        "paid_at" TEXT,
        "ship_by" TEXT,
        "carrier" TEXT NOT NULL,
        "tracking_no" TEXT,
        "note" TEXT NOT NULL,
        "updated_at" TEXT NOT NULL,
        "pos" $bigint NOT NULL
    )""",
    """CREATE UNIQUE INDEX "order_order_id" ON "order" ("order_id")""",
    """CREATE INDEX "order_warehouse_pos" ON "order" ("warehouse", "pos")""",
    """CREATE INDEX "order_warehouse_day" ON "order" ("warehouse", "day")""",
    """CREATE TABLE "order_line" (
        "id" $pk,
        "order_id" $bigint NOT NULL REFERENCES "order" ("id") ON DELETE CASCADE,
        "line_no" INTEGER NOT NULL,
        "sku" TEXT NOT NULL,
        "name" TEXT NOT NULL,
        "qty" INTEGER NOT NULL,
        "unit_price_cents" $bigint NOT NULL
    )""",
    """CREATE UNIQUE INDEX "order_line_order_id_line_no" ON "order_line" ("order_id", "line_no")""",
    # ----- parcels, as the stations report them (projection of shipment/handover events) -----
    """CREATE TABLE "parcel" (
        "id" $pk,
        "tracking_no" TEXT NOT NULL,
        "carrier" TEXT NOT NULL,
        "order_id" TEXT NOT NULL,
        "warehouse" TEXT NOT NULL,
        "station_id" TEXT NOT NULL,
        "passport_id" TEXT,
        "packed_at" TEXT NOT NULL,
        "voided_at" TEXT,
        "handed_over_at" TEXT,
        "handover_batch" TEXT,
        "updated_at" TEXT NOT NULL
    )""",
    """CREATE UNIQUE INDEX "parcel_tracking_no" ON "parcel" ("tracking_no")""",
    """CREATE INDEX "parcel_order_id" ON "parcel" ("order_id")""",
    """CREATE INDEX "parcel_warehouse_packed_at" ON "parcel" ("warehouse", "packed_at")""",
    # ----- carrier tracking: append-only, raw payloads kept -----
    """CREATE TABLE "carrier_push" (
        "id" $pk,
        "source" TEXT NOT NULL,
        "received_at" TEXT NOT NULL,
        "body" TEXT NOT NULL,
        "events" INTEGER NOT NULL,
        "new_events" INTEGER NOT NULL
    )""",
    """CREATE TABLE "tracking_event" (
        "id" $pk,
        "carrier" TEXT NOT NULL,
        "tracking_no" TEXT NOT NULL,
        "status" TEXT NOT NULL,
        "carrier_status" TEXT NOT NULL,
        "time" TEXT NOT NULL,
        "time_raw" TEXT NOT NULL,
        "site" TEXT NOT NULL,
        "courier" TEXT NOT NULL,
        "context" TEXT NOT NULL,
        "context_hash" TEXT NOT NULL,
        "source" TEXT NOT NULL,
        "push_id" $bigint NOT NULL,
        "raw" TEXT NOT NULL,
        "received_at" TEXT NOT NULL
    )""",
    """CREATE UNIQUE INDEX "tracking_event_dedupe" ON "tracking_event"
        ("carrier", "tracking_no", "time", "context_hash")""",
    """CREATE INDEX "tracking_event_tracking_no_time" ON "tracking_event" ("tracking_no", "time")""",
    """CREATE TABLE "tracking_feed" (
        "pos" $bigint NOT NULL PRIMARY KEY,
        "warehouse" TEXT NOT NULL,
        "event_id" $bigint NOT NULL
    )""",
    """CREATE UNIQUE INDEX "tracking_feed_warehouse_event" ON "tracking_feed" ("warehouse", "event_id")""",
    """CREATE INDEX "tracking_feed_warehouse_pos" ON "tracking_feed" ("warehouse", "pos")""",
    # ----- waybill pools, rule sets, metrics -----
    """CREATE TABLE "waybill" (
        "id" $pk,
        "carrier" TEXT NOT NULL,
        "number" TEXT NOT NULL,
        "state" TEXT NOT NULL,
        "station_id" TEXT,
        "imported_at" TEXT NOT NULL,
        "allocated_at" TEXT
    )""",
    """CREATE UNIQUE INDEX "waybill_number" ON "waybill" ("number")""",
    """CREATE INDEX "waybill_free" ON "waybill" ("carrier", "id") WHERE "state" = 'free'""",
    """CREATE TABLE "rule_set" (
        "version" INTEGER NOT NULL PRIMARY KEY,
        "content" TEXT NOT NULL,
        "sha256" TEXT NOT NULL,
        "created_at" TEXT NOT NULL,
        "source" TEXT NOT NULL
    )""",
    """CREATE TABLE "metric_hour" (
        "station_id" TEXT NOT NULL,
        "hour" TEXT NOT NULL,
        "warehouse" TEXT NOT NULL,
        "scans" INTEGER NOT NULL,
        "errors" INTEGER NOT NULL,
        "shipments" INTEGER NOT NULL,
        "reprints" INTEGER NOT NULL,
        PRIMARY KEY ("station_id", "hour")
    )""",
    """CREATE INDEX "metric_hour_warehouse_hour" ON "metric_hour" ("warehouse", "hour")""",
)
