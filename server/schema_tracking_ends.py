"""Frozen DDL of migration 16: each parcel's first terminal carrier event (delivered, refused, returned or
cancelled) and its first out-for-delivery event, kept by `server.fulfilment` like `accepted_at`, so the
tracking-stalled and out-for-delivery-over-48h indicators compare columns instead of searching every
parcel's tracking events for them (about 4 s an evaluation at 10^6 orders; bench/README.md).
Never edit it once shipped: the backfill names the states as they were then."""

_ENDED = "'cancelled', 'delivered', 'refused', 'returned'"

TRACKING_ENDS = (
    'ALTER TABLE "parcel" ADD COLUMN "ended_at" TEXT',
    'ALTER TABLE "parcel" ADD COLUMN "out_for_delivery_at" TEXT',
    f"""UPDATE "parcel" SET "ended_at" = (SELECT MIN(e."time") FROM "tracking_event" e
        WHERE e."tracking_no" = "parcel"."tracking_no" AND e."status" IN ({_ENDED})),
        "out_for_delivery_at" = (SELECT MIN(e."time") FROM "tracking_event" e
        WHERE e."tracking_no" = "parcel"."tracking_no" AND e."status" = 'out_for_delivery')""",
    # The parcels picked up in a week, with what says whether each is still the carrier's: a window's
    # owed parcels are found in the index, and only they are read. It serves what the index it
    # replaces served (pickup delay, the Today page).
    'DROP INDEX "parcel_warehouse_accepted_at"',
    """CREATE INDEX "parcel_warehouse_accepted_ended" ON "parcel" ("warehouse", "accepted_at", "ended_at",
        "voided_at")""",
)
