"""Frozen DDL of the console's migrations (`server.migrations`): version 2, console users, sessions and
the server audit log; version 8, alerts, their deliveries and the scheduled jobs' leases; version 9,
every station's exception cases in one table and the "case" change stream. Never edit one once shipped."""

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

ALERTS = (
    # One row per alert raised; `key` is warehouse|shop|day|kind, the unit "alert once … until it changes".
    """CREATE TABLE "alert" (
        "id" $pk,
        "key" TEXT NOT NULL,
        "warehouse" TEXT NOT NULL,
        "source" TEXT NOT NULL,
        "subject" TEXT NOT NULL,
        "body" TEXT NOT NULL,
        "link" TEXT NOT NULL,
        "data" TEXT NOT NULL,
        "value" REAL NOT NULL,
        "created_at" TEXT NOT NULL
    )""",
    """CREATE INDEX "alert_warehouse_id" ON "alert" ("warehouse", "id")""",
    # The last alerted value per key, and whether it is still over its threshold.
    """CREATE TABLE "alert_state" (
        "key" TEXT NOT NULL PRIMARY KEY,
        "value" REAL NOT NULL,
        "over" INTEGER NOT NULL,
        "updated_at" TEXT NOT NULL
    )""",
    # One delivery per alert and channel, retried with backoff until sent or given up.
    """CREATE TABLE "alert_delivery" (
        "id" $pk,
        "alert_id" $bigint NOT NULL REFERENCES "alert" ("id") ON DELETE CASCADE,
        "channel" TEXT NOT NULL,
        "status" TEXT NOT NULL,
        "attempts" INTEGER NOT NULL,
        "next_at" TEXT NOT NULL,
        "last_error" TEXT NOT NULL DEFAULT '',
        "updated_at" TEXT NOT NULL
    )""",
    """CREATE INDEX "alert_delivery_due" ON "alert_delivery" ("status", "next_at")""",
    """CREATE INDEX "alert_delivery_alert" ON "alert_delivery" ("alert_id")""",
    # Scheduled jobs: when each may run next, so that one worker runs it (see server.alerts.schedule).
    """CREATE TABLE "job_lease" (
        "name" TEXT NOT NULL PRIMARY KEY,
        "holder" TEXT NOT NULL,
        "next_run_at" TEXT NOT NULL
    )""",
)

CASES = (
    # Exception cases of every station (projected from their exception.* events) and of the server's
    # own rules (station_id ''). `pos` is taken from the "case" stream when the console changes a case:
    # the station that owns it pulls those changes (server.pulls.cases_page).
    """INSERT INTO "counter" ("name", "value") VALUES ('case', 0)""",
    """CREATE TABLE "server_case" (
        "id" $pk,
        "warehouse" TEXT NOT NULL,
        "station_id" TEXT NOT NULL,
        "station_case" $bigint,
        "dedupe_key" TEXT NOT NULL,
        "tag" TEXT NOT NULL,
        "rule_id" TEXT NOT NULL,
        "severity" TEXT NOT NULL,
        "route" TEXT NOT NULL,
        "order_id" TEXT,
        "tracking_no" TEXT,
        "title" TEXT NOT NULL,
        "state" TEXT NOT NULL,
        "opened_at" TEXT NOT NULL,
        "updated_at" TEXT NOT NULL,
        "acked_by" TEXT,
        "acked_at" TEXT,
        "resolved_by" TEXT,
        "resolved_at" TEXT,
        "note" TEXT NOT NULL DEFAULT '',
        "pos" $bigint
    )""",
    """CREATE UNIQUE INDEX "server_case_station_case" ON "server_case" ("station_id", "station_case")""",
    """CREATE INDEX "server_case_warehouse_state" ON "server_case" ("warehouse", "state", "opened_at")""",
    """CREATE INDEX "server_case_station_pos" ON "server_case" ("station_id", "pos")""",
    """CREATE INDEX "server_case_dedupe" ON "server_case" ("dedupe_key")""",
)

CASE_WORDS = (
    # A case's title as words to show in each reader's language (app.stored_words: a msgid and its
    # fields, as JSON); '' for a case opened before, whose title is shown as it was stored.
    """ALTER TABLE "server_case" ADD COLUMN "title_words" TEXT NOT NULL DEFAULT ''""",
)
