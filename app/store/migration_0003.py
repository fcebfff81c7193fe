"""Migration 3: exception cases (docs/architecture.md §9.1): what a supervisor triages.

A case is opened by a rule (or a built-in check such as "not handed over in time") for an order or a
parcel. `dedupe_key` says what the case is about ("not_handed_over:SF1400000000000"): while a case
with that key is not resolved, no second one opens, whatever runs the check again and how often.
"""

from __future__ import annotations

MIGRATION_3_NAME = "exception cases"

MIGRATION_3: tuple[str, ...] = (
    """CREATE TABLE "exception_case" (
        "id" INTEGER NOT NULL PRIMARY KEY,
        "dedupe_key" TEXT NOT NULL,
        "tag" TEXT NOT NULL,
        "rule_id" TEXT NOT NULL,
        "severity" TEXT NOT NULL,
        "route" TEXT NOT NULL,
        "state" TEXT NOT NULL,
        "order_id" INTEGER,
        "shipment_id" INTEGER,
        "title" TEXT NOT NULL,
        "detail" TEXT NOT NULL,
        "sop" TEXT NOT NULL,
        "opened_at" TEXT NOT NULL,
        "updated_at" TEXT NOT NULL,
        "acked_by" TEXT,
        "acked_at" TEXT,
        "resolved_by" TEXT,
        "resolved_at" TEXT,
        "note" TEXT NOT NULL,
        FOREIGN KEY ("order_id") REFERENCES "order" ("id"),
        FOREIGN KEY ("shipment_id") REFERENCES "shipment" ("id")
    )""",
    """CREATE UNIQUE INDEX "exception_case_one_live" ON "exception_case" ("dedupe_key") WHERE "state" != 'resolved'""",
    """CREATE INDEX "exception_case_state" ON "exception_case" ("state", "severity")""",
    """CREATE INDEX "exception_case_order_id" ON "exception_case" ("order_id")""",
)
