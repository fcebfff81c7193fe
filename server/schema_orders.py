"""Frozen DDL of migration 6: an order's discounts and postage as exported (station migration 7);
stations check paid against lines − discount + shipping, so the server carries both to them.
Never edit it once shipped."""

ORDER_MONEY = (
    'ALTER TABLE "order" ADD COLUMN "discount_cents" $bigint NOT NULL DEFAULT 0',
    'ALTER TABLE "order" ADD COLUMN "shipping_cents" $bigint NOT NULL DEFAULT 0',
)
