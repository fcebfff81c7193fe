"""Frozen DDL of the console migration (`server.migrations`, version 2): console users, sessions and
the server audit log. Never edit it once shipped."""

CONSOLE_USERS = (
    # Supervisors' console accounts: argon2 hashes; failures counted per user for the lockout.
    """CREATE TABLE "console_user" (
        "id" $pk,
        "name" TEXT NOT NULL,
        "role" TEXT NOT NULL,
        "warehouses" TEXT NOT NULL,
        "password_hash" TEXT NOT NULL,
        "lang" TEXT NOT NULL DEFAULT '',
        "failed_logins" INTEGER NOT NULL DEFAULT 0,
        "locked_until" TEXT,
        "disabled_at" TEXT,
        "created_at" TEXT NOT NULL,
        "updated_at" TEXT NOT NULL
    )""",
    """CREATE UNIQUE INDEX "console_user_name" ON "console_user" ("name")""",
    # Server-side sessions: only the SHA-256 of the cookie value is stored; any worker can check it.
    """CREATE TABLE "console_session" (
        "token_hash" TEXT NOT NULL PRIMARY KEY,
        "user_id" $bigint NOT NULL REFERENCES "console_user" ("id") ON DELETE CASCADE,
        "csrf" TEXT NOT NULL,
        "created_at" TEXT NOT NULL,
        "seen_at" TEXT NOT NULL,
        "expires_at" TEXT NOT NULL
    )""",
    """CREATE INDEX "console_session_user" ON "console_session" ("user_id")""",
    """CREATE TABLE "server_audit" (
        "id" $pk,
        "at" TEXT NOT NULL,
        "actor" TEXT NOT NULL,
        "action" TEXT NOT NULL,
        "warehouse" TEXT NOT NULL DEFAULT '',
        "target" TEXT NOT NULL DEFAULT '',
        "detail" TEXT NOT NULL DEFAULT '',
        "address" TEXT NOT NULL DEFAULT ''
    )""",
    """CREATE INDEX "server_audit_at" ON "server_audit" ("at")""",
    # The console's Today page reads a day of one station's scans and shipments (per packer).
    """CREATE INDEX "station_event_station_kind_at" ON "station_event" ("station_id", "kind", "at")""",
    # … the parcels handed over today, and the carrier events of today.
    """CREATE INDEX "parcel_warehouse_handed_over_at" ON "parcel" ("warehouse", "handed_over_at")""",
    """CREATE INDEX "tracking_event_time" ON "tracking_event" ("time")""",
)
