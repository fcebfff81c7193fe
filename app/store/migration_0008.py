"""Migration 8: an order's carrier e-waybill, as the server ordered it (docs/architecture.md §6.4).

The server orders a Kuaidi100 e-waybill for each shippable order and the station pulls it with the
order, so the label prints the carrier's number and its routing code (大头笔) with no network:
`ewaybill_no` and `ewaybill_carrier`, `routing_code` (bulkpen) and the other sorting fields as JSON.
"""

from __future__ import annotations

MIGRATION_8_NAME = "order e-waybill and routing code"

MIGRATION_8: tuple[str, ...] = (
    """ALTER TABLE "order" ADD COLUMN "ewaybill_no" TEXT""",
    """ALTER TABLE "order" ADD COLUMN "ewaybill_carrier" TEXT NOT NULL DEFAULT ''""",
    """ALTER TABLE "order" ADD COLUMN "routing_code" TEXT NOT NULL DEFAULT ''""",
    """ALTER TABLE "order" ADD COLUMN "sorting" TEXT NOT NULL DEFAULT ''""",
)
