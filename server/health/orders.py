"""The orders behind an indicator's hour: what the console's drill-down lists under a reading.

The indicator's own query, with the order and the value of each dimension it slices by in place of the
slice's column, for the one hour: a row per fact. The facts that make a reading bad are listed — for a
rate the bad ones (a refunded parcel, a late one), for a count every one (a parcel not collected), for a
duration the slowest first. The indicators counted per station-hour or from station events (scan
errors, reprints, weight mismatches, short shipments, cases) have no order in their query and list
none: their drill-down is by station.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from app.clock import iso
from server.db import ServerDb
from server.health.indicators import Indicator, query

LIMIT = 100  # the page lists this many; the slices above it say how the rest are spread
ORDER = 'o."order_id"'


@dataclass(frozen=True)
class Fact:
    order_id: str
    value: float  # hours for a duration; for a count or rate its fact's numerator (1, or 0 for a late parcel)
    slices: dict[str, str]  # dimension → this fact's value there ("carrier" → "ZTO")


def has_orders(indicator: Indicator) -> bool:
    return '"order" o' in indicator.sql


def orders_behind(sdb: ServerDb, indicator: Indicator, warehouse: str, hour: datetime, key: str = "",
                  limit: int = LIMIT) -> list[Fact]:
    """The facts of `indicator` in `hour` that make it bad, of the slice `key` ("carrier=ZTO", "" for
    the whole warehouse), worst first, at most `limit`."""
    if not has_orders(indicator):
        return []
    dimensions = list(indicator.slices)
    columns = ", ".join([ORDER, *(f"CAST({indicator.slices[d]} AS TEXT)" for d in dimensions)])
    sql = query(indicator, None, [(iso(hour), iso(hour + timedelta(hours=1)))], sdb.postgres, select=columns)
    dimension, _, wanted = key.partition("=")
    facts = []
    with sdb.connection():
        for _n, order_id, *rest in sdb.execute(sql, (warehouse,) * sql.count("?")).fetchall():
            *found, num, den = rest
            values = {d: "" if v is None else str(v) for d, v in zip(dimensions, found, strict=True)}
            if num is None or (key and values.get(dimension) != wanted) or not _bad(indicator, num, den):
                continue
            facts.append(Fact(str(order_id), float(num), values))
    return sorted(facts, key=lambda f: (-f.value, f.order_id))[:limit]


def _bad(indicator: Indicator, num: float, den: float) -> bool:
    """Whether a fact is one that makes the reading bad: a rate's bad ones (a refund where higher is
    worse, a late parcel where the on-time rate falls); every fact of a count or a duration."""
    if indicator.kind != "rate":
        return True
    return float(num) > 0 if indicator.worse == "higher" else float(num) < float(den or 0)
