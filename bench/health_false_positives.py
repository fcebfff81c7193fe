"""Benchmark: order health's false positives and its planted incidents on the demo seed (SQLite).

    python bench/health_false_positives.py [--rates 25,40] [--days 30] [--seeding-hours 24]

For each rate (orders an hour at the rhythm's mean, as `packbench server demo seed` takes it; the demo's
default is 40), a clean history of `--days` days (no incidents planted) is seeded into a temporary
SQLite file and each of the last week's 168 hours is judged as the schedule judges it, on the history
as it stood 5 minutes after the hour ended (`server.health.seed.judge_as_of`), every indicator for the
whole warehouse and by station: the readings judged and flagged are counted, by indicator, each flag
listed. Then the planted incidents, whatever the hour of the day the demo is seeded: for each of the
first `--seeding-hours` hours of a day (UTC) a history with its incidents is seeded ending then, and
the incidents' hour is judged for the whole warehouse — misreads (scan error rate), ZTO not collecting
(parcels not collected) and the refund surge (intercept rate) — counting the seeding hours at which
each is flagged and explained by its slice (BENCH-3, ZTO, the shop), as an alert is. The machine's
load is printed before and after.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.clock import parse_iso
from server.db import ServerDb, open_database
from server.health.evaluate import Reading, evaluate
from server.health.explain import explain
from server.health.seed import AsOf, judge_as_of, seed_history
from server.migrations import migrate

WAREHOUSE = "HZ-1"
END = datetime(2026, 12, 5, 15, tzinfo=UTC)
SCHEDULE_DELAY = timedelta(minutes=5)
# Each planted incident: the indicator that shows it, and the slice it is in.
INCIDENTS = {"misreads": ("scan_error_rate", "station", f"{WAREHOUSE}-BENCH-3"),
             "pickup": ("not_collected", "carrier", "ZTO"),
             "refunds": ("intercept_rate", "shop", "拼多多 家居店")}


def _load() -> str:
    return " / ".join(f"{x:.1f}" for x in os.getloadavg())


def _database(folder: str, name: str) -> ServerDb:
    sdb = open_database(f"sqlite:///{Path(folder) / name}.sqlite3")
    migrate(sdb)
    return sdb


def _described(r: Reading) -> str:
    z = "—" if r.z is None else f"{r.z:.1f}"
    return (f"{r.indicator.name} {r.key or 'whole'}: {r.shown(r.value)} (volume {r.volume}) against "
            f"{r.shown(r.baseline)}, z {z} {r.why}")


def clean_week(folder: str, rate: float, days: int) -> None:
    sdb = _database(folder, f"clean-{rate:g}")
    started = time.perf_counter()
    made = seed_history(sdb, WAREHOUSE, days, END, orders_per_hour=rate, incidents=())
    seeded = time.perf_counter() - started
    last = END - timedelta(hours=1)
    started = time.perf_counter()
    found = judge_as_of(sdb, WAREHOUSE, last, 24 * 7, SCHEDULE_DELAY)
    sdb.close()
    print(f"\n{rate:g} orders/h, {days} days clean ({made.orders:,} orders, seeded in {seeded:.0f} s); ", end="")
    report_flags(found, last, time.perf_counter() - started)


def report_flags(found: AsOf, last: datetime, seconds: float) -> None:
    """The readings flagged of those judged over the week up to `last`, by indicator, then each one."""
    print(f"{last - timedelta(hours=24 * 7 - 1):%Y-%m-%d %H:%M} to {last:%Y-%m-%d %H:%M} UTC, each hour as of "
          f"5 min after it, whole and by station ({seconds:.0f} s): "
          f"{len(found.flagged)} flagged of {found.judged:,} judged = {found.rate:.2%}")
    for (name, dimension), count in sorted(Counter((r.indicator.name, r.dimension or "whole")
                                                   for r in found.flagged).items()):
        print(f"    {name} ({dimension}): {count}")
    for r in found.flagged:
        print(f"    {r.hour:%m-%d %H:%M} {_described(r)}")


def planted(folder: str, rate: float, days: int, seeding_hours: int) -> None:
    caught: Counter[str] = Counter()
    missed: list[str] = []
    started = time.perf_counter()
    for hour in range(seeding_hours):
        sdb = _database(folder, f"planted-{rate:g}-{hour}")
        end = END.replace(hour=hour, minute=7)
        made = seed_history(sdb, WAREHOUSE, days, end, orders_per_hour=rate)
        for incident, (name, dimension, culprit) in INCIDENTS.items():
            reading = evaluate(sdb, WAREHOUSE, parse_iso(made.incidents[incident]), names=[name])[0]
            why = explain(sdb, WAREHOUSE, reading) if reading.flagged else None
            if why is not None and (why.dimension, why.slice) == (dimension, culprit):
                caught[incident] += 1
            else:
                missed.append(f"seeded at {hour:02d}:07, {incident}: {_described(reading)}"
                              + (f", explained by {why.dimension} {why.slice}" if why else ""))
        sdb.close()
    print(f"\n{rate:g} orders/h, {days} days with the incidents, seeded at each of {seeding_hours} hours "
          f"({time.perf_counter() - started:.0f} s): flagged at")
    for incident, (name, dimension, culprit) in INCIDENTS.items():
        print(f"    {incident}: {name} flagged and explained by {dimension} {culprit}: {caught[incident]} of "
              f"{seeding_hours}")
    for line in missed:
        print(f"    not flagged, {line}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rates", default="25,40", help="orders an hour, comma-separated")
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--seeding-hours", type=int, default=24)
    args = parser.parse_args()
    rates = [float(r) for r in args.rates.split(",")]
    print(f"load average at start: {_load()}")
    with tempfile.TemporaryDirectory() as folder:
        for rate in rates:
            clean_week(folder, rate, args.days)
        for rate in rates:
            planted(folder, rate, args.days, args.seeding_hours)
    print(f"\nload average at end: {_load()}")


if __name__ == "__main__":
    main()
