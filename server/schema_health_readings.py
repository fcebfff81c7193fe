"""Frozen DDL of migration 13: the order-health readings the scheduler evaluated, kept per hour so the
console reads them instead of evaluating again (`server.health.stored`). Never edit it once shipped."""

HEALTH_READINGS = (
    # One reading: an indicator for one hour, for the whole warehouse (dimension and slice '') or one
    # slice of it. "flagged" and "why" are as judged when written; the page judges again from the
    # numbers with the thresholds of the moment.
    """CREATE TABLE "health_reading" (
        "warehouse" TEXT NOT NULL,
        "hour" TEXT NOT NULL,
        "indicator" TEXT NOT NULL,
        "dimension" TEXT NOT NULL,
        "slice" TEXT NOT NULL,
        "value" DOUBLE PRECISION,
        "volume" $bigint NOT NULL,
        "baseline" DOUBLE PRECISION,
        "sigma" DOUBLE PRECISION,
        "z" DOUBLE PRECISION,
        "flagged" INTEGER NOT NULL,
        "why" TEXT NOT NULL,
        "evaluated_at" TEXT NOT NULL,
        PRIMARY KEY ("warehouse", "hour", "indicator", "dimension", "slice")
    )""",
)
