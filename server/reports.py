"""Reconciliation and metrics for a warehouse (docs/architecture.md §9.5): minimal, real, from the projections.

Reconciliation compares, per shop and business day (of payment, else creation, in the server's
timezone), the platform orders with what the stations reported: packed (a live parcel from
`shipment.created`), handed over (`handover.closed`), and accepted by the carrier (a tracking event
for the parcel saying picked up or later, `app.tracking_states.CARRIER_ACCEPTED`: "ordered" and
"awaiting pickup" come from the carrier's order system before any courier touched it). Each order
carries these as fulfilment flags (`server.fulfilment`). It lists the orders found on one side only.
Metrics are counts per station and hour, kept by the event applier in `metric_hour`.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from app.clock import iso
from app.errors import InputError
from server.db import ServerDb
from server.schemas import MetricRow, Metrics, OneSided, Reconciliation, ReconciliationRow

LIST_LIMIT = 500
MAX_DAYS = 93
SHIPPABLE = "('paid', 'packed', 'shipped')"
STOPPED = "('cancelled', 'refunded')"
IN_RANGE = '"order"."warehouse" = ? AND "order"."day" >= ? AND "order"."day" <= ?'
LIVE = '"parcel"."voided_at" IS NULL'
_PACKED = '"order"."live_parcels" > 0'
_ROWS = f"""
SELECT "order"."shop", "order"."day", COUNT(*),
       SUM(CASE WHEN "order"."status" IN {STOPPED} THEN 1 ELSE 0 END),
       SUM(CASE WHEN {_PACKED} THEN 1 ELSE 0 END),
       SUM("order"."handed_over"),
       SUM("order"."carrier_accepted"),
       SUM(CASE WHEN "order"."status" IN {SHIPPABLE} THEN 1 ELSE 0 END),
       SUM(CASE WHEN "order"."status" IN {SHIPPABLE} AND NOT {_PACKED} THEN 1 ELSE 0 END)
FROM "order" WHERE {IN_RANGE}
GROUP BY "order"."shop", "order"."day" ORDER BY "order"."day", "order"."shop"
"""

_LISTS = {name: f'SELECT "order"."order_id" FROM "order" WHERE {IN_RANGE} AND {condition}' for name, condition in {
    "not_packed": f'"order"."status" IN {SHIPPABLE} AND NOT {_PACKED}',
    "packed_but_cancelled": f'"order"."status" IN {STOPPED} AND {_PACKED}',
    "packed_not_handed_over": f'{_PACKED} AND "order"."handed_over" = 0',
    "handed_over_not_accepted": '"order"."handed_over" = 1 AND "order"."carrier_accepted" = 0',
    "duplicates": '"order"."live_parcels" > 1',
}.items()}
_UNKNOWN_ORDERS = f"""SELECT DISTINCT "parcel"."order_id" FROM "parcel" WHERE {LIVE} AND "parcel"."warehouse" = ?
    AND "parcel"."order_known" = 0 AND "parcel"."packed_at" >= ? AND "parcel"."packed_at" < ?"""


class ReportError(InputError, ValueError):
    pass


def _one_sided(ids: list[str]) -> OneSided:
    ids = sorted(ids)
    return OneSided(count=len(ids), order_ids=ids[:LIST_LIMIT])


def default_days(zone: ZoneInfo, now: datetime) -> tuple[date, date]:
    today = now.astimezone(zone).date()
    return today - timedelta(days=6), today


def reconciliation(sdb: ServerDb, warehouse: str, day_from: date, day_to: date, zone: ZoneInfo) -> Reconciliation:
    if day_to < day_from:
        raise ReportError("day_to is before day_from")
    if (day_to - day_from).days >= MAX_DAYS:
        raise ReportError(f"at most {MAX_DAYS} days at a time")
    scope = (warehouse, day_from.isoformat(), day_to.isoformat())
    try:
        start = iso(datetime.combine(day_from, time(), zone))
        end = iso(datetime.combine(day_to + timedelta(days=1), time(), zone))
    except (OverflowError, ValueError):
        raise ReportError("days out of range") from None
    with sdb.connection():
        rows = []
        for shop, day, orders, stopped, packed, handed, accepted, shippable, unpacked in sdb.execute(
                _ROWS, scope):
            deviation = round(100.0 * int(unpacked) / int(shippable), 2) if shippable else 0.0
            rows.append(ReconciliationRow(shop=shop, day=date.fromisoformat(day), orders=orders, cancelled=stopped,
                                          packed=packed, handed_over=handed, carrier_accepted=accepted,
                                          deviation_pct=deviation))
        lists = {name: _one_sided([r[0] for r in sdb.execute(sql, scope)]) for name, sql in _LISTS.items()}
        unknown = _one_sided([r[0] for r in sdb.execute(_UNKNOWN_ORDERS, (warehouse, start, end))])
    return Reconciliation(warehouse=warehouse, day_from=day_from, day_to=day_to, rows=rows,
                          packed_not_on_platform=unknown, **lists)


def _utc(moment: datetime) -> datetime:
    """Aware UTC; a time without an offset is taken as UTC."""
    try:
        return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    except (OverflowError, ValueError):
        raise ReportError(f"{moment.isoformat()} is out of range") from None


def metrics(sdb: ServerDb, warehouse: str, since: datetime, until: datetime, station: str | None) -> Metrics:
    since, until = _utc(since), _utc(until)
    if until <= since:
        raise ReportError("until must be after since")
    first_hour = since.replace(minute=0, second=0, microsecond=0)
    sql = ('SELECT "station_id", "hour", "scans", "errors", "shipments", "reprints" FROM "metric_hour" '
           'WHERE "warehouse" = ? AND "hour" >= ? AND "hour" < ?')
    params: list[object] = [warehouse, iso(first_hour), iso(until)]
    if station:
        sql += ' AND "station_id" = ?'
        params.append(station)
    with sdb.connection():
        rows = [MetricRow(station=s, hour=h, scans=a, errors=b, shipments=c, reprints=d)
                for s, h, a, b, c, d in sdb.execute(sql + ' ORDER BY "hour", "station_id"', params)]
    return Metrics(warehouse=warehouse, since=since, until=until, rows=rows)
