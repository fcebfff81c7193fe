"""The order-health indicators: what each measures, in which unit, which way is worse, and the SQL
that counts it for a set of one-hour windows, whole or sliced by one dimension.

An indicator is one of three kinds:
- `count`: events in the window (orders in, cases opened); its volume is the count itself;
- `rate`: numerator / denominator (scan errors / scans); its volume is the denominator;
- `duration`: hours between two facts (paid → packed), reported as p50 (`_p50`) and p90 (`_p90`): two
  indicators of one query, measured once for both (`evaluate.measure`); its volume is the number of
  parcels measured.
Every query reads the facts of one warehouse with a time column inside a window, so a baseline of
N weeks costs N + 1 narrow range scans, whatever the size of the history.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Literal

from app.clock import iso, parse_iso
from app.i18n import N_, Phrase
from app.terms import CASE_TAGS, Named, named

Kind = Literal["count", "rate", "duration"]
Worse = Literal["higher", "lower"]
# What a reading can be sliced by, each code with its name: the code in URLs, JSON and stored
# readings, the name where a person reads it (docs/i18n.md).
DIMENSION_NAMES: dict[str, str] = {"station": N_("station"), "packer": N_("packer"), "shop": N_("shop"),
                                   "carrier": N_("carrier"), "province": N_("province"), "tag": N_("tag")}
DIMENSIONS = tuple(DIMENSION_NAMES)
# The units of counts by name; "%" and "h" read the same in every language.
UNIT_NAMES: dict[str, str] = {"orders": N_("orders"), "parcels": N_("parcels"), "scans": N_("scans"),
                              "cases": N_("cases")}
SLICED = N_("{indicator} ({dimension} {slice})")
NO_SLICE = N_("(none)")  # a slice with no value (scans no packer signed) is named, not left blank


@dataclass(frozen=True, eq=False)
class Indicator:
    name: str  # the stable code: JSON, the CLI, URLs, stored readings and alerts
    title: str  # its name, an English msgid: `named` words it in the reader's language
    kind: Kind
    unit: str  # "%", "h", or a count's code in UNIT_NAMES
    worse: Worse
    min_volume: int  # below this many facts in the hour (or in a baseline hour) nothing is judged
    sql: str  # selects (window, slice, numerator, denominator) rows; see the queries below
    slices: dict[str, str]  # dimension → the SQL expression of its value, for the dimensions that apply
    quantile: float = 0.9  # for durations
    # Counted at the hour's end over a week (parcels in the carriers' hands), not facts in the hour: the
    # hours either side hold nearly the same parcels, so they are no further baseline points, only cost.
    held: bool = False

    @property
    def neighbours(self) -> bool:
        """Whether its baseline takes the hours either side of the hour too (`evaluate.windows`)."""
        return self.kind != "count" and not self.held

    @property
    def named(self) -> Named:
        return Named(self.name, self.title)

    @property
    def unit_named(self) -> Named:
        return Named(self.unit, UNIT_NAMES.get(self.unit, self.unit))


def what(indicator: Indicator, key: str) -> Named | Phrase:
    """An indicator with its slice (`Reading.key`, "station=BENCH-3") as words: "scan error rate
    (station BENCH-3)"; the whole warehouse's is the indicator's name alone."""
    dimension, _, slice_ = key.partition("=")
    if not key:
        return indicator.named
    return Phrase(SLICED, {"indicator": indicator.named, "slice": slice_words(slice_, dimension),
                           "dimension": Named(dimension, DIMENSION_NAMES.get(dimension, dimension))})


def slice_words(slice_: str, dimension: str = "") -> str | Named | Phrase:
    """A slice's value as a person reads it: an empty one named (`NO_SLICE`), a case tag by its name in
    the catalog (a site's own tag by its code, as the exceptions pages show it)."""
    if not slice_:
        return Phrase(NO_SLICE)
    return named(CASE_TAGS, slice_) if dimension == "tag" else slice_


# Each query gets the windows as a VALUES list `w(n, lo, hi, old, recent, day, week)` (48 h, 6 h, 24 h and
# 7 days before the window's end, for as-of questions) and the warehouse as its only parameter; `{slice}` is
# replaced by the slicing expression (or '' for the whole) and each row is (window, slice, numerator,
# denominator): count → 1 per fact, rate → numerator and denominator summed, duration → hours.
# Province: the first two characters of a Chinese address (浙江省… → 浙江), good enough to group by.
PROVINCE = "SUBSTR(o.\"receiver_address\", 1, 2)"
AS_OF = {"old": 48, "recent": 6, "day": 24, "week": 24 * 7}  # a window's as-of columns: hours before its end

ORDERS_IN = """
SELECT w.n, {slice}, 1, 1 FROM w JOIN "order" o ON o."warehouse" = ? AND o."created_at" >= w.lo
   AND o."created_at" < w.hi"""
PARCELS_PACKED = """
SELECT w.n, {slice}, {num}, 1 FROM w JOIN "parcel" p ON p."warehouse" = ? AND p."packed_at" >= w.lo
   AND p."packed_at" < w.hi JOIN "order" o ON o."order_id" = p."order_id" AND o."warehouse" = p."warehouse\""""
HANDED_OVER = """
SELECT w.n, {slice}, {num}, 1 FROM w JOIN "parcel" p ON p."warehouse" = ? AND p."handed_over_at" >= w.lo
   AND p."handed_over_at" < w.hi JOIN "order" o ON o."order_id" = p."order_id" AND o."warehouse" = p."warehouse\""""
METRIC_HOURS = """
SELECT w.n, {slice}, m."{num}", m."{den}" FROM w JOIN "metric_hour" m ON m."warehouse" = ? AND m."hour" >= w.lo
   AND m."hour" < w.hi"""
# A station's facts of one kind (`app.audit.record_fact`, stored as canonical JSON: keys sorted, no
# spaces, so a field reads as '"outcome":"label_queued"'), each counting `{num}` / `{den}`.
STATION_EVENTS = """
SELECT w.n, {slice}, {num}, {den} FROM w JOIN "station" s ON s."warehouse" = ? JOIN "station_event" e
   ON e."station_id" = s."station_id" AND e."kind" = '{kind}' AND e."at" >= w.lo AND e."at" < w.hi{where}"""
# A parcel's first delivered event, in the window: an event with no earlier one of that kind for the
# same parcel (the tracking_no+time index answers the NOT EXISTS). CROSS JOIN keeps SQLite's planner
# on the time index (window → events → their parcel) instead of every parcel ever handed over.
FIRST_EVENT = """
SELECT w.n, {slice}, (julianday(t."time") - julianday(p."handed_over_at")) * 24, 1
  FROM w CROSS JOIN "tracking_event" t CROSS JOIN "parcel" p
  JOIN "order" o ON o."order_id" = p."order_id" AND o."warehouse" = p."warehouse"
 WHERE t."time" >= w.lo AND t."time" < w.hi AND t."status" IN {statuses}
   AND p."tracking_no" = t."tracking_no" AND p."warehouse" = ? AND p."handed_over_at" IS NOT NULL
   AND NOT EXISTS (SELECT 1 FROM "tracking_event" e2 WHERE e2."tracking_no" = t."tracking_no"
                   AND e2."status" IN {statuses}
                   AND (e2."time" < t."time" OR (e2."time" = t."time" AND e2."id" < t."id")))"""
DELIVERED = FIRST_EVENT.replace("{statuses}", "('delivered')")
# Picked up = accepted by the carrier: the parcel's first event in a state that proves the carrier has
# it (`app.tracking_states.CARRIER_ACCEPTED`, as reconciliation and the Today page count), kept on the
# parcel by `server.fulfilment` as `accepted_at` and indexed by warehouse. Reading it costs one index
# range per window; finding each parcel's first such event among the tracking events (as delivered
# does) took 0.6–1.6 s per hour evaluated at 10^6 orders, 23–33 s for a drill-down (bench/README.md).
PICKED_UP = """
SELECT w.n, {slice}, (julianday(p."accepted_at") - julianday(p."handed_over_at")) * 24, 1
  FROM w CROSS JOIN "parcel" p JOIN "order" o ON o."order_id" = p."order_id" AND o."warehouse" = p."warehouse"
 WHERE p."warehouse" = ? AND p."accepted_at" >= w.lo AND p."accepted_at" < w.hi AND p."handed_over_at" IS NOT NULL"""

# Parcels a carrier has not collected: handed over 6–48 h before the window's end, not accepted by then.
NOT_COLLECTED = """
SELECT w.n, {slice}, 1, 1 FROM w CROSS JOIN "parcel" p
  JOIN "order" o ON o."order_id" = p."order_id" AND o."warehouse" = p."warehouse"
 WHERE p."warehouse" = ? AND p."handed_over_at" >= w.old AND p."handed_over_at" < w.recent AND p."voided_at" IS NULL
   AND (p."accepted_at" IS NULL OR p."accepted_at" >= w.hi)"""
# Of the parcels the carrier still owes news of — picked up in the week before the window's end (a
# parcel lost longer is a case, not an hour's health) and not delivered, refused, returned or cancelled
# by then — the share `{owing}`. A rate, so that the parcels in the carriers' hands (more in a busy week)
# are the measure, and hours before the history began have no value instead of a zero. Each window holds
# some 18,000 parcels at 10^6 orders, so every per-parcel search counts (bench/README.md): the end is
# the parcel's first terminal event (`ended_at`, kept by `server.fulfilment`; migration 16's index holds it
# beside the pickup), not a search of its events; the order is required known by the parcel's
# `order_known`, and joined LEFT on its unique id, so PostgreSQL leaves the join out unless the slice
# (province) or the drill-down reads the order.
OWED = """
SELECT w.n, {slice}, CASE WHEN {owing} THEN 1 ELSE 0 END, 1 FROM w CROSS JOIN "parcel" p
  LEFT JOIN "order" o ON o."order_id" = p."order_id" AND o."warehouse" = p."warehouse"
 WHERE p."warehouse" = ? AND p."accepted_at" >= w.week AND p."accepted_at" < {since} AND p."voided_at" IS NULL
   AND (p."ended_at" IS NULL OR p."ended_at" >= w.hi) AND p."order_known" = 1"""
# Picked up over 24 h before the window's end, and not one tracking event in those 24 h: its latest event
# before the end is older (one backward step of the tracking_no+time index per parcel still owed; as NOT
# EXISTS, PostgreSQL hashed the day's 65,000 events for each window instead).
STALLED = OWED.replace("{since}", "w.day").replace("{owing}", """COALESCE((SELECT MAX(e."time") FROM "tracking_event" e
   WHERE e."tracking_no" = p."tracking_no" AND e."time" < w.hi), '') < w.day""")
# Out for delivery since over 48 h before the window's end: its first out-for-delivery event, kept on the parcel.
OUT_FOR_DELIVERY = OWED.replace("{since}", "w.old").replace("{owing}", 'p."out_for_delivery_at" < w.old')
# Orders due in the window (their ship-by in it) that the platform still wants shipped, against the
# parcels: bad when no live parcel was handed over by the ship-by — never packed, packed late, or
# packed and left at the bench. The reconciliation page's deviations by the hour they fell due, as of
# the ship-by, so an hour's value never changes once it is over (the `order (warehouse, ship_by)` index,
# migration 17, finds them; each order's parcels by the order_id index: `|| ''` keeps SQLite from reading
# instead every parcel of the warehouse handed over before the ship-by, 1.9 s an evaluation at 18,000 orders).
DUE_NOT_HANDED_OVER = """
SELECT w.n, {slice}, CASE WHEN EXISTS (SELECT 1 FROM "parcel" p WHERE p."order_id" = o."order_id"
   AND p."warehouse" = o."warehouse" AND p."voided_at" IS NULL AND p."handed_over_at" || '' <= o."ship_by")
   THEN 0 ELSE 1 END, 1
  FROM w JOIN "order" o ON o."warehouse" = ? AND o."ship_by" >= w.lo AND o."ship_by" < w.hi
   AND o."status" IN ('paid', 'packed', 'shipped')"""
HOURS = "(julianday(p.\"packed_at\") - julianday(o.\"paid_at\")) * 24"
ON_TIME = "CASE WHEN o.\"ship_by\" IS NULL OR p.\"packed_at\" <= o.\"ship_by\" THEN 1 ELSE 0 END"
BY_PARCEL = {"station": 'p."station_id"', "shop": 'o."shop"', "carrier": 'p."carrier"', "province": PROVINCE}
BY_ORDER = {"shop": 'o."shop"', "province": PROVINCE}
BY_STATION_HOUR = {"station": 'm."station_id"'}
BY_SCAN = {"station": 's."station_id"', "packer": "json_extract(e.\"payload\", '$.actor')"}


def _pick(slices: dict[str, str], *names: str) -> dict[str, str]:
    return {name: slices[name] for name in names}


def _outcome(*outcomes: str) -> str:
    """True for a scan fact with one of `outcomes` (`app.pack.outcomes`)."""
    return " OR ".join(f"e.\"payload\" LIKE '%\"outcome\":\"{o}\"%'" for o in outcomes)


def _scans(num: str, den: str, where: str) -> str:
    return STATION_EVENTS.replace("{kind}", "scan").replace("{num}", num).replace("{den}", den).replace(
        "{where}", f" AND ({where})")


def _when(condition: str) -> str:
    return f"CASE WHEN {condition} THEN 1 ELSE 0 END"


def _durations(name: str, title: tuple[str, str], sql: str, slices: dict[str, str]) -> tuple[Indicator, Indicator]:
    """A duration as its p50 and its p90 (titles: msgids), the same facts read by one query."""
    return (Indicator(f"{name}_p50", title[0], "duration", "h", "higher", P50_VOLUME, sql, slices, quantile=0.5),
            Indicator(f"{name}_p90", title[1], "duration", "h", "higher", P90_VOLUME, sql, slices))


# A p90 of fewer parcels is the hour's one or two slowest: judged from 20 up, it no longer flags a
# station's quiet hour for one slow parcel. A median is steadier.
P90_VOLUME, P50_VOLUME = 20, 10
# Weighings: every stable weight the station judged (source "scale"); the refused ones are out of
# tolerance against the order's expected weight, or unusual against that SKU mix's history (`app.pack.weights`).
WEIGHINGS = "e.\"payload\" LIKE '%\"source\":\"scale\"%'"

PAID_TO_HANDED_OVER = '(julianday(p."handed_over_at") - julianday(o."paid_at")) * 24'
CASE_TAG = "json_extract(e.\"payload\", '$.tag')"

INDICATORS: tuple[Indicator, ...] = (
    Indicator("orders_in", N_("orders in"), "count", "orders", "lower", 20, ORDERS_IN, BY_ORDER),
    *_durations("paid_to_packed", (N_("paid → packed p50"), N_("paid → packed p90")),
                PARCELS_PACKED.replace("{num}", HOURS), _pick(BY_PARCEL, "station", "shop", "carrier")),
    Indicator("on_time_rate", N_("on-time rate"), "rate", "%", "lower", 10,
              PARCELS_PACKED.replace("{num}", ON_TIME), _pick(BY_PARCEL, "station", "shop", "carrier")),
    Indicator("scan_error_rate", N_("scan error rate"), "rate", "%", "higher", 30,
              METRIC_HOURS.replace("{num}", "errors").replace("{den}", "scans"), BY_STATION_HOUR),
    Indicator("weight_mismatch_rate", N_("weight mismatch rate"), "rate", "%", "higher", 20,
              _scans(_when(_outcome("weight_mismatch", "weight_unusual")), "1", WEIGHINGS), BY_SCAN),
    Indicator("reprint_rate", N_("reprint rate"), "rate", "%", "higher", 10,
              METRIC_HOURS.replace("{num}", "reprints").replace("{den}", "shipments"), BY_STATION_HOUR),
    Indicator("void_rate", N_("void rate"), "rate", "%", "higher", 10,
              PARCELS_PACKED.replace("{num}", 'CASE WHEN p."voided_at" IS NULL THEN 0 ELSE 1 END'),
              _pick(BY_PARCEL, "station", "carrier")),
    # Of the parcels labelled (a label queued once per parcel; a reprint is another outcome), those a
    # supervisor approved short.
    Indicator("short_ship_rate", N_("short-ship rate"), "rate", "%", "higher", 20,
              _scans(_when(_outcome("short_shipped")), _when(_outcome("label_queued")),
                     _outcome("short_shipped", "label_queued")), BY_SCAN),
    Indicator("intercept_rate", N_("intercept / refund after pack"), "rate", "%", "higher", 10,
              PARCELS_PACKED.replace("{num}", "CASE WHEN o.\"status\" IN ('cancelled', 'refunded') THEN 1 ELSE 0 END"),
              _pick(BY_PARCEL, "shop", "station", "carrier")),
    *_durations("paid_to_handed_over", (N_("paid → handed over p50"), N_("paid → handed over p90")),
                HANDED_OVER.replace("{num}", PAID_TO_HANDED_OVER), _pick(BY_PARCEL, "station", "shop", "carrier")),
    Indicator("handover_delay_p90", N_("packed → handed over p90"), "duration", "h", "higher", P90_VOLUME,
              HANDED_OVER.replace("{num}", '(julianday(p."handed_over_at") - julianday(p."packed_at")) * 24'),
              _pick(BY_PARCEL, "station", "carrier")),
    Indicator("pickup_delay_p90", N_("handed over → picked up p90"), "duration", "h", "higher", P90_VOLUME,
              PICKED_UP, _pick(BY_PARCEL, "carrier", "province", "station")),
    Indicator("not_collected", N_("handed over, not collected (6–48 h)"), "count", "parcels", "higher", 3,
              NOT_COLLECTED, _pick(BY_PARCEL, "carrier", "station")),
    Indicator("tracking_stalled_rate", N_("tracking stalled rate (no update for 24 h)"), "rate", "%", "higher", 30,
              STALLED, _pick(BY_PARCEL, "carrier", "province"), held=True),
    Indicator("out_for_delivery_48h_rate", N_("out for delivery over 48 h rate"), "rate", "%", "higher", 30,
              OUT_FOR_DELIVERY, _pick(BY_PARCEL, "carrier", "province"), held=True),
    *_durations("delivery_time", (N_("handed over → delivered p50"), N_("handed over → delivered p90")),
                DELIVERED, _pick(BY_PARCEL, "carrier", "province")),
    Indicator("cases_opened", N_("exception cases opened"), "count", "cases", "higher", 5,
              STATION_EVENTS.replace("{kind}", "exception.opened").replace("{num}", "1").replace("{den}", "1")
              .replace("{where}", ""), {**_pick(BY_SCAN, "station"), "tag": CASE_TAG}),
    Indicator("reconciliation_deviation", N_("due, not handed over by ship-by (reconciliation)"), "rate", "%",
              "higher", 10, DUE_NOT_HANDED_OVER, BY_ORDER),
)
BY_NAME = {i.name: i for i in INDICATORS}


def slice_expression(indicator: Indicator, dimension: str | None) -> str:
    if dimension is None:
        return "''"
    if dimension not in indicator.slices:
        raise ValueError(f"{indicator.name} cannot be sliced by {dimension} (it can by "
                         f"{', '.join(indicator.slices) or 'nothing'})")
    return indicator.slices[dimension]


def query(indicator: Indicator, dimension: str | None, windows: Sequence[tuple[str, str]], postgres: bool, *,
          select: str | None = None) -> str:
    """The SQL for `windows` ((lo, hi) ISO strings), with `?` for the warehouse (once per window on
    PostgreSQL: pass the warehouse `sql.count("?")` times). `select` replaces the slice's column with
    columns of one's own (the facts' orders: `server.health.orders`)."""
    body = indicator.sql.replace("{slice}", select if select is not None else slice_expression(indicator, dimension))
    # A count's or a rate's facts are summed where they are read: a window of parcels held (tracking
    # stalled) is some 18,000 rows, which fetched one by one cost more than finding them. A duration's
    # are all needed for its quantile, and the drill-down (`select`) lists them.
    summed = select is None and indicator.kind != "duration"
    if postgres:
        facts = " UNION ALL ".join(_postgres(_literal(body, n, lo, hi)) for n, (lo, hi) in enumerate(windows))
        return f"WITH f(n, s, num, den) AS ({facts}) {SUMMED}" if summed else facts
    values = ", ".join(f"({n}, '{lo}', '{hi}', " + ", ".join(f"'{_shift(hi, -h)}'" for h in AS_OF.values()) + ")"
                       for n, (lo, hi) in enumerate(windows))
    head = f"WITH w(n, lo, hi, {', '.join(AS_OF)}) AS (VALUES {values})"
    return f"{head}, f(n, s, num, den) AS ({body}) {SUMMED}" if summed else f"{head} {body}"


# The facts of a count or a rate, summed per window and slice (a fact without a numerator is none, as in
# `evaluate.measure`).
SUMMED = "SELECT n, s, SUM(num), SUM(den) FROM f WHERE num IS NOT NULL GROUP BY n, s"


def _literal(sql: str, n: int, lo: str, hi: str) -> str:
    """One window's query with its bounds written in as constants. PostgreSQL plans a join against a
    VALUES list of windows without knowing their bounds, estimates a third of each table, and hashes
    whole tables (9 s for a pickup delay at 10^6 orders); with constants it reads each window's
    range from its index and follows the rows by their keys."""
    bounds = {"w.n": str(n), "w.lo": f"'{lo}'", "w.hi": f"'{hi}'",
              **{f"w.{name}": f"'{_shift(hi, -h)}'" for name, h in AS_OF.items()}}
    sql = sql.replace("FROM w ", "FROM (SELECT 1) w ")
    for name in sorted(bounds, key=len, reverse=True):
        sql = re.sub(rf"\b{re.escape(name)}\b", bounds[name], sql)
    return sql


def _shift(stamp: str, hours: int) -> str:
    return iso(parse_iso(stamp) + timedelta(hours=hours))


def _postgres(sql: str) -> str:
    """SQLite spellings of the few functions that differ (times are ISO text in both)."""
    sql = sql.replace("julianday(", "_jd(")
    while "_jd(" in sql:
        start = sql.index("_jd(")
        depth, end = 0, start + 3
        for end in range(start + 3, len(sql)):
            depth += {"(": 1, ")": -1}.get(sql[end], 0)
            if depth == 0:
                break
        inner = sql[start + 4:end]
        sql = sql[:start] + f"(EXTRACT(EPOCH FROM CAST({inner} AS TIMESTAMPTZ)) / 86400.0)" + sql[end + 1:]
    sql = re.sub(r"""json_extract\(e\."payload", '\$\.(\w+)'\)""", r"""(e."payload"::json ->> '\1')""", sql)
    return sql.replace("%", "%%")  # psycopg2 reads % as a parameter marker (the LIKE patterns)
