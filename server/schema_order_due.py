"""Frozen DDL of migration 17: orders by warehouse and ship-by, the index the reconciliation-deviation
indicator (`server.health.indicators.DUE_NOT_HANDED_OVER`) reads each hour's due orders by; without
it every evaluation reads all of the warehouse's orders. Never edit it once shipped."""

ORDER_DUE = (
    """CREATE INDEX "order_warehouse_ship_by" ON "order" ("warehouse", "ship_by")""",
)
