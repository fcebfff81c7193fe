"""Migration 7: an order's discounts and postage, as exported by its platform.

The payment check compares what the buyer paid with lines − discounts + shipping: without these,
every order with a shop or platform coupon (most Taobao and Pinduoduo orders) looked mispaid.
Both are integer fen, 0 when the export does not say.
"""

from __future__ import annotations

MIGRATION_7_NAME = "order discount and shipping"

MIGRATION_7: tuple[str, ...] = (
    """ALTER TABLE "order" ADD COLUMN "discount_cents" INTEGER NOT NULL DEFAULT 0""",
    """ALTER TABLE "order" ADD COLUMN "shipping_cents" INTEGER NOT NULL DEFAULT 0""",
)
