"""Benchmark: the console's Today and Reconciliation pages on a large PostgreSQL database.

    python bench/console_pages.py [--orders 1000000] [--events 10000000] [--requests 40] [--keep]

Creates the database `pb_console_bench` on 127.0.0.1:5432 (dropped first; `--keep` reuses a loaded
one), migrates it, bulk-loads with COPY: `--orders` orders over 60 business days (Asia/Shanghai, the
server's default zone, ending today; in the order they were paid) in one warehouse (20 shops), one
live parcel per packed order (95 % packed, 90 % handed over), the stations' scan and shipment events
of every packed order (two scans and a shipment, by 8 packers at 4 stations), and `--events` carrier
tracking events spread over the parcels; then brings the orders' fulfilment flags up to date
(`server.fulfilment`, timed), and logs one console user in. It requests each page `--requests` times
through the ASGI app in process (Jinja2 rendering and SQL included, no network), checks that the page
shows today's figures, and prints p50 / p95 / max in ms with the machine's load.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import psycopg2

from bench._console_db import copy_rows, log_in, recreate, url_of

ZONE = ZoneInfo("Asia/Shanghai")
STATIONS = 4
PACKERS = 8
DB = "pb_console_bench"
URL = url_of(DB)
WAREHOUSE = "WH1"
DAYS = 60


def load(orders: int, events: int, now: datetime) -> None:
    from server.db import open_database
    from server.fulfilment import refresh_warehouse

    sdb = recreate(DB, WAREHOUSE)
    sdb.close()
    started = time.perf_counter()
    conn = psycopg2.connect(URL)
    cur = conn.cursor()
    for n in range(STATIONS):
        cur.execute("INSERT INTO \"station\" (\"station_id\", \"name\", \"warehouse\", \"secret\", \"key_id\", "
                    "\"public_key\", \"enrolled_at\", \"next_seq\") VALUES (%s, %s, %s, 's', %s, 'p', %s, 1)",
                    (f"ST-BENCH0{n}", f"BENCH-{n}", WAREHOUSE, f"k{n}", now.isoformat()))
    today = now.astimezone(ZONE).date()

    def day_of(i: int) -> date:  # chronological, as a platform export arrives: a day's orders lie together
        return today - timedelta(days=DAYS - 1 - i * DAYS // orders)

    def stamp(day: date, hour: int, minute: int = 0) -> str:
        local = datetime(day.year, day.month, day.day, hour % 24, minute % 60, tzinfo=ZONE)
        return local.astimezone(UTC).isoformat().replace("+00:00", ".000Z")

    def order_rows():
        for i in range(orders):
            day = day_of(i)
            paid = stamp(day, 8 + i % 14, i)
            status = "cancelled" if i % 50 == 0 else ("shipped" if i % 20 else "paid")
            yield (f"O{i:09d}", WAREHOUSE, day.isoformat(), "canonical", f"shop-{i % 20}", status,
                   paid, paid, i, "", "", "", "", 1000, 1000, "SF", "")

    copy_rows(cur, "order", ("order_id", "warehouse", "day", "platform", "shop", "status", "paid_at", "updated_at",
                             "pos", "buyer", "receiver_name", "receiver_phone", "receiver_address", "total_cents",
                             "paid_cents", "carrier", "note"), order_rows())

    def parcel_rows():
        for i in range(orders):
            if i % 20 == 0:
                continue  # not packed
            day = day_of(i)
            packed = stamp(day, 9 + i % 14, i)
            handed = None if i % 10 == 1 else stamp(day, 10 + i % 14, i)
            yield (f"SF{i:012d}", "SF", f"O{i:09d}", WAREHOUSE, f"ST-BENCH0{i % STATIONS}", packed, handed, packed)

    copy_rows(cur, "parcel", ("tracking_no", "carrier", "order_id", "warehouse", "station_id", "packed_at",
                              "handed_over_at", "updated_at"), parcel_rows())

    def station_event_rows():
        seq = [0] * STATIONS
        for i in range(orders):
            if i % 20 == 0:
                continue
            day = day_of(i)
            station = i % STATIONS
            actor = f"P-{i % PACKERS:02d}"
            facts = (("scan", {"actor": actor, "code": f"O{i:09d}", "outcome": "order_opened"}),
                     ("scan", {"actor": actor, "code": "6901234560015",
                               "outcome": "wrong_item" if i % 97 == 0 else "item_ok"}),
                     ("shipment.created", {"actor": actor, "order_id": f"O{i:09d}", "tracking_no": f"SF{i:012d}",
                                           "carrier": "SF"}))
            for k, (kind, body) in enumerate(facts):
                seq[station] += 1
                at = stamp(day, 9 + i % 14, i)
                yield (f"{i:012d}-{k}", f"ST-BENCH0{station}", seq[station], kind, at, json.dumps(body), "h",
                       "accepted", at)

    copy_rows(cur, "station_event", ("event_id", "station_id", "seq", "kind", "at", "payload", "body_hash", "status",
                                     "received_at"), station_event_rows())
    per_parcel = max(1, events // max(1, orders))

    def event_rows():
        made = 0
        i = 0
        states = ("picked_up", "in_transit", "in_transit", "out_for_delivery", "delivered")
        while made < events:
            if i % 20 == 0 or i % 10 == 1:
                i += 1
                continue
            if i >= orders:
                i = 1
            day = day_of(i)
            base = datetime(day.year, day.month, day.day, 11 + i % 12, tzinfo=ZONE).astimezone(UTC)
            for k in range(per_parcel):
                when = (base + timedelta(hours=3 * k, seconds=made % 60)).isoformat().replace("+00:00", ".000Z")
                yield ("SF", f"SF{i:012d}", states[min(k, 4)], "0", when, when, "杭州", "", "已揽收", f"h{made}",
                       "bench", 0, "{}", when)
                made += 1
                if made >= events:
                    break
            i += 1

    copy_rows(cur, "tracking_event", ("carrier", "tracking_no", "status", "carrier_status", "time", "time_raw", "site",
                                      "courier", "context", "context_hash", "source", "push_id", "raw", "received_at"),
              event_rows())
    conn.commit()
    conn.close()
    print(f"loaded {orders} orders, {events} tracking events in {time.perf_counter() - started:.0f} s")
    started = time.perf_counter()
    sdb = open_database(URL)
    with sdb.connection(), sdb.write():
        refresh_warehouse(sdb, WAREHOUSE)
    sdb.close()
    print(f"fulfilment flags of the warehouse refreshed in {time.perf_counter() - started:.1f} s")
    admin = psycopg2.connect(URL)
    admin.autocommit = True
    admin.cursor().execute("VACUUM ANALYZE")  # what autovacuum does after a bulk load: index-only scans work
    admin.close()


def measure(requests: int) -> None:
    from fastapi.testclient import TestClient

    from server.app import create_app
    from server.config import ServerConfig

    app = create_app(ServerConfig(Path("/tmp/pb_console_bench"), database_url=URL), carrier_worker=False, jobs=False)
    with TestClient(app, base_url="http://127.0.0.1") as client:
        log_in(client)
        today = datetime.now(ZONE).date()
        with psycopg2.connect(URL) as conn, conn.cursor() as cur:
            cur.execute('SELECT COUNT(*) FROM "order" WHERE "warehouse" = %s AND "day" = %s',
                        (WAREHOUSE, today.isoformat()))
            orders_today = int(cur.fetchone()[0])
        page = client.get("/console/").text
        assert orders_today and (str(orders_today) in page or f"{orders_today:,}" in page), \
            f"the Today page does not show today's {orders_today} orders"
        print(f"today ({today}, Asia/Shanghai): {orders_today} orders, shown on the page")
        pages = {"today": "/console/", "reconciliation (2 days)": "/console/reconciliation?warehouse=WH1"}
        for days in (7, 31):
            pages[f"reconciliation ({days} days)"] = (f"/console/reconciliation?warehouse=WH1&from="
                                                      f"{(today - timedelta(days=days - 1)).isoformat()}")
        for name, path in pages.items():
            timings = []
            for _ in range(requests):
                started = time.perf_counter()
                reply = client.get(path)
                timings.append((time.perf_counter() - started) * 1000)
                assert reply.status_code == 200, reply.text[:200]
            timings.sort()
            p95 = timings[max(0, int(len(timings) * 0.95) - 1)]
            median = statistics.median(timings)
            print(f"{name:26s} p50 {median:7.1f} ms   p95 {p95:7.1f} ms   max {timings[-1]:7.1f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=1_000_000)
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--requests", type=int, default=40)
    parser.add_argument("--keep", action="store_true", help="reuse the loaded database")
    args = parser.parse_args()
    print(f"load before: {os.getloadavg()}")
    if not args.keep:
        load(args.orders, args.events, datetime.now(UTC))
    measure(args.requests)
    print(f"load after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
