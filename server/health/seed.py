"""`packbench server demo seed --warehouse W --days N`: a realistic order history to look at.

Seeded (the same seed gives the same history) and shaped like a real warehouse: orders follow a
daily rhythm (quiet at night, peaks late morning and evening) and a weekly one (Monday the busiest,
Sunday the quietest); four stations with two packers each; three shops; SF, ZTO and YTO; receivers
in eight provinces. Each order is paid, packed 1–5 h later at a station (scans, shipments, the
odd reprint and misread counted per station-hour; its weighing and label as scan facts, the odd
weight refused or short-ship; the odd exception case of a few tags), handed
over 1–4 h after packing, picked up, carried and delivered with carrier-realistic delays. A few
incidents are planted in the last day's latest busy hour (13:00–21:00 local, at least 6 h back) so
the health page and the reports have something to find — and the tests something to check:

- `misreads`: BENCH-3's scan error rate jumps tenfold for one hour, at least a third of its scans and
  at least 12 (a dirty scanner window);
- `pickup`: ZTO stops collecting for most of a day (parcels handed over but not picked up);
- `refunds`: nine in ten of one shop's parcels packed in one hour are refunded after packing (a
  listing error: ninety times the usual 1 %), all of them orders of the same product (`LISTING_ERROR`).

Each order holds one to three lines of its shop's products (`PRODUCTS`), drawn from the order's id and
not the seed's stream, so the rest of the history is what it was without them.
"""

from __future__ import annotations

import json
import math
import random
import uuid
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from app.audit import canonical_json
from app.clock import iso
from app.store.states import OrderStatus
from server.db import ServerDb
from server.fulfilment import refresh_warehouse
from server.health.evaluate import Reading, evaluate

STATIONS = ("BENCH-1", "BENCH-2", "BENCH-3", "BENCH-4")
PACKERS = {s: (f"{s}-A", f"{s}-B") for s in STATIONS}
SHOPS = (("taobao", "茶具旗舰店"), ("pdd", "拼多多 家居店"), ("shopify", "Tea & Co"))
CARRIERS = ("SF", "ZTO", "YTO")
PROVINCES = ("浙江省杭州市西湖区文三路 90 号", "江苏省南京市鼓楼区中山路 1 号", "上海市浦东新区世纪大道 100 号",
             "广东省深圳市南山区科技园 8 号", "北京市海淀区中关村大街 27 号", "四川省成都市武侯区天府大道 66 号",
             "湖北省武汉市洪山区珞喻路 1037 号", "山东省济南市历下区泉城路 188 号")
HOURLY = (0.1, 0.05, 0.03, 0.03, 0.05, 0.1, 0.3, 0.6, 0.9, 1.2, 1.4, 1.3,
          1.1, 1.0, 1.1, 1.2, 1.2, 1.1, 1.0, 1.2, 1.5, 1.6, 1.0, 0.4)  # by local (UTC+8) hour
WEEKLY = (1.25, 1.1, 1.05, 1.0, 1.05, 0.9, 0.75)  # Monday … Sunday
INCIDENTS = ("misreads", "pickup", "refunds")
# Each shop's products (SKU, name, price in fen); the refund surge's orders are all of LISTING_ERROR, a
# product listed at a wrong price: the drill-down's SKU distribution and its explanation name it.
PRODUCTS = {
    SHOPS[0][1]: (("TEA-CUP-01", "青瓷茶杯", 3900), ("TEA-POT-02", "紫砂壶", 26800), ("TEA-TRAY-03", "竹制茶盘", 8900),
                  ("TEA-SET-04", "旅行茶具套装", 15800), ("TEA-CLOTH-05", "茶巾", 1200)),
    SHOPS[1][1]: (("HOME-TOWEL-01", "纯棉毛巾", 2900), ("HOME-MASK-02", "蒸汽眼罩", 3500),
                  ("HOME-HOOK-03", "粘钩", 990), ("HOME-BOX-04", "收纳盒", 4500), ("HOME-MAT-05", "地垫", 5900)),
    SHOPS[2][1]: (("TC-SENCHA-01", "Sencha 100 g", 6800), ("TC-OOLONG-02", "Oolong 100 g", 8800),
                  ("TC-INFUSER-03", "Tea infuser", 2500), ("TC-GIFT-04", "Gift box", 19800)),
}
LISTING_ERROR = PRODUCTS[SHOPS[1][1]][1]
BUSY_PACKING = (13, 21)  # local hours when most parcels are packed (orders are packed 1–5 h after payment)
CASE_SHARE = 0.004  # of parcels, an exception case opened at the bench
WEIGHT_REFUSED, SHORT_SHIPPED = 0.015, 0.004  # of parcels, weighed out of tolerance first; approved short
# The tags those cases carry, with their shares: weight mismatches lead, as on a real bench.
CASE_MIX = (("weight_mismatch", 0.35), ("pack_mismatch", 0.25), ("address_risk", 0.15), ("stock_gap", 0.1),
            ("logistics_anomaly", 0.1), ("supervisor_call", 0.05))


@dataclass
class Seeded:
    orders: int = 0
    parcels: int = 0
    tracking: int = 0
    incidents: dict[str, str] = field(default_factory=dict)  # name → the hour (ISO) it starts


@dataclass
class AsOf:
    """Readings judged as the schedule judged them, and those of them flagged."""
    judged: int = 0
    flagged: list[Reading] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return len(self.flagged) / self.judged if self.judged else 0.0


Rows = dict[str, list[tuple[object, ...]]]  # table → rows, in the column order of `_write`


def seed_history(sdb: ServerDb, warehouse: str, days: int, end: datetime, *, orders_per_hour: float = 40.0,
                 seed: int = 7, incidents: tuple[str, ...] = INCIDENTS) -> Seeded:
    """Fill `days` of history ending at `end` (an hour boundary) for `warehouse`; returns what was made."""
    out = Seeded()
    pos = _next(sdb, "order")
    rows: Rows = defaultdict(list)
    for day in generate(warehouse, days, end, out, pos, orders_per_hour=orders_per_hour, seed=seed,
                        incidents=incidents):
        for table, made in day.items():
            rows[table] += made
    _write(sdb, warehouse, rows, pos + out.orders)
    return out


def generate(warehouse: str, days: int, end: datetime, out: Seeded, pos: int = 0, *, orders_per_hour: float = 40.0,
             seed: int = 7, incidents: tuple[str, ...] = INCIDENTS) -> Iterator[Rows]:
    """The history's rows a day at a time (a large history need not fit in memory; the benchmarks
    COPY each day), the station-hour counters last; `out` counts what was made."""
    rnd = random.Random(seed)
    end = end.replace(minute=0, second=0, microsecond=0)
    start = end - timedelta(days=days)
    incident_hour = incidents_hour(end)
    out.incidents.update({name: iso(incident_hour) for name in incidents})
    station_hours: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    hour = start
    rows: Rows = defaultdict(list)
    while hour < end:
        local = hour + timedelta(hours=8)
        mean = orders_per_hour * HOURLY[local.hour] * WEEKLY[local.weekday()]
        for _ in range(_poisson(rnd, mean)):
            paid = hour + timedelta(seconds=rnd.uniform(0, 3600))
            out.orders += 1
            _one_order(rnd, warehouse, paid, end, pos + out.orders, out, rows, station_hours, incident_hour,
                       incidents)
        hour += timedelta(hours=1)
        if local.hour == 23 or hour >= end:
            yield rows
            rows = defaultdict(list)
    for (station, at), (scans, errors, shipments, reprints) in station_hours.items():
        if "misreads" in incidents and station == "BENCH-3" and at == iso(incident_hour):
            # a third of its scans misread, and at a quiet hour at least a dozen: the packer scans again
            # and again (5 misreads where 1 is expected happen by chance about one hour in 200)
            errors = max(errors * 10, scans // 3, 12)
            scans = max(scans, errors)
        rows["metric_hour"].append((station, at, warehouse, scans, errors, shipments, reprints))
    yield rows


def incidents_hour(end: datetime) -> datetime:
    """The incidents' hour of a history ending at `end`: the latest one at least 6 h back in the
    afternoon or evening (local), when most parcels are packed — planted in a night hour, the few facts
    it holds stay within the noise and the demo would show nothing, depending on the time of day it
    was seeded."""
    hour = end - timedelta(hours=6)
    while not BUSY_PACKING[0] <= (hour + timedelta(hours=8)).hour <= BUSY_PACKING[1]:
        hour -= timedelta(hours=1)
    return hour


def _one_order(rnd: random.Random, warehouse: str, paid: datetime, end: datetime, pos: int, out: Seeded,
               rows: dict[str, list[tuple[object, ...]]], station_hours: dict[tuple[str, str], list[int]],
               incident_hour: datetime, incidents: tuple[str, ...]) -> None:
    platform, shop = rnd.choices(SHOPS, weights=(5, 3, 2))[0]
    address = rnd.choice(PROVINCES)
    order_id = f"DEMO-{uuid.UUID(int=rnd.getrandbits(128)).hex[:12].upper()}"
    packed = paid + timedelta(hours=rnd.lognormvariate(math.log(2.5), 0.4))
    ship_by = paid + timedelta(hours=24)
    status = OrderStatus.PAID
    lines = random.Random(order_id)  # the order's own draw: the seed's stream stays that of a history without lines
    products = tuple(lines.sample(PRODUCTS[shop], lines.choice((1, 1, 1, 2, 3))))
    station = rnd.choice(STATIONS)
    carrier = rnd.choices(CARRIERS, weights=(4, 3, 2))[0]
    tracking = None
    if packed < end:
        status = OrderStatus.PACKED
        # Unique by the order's position (random numbers collide in a history of 10^6 orders), with a
        # random last digit so the numbers do not look sequential.
        tracking = f"{carrier}{pos * 10 + rnd.getrandbits(40) % 10:013d}"
        packed_hour = packed.replace(minute=0, second=0, microsecond=0)
        refund_p = 0.01
        if "refunds" in incidents and shop == SHOPS[1][1] and packed_hour == incident_hour:
            refund_p = 0.9
            products = (LISTING_ERROR,)
        if rnd.random() < refund_p:
            status = OrderStatus.REFUNDED
        counts = station_hours[(station, iso(packed_hour))]
        counts[0] += 5  # order, items, weight: about five scans a parcel
        counts[1] += 1 if rnd.random() < 0.05 else 0  # a misread in ~1 % of scans
        counts[2] += 1
        counts[3] += 1 if rnd.random() < 0.01 else 0
        handed = packed + timedelta(hours=rnd.uniform(1, 4))
        rows["parcel"].append((tracking, carrier, order_id, warehouse, station, iso(packed),
                               iso(handed) if handed < end else None, iso(packed)))
        out.parcels += 1
        if handed < end:
            _trail(rnd, carrier, tracking, handed, end, rows, out,
                   stalled="pickup" in incidents and carrier == "ZTO"
                   and incident_hour - timedelta(hours=16) <= handed < incident_hour + timedelta(hours=6))
        rows["station_event"] += _bench_facts(order_id, station, packed)
        case = rnd.random()
        if case < CASE_SHARE:
            rows["station_event"].append((station, "exception.opened", iso(packed),
                                          json.dumps({"tag": _case_tag(case / CASE_SHARE), "order_id": order_id},
                                                     separators=(",", ":"))))
    rows["order"].append((order_id, warehouse, iso(paid)[:10], platform, shop, status, "buyer", "张伟",
                          "13800000000", address, 3900, 3900, iso(paid), iso(paid), iso(ship_by), carrier, tracking,
                          "", iso(paid), pos))
    rows["order_line"] += [(order_id, n, sku, name, lines.choice((1, 1, 2)), price)
                           for n, (sku, name, price) in enumerate(products, start=1)]


def _bench_facts(order_id: str, station: str, packed: datetime) -> list[tuple[object, ...]]:
    """The scan facts of a parcel's weighing and labelling, as a station pushes them (`app.pack.flow`):
    its weight judged (`WEIGHT_REFUSED` of them refused first), the odd short-ship a supervisor approved
    (`SHORT_SHIPPED`), its label queued. Drawn from the order's id, not the seed's stream (as its lines
    are), so the rest of the history is what it was without them."""
    draw = random.Random(f"{order_id}/bench")
    packer = draw.choice(PACKERS[station])
    outcomes = [("scale", "weight_mismatch")] if draw.random() < WEIGHT_REFUSED else []
    if draw.random() < SHORT_SHIPPED:
        outcomes.append(("scanner", "short_shipped"))
    outcomes.append(("scale", "label_queued"))
    return [(station, "scan", iso(packed), canonical_json({"actor": packer, "code": None, "order_id": order_id,
                                                           "outcome": outcome, "source": source,
                                                           "station": station}))
            for source, outcome in outcomes]


def _case_tag(u: float) -> str:
    """The tag at `u` (0 ≤ u < 1) of CASE_MIX's shares. The case's own draw picks it, so the seed's
    other random numbers are those of a history with one tag."""
    for tag, share in CASE_MIX:
        if u < share:
            return tag
        u -= share
    return CASE_MIX[-1][0]


def _trail(rnd: random.Random, carrier: str, tracking: str, handed: datetime, end: datetime,
           rows: dict[str, list[tuple[object, ...]]], out: Seeded, stalled: bool) -> None:
    pickup = handed + timedelta(hours=rnd.uniform(1, 5) + (18 if stalled else 0))
    steps = [("picked_up", "1", pickup, "【杭州】快件已揽收"),
             ("in_transit", "0", pickup + timedelta(hours=rnd.uniform(3, 10)), "【杭州转运中心】已发出"),
             ("out_for_delivery", "5", pickup + timedelta(hours=rnd.uniform(20, 40)), "快递员正在派件"),
             ("delivered", "3", pickup + timedelta(hours=rnd.uniform(42, 60)), "已签收，签收人：本人")]
    for status, code, at, text in steps:
        if at >= end:
            break
        rows["tracking_event"].append((carrier, tracking, status, code, iso(at), text))
        out.tracking += 1


def rewind(sdb: ServerDb, warehouse: str, moment: datetime) -> None:
    """Forget the warehouse's facts from `moment` on: the history as the server held it then (demo
    facts are received when they happen; a station-hour counter is whole once its hour has ended), so
    an hour can be evaluated as the schedule does minutes after it ends rather than with hindsight —
    what the false-positive test and benchmark do, rewinding hour by hour. Destructive: for a seeded
    database or a copy of one."""
    at, hour = iso(moment), iso(moment.replace(minute=0, second=0, microsecond=0))
    with sdb.connection(), sdb.write():
        sdb.execute('DELETE FROM "tracking_event" WHERE "time" >= ? AND "tracking_no" IN '
                    '(SELECT "tracking_no" FROM "parcel" WHERE "warehouse" = ?)', (at, warehouse))
        for column in ("accepted_at", "ended_at", "out_for_delivery_at", "handed_over_at"):
            sdb.execute(f'UPDATE "parcel" SET "{column}" = NULL WHERE "warehouse" = ? AND "{column}" >= ?',
                        (warehouse, at))
        sdb.execute('DELETE FROM "parcel" WHERE "warehouse" = ? AND "packed_at" >= ?', (warehouse, at))
        sdb.execute('DELETE FROM "order" WHERE "warehouse" = ? AND "created_at" >= ?', (warehouse, at))
        sdb.execute('DELETE FROM "station_event" WHERE "at" >= ? AND "station_id" IN '
                    '(SELECT "station_id" FROM "station" WHERE "warehouse" = ?)', (at, warehouse))
        sdb.execute('DELETE FROM "metric_hour" WHERE "warehouse" = ? AND "hour" >= ?', (warehouse, hour))


def judge_as_of(sdb: ServerDb, warehouse: str, last: datetime, hours: int, delay: timedelta,
                dimensions: tuple[str | None, ...] = (None, "station")) -> AsOf:
    """Evaluate each of the `hours` hours up to `last`, whole and by each of `dimensions`, on the history
    as it stood `delay` after the hour ended — as the schedule evaluates (and alerts on) the last
    complete hour, not with hindsight: an indicator that judges a window whose facts are not all in
    yet (parcels handed over minutes ago cannot have been picked up) shows here. A reading counts as
    judged when it had the volume and the baseline to be. Destructive, as `rewind`."""
    out = AsOf()
    for k in range(hours):
        hour = last - timedelta(hours=k)
        rewind(sdb, warehouse, hour + timedelta(hours=1) + delay)
        for dimension in dimensions:
            judged = [r for r in evaluate(sdb, warehouse, hour, dimension=dimension)
                      if r.baseline is not None and r.value is not None and r.volume >= r.indicator.min_volume]
            out.judged += len(judged)
            out.flagged += [r for r in judged if r.flagged]
    return out


def _poisson(rnd: random.Random, mean: float) -> int:
    if mean <= 0:
        return 0
    if mean > 30:
        return max(0, round(rnd.gauss(mean, math.sqrt(mean))))
    limit, k, p = math.exp(-mean), 0, 1.0
    while True:
        p *= rnd.random()
        if p <= limit:
            return k
        k += 1


def _next(sdb: ServerDb, counter: str) -> int:
    with sdb.connection():
        row = sdb.execute('SELECT "value" FROM "counter" WHERE "name" = ?', (counter,)).fetchone()
    return int(row[0]) if row else 0


def _write(sdb: ServerDb, warehouse: str, rows: dict[str, list[tuple[object, ...]]], pos: int) -> None:
    now = iso(datetime.now().astimezone())
    with sdb.connection(), sdb.write():
        for station in STATIONS:
            sdb.execute('INSERT INTO "station" ("station_id", "name", "warehouse", "secret", "key_id", "public_key", '
                        '"enrolled_at", "next_seq") SELECT ?, ?, ?, \'demo\', ?, \'demo\', ?, 1 WHERE NOT EXISTS '
                        '(SELECT 1 FROM "station" WHERE "station_id" = ?)',
                        (f"{warehouse}-{station}", station, warehouse, f"demo-{warehouse}-{station}", now,
                         f"{warehouse}-{station}"))
        sdb.executemany(
            'INSERT INTO "order" ("order_id", "warehouse", "day", "platform", "shop", "status", "buyer", '
            '"receiver_name", "receiver_phone", "receiver_address", "total_cents", "paid_cents", "created_at", '
            '"paid_at", "ship_by", "carrier", "tracking_no", "note", "updated_at", "pos") '
            'VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)', rows["order"])
        sdb.executemany(  # a line refers to its order's row, known once the order is in
            'INSERT INTO "order_line" ("order_id", "line_no", "sku", "name", "qty", "unit_price_cents") '
            'SELECT o."id", ?, ?, ?, ?, ? FROM "order" o WHERE o."order_id" = ?',
            [(n, sku, name, qty, price, order_id) for order_id, n, sku, name, qty, price in rows["order_line"]])
        sdb.executemany(
            'INSERT INTO "parcel" ("tracking_no", "carrier", "order_id", "warehouse", "station_id", "packed_at", '
            '"handed_over_at", "updated_at") VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
            [(t, c, o, w, f"{w}-{s}", p, h, u) for t, c, o, w, s, p, h, u in rows["parcel"]])
        sdb.executemany(
            'INSERT INTO "tracking_event" ("carrier", "tracking_no", "status", "carrier_status", "time", "time_raw", '
            '"site", "courier", "context", "context_hash", "source", "push_id", "raw", "received_at") '
            'VALUES (?, ?, ?, ?, ?, ?, \'\', \'\', ?, ?, \'demo\', 0, \'{}\', ?)',
            [(c, t, s, code, at, at, text, uuid.uuid5(uuid.NAMESPACE_URL, f"{t}{at}").hex, at)
             for c, t, s, code, at, text in rows["tracking_event"]])
        sdb.executemany(
            'INSERT INTO "metric_hour" ("station_id", "hour", "warehouse", "scans", "errors", "shipments", "reprints") '
            'VALUES (?, ?, ?, ?, ?, ?, ?)', [(f"{warehouse}-{s}", *rest) for s, *rest in rows["metric_hour"]])
        sdb.executemany(
            'INSERT INTO "station_event" ("event_id", "station_id", "seq", "kind", "at", "payload", "body_hash", '
            '"status", "received_at") VALUES (?, ?, ?, ?, ?, ?, \'demo\', \'accepted\', ?)',
            [(str(uuid.uuid4()), f"{warehouse}-{s}", n + 1, kind, at, payload, at)
             for n, (s, kind, at, payload) in enumerate(rows["station_event"])])
        sdb.execute('UPDATE "counter" SET "value" = ? WHERE "name" = \'order\' AND "value" < ?', (pos, pos))
        refresh_warehouse(sdb, warehouse)  # the rows above bypassed the projections
