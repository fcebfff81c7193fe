"""Server migration 4 (docs/architecture.md §11.4): warehouse senders, Kuaidi100 e-waybills, tracking
subscriptions and the carrier job queue. Frozen DDL: never edit it once shipped."""

CARRIERS = (
    """CREATE TABLE "warehouse" (
        "code" TEXT NOT NULL PRIMARY KEY,
        "carrier" TEXT NOT NULL,
        "sender_name" TEXT NOT NULL,
        "sender_phone" TEXT NOT NULL,
        "sender_address" TEXT NOT NULL,
        "sender_company" TEXT NOT NULL,
        "updated_at" TEXT NOT NULL
    )""",
    # One e-waybill per order, ever: a cancelled one stays as the record of the number.
    """CREATE TABLE "ewaybill" (
        "id" $pk,
        "order_id" TEXT NOT NULL,
        "warehouse" TEXT NOT NULL,
        "carrier" TEXT NOT NULL,
        "tracking_no" TEXT NOT NULL,
        "routing_code" TEXT NOT NULL,
        "sorting" TEXT NOT NULL,
        "task_id" TEXT NOT NULL,
        "carrier_order_no" TEXT NOT NULL,
        "subscribed" INTEGER NOT NULL,
        "state" TEXT NOT NULL,
        "ordered_at" TEXT NOT NULL,
        "cancelled_at" TEXT
    )""",
    """CREATE UNIQUE INDEX "ewaybill_order_id" ON "ewaybill" ("order_id")""",
    """CREATE UNIQUE INDEX "ewaybill_tracking_no" ON "ewaybill" ("tracking_no")""",
    """CREATE TABLE "tracking_subscription" (
        "tracking_no" TEXT NOT NULL PRIMARY KEY,
        "carrier" TEXT NOT NULL,
        "order_id" TEXT NOT NULL,
        "state" TEXT NOT NULL,
        "resubscribes" INTEGER NOT NULL,
        "message" TEXT NOT NULL,
        "updated_at" TEXT NOT NULL
    )""",
    """CREATE INDEX "tracking_subscription_order_id" ON "tracking_subscription" ("order_id")""",
    # Calls to carriers, run in the background; (kind, subject) once: enqueueing is idempotent.
    """CREATE TABLE "carrier_job" (
        "id" $pk,
        "kind" TEXT NOT NULL,
        "subject" TEXT NOT NULL,
        "state" TEXT NOT NULL,
        "attempts" INTEGER NOT NULL,
        "run_at" TEXT NOT NULL,
        "last_error" TEXT NOT NULL,
        "created_at" TEXT NOT NULL,
        "updated_at" TEXT NOT NULL
    )""",
    """CREATE UNIQUE INDEX "carrier_job_kind_subject" ON "carrier_job" ("kind", "subject")""",
    """CREATE INDEX "carrier_job_due" ON "carrier_job" ("run_at") WHERE "state" IN ('pending', 'running')""",
    # How far the carrier scan has read the order stream (positions are handed out in commit order).
    """INSERT INTO "counter" ("name", "value") VALUES ('carrier_scan', 0)""",
)

