"""Frozen DDL of the order-health reports migration: each weekly or monthly report the schedule
wrote (the PDF itself is a file under the server data dir). Never edit it once shipped."""

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
