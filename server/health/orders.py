"""The facts behind an indicator's hour: the orders the console's drill-down lists under a reading, and
what its distributions by SKU and by ten minutes and its explanation (`server.health.explain`) count.

The indicator's own query, with the order, the value of each dimension it slices by and the fact's time
in place of the slice's column, for the hour (and, for an explanation, the baseline hours): a row per
fact, with the SKUs of its order's lines. The facts that make a reading bad are listed — for a rate the
bad ones (a refunded parcel, a late one), for a count every one (a parcel not collected), for a duration
the slowest first. The indicators counted per station-hour or from station events (scan errors,
reprints, weight mismatches, short shipments, cases) have no order in their query and no facts here:
their drill-down is by station.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from app.clock import parse_iso
from server.db import ServerDb, chunks, placeholders
from server.health.indicators import Indicator, query

LIMIT = 100  # the page lists this many; the distributions above it say how the rest are spread
ORDER = 'o."order_id"'
# The fact's time is the column its query compares with the window's start (a parcel's packed_at, a
# tracking event's time). An indicator judged as of the window's end (parcels not collected by then)
# compares its facts with other bounds: its facts have no time within the hour.
AT = re.compile(r'(\b[a-z]\."[a-z_]+") >= w\.lo\b')


@dataclass(frozen=True)
class Fact:
    order_id: str
    value: float  # hours for a duration; for a count or rate its fact's numerator (1, or 0 for a late parcel)
    total: float  # its denominator: 1
    slices: dict[str, str]  # dimension → this fact's value there ("carrier" → "ZTO")
    at: datetime | None = None  # when it happened (None: judged as of the hour's end)
    skus: tuple[str, ...] = ()  # of its order's lines
    window: int = 0  # which of the windows asked for it fell in (0: the first)


def has_orders(indicator: Indicator) -> bool:
    return '"order" o' in indicator.sql


def facts(sdb: ServerDb, indicator: Indicator, warehouse: str, spans: Sequence[tuple[str, str]]) -> list[Fact]:
    """Every fact of `indicator` in the windows `spans` ((from, to) ISO), with its slices, time and SKUs;
    none for an indicator whose query reads no orders."""
    if not has_orders(indicator) or not spans:
        return []
    dimensions = list(indicator.slices)
    at = AT.search(indicator.sql)
    columns = ", ".join([ORDER, *(f"CAST({indicator.slices[d]} AS TEXT)" for d in dimensions),
                         at.group(1) if at else "NULL"])
    sql = query(indicator, None, spans, sdb.postgres, select=columns)
    found = []
    with sdb.connection():
        for n, order_id, *rest in sdb.execute(sql, (warehouse,) * sql.count("?")).fetchall():
            *values, when, num, den = rest
            if num is None:
                continue
            found.append(Fact(str(order_id), float(num), float(den or 0),
                              {d: "" if v is None else str(v) for d, v in zip(dimensions, values, strict=True)},
                              parse_iso(str(when)) if when else None, window=int(n)))
        skus = _skus(sdb, sorted({f.order_id for f in found}))
    return [Fact(f.order_id, f.value, f.total, f.slices, f.at, skus.get(f.order_id, ()), f.window) for f in found]


def _skus(sdb: ServerDb, order_ids: Sequence[str]) -> dict[str, tuple[str, ...]]:
    lines: dict[str, list[str]] = defaultdict(list)
    for part in chunks(order_ids):
        for order_id, sku in sdb.execute(
                'SELECT o."order_id", l."sku" FROM "order_line" l JOIN "order" o ON o."id" = l."order_id" '
                f'WHERE o."order_id" IN ({placeholders(len(part))}) ORDER BY o."order_id", l."line_no"',
                tuple(part)).fetchall():
            if str(sku) not in lines[str(order_id)]:
                lines[str(order_id)].append(str(sku))
    return {order_id: tuple(skus) for order_id, skus in lines.items()}


def worst(indicator: Indicator, found: Sequence[Fact], key: str = "", limit: int = LIMIT) -> list[Fact]:
    """The facts of the first window that make the reading bad, of the slice `key` ("carrier=ZTO", ""
    for the whole warehouse), worst first, at most `limit`."""
    dimension, _, wanted = key.partition("=")
    chosen = [f for f in found if f.window == 0 and bad(indicator, f)
              and (not key or f.slices.get(dimension) == wanted)]
    return sorted(chosen, key=lambda f: (-f.value, f.order_id))[:limit]


def bad(indicator: Indicator, fact: Fact) -> bool:
    """Whether a fact is one that makes the reading bad: a rate's bad ones (a refund where higher is
    worse, a late parcel where the on-time rate falls); every fact of a count or a duration."""
    if indicator.kind != "rate":
        return True
    return fact.value > 0 if indicator.worse == "higher" else fact.value < fact.total
