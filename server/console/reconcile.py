"""Reconciliation rows per shop and business day, their deviations, and the order list behind each count.

One pass over the orders of the range reads every order's fulfilment flags (`server.fulfilment`, kept
from its live parcels); the row counts and the drill-down lists both come from those flags, so a count
and its list always agree:

- not_packed: a shippable order (paid / packed / shipped) without a live parcel;
- packed_but_cancelled: a cancelled or refunded order with a live parcel;
- packed_not_handed_over: a packed order with a live parcel not handed over;
- handed_over_not_accepted: all handed over, but a parcel has no picked-up-or-later carrier event yet;
- duplicates: more than one live parcel;
- packed_not_on_platform: live parcels packed that day whose order the platform never sent
  (listed per day, under an empty shop).

Three deviations per row, each a "kind" an alert is about: `packed` (not packed / shippable),
`handed_over` (not handed over / packed) and `carrier` (not accepted / handed over).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from app.clock import iso, parse_iso
from app.i18n import N_
from server.db import ServerDb
from server.reports import IN_RANGE, LIVE, MAX_DAYS, SHIPPABLE, STOPPED, ReportError

LISTS = {
    "not_packed": N_("Not packed"),
    "packed_but_cancelled": N_("Packed but cancelled"),
    "packed_not_handed_over": N_("Packed, not handed over"),
    "handed_over_not_accepted": N_("Handed over, not accepted"),
    "duplicates": N_("Duplicates"),
    "packed_not_on_platform": N_("Packed but unknown to the platform"),
}
KINDS = {"packed": N_("platform → packed"), "handed_over": N_("packed → handed over"),
         "carrier": N_("handed over → carrier")}
LIST_LIMIT = 2000

_FLAGS = f"""
WITH flags AS (
    SELECT "order"."order_id" AS "order_id", "order"."shop" AS "shop", "order"."day" AS "day",
           CASE WHEN "order"."status" IN {SHIPPABLE} THEN 1 ELSE 0 END AS "shippable",
           CASE WHEN "order"."status" IN {STOPPED} THEN 1 ELSE 0 END AS "stopped",
           CASE WHEN "order"."live_parcels" > 0 THEN 1 ELSE 0 END AS "packed",
           "order"."handed_over" AS "handed", "order"."carrier_accepted" AS "accepted",
           CASE WHEN "order"."live_parcels" > 1 THEN 1 ELSE 0 END AS "dup"
    FROM "order" WHERE {IN_RANGE})
"""
_CONDITIONS = {
    "not_packed": '"shippable" = 1 AND "packed" = 0',
    "packed_but_cancelled": '"stopped" = 1 AND "packed" = 1',
    "packed_not_handed_over": '"packed" = 1 AND "handed" = 0',
    "handed_over_not_accepted": '"handed" = 1 AND "accepted" = 0',
    "duplicates": '"dup" = 1',
}
_ROWS = _FLAGS + """
SELECT "shop", "day", COUNT(*), SUM("stopped"), SUM("shippable"), SUM("packed"), SUM("handed"), SUM("accepted"),
""" + ", ".join(f"SUM(CASE WHEN {c} THEN 1 ELSE 0 END)" for c in _CONDITIONS.values()) + """
FROM flags GROUP BY "shop", "day" ORDER BY "day", "shop"
"""
_UNKNOWN = f"""SELECT "parcel"."order_id", "parcel"."packed_at" FROM "parcel" WHERE {LIVE} AND "parcel"."warehouse" = ?
    AND "parcel"."order_known" = 0 AND "parcel"."packed_at" >= ? AND "parcel"."packed_at" < ?"""


@dataclass
class Row:
    shop: str
    day: date
    orders: int = 0
    cancelled: int = 0
    shippable: int = 0
    packed: int = 0
    handed_over: int = 0
    accepted: int = 0
    lists: dict[str, int] = field(default_factory=dict)

    def deviations(self) -> dict[str, float]:
        def pct(part: int, whole: int) -> float:
            return round(100.0 * part / whole, 2) if whole else 0.0

        return {"packed": pct(self.lists.get("not_packed", 0), self.shippable),
                "handed_over": pct(self.lists.get("packed_not_handed_over", 0), self.packed),
                "carrier": pct(self.lists.get("handed_over_not_accepted", 0), self.handed_over)}

    @property
    def deviation(self) -> float:
        return max(self.deviations().values())


def check_range(day_from: date, day_to: date) -> None:
    if day_to < day_from:
        raise ReportError(N_("the first day is after the last day"))
    if (day_to - day_from).days >= MAX_DAYS:
        raise ReportError(N_("at most {count} days at a time"), count=MAX_DAYS)


def _bounds(day_from: date, day_to: date, zone: ZoneInfo) -> tuple[str, str]:
    try:
        return (iso(datetime.combine(day_from, time(), zone)),
                iso(datetime.combine(day_to + timedelta(days=1), time(), zone)))
    except (OverflowError, ValueError):
        raise ReportError(N_("days out of range")) from None


def rows(sdb: ServerDb, warehouse: str, day_from: date, day_to: date, zone: ZoneInfo) -> list[Row]:
    """Per shop and day; parcels the platform does not know are a row of shop "" per day they were packed."""
    check_range(day_from, day_to)
    scope = (warehouse, day_from.isoformat(), day_to.isoformat())
    start, end = _bounds(day_from, day_to, zone)
    result: list[Row] = []
    with sdb.connection():
        for shop, day, orders, stopped, shippable, packed, handed, accepted, *counts in sdb.execute(
                _ROWS, scope):
            result.append(Row(str(shop), date.fromisoformat(str(day)), int(orders), int(stopped), int(shippable),
                              int(packed), int(handed), int(accepted),
                              dict(zip(_CONDITIONS, (int(c) for c in counts), strict=True))))
        unknown: dict[date, int] = {}
        for _, packed_at in sdb.execute(_UNKNOWN, (warehouse, start, end)):
            day = parse_iso(str(packed_at)).astimezone(zone).date()
            unknown[day] = unknown.get(day, 0) + 1
    for day, count in sorted(unknown.items()):
        result.append(Row("", day, lists={"packed_not_on_platform": count}))
    return sorted(result, key=lambda r: (r.day, r.shop))


def order_list(sdb: ServerDb, warehouse: str, day: date, shop: str, name: str, zone: ZoneInfo,
               limit: int = LIST_LIMIT) -> list[str]:
    """The order ids behind one count of one row (`name` one of `LISTS`), sorted, at most `limit`."""
    if name not in LISTS:
        raise ReportError(N_("unknown list {name!r}"), name=name)
    if name == "packed_not_on_platform":
        start, end = _bounds(day, day, zone)
        with sdb.connection():
            ids = {str(r[0]) for r in sdb.execute(_UNKNOWN, (warehouse, start, end))}
        return sorted(ids)[:limit]
    scope = (warehouse, day.isoformat(), day.isoformat())
    sql = _FLAGS + f'SELECT "order_id" FROM flags WHERE "shop" = ? AND {_CONDITIONS[name]} ORDER BY "order_id" LIMIT ?'
    with sdb.connection():
        return [str(r[0]) for r in sdb.execute(sql, (*scope, shop, limit))]
