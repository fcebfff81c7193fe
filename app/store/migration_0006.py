"""Migration 6: audit entries commit to the domain rows their fact wrote (docs/architecture.md §3.5).

`audit_entry.covers` lists, for an entry written from this migration on, every covered row the
entry's transaction wrote: "table id digest" per line, the digest taken over the row image exactly as
SQLite stored it (`app.store.row_capture`). The entry hash includes that list, so editing or deleting
a covered row shows as a row that no longer matches the last entry that wrote it. Entries written
before this migration have `covers` NULL and are verified as before.

The covered columns are frozen here, like the DDL: a later migration that adds a column does not
change the image of rows sealed before it (the new column is simply not covered).

The meta rows record where coverage starts: a covered table's rows with a higher id, and entries from
`audit.covers_from_seq` on, must be covered; older ones are reported as "before migration 6".
"""

from __future__ import annotations

MIGRATION_6_VERSION = 6
MIGRATION_6_NAME = "audit entries cover their rows"

COVERED_COLUMNS: dict[str, tuple[str, ...]] = {
    "order": ("id", "order_id", "platform", "shop", "status", "buyer", "receiver_name", "receiver_phone",
              "receiver_address", "total_cents", "paid_cents", "created_at", "paid_at", "ship_by", "carrier",
              "tracking_no", "note", "updated_at"),
    "order_line": ("id", "order_id", "line_no", "sku", "name", "qty", "unit_price_cents"),
    "operator": ("id", "name", "role", "badge", "pin_hash", "active", "created_at"),
    "product": ("id", "sku", "name", "weight_g", "stock", "updated_at"),
    "product_barcode": ("id", "key", "raw", "product_id"),
    "pack_session": ("id", "order_id", "operator_id", "station", "started_at", "ended_at", "state",
                     "expected_weight_g", "weight_g", "scanned"),
    "scan_event": ("id", "session_id", "order_id", "operator_id", "station", "at", "source", "raw", "symbology",
                   "parsed", "outcome", "message", "state_after"),
    "shipment": ("id", "order_id", "session_id", "carrier", "service", "tracking_no", "weight_g", "items_key",
                 "passport_id", "voided", "created_at"),
    "print_job": ("id", "shipment_id", "printer", "format", "payload_hash", "state", "attempts", "reprint_no",
                  "error", "created_at", "updated_at"),
    "waybill_pool": ("id", "carrier", "number", "state", "order_id", "used_at"),
    "exception_case": ("id", "dedupe_key", "tag", "rule_id", "severity", "route", "state", "order_id",
                       "shipment_id", "title", "detail", "sop", "opened_at", "updated_at", "acked_by", "acked_at",
                       "resolved_by", "resolved_at", "note"),
    "handover": ("id", "batch_id", "carrier", "station", "state", "opened_at", "opened_by", "closed_at",
                 "closed_by", "courier"),
    "handover_item": ("id", "handover_id", "shipment_id", "tracking_no", "scanned_at", "scanned_by",
                      "handed_over_at"),
}

COVERS_FROM_SEQ_KEY = "audit.covers_from_seq"


def last_uncovered_id_key(table: str) -> str:
    return f"audit.last_uncovered_id.{table}"


MIGRATION_6: tuple[str, ...] = (
    """ALTER TABLE "audit_entry" ADD COLUMN "covers" TEXT""",
    f"""INSERT OR REPLACE INTO "meta" ("key", "value")
        SELECT '{COVERS_FROM_SEQ_KEY}', CAST(COALESCE(MAX("seq"), 0) + 1 AS TEXT) FROM "audit_entry\"""",
    *(f"""INSERT OR REPLACE INTO "meta" ("key", "value")
          SELECT '{last_uncovered_id_key(table)}', CAST(COALESCE(MAX("id"), 0) AS TEXT) FROM "{table}\""""
      for table in COVERED_COLUMNS),
)
