"""Benchmark: the facts behind a health drill-down (`server.health.orders.facts`) on the database
`bench/health_eval.py` loads (`pb_health_bench`, 10^6 orders over 8 weeks; run that first, or with --keep).

    python bench/health_drill.py [--runs 5]

For each indicator whose facts are orders, p50 and max of reading the facts of one hour (what the
drill-down's SKU and ten-minute tables and its order list read), and of that hour with its four
baseline hours (what explaining a flagged hour reads), ten hours before the last parcel packed.
Read-only.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.health_eval import URL, WAREHOUSE


def main() -> None:
    from app.clock import parse_iso
    from server.db import open_database
    from server.health.evaluate import WEEKS, windows
    from server.health.indicators import INDICATORS
    from server.health.orders import facts, has_orders

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    sdb = open_database(URL)
    with sdb.connection():
        last = sdb.execute('SELECT MAX("packed_at") FROM "parcel" WHERE "warehouse" = ?', (WAREHOUSE,)).fetchone()[0]
    hour = parse_iso(str(last)).replace(minute=0, second=0, microsecond=0) - timedelta(hours=10)
    print(f"hour {hour:%Y-%m-%d %H:%M} UTC")
    for indicator in [i for i in INDICATORS if has_orders(i)]:
        for label, spans in (("hour", windows(hour, WEEKS)[:1]), ("hour + baseline", windows(hour, WEEKS))):
            timings, found = [], 0
            for _ in range(args.runs):
                started = time.perf_counter()
                found = len(facts(sdb, indicator, WAREHOUSE, spans))
                timings.append((time.perf_counter() - started) * 1000)
            print(f"{indicator.name:28s} {label:16s} {found:7d} facts   p50 {statistics.median(timings):7.1f} ms   "
                  f"max {max(timings):7.1f} ms")
    sdb.close()


if __name__ == "__main__":
    main()
