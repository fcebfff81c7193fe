"""Migration 2: carrier handover batches (docs/architecture.md §9.4).

`handover` is one batch of parcels scanned out to one carrier at one station; `handover_item` is one
parcel in it. A parcel (shipment) is in at most one batch, ever: the unique index on
`handover_item.shipment_id` makes a second handover of the same parcel impossible whatever the code
above does, and a station has at most one open batch per carrier (a crashed or interrupted batch is
resumed, not duplicated). `handed_over_at` is set when the batch closes.
"""

from __future__ import annotations

MIGRATION_2_NAME = "carrier handover"

MIGRATION_2: tuple[str, ...] = (
    """CREATE TABLE "handover" (
        "id" INTEGER NOT NULL PRIMARY KEY,
        "batch_id" TEXT NOT NULL,
        "carrier" TEXT NOT NULL,
        "station" TEXT NOT NULL,
        "state" TEXT NOT NULL,
        "opened_at" TEXT NOT NULL,
        "opened_by" TEXT NOT NULL,
        "closed_at" TEXT,
        "closed_by" TEXT,
        "courier" TEXT NOT NULL
    )""",
    """CREATE UNIQUE INDEX "handover_batch_id" ON "handover" ("batch_id")""",
    """CREATE UNIQUE INDEX "handover_one_open" ON "handover" ("station", "carrier") WHERE "state" = 'open'""",
    """CREATE INDEX "handover_opened_at" ON "handover" ("opened_at")""",
    """CREATE TABLE "handover_item" (
        "id" INTEGER NOT NULL PRIMARY KEY,
        "handover_id" INTEGER NOT NULL,
        "shipment_id" INTEGER NOT NULL,
        "tracking_no" TEXT NOT NULL,
        "scanned_at" TEXT NOT NULL,
        "scanned_by" TEXT NOT NULL,
        "handed_over_at" TEXT,
        FOREIGN KEY ("handover_id") REFERENCES "handover" ("id"),
        FOREIGN KEY ("shipment_id") REFERENCES "shipment" ("id")
    )""",
    """CREATE INDEX "handover_item_handover_id" ON "handover_item" ("handover_id")""",
    """CREATE UNIQUE INDEX "handover_item_shipment_id" ON "handover_item" ("shipment_id")""",
    # Overdue parcels: live shipments by packing time.
    """CREATE INDEX "shipment_live_created_at" ON "shipment" ("created_at") WHERE "voided" = 0""",
)
