"""Order health on clean history, judged as the schedule judges it: each hour of a week evaluated on
the history as it stood minutes after the hour ended (`server.health.seed.judge_as_of`), never with
hindsight, whole and by station, on each backend. An indicator that judged a window not yet complete
(parcels handed over an hour ago cannot have been picked up) would flag hour after hour here.

Measured on this seed (36 days, 30 orders an hour at the peak's mean, seed 7): 1 of 2,543 readings
judged over the 168 hours was flagged, 0.04 % (the scan error rate of the whole warehouse: a few errors
beyond a small expectation, as rare under its Poisson law as the planted refund surge at a quiet
hour, which a stricter rule would lose — bench/README.md); before the
pooled baseline of a rate and the material effect (bad facts 50 % and 3 beyond the expectation, a p90
25 % and 30 min), 7 of 2,543 (0.28 %: tracking stalled 3, scan errors 2, orders in 2); before the σ of
the baseline's own median, the Poisson tail and the p90's minimum of 20 parcels, 16 of 2,611 (0.61 %)."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from app.clock import iso
from server.db import open_database
from server.health.evaluate import Measure, baseline_of, verdict
from server.health.indicators import BY_NAME
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
    # 2σ one-sided is a 2.3 % chance per reading on noise alone; with a material effect besides, a
    # reading or two of the week's 2,500 (docs/architecture.md §11.5).
    assert found.rate < 0.001 and max(by_indicator.values(), default=0) <= 1, (
        found.rate, [(r.indicator.name, r.key, r.hour, r.value, r.baseline, r.z) for r in found.flagged])


def test_a_rate_s_baseline_is_its_pooled_rate_and_a_bad_hour_in_the_history_counts_little() -> None:
    """Twelve baseline hours of 200 scans at 1 % misreads, their errors as a Poisson law spreads them
    (0–7 an hour): the median of the hourly rates is 0.5 %, half the rate, and σ and the Poisson
    expectation drawn from it were with it. Pooled, the baseline is the rate; one hour of 60 misreads (an
    incident the week before) moves it by a few facts, not by 60."""
    rate = BY_NAME["scan_error_rate"]
    errors = (0, 0, 1, 1, 1, 1, 1, 2, 2, 3, 5, 7)  # 24 misreads in 2,400 scans
    history = [Measure(e / 200, 200) for e in errors]
    now = Measure(0.01, 200)
    assert sorted(errors)[5:7] == [1, 1]  # the median hour: 0.5 %
    assert baseline_of(rate, now, history)[0] == pytest.approx(0.01, rel=0.05)  # 7 held at 6.2 (2 + 3σ)
    incident = [*history[:-1], Measure(60 / 200, 200)]  # pooled as it is: 77 in 2,400, 3.2 %
    baseline, _ = baseline_of(rate, now, incident)
    assert baseline is not None and 0.009 < baseline < 0.0105


def test_a_flag_needs_a_material_effect_besides_2_sigma() -> None:
    """Beyond 2σ is not enough: a stock rate 25 % above its level at 3σ (650 parcels owed news), 4 bad
    facts where 1.6 are expected, and a p90 20 % longer are not flagged; half again as many bad facts
    (and 3 more) as unlikely as 2σ, and a p90 a quarter and 30 min longer, are."""
    hour = datetime(2026, 12, 1, 20, tzinfo=UTC)

    def flagged(name: str, value: float, volume: int, baseline: float, sigma: float) -> bool:
        return verdict(BY_NAME[name], hour, "", "", value, volume, baseline, sigma).flagged

    assert not flagged("tracking_stalled_rate", 0.2125, 650, 0.17, 0.014)  # z 3.0, +25 %
    assert flagged("tracking_stalled_rate", 0.26, 650, 0.17, 0.014)  # +53 %, 58 parcels beyond
    assert not flagged("scan_error_rate", 4 / 160, 160, 0.01, 0.0075)  # z 2.0+, 2.4 facts beyond
    assert flagged("scan_error_rate", 9 / 160, 160, 0.01, 0.0075)  # 7.4 facts beyond, 1 in 10^4
    assert not flagged("paid_to_packed_p90", 4.8, 60, 4.0, 0.35)  # z 2.3, +20 %
    assert flagged("paid_to_packed_p90", 5.2, 60, 4.0, 0.35)  # +30 %, 1.2 h
    assert not flagged("orders_in", 46, 46, 67, 9.0)  # z 2.3, 31 % short
    assert flagged("orders_in", 30, 30, 67, 9.0)  # 55 % short
