"""Benchmark: order health on PostgreSQL — the full evaluation of every indicator for one warehouse,
keeping an hour's readings, and the console's health page, over 8 weeks of history at 10^6 orders.

    python bench/health_eval.py [--orders 1000000] [--weeks 8] [--scans-per-parcel 5] [--runs 5]
                                [--requests 30] [--keep] [--false-positives]

Creates the database `pb_health_bench` on 127.0.0.1:5432 (dropped first unless --keep finds it
filled), migrates it and COPYs the demo history of `server.health.seed` (daily and weekly rhythm,
four stations, three shops, three carriers, eight provinces, planted incidents) sized to about
`--orders` orders, with `--scans-per-parcel` scan facts per parcel in `station_event` (the seed's
weighing and label, 1.5 % weights refused and 0.4 % short-shipped, which the weight-mismatch and
short-ship rates read; the bench adds the order's and items' scans the rates pass over), then
refreshes the parcels' projections (`server.fulfilment`: first carrier acceptance, first terminal and
out-for-delivery events) as the seed does.
Then it times, with the machine's load printed before and after:
- `check` (what the scheduler runs each hour: every indicator, the warehouse as a whole, and its
  readings kept) for the hour of the planted incidents and the last complete hour, `--runs` times
  each, and keeping one hour's readings alone;
- every indicator sliced by each dimension (station, packer, shop, carrier, province, tag);
- the schedule's hourly evaluation of the 24 hours before each page hour (so the pages find them
  kept, as on a server whose schedule has been running), per hour;
- through the ASGI app in process, p50 / p95 / max: the health page (the table, `--requests` times)
  for kept hours; its drill-down of one indicator (24 hours of chart and every slice), the first
  view (slices evaluated and kept) apart from the later ones; and, for hours nothing was kept of,
  the page and the pickup-delay drill-down evaluated on the request.
Targets: full evaluation < 5 s, health page p95 < 500 ms.

`--false-positives` then measures the false-positive rate: on a copy of the database
(`pb_health_asof`, dropped after), each hour of the clean week before the incidents' day is
evaluated as the schedule evaluates it — on the history as it stood 5 minutes after the hour
(`server.health.seed.judge_as_of`), whole and by station — and the readings flagged among those
judged are counted, by indicator.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
import zlib
from collections import defaultdict
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING
from uuid import UUID

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import psycopg2

from bench._console_db import ADMIN_URL, copy_rows, log_in, recreate, url_of

if TYPE_CHECKING:
    from app.clock import Clock
    from server.db import ServerDb

DB = "pb_health_bench"
URL = url_of(DB)
AS_OF_DB = "pb_health_asof"  # the copy the false-positive pass rewinds
WAREHOUSE = "WH1"
MEAN_RHYTHM = 0.82  # the seed's mean hourly × weekly factor (measured): orders per hour = orders / hours / this


def _scans(parcels: list[tuple[object, ...]], per_parcel: int, seq: list[int]) -> Iterable[tuple[object, ...]]:
    """The scanner's facts at each parcel's packing time besides the weighing and label the seed writes:
    the order and its items, `per_parcel` facts in all (so `per_parcel - 2` of them here)."""
    outcomes = ("order_opened", "item_ok", "items_complete")
    for tracking, _, order_id, warehouse, station, packed, _, _ in parcels:
        draw = zlib.crc32(str(tracking).encode()) % 1000
        for k in range(max(per_parcel - 2, 0)):
            outcome = outcomes[min(k, len(outcomes) - 1)]
            seq[0] += 1
            packer = f"{station}-{'AB'[draw % 2]}"
            payload = (f'{{"actor":"{packer}","audit_seq":{seq[0]},"code":"690{draw:010d}","order_id":"{order_id}",'
                       f'"outcome":"{outcome}","source":"scanner","station":"{station}"}}')
            yield (str(UUID(int=seq[0])), f"{warehouse}-{station}", seq[0], "scan", packed, payload, "bench",
                   "accepted", packed)


def load(orders: int, weeks: int, scans_per_parcel: int, end: datetime) -> None:
    from server.health.seed import Seeded, _write, generate

    sdb = recreate(DB, WAREHOUSE)
    _write(sdb, WAREHOUSE, defaultdict(list), 0)  # the stations
    sdb.close()
    started = time.perf_counter()
    days = weeks * 7 + 4  # the first evaluated week needs its baseline weeks too
    per_hour = orders / (days * 24) / MEAN_RHYTHM
    conn = psycopg2.connect(URL)
    cur = conn.cursor()
    made = Seeded()
    counts = {"order": 0, "parcel": 0, "tracking_event": 0, "station_event": 0, "metric_hour": 0}
    seq = [0]
    for rows in generate(WAREHOUSE, days, end, made, orders_per_hour=per_hour, seed=11):
        counts["order"] += copy_rows(cur, "order", (
            "order_id", "warehouse", "day", "platform", "shop", "status", "buyer", "receiver_name", "receiver_phone",
            "receiver_address", "total_cents", "paid_cents", "created_at", "paid_at", "ship_by", "carrier",
            "tracking_no", "note", "updated_at", "pos"), rows.get("order", []))
        parcels = rows.get("parcel", [])
        counts["parcel"] += copy_rows(cur, "parcel", (
            "tracking_no", "carrier", "order_id", "warehouse", "station_id", "packed_at", "handed_over_at",
            "updated_at"), ((t, c, o, w, f"{w}-{s}", p, h, u) for t, c, o, w, s, p, h, u in parcels))
        counts["tracking_event"] += copy_rows(cur, "tracking_event", (
            "carrier", "tracking_no", "status", "carrier_status", "time", "time_raw", "site", "courier", "context",
            "context_hash", "source", "push_id", "raw", "received_at"),
            ((c, t, s, code, at, at, "", "", text, f"{t}{at}", "bench", 0, "{}", at)
             for c, t, s, code, at, text in rows.get("tracking_event", [])))
        counts["station_event"] += copy_rows(cur, "station_event", (
            "event_id", "station_id", "seq", "kind", "at", "payload", "body_hash", "status", "received_at"),
            _scans(parcels, scans_per_parcel, seq))
        seq[0] += 1
        counts["station_event"] += copy_rows(cur, "station_event", (
            "event_id", "station_id", "seq", "kind", "at", "payload", "body_hash", "status", "received_at"),
            ((str(UUID(int=seq[0] + n + 1)), f"{WAREHOUSE}-{s}", seq[0] + n + 1, kind, at, payload, "bench",
              "accepted", at) for n, (s, kind, at, payload) in enumerate(rows.get("station_event", []))))
        seq[0] += len(rows.get("station_event", []))
        counts["metric_hour"] += copy_rows(cur, "metric_hour", (
            "station_id", "hour", "warehouse", "scans", "errors", "shipments", "reprints"),
            ((f"{WAREHOUSE}-{s}", *rest) for s, *rest in rows.get("metric_hour", [])))
        conn.commit()
    cur.execute('UPDATE "counter" SET "value" = %s WHERE "name" = \'order\'', (made.orders,))
    conn.commit()
    _refresh_projections()
    conn.close()
    _analyze()
    print(f"loaded {', '.join(f'{n:,} {t}' for t, n in counts.items())} over {days} days "
          f"in {time.perf_counter() - started:.0f} s; incidents at {made.incidents}")


def _analyze() -> None:
    conn = psycopg2.connect(URL)
    conn.autocommit = True
    conn.cursor().execute("VACUUM ANALYZE")
    conn.close()


def _refresh_projections() -> None:
    """The COPY bypassed the projections the indicators read (a parcel's first carrier acceptance, end, …)."""
    from server.db import open_database
    from server.fulfilment import refresh_warehouse

    sdb = open_database(URL)
    with sdb.connection(), sdb.write():
        refresh_warehouse(sdb, WAREHOUSE)
    sdb.close()


def _figures(name: str, timings: list[float], unit: str = "ms") -> None:
    timings.sort()
    p95 = timings[max(0, int(len(timings) * 0.95 + 0.5) - 1)]
    print(f"{name:44s} p50 {statistics.median(timings):8.1f} {unit}   p95 {p95:8.1f} {unit}   "
          f"max {timings[-1]:8.1f} {unit}   (n={len(timings)})")


def measure(runs: int, requests: int) -> None:
    from app.clock import FakeClock
    from server.db import open_database
    from server.health import check, last_complete_hour, stored
    from server.health.evaluate import evaluate
    from server.health.indicators import DIMENSIONS
    from server.health.seed import incidents_hour
    from server.migrations import migrate, schema_version
    from server.models import database_proxy

    sdb = open_database(URL)
    with sdb.connection():
        loaded = schema_version(sdb)
    if loaded != migrate(sdb):  # a kept database gets the migrations added since it was loaded
        _analyze()  # … and the planner's statistics of what they rewrote (a backfill updates every parcel)
    database_proxy.initialize(sdb.db)
    with sdb.connection(), sdb.write():  # every run starts with nothing kept, as after the migration
        sdb.execute('DELETE FROM "health_reading"')
    seed_end = _seed_end(sdb)
    clock = FakeClock(seed_end + timedelta(minutes=5))
    incident = incidents_hour(seed_end)
    last = last_complete_hour(clock)
    for name, hour in (("incident hour", incident), ("last complete hour", last)):
        timings = []
        flagged: list[str] = []
        for _ in range(runs):
            started = time.perf_counter()
            readings, _ = check(sdb, clock, WAREHOUSE, hour=hour)
            timings.append(time.perf_counter() - started)
            flagged = [r.indicator.name for r in readings if r.flagged]
        _figures(f"check + keep, all {len(readings)} indicators ({name})", timings, "s")
        print(f"    flagged: {', '.join(flagged) or 'none'}")
    timings = []
    for _ in range(runs * 4):
        started = time.perf_counter()
        stored.keep(sdb, clock, WAREHOUSE, last, readings)
        timings.append((time.perf_counter() - started) * 1000)
    _figures(f"keep one hour's readings ({len(readings)} rows)", timings)
    for dimension in DIMENSIONS:
        timings = []
        for _ in range(max(1, runs // 2)):
            started = time.perf_counter()
            sliced = evaluate(sdb, WAREHOUSE, incident, dimension=dimension)
            timings.append(time.perf_counter() - started)
        _figures(f"every indicator by {dimension} ({len(sliced)} readings)", timings, "s")
    timings = []
    for hour in sorted({h - timedelta(hours=k) for h in (incident, last) for k in range(1, 24)}):
        started = time.perf_counter()
        check(sdb, clock, WAREHOUSE, hour=hour)
        timings.append(time.perf_counter() - started)
    _figures("the schedule's hourly check + keep (24 h before each page hour)", timings, "s")
    sdb.close()
    _pages(requests, clock, incident)


def _seed_end(sdb: ServerDb) -> datetime:
    """The seed's end hour: parcels are packed before it."""
    with sdb.connection():
        latest = sdb.execute('SELECT MAX("packed_at") FROM "parcel"').fetchone()[0]
    last = datetime.fromisoformat(str(latest).replace("Z", "+00:00")).replace(minute=0, second=0, microsecond=0)
    return last + timedelta(hours=1)


def false_positives() -> None:
    """Every indicator, whole and by station, over the clean week's 168 hours, each judged as the
    schedule judges it (on a rewound copy: the bench database is kept as it is)."""
    from bench.health_false_positives import report_flags
    from server.db import open_database
    from server.health.seed import judge_as_of

    admin = psycopg2.connect(ADMIN_URL)
    admin.autocommit = True
    admin.cursor().execute(f'DROP DATABASE IF EXISTS "{AS_OF_DB}"')
    started = time.perf_counter()
    admin.cursor().execute(f'CREATE DATABASE "{AS_OF_DB}" TEMPLATE "{DB}"')
    print(f"copied {DB} to {AS_OF_DB} in {time.perf_counter() - started:.0f} s")
    sdb = open_database(url_of(AS_OF_DB))
    last = _seed_end(sdb) - timedelta(hours=25)  # the week before the incidents' day
    started = time.perf_counter()
    found = judge_as_of(sdb, WAREHOUSE, last, 24 * 7, timedelta(minutes=5))
    sdb.close()
    admin.cursor().execute(f'DROP DATABASE "{AS_OF_DB}"')
    admin.close()
    print("false positives, ", end="")
    report_flags(found, last, time.perf_counter() - started)


def _pages(requests: int, clock: Clock, hour: datetime) -> None:
    from fastapi.testclient import TestClient

    from app.clock import iso
    from server.app import create_app
    from server.config import ServerConfig

    app = create_app(ServerConfig(Path("/tmp/pb_health_bench"), database_url=URL), carrier_worker=False, jobs=False,
                     clock=clock)
    with TestClient(app, base_url="http://127.0.0.1") as client:
        log_in(client)

        def timed(path: str) -> float:
            started = time.perf_counter()
            reply = client.get(path)
            assert reply.status_code == 200, reply.text[:300]
            return (time.perf_counter() - started) * 1000

        page = f"/console/health?warehouse={WAREHOUSE}"
        first = client.get(f"{page}&hour={iso(hour)}")
        assert 'class="bad">' in first.text, "the planted incidents should show as flagged"
        _figures("health page (last complete hour, kept)", [timed(page) for _ in range(requests)])
        _figures("health page (incident hour, kept)", [timed(f"{page}&hour={iso(hour)}") for _ in range(requests)])
        for indicator in ("scan_error_rate", "pickup_delay_p90"):
            path = f"{page}&hour={iso(hour)}&indicator={indicator}"
            print(f"drill-down {indicator}, first view (slices evaluated, kept): {timed(path):8.1f} ms")
            _figures(f"drill-down {indicator} (24 h kept + slices kept)",
                     [timed(path) for _ in range(max(3, requests // 3))])
        # Hours three to four days back: nothing kept there, each request evaluates (and keeps) its own.
        cold = [hour - timedelta(days=3, hours=k) for k in range(max(3, requests // 10))]
        _figures("health page, hour not kept (evaluated on the request)",
                 [timed(f"{page}&hour={iso(h)}") for h in cold])
        apart = [hour - timedelta(days=4 + k) for k in range(3)]  # charts of 24 h that do not overlap
        _figures("drill-down pickup_delay_p90, nothing kept (24 h + slices)",
                 [timed(f"{page}&hour={iso(h)}&indicator=pickup_delay_p90") for h in apart])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=1_000_000)
    parser.add_argument("--weeks", type=int, default=8)
    parser.add_argument("--scans-per-parcel", type=int, default=5)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--requests", type=int, default=30)
    parser.add_argument("--keep", action="store_true", help="reuse the loaded database")
    parser.add_argument("--false-positives", action="store_true",
                        help="also judge the clean week as the schedule does, on a rewound copy")
    args = parser.parse_args()
    print(f"load before: {os.getloadavg()}")
    end = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    if not args.keep:
        load(args.orders, args.weeks, args.scans_per_parcel, end)
    measure(args.runs, args.requests)
    if args.false_positives:
        false_positives()
    print(f"load after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
