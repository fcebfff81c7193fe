"""Migration 4: carrier tracking events at the station (docs/architecture.md §10.3), pulled from the central server.

Append-only: each row is one event as the carrier sent it (`context` is the carrier's text,
unchanged), with the normalised status next to the carrier's own code. `server_id` is the server's
id of the event, so a page pulled twice stores each event once.
"""

from __future__ import annotations

MIGRATION_4_NAME = "tracking events"

MIGRATION_4: tuple[str, ...] = (
    """CREATE TABLE "tracking_event" (
        "id" INTEGER NOT NULL PRIMARY KEY,
        "server_id" INTEGER NOT NULL,
        "carrier" TEXT NOT NULL,
        "tracking_no" TEXT NOT NULL,
        "status" TEXT NOT NULL,
        "carrier_status" TEXT NOT NULL,
        "time" TEXT NOT NULL,
        "site" TEXT NOT NULL,
        "courier" TEXT NOT NULL,
        "context" TEXT NOT NULL,
        "source" TEXT NOT NULL,
        "received_at" TEXT NOT NULL
    )""",
    """CREATE UNIQUE INDEX "tracking_event_server_id" ON "tracking_event" ("server_id")""",
    """CREATE INDEX "tracking_event_tracking_no_time" ON "tracking_event" ("tracking_no", "time")""",
)
