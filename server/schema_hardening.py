"""Frozen DDL of the hardening migration (`server.migrations`, version 3): station lifecycle,
carrier pushes stored once, tracking-number claims. Never edit it once shipped."""

HARDENING = (
    """ALTER TABLE "station" ADD COLUMN "revoked_reason" TEXT""",
    """ALTER TABLE "station" ADD COLUMN "last_seen_at" TEXT""",
    # A push body is stored once per source: older rows (NULL) predate the check.
    """ALTER TABLE "carrier_push" ADD COLUMN "body_sha256" TEXT""",
    """CREATE UNIQUE INDEX "carrier_push_source_body" ON "carrier_push" ("source", "body_sha256")""",
    # How a parcel's tracking number was vouched for: pool, order, ewaybill, preprinted (review), legacy.
    """ALTER TABLE "parcel" ADD COLUMN "claim" TEXT NOT NULL DEFAULT 'legacy'""",
    # A tracking number two warehouses claimed, or one nothing vouched for: one row per warehouse involved.
    """CREATE TABLE "tracking_case" (
        "id" $pk,
        "opened_at" TEXT NOT NULL,
        "warehouse" TEXT NOT NULL,
        "tracking_no" TEXT NOT NULL,
        "kind" TEXT NOT NULL,
        "station_id" TEXT NOT NULL,
        "other_warehouse" TEXT,
        "detail" TEXT NOT NULL,
        "closed_at" TEXT
    )""",
    """CREATE INDEX "tracking_case_warehouse" ON "tracking_case" ("warehouse", "opened_at")""",
    """CREATE INDEX "waybill_station_allocated" ON "waybill" ("station_id", "allocated_at")""",
)
