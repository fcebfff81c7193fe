"""Order health on clean history, judged as the schedule judges it: each hour of a week evaluated on
the history as it stood minutes after the hour ended (`server.health.seed.judge_as_of`), never with
hindsight, whole and by station, on each backend. An indicator that judged a window not yet complete
(parcels handed over an hour ago cannot have been picked up) would flag hour after hour here.

Measured on this seed (36 days, 30 orders an hour at the peak's mean, seed 7): 4 of 2,098 readings
judged over the 168 hours were flagged, 0.19 % (2 × scan error rate, 2 × orders in, the whole
warehouse, each as unlikely as 2.7σ or more under its Poisson law); before the σ of the baseline's
own median, the Poisson tail and the p90's minimum of 20 parcels, 16 of 2,611 (0.61 %)."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

from app.clock import iso
from server.db import open_database
from server.health.seed import judge_as_of, seed_history
from server.migrations import migrate
from tests.live_server import fresh_database

END = datetime(2026, 12, 4, 12, tzinfo=UTC)
WH = "HZ-1"
SCHEDULE_DELAY = timedelta(minutes=5)  # the schedule runs every 15 minutes: the last complete hour, soon after


def test_a_clean_week_judged_as_the_schedule_does_flags_almost_nothing(backend: str, tmp_path: Path) -> None:
    with fresh_database(backend, tmp_path) as url:
        sdb = open_database(url)
        migrate(sdb)
        seed_history(sdb, WH, 36, END, orders_per_hour=30)  # 4 baseline weeks before the week judged
        last = END - timedelta(hours=25)  # the week before the incidents' day
        found = judge_as_of(sdb, WH, last, 24 * 7, SCHEDULE_DELAY)
        with sdb.connection():  # it was judged on the history of its time: nothing after it was left
            latest = sdb.execute('SELECT MAX("packed_at") FROM "parcel"').fetchone()[0]
        sdb.close()
    first = last - timedelta(hours=24 * 7 - 1)
    assert str(latest) < iso(first + timedelta(hours=1) + SCHEDULE_DELAY)
    assert found.judged > 2000  # every indicator whole and by station, hours with the volume to be judged
    by_indicator = Counter(r.indicator.name for r in found.flagged)
    # 2σ one-sided is a 2.3 % chance per reading on noise alone; no indicator may flag more than a
    # few hours of the week, and all together well under 1 %.
    assert found.rate < 0.005 and max(by_indicator.values(), default=0) <= 3, (
        found.rate, [(r.indicator.name, r.key, r.hour, r.value, r.baseline, r.z) for r in found.flagged])
