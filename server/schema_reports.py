"""Frozen DDL of the order-health migrations: each weekly or monthly report the schedule wrote (the
PDF itself is a file under the server data dir), and the index the orders-in indicator reads by.
Never edit them once shipped."""

REPORTS = (
    """CREATE TABLE "health_report" (
        "id" $pk,
        "warehouse" TEXT NOT NULL,
        "kind" TEXT NOT NULL,
        "period" TEXT NOT NULL,
        "first_day" TEXT NOT NULL,
        "last_day" TEXT NOT NULL,
        "file" TEXT NOT NULL,
        "bytes" $bigint NOT NULL,
        "sha256" TEXT NOT NULL,
        "pages" INTEGER NOT NULL,
        "created_at" TEXT NOT NULL,
        "sent_to" TEXT NOT NULL DEFAULT ''
    )""",
    """CREATE UNIQUE INDEX "health_report_period" ON "health_report" ("warehouse", "kind", "period")""",
)

# Orders in, per warehouse and hour of creation: without it every evaluation scans all orders.
HEALTH_INDEXES = (
    """CREATE INDEX "order_warehouse_created_at" ON "order" ("warehouse", "created_at")""",
)
