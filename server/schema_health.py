"""Frozen DDL of the order-health migration: silence windows, per-indicator thresholds and the alert
state that makes an anomaly alert once until it recovers. Never edit it once shipped."""

HEALTH = (
    """CREATE TABLE "health_silence" (
        "id" $pk,
        "warehouse" TEXT NOT NULL,
        "indicator" TEXT NOT NULL DEFAULT '',
        "starts_at" TEXT NOT NULL,
        "ends_at" TEXT NOT NULL,
        "reason" TEXT NOT NULL,
        "actor" TEXT NOT NULL,
        "created_at" TEXT NOT NULL
    )""",
    """CREATE INDEX "health_silence_warehouse_ends" ON "health_silence" ("warehouse", "ends_at")""",
    """CREATE TABLE "health_threshold" (
        "warehouse" TEXT NOT NULL,
        "indicator" TEXT NOT NULL,
        "op" TEXT NOT NULL,
        "limit_value" DOUBLE PRECISION NOT NULL,
        "actor" TEXT NOT NULL,
        "updated_at" TEXT NOT NULL,
        PRIMARY KEY ("warehouse", "indicator")
    )""",
    """CREATE TABLE "health_alert" (
        "id" $pk,
        "warehouse" TEXT NOT NULL,
        "indicator" TEXT NOT NULL,
        "slice" TEXT NOT NULL,
        "hour" TEXT NOT NULL,
        "value" DOUBLE PRECISION,
        "baseline" DOUBLE PRECISION,
        "z" DOUBLE PRECISION,
        "explanation" TEXT NOT NULL DEFAULT '',
        "opened_at" TEXT NOT NULL,
        "notified_at" TEXT,
        "delivery" TEXT NOT NULL DEFAULT '',
        "recovered_at" TEXT
    )""",
    # At most one open alert per (warehouse, indicator, slice): the second worker's insert fails.
    """CREATE UNIQUE INDEX "health_alert_open" ON "health_alert" ("warehouse", "indicator", "slice")
       WHERE "recovered_at" IS NULL""",
)

ALERT_WORDS = (
    # An anomaly's explanation as words to show in each reader's language (app.stored_words: a msgid
    # and its fields, as JSON); NULL for an alert opened before, whose English "explanation" is shown.
    """ALTER TABLE "health_alert" ADD COLUMN "explanation_words" TEXT""",
)
