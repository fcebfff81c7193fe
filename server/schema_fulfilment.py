"""Frozen DDL of migration 10: each order's fulfilment flags, kept by `server.fulfilment`, so that the
reconciliation reads one covering index instead of joining every order of a range to its parcels and
their tracking events (1.1 s for a week of 117,000 orders at 10^6; bench/console_pages.py).
Never edit it once shipped: the backfill names the carrier-accepted states as they were then."""

_ACCEPTED = ("'customs', 'delivered', 'exception', 'forwarded', 'in_transit', 'out_for_delivery', 'picked_up', "
             "'refused', 'returned', 'returning'")

FULFILMENT = (
    'ALTER TABLE "parcel" ADD COLUMN "accepted_at" TEXT',
    'ALTER TABLE "parcel" ADD COLUMN "order_known" INTEGER NOT NULL DEFAULT 0',
    'ALTER TABLE "order" ADD COLUMN "live_parcels" INTEGER NOT NULL DEFAULT 0',
    'ALTER TABLE "order" ADD COLUMN "handed_over" INTEGER NOT NULL DEFAULT 0',
    'ALTER TABLE "order" ADD COLUMN "carrier_accepted" INTEGER NOT NULL DEFAULT 0',
    f"""UPDATE "parcel" SET "accepted_at" = (SELECT MIN(e."time") FROM "tracking_event" e
        WHERE e."tracking_no" = "parcel"."tracking_no" AND e."status" IN ({_ACCEPTED})),
        "order_known" = CASE WHEN EXISTS (SELECT 1 FROM "order" o WHERE o."order_id" = "parcel"."order_id")
                        THEN 1 ELSE 0 END""",
    """UPDATE "order" SET
        "live_parcels" = (SELECT COUNT(*) FROM "parcel" p WHERE p."order_id" = "order"."order_id"
                          AND p."voided_at" IS NULL),
        "handed_over" = CASE WHEN EXISTS (SELECT 1 FROM "parcel" p WHERE p."order_id" = "order"."order_id"
                          AND p."voided_at" IS NULL) AND NOT EXISTS (SELECT 1 FROM "parcel" p
                          WHERE p."order_id" = "order"."order_id" AND p."voided_at" IS NULL
                          AND p."handed_over_at" IS NULL) THEN 1 ELSE 0 END,
        "carrier_accepted" = CASE WHEN EXISTS (SELECT 1 FROM "parcel" p WHERE p."order_id" = "order"."order_id"
                          AND p."voided_at" IS NULL) AND NOT EXISTS (SELECT 1 FROM "parcel" p
                          WHERE p."order_id" = "order"."order_id" AND p."voided_at" IS NULL
                          AND p."accepted_at" IS NULL) THEN 1 ELSE 0 END
        WHERE EXISTS (SELECT 1 FROM "parcel" p WHERE p."order_id" = "order"."order_id")""",
    # Everything a reconciliation row counts, so PostgreSQL answers it from the index alone.
    """CREATE INDEX "order_fulfilment" ON "order" ("warehouse", "day", "shop", "status", "live_parcels",
        "handed_over", "carrier_accepted")""",
    """CREATE INDEX "parcel_warehouse_accepted_at" ON "parcel" ("warehouse", "accepted_at")""",
    # The few live parcels whose order the platform never sent ("packed but unknown to the platform").
    """CREATE INDEX "parcel_unknown_order" ON "parcel" ("warehouse", "packed_at")
        WHERE "order_known" = 0 AND "voided_at" IS NULL""",
)
