"""Per-order rule contexts built from the store in batches, with a handful of queries per batch.

For a batch of orders: the orders; their lines joined to products; their live (not voided) parcels
joined to pack session and handover item; the tracking trail of those waybills, aggregated per
(waybill, status) in SQL. Once per run: one GROUP BY per windowed metric (`sales(sku, 7d)`). A query
is skipped when no rule in force reads what it loads.

Raw SQL over the migrated schema (column names are the migrations'): this is the one bulk read path,
and building peewee model instances for 10^5 orders would cost more than evaluating the rules.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from app.clock import iso
from app.rules.evaluate import DERIVED, Context
from app.rules.types import SCHEMA
from app.store import Store
from app.store.states import SessionState
from app.tracking_states import TRACKING_STATUSES

IN_CHUNK = 500  # ids per `IN (...)`, as app.importers.apply
BATCH = 2000  # orders per batch on a full run (by id range, no IN list)
ORDER_COLUMNS = tuple(name for name in SCHEMA["order"] if name not in DERIVED)
_STATUS_RANK = {status: n for n, status in enumerate(TRACKING_STATUSES)}
# Windowed counts, by metric (app.rules.types.WINDOW_METRICS): one GROUP BY per (metric, window) per run,
# with the window's start as the only parameter. sales: units per SKU in orders paid (else created) in
# the window, not unpaid, cancelled or refunded.
_METRIC_SQL = {
    "sales": 'SELECT l."sku", SUM(l."qty") FROM "order_line" l JOIN "order" o ON o."id" = l."order_id" '
             'WHERE COALESCE(o."paid_at", o."created_at") >= ? '
             "AND o.\"status\" NOT IN ('new', 'cancelled', 'refunded') GROUP BY l.\"sku\"",
}


@dataclass(frozen=True)
class Needs:
    """Which parts of the context the rules in force read."""

    order_columns: tuple[str, ...]  # always id, order_id and tracking_no (the waybill when not packed)
    lines: bool
    shipment: bool
    tracking: bool
    windows: frozenset[tuple[str, float]]


@dataclass
class OrderContext:
    pk: int
    order_id: str
    shipment_pk: int | None
    tracking_no: str | None
    ctx: Context
    sku: str | None = None  # the line a `key = "sku"` rule hit


def needs_of(fields: Iterable[str], windows: Iterable[tuple[str, float]]) -> Needs:
    paths = [path.split(".") for path in fields]
    scopes = {scope for scope, _ in paths}
    read = {name for scope, name in paths if scope == "order"}
    columns = ("id", *(c for c in ORDER_COLUMNS if c in read or c in ("order_id", "tracking_no")))
    return Needs(columns, lines=bool(scopes & {"line", "product"} or read & DERIVED),
                 shipment=bool(scopes & {"shipment", "tracking"}), tracking="tracking" in scopes,
                 windows=frozenset(windows))


Metrics = dict[tuple[str, float], dict[str, int]]  # (metric, window seconds) → key → count


def window_metrics(store: Store, now: float, windows: frozenset[tuple[str, float]]) -> Metrics:
    """The windowed counts the rules read, at `now`."""
    out: Metrics = {}
    for metric, seconds in sorted(windows):
        since = iso(datetime.fromtimestamp(now - seconds, UTC))
        out[(metric, seconds)] = {key: int(count or 0)
                                  for key, count in store.db.execute_sql(_METRIC_SQL[metric], (since,))}
    return out


def order_pks(store: Store, order_ids: Sequence[str] | None, since: str | None = None) -> list[int]:
    """Primary keys of the orders to evaluate, ascending: those numbered (every order when None),
    and with `since` (store time text) only those created or changed at this station since then."""
    recent = ' AND ("created_at" >= ? OR "updated_at" >= ?)' if since else ""
    window = [since, since] if since else []
    if order_ids is None:
        sql = f'SELECT "id" FROM "order" WHERE 1{recent} ORDER BY "id"'
        return [pk for (pk,) in store.db.execute_sql(sql, window)]
    pks: set[int] = set()
    unique = list(dict.fromkeys(order_ids))
    for start in range(0, len(unique), IN_CHUNK):
        chunk = unique[start:start + IN_CHUNK]
        sql = f'SELECT "id" FROM "order" WHERE "order_id" IN ({",".join("?" * len(chunk))}){recent}'
        pks.update(pk for (pk,) in store.db.execute_sql(sql, [*chunk, *window]))
    return sorted(pks)


def contexts(store: Store, pks: list[int], now: float, needs: Needs,
             metrics: Metrics, contiguous: bool) -> Iterator[list[OrderContext]]:
    """Batches of contexts. `contiguous`: `pks` is every order id, so a batch is an id range. Otherwise
    a run of consecutive ids (the orders one import created) is read as a range too, in batches of
    BATCH; anything else by `IN` lists of IN_CHUNK."""
    start = 0
    while start < len(pks):
        batch = pks[start:start + BATCH]
        if contiguous or batch[-1] - batch[0] == len(batch) - 1:  # pks are sorted and unique
            where, params = "BETWEEN ? AND ?", [batch[0], batch[-1]]
        else:
            batch = batch[:IN_CHUNK]
            where, params = f'IN ({",".join("?" * len(batch))})', list(batch)
        start += len(batch)
        yield _batch(store, where, params, now, needs, metrics)


def _batch(store: Store, where: str, params: list[Any], now: float, needs: Needs,
           metrics: Metrics) -> list[OrderContext]:
    db = store.db
    names = needs.order_columns
    columns = ", ".join(f'o."{c}"' for c in names)
    orders = [dict(zip(names, row, strict=True))
              for row in db.execute_sql(f'SELECT {columns} FROM "order" o WHERE o."id" {where}', params)]
    lines: dict[int, list[tuple[dict[str, Any], dict[str, Any] | None]]] = {}
    products: dict[str, dict[str, Any]] = {}  # one dict per product per batch, shared by its lines
    if needs.lines:
        for pk, line_no, sku, name, qty, price, p_sku, p_name, p_weight, p_stock in db.execute_sql(
                'SELECT l."order_id", l."line_no", l."sku", l."name", l."qty", l."unit_price_cents", p."sku", '
                'p."name", p."weight_g", p."stock" FROM "order_line" l LEFT JOIN "product" p ON p."sku" = l."sku" '
                f'WHERE l."order_id" {where} ORDER BY l."order_id", l."line_no"', params):
            line = {"line_no": line_no, "sku": sku, "name": name, "qty": qty, "unit_price_cents": price,
                    "total_cents": qty * price}
            product = None if p_sku is None else products.get(p_sku)
            if product is None and p_sku is not None:
                product = products[p_sku] = {"sku": p_sku, "name": p_name, "weight_g": p_weight, "stock": p_stock}
            lines.setdefault(pk, []).append((line, product))
    shipments: dict[int, dict[str, Any]] = {}
    if needs.shipment:
        for row in db.execute_sql(
                'SELECT s."order_id", s."id", s."tracking_no", s."carrier", s."service", s."weight_g", s."items_key", '
                's."created_at", ps."expected_weight_g", ps."state", h."handed_over_at" FROM "shipment" s '
                'LEFT JOIN "pack_session" ps ON ps."id" = s."session_id" '
                'LEFT JOIN "handover_item" h ON h."shipment_id" = s."id" '
                f'WHERE s."voided" = 0 AND s."order_id" {where} ORDER BY s."id"', params):
            pk, spk, tracking, carrier, service, weight, key, created, expected, state, handed = row
            shipments[pk] = {"pk": spk, "tracking_no": tracking, "carrier": carrier, "service": service,
                             "weight_g": weight, "expected_weight_g": expected, "items_key": key,
                             "short_shipped": state == SessionState.SHORT_SHIPPED, "created_at": created,
                             "handed_over_at": handed}
    waybills = {o["id"]: (shipments[o["id"]]["tracking_no"] if o["id"] in shipments else o["tracking_no"])
                for o in orders}
    trails = _trails(store, [w for w in waybills.values() if w]) if needs.tracking else {}
    out: list[OrderContext] = []
    for order in orders:
        pk = order["id"]
        shipment = shipments.get(pk)
        waybill = waybills[pk]
        trail = trails.get(waybill) if waybill else None
        out.append(OrderContext(pk, order["order_id"], shipment["pk"] if shipment else None, waybill,
                                Context(order, lines.get(pk, []), shipment, trail, now, metrics)))
    return out


def _trails(store: Store, waybills: list[str]) -> dict[str, dict[str, Any]]:
    """Per waybill: last status and time, event count, first time of each status."""
    out: dict[str, dict[str, Any]] = {}
    unique = list(dict.fromkeys(waybills))
    for start in range(0, len(unique), IN_CHUNK):
        chunk = unique[start:start + IN_CHUNK]
        rows = store.db.execute_sql(
            'SELECT "tracking_no", "status", MIN("time"), MAX("time"), COUNT(*) FROM "tracking_event" '
            f'WHERE "tracking_no" IN ({",".join("?" * len(chunk))}) GROUP BY "tracking_no", "status"', chunk)
        for waybill, status, first, last, count in rows:
            trail = out.setdefault(waybill, {"tracking_no": waybill, "events": 0, "last_time": None,
                                             "last_status": None})
            trail["events"] += count
            trail[f"{status}_at"] = first
            rank = (last, _STATUS_RANK.get(status, -1))
            if trail["last_time"] is None or rank > (trail["last_time"], _STATUS_RANK.get(trail["last_status"], -1)):
                trail["last_time"], trail["last_status"] = last, status
    return out
