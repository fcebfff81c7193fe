"""Order health on clean history, judged as the schedule judges it: each hour of a week evaluated on
the history as it stood minutes after the hour ended (`server.health.seed.judge_as_of`), never with
hindsight, whole and by station, on each backend. An indicator that judged a window not yet complete
(parcels handed over an hour ago cannot have been picked up) would flag hour after hour here.

Measured on this seed (36 days, 30 orders an hour at the peak's mean, seed 7): none of the 3,568 readings
judged over the 168 hours is flagged. Before a rate's or count's bad facts were held to 2σ for the
hour's readings together (2.3 % / 21), 1 of 2,543 (the whole warehouse's scan error rate: a few
errors beyond a small expectation); before the pooled baseline of a rate and the material effect (bad
facts 50 % and 3 beyond the expectation, a p90 25 % and 30 min), 7 of 2,543 (0.28 %: tracking stalled 3,
scan errors 2, orders in 2); before the σ of the baseline's own median, the Poisson tail and the p90's
minimum of 20 parcels, 16 of 2,611 (0.61 %)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

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


def test_a_clean_week_judged_as_the_schedule_does_flags_nothing(backend: str, tmp_path: Path) -> None:
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
    # 2σ one-sided is a 2.3 % chance per reading on noise alone; with a material effect besides, as
    # unlikely as 2σ for the hour's 21 readings together, none of the week's (docs/architecture.md §11.5).
    assert found.flagged == [], (
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


def test_a_rate_s_bad_facts_must_be_as_unlikely_as_2_sigma_is_for_the_hours_readings_together() -> None:
    """The demo's clean week flagged the scan error rate at 8 errors of 275 scans where 3 are expected
    (z 2.9, a chance of 1 %): 2σ for one reading, but the hour judges 21 at once and one of them is that
    far off every third hour. Held to 2.3 % / 21, it is shown beyond 2σ and not flagged. A quiet hour's
    surge still flags: 5 refunds of a shop's 19 parcels where 0.17 are expected (at least half a fact),
    not 4."""
    from server.health.evaluate import HOUR_TAIL, NOT_MATERIAL, TAIL

    hour = datetime(2026, 12, 1, 20, tzinfo=UTC)
    assert pytest.approx(TAIL / len(BY_NAME)) == HOUR_TAIL

    def judged(name: str, bad: int, volume: int, baseline: float) -> tuple[bool, str]:
        sigma = (baseline * (1 - baseline) * volume) ** 0.5 / volume  # the binomial floor
        reading = verdict(BY_NAME[name], hour, "", "", bad / volume, volume, baseline, sigma)
        assert reading.z is not None and reading.z > 2
        return reading.flagged, reading.why

    assert judged("scan_error_rate", 8, 275, 0.011) == (False, NOT_MATERIAL)
    assert judged("scan_error_rate", 12, 275, 0.011) == (True, "2σ")
    assert judged("intercept_rate", 5, 19, 0.009) == (True, "2σ")
    assert judged("intercept_rate", 4, 19, 0.009) == (False, NOT_MATERIAL)


def test_an_open_alert_stays_open_while_its_reading_is_beyond_2_sigma_but_not_flagged(tmp_path: Path) -> None:
    """Recovered means back within 2σ: a misread spike that eases to 8 of 275 (beyond 2σ, not flagged)
    has not recovered, and alerting again when it flares would be a second alert for one incident."""
    from app.clock import FakeClock
    from server.health.evaluate import Reading
    from server.health.state import track_alerts

    sdb = open_database(f"sqlite:///{tmp_path / 'server.sqlite3'}")
    migrate(sdb)
    clock = FakeClock(datetime(2026, 12, 1, 21, 5, tzinfo=UTC))
    rate = BY_NAME["scan_error_rate"]

    def hour_of(bad: int, hour: int) -> Reading:
        return verdict(rate, datetime(2026, 12, 1, hour, tzinfo=UTC), "", "", bad / 275, 275, 0.011, 0.0063)

    def alerts() -> list[tuple[str, object]]:
        with sdb.connection():
            return [tuple(r) for r in sdb.execute('SELECT "hour", "recovered_at" FROM "health_alert"').fetchall()]

    zone = ZoneInfo("Asia/Shanghai")
    assert len(track_alerts(sdb, clock, WH, [hour_of(40, 18)], lambda r: None, zone)) == 1
    assert track_alerts(sdb, clock, WH, [hour_of(8, 19)], lambda r: None, zone) == []
    assert [recovered for _, recovered in alerts()] == [None]  # eased, not recovered
    assert track_alerts(sdb, clock, WH, [hour_of(40, 20)], lambda r: None, zone) == []  # the same incident
    track_alerts(sdb, clock, WH, [hour_of(3, 21)], lambda r: None, zone)  # back to its baseline
    assert [recovered is not None for _, recovered in alerts()] == [True]
    sdb.close()

