"""Order-health readings kept per hour: read back they are the readings a fresh evaluation gives; the
page reads them instead of evaluating; evaluating an hour again replaces its rows; silences and
thresholds set after an hour was kept still show; late facts reach a kept hour at the next scheduled
run, until the hour has settled; an incomplete hour is never kept. Time is a fake clock."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from app.clock import FakeClock, iso, parse_iso
from server.db import ServerDb
from server.health import check, stored
from server.health.evaluate import Reading, evaluate, evaluate_hours
from server.health.indicators import INDICATORS
from server.health.seed import seed_history
from tests.live_server import fresh_database

END = datetime(2026, 12, 4, 12, tzinfo=UTC)
WH = "HZ-1"


@pytest.fixture(scope="module")
def seeded(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ServerDb, dict[str, str], str]]:
    """Thirty days of history on each backend (four baseline weeks and the incidents' day), seeded once."""
    from server.db import open_database
    from server.migrations import migrate

    with fresh_database(backend, tmp_path_factory.mktemp("stored")) as url:
        sdb = open_database(url)
        migrate(sdb)
        made = seed_history(sdb, WH, 30, END, orders_per_hour=30)
        yield sdb, made.incidents, url
        sdb.close()


def _facts(readings: list[Reading]) -> list[tuple[object, ...]]:
    return [(r.indicator.name, r.dimension, r.slice, r.hour, r.value, r.volume, r.baseline, r.sigma, r.z, r.flagged,
             r.silenced, r.why) for r in readings]


def _rows(sdb: ServerDb, hour: datetime, dimension: str = "") -> list[tuple[object, ...]]:
    with sdb.connection():
        return [tuple(r) for r in sdb.execute(
            'SELECT "indicator", "slice", "value", "evaluated_at" FROM "health_reading" WHERE "warehouse" = ? '
            'AND "hour" = ? AND "dimension" = ? ORDER BY "indicator", "slice"', (WH, iso(hour), dimension)).fetchall()]


def _no_evaluation(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> list[Reading]:
        raise AssertionError("evaluated although the readings were kept")

    monkeypatch.setattr(stored, "evaluate", refuse)
    monkeypatch.setattr(stored, "evaluate_hours", refuse)


def test_kept_readings_read_back_as_a_fresh_evaluation_gives_them(seeded: tuple[ServerDb, dict[str, str], str],
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    sdb, incidents, _ = seeded
    hour = parse_iso(incidents["misreads"])
    clock = FakeClock(hour + timedelta(hours=1, minutes=5))
    computed, _ = check(sdb, clock, WH, hour=hour)
    assert [r.indicator.name for r in computed if r.flagged] == ["scan_error_rate", "intercept_rate", "not_collected"]
    by_station = evaluate(sdb, WH, hour, dimension="station")
    stored.keep(sdb, clock, WH, hour, by_station, "station")
    _no_evaluation(monkeypatch)
    assert _facts(stored.readings(sdb, clock, WH, hour)) == _facts(computed)
    assert _facts(stored.readings(sdb, clock, WH, hour, dimension="station")) == _facts(by_station)
    one = stored.readings(sdb, clock, WH, hour, names=["not_collected", "orders_in"])
    assert [r.indicator.name for r in one] == ["not_collected", "orders_in"]  # in the order asked, as evaluate


def test_hours_evaluated_together_are_each_as_evaluated_alone(seeded: tuple[ServerDb, dict[str, str], str]) -> None:
    sdb, incidents, _ = seeded
    hours = [parse_iso(incidents["misreads"]) - timedelta(hours=k) for k in range(5)]
    together = evaluate_hours(sdb, WH, hours)
    assert [_facts(one) for one in together] == [_facts(evaluate(sdb, WH, hour)) for hour in hours]
    assert any(r.flagged for r in together[0])
    by_carrier = evaluate_hours(sdb, WH, hours[:2], dimension="carrier", names=["not_collected", "pickup_delay_p90"])
    assert [_facts(one) for one in by_carrier] == [
        _facts(evaluate(sdb, WH, hour, dimension="carrier", names=["not_collected", "pickup_delay_p90"]))
        for hour in hours[:2]]


def test_an_hour_not_kept_is_evaluated_and_kept_once_complete(seeded: tuple[ServerDb, dict[str, str], str]) -> None:
    sdb, incidents, _ = seeded
    hour = parse_iso(incidents["misreads"]) - timedelta(days=3, hours=2)
    during = FakeClock(hour + timedelta(minutes=40))  # the hour is not over: evaluated, not kept
    assert _facts(stored.readings(sdb, during, WH, hour)) == _facts(evaluate(sdb, WH, hour))
    assert _rows(sdb, hour) == []
    after = FakeClock(hour + timedelta(hours=1))
    chart = stored.hours(sdb, after, WH, [hour - timedelta(hours=1), hour], names=["scan_error_rate"])
    assert [len(one) for one in chart] == [1, 1]
    assert [row[0] for row in _rows(sdb, hour)] == ["scan_error_rate"]  # only what was asked is kept
    assert len(stored.readings(sdb, after, WH, hour)) == len(INDICATORS)  # the rest evaluated when asked for
    assert len(_rows(sdb, hour)) == len(INDICATORS)
    other = stored.readings(sdb, after, WH, hour, weeks=2)  # another baseline: evaluated, not kept
    assert _facts(other) == _facts(evaluate(sdb, WH, hour, weeks=2)) and _facts(other) != _facts(
        stored.readings(sdb, after, WH, hour))


def test_evaluating_an_hour_again_replaces_its_rows_and_its_slices(seeded: tuple[ServerDb, dict[str, str], str]
                                                                    ) -> None:
    sdb, incidents, _ = seeded
    hour = parse_iso(incidents["misreads"]) - timedelta(days=2, hours=5)
    clock = FakeClock(hour + timedelta(hours=1, minutes=5))
    check(sdb, clock, WH, hour=hour)
    first = _rows(sdb, hour)
    by_station = stored.readings(sdb, clock, WH, hour, dimension="station")
    ghost = replace(by_station[0], slice="HZ-1-GONE")  # a slice whose facts have since been corrected away
    stored.keep(sdb, clock, WH, hour, [*by_station, ghost], "station")
    assert "HZ-1-GONE" in [r.slice for r in stored.readings(sdb, clock, WH, hour, dimension="station")]
    clock.advance(minutes=15)
    check(sdb, clock, WH, hour=hour)
    again = _rows(sdb, hour)
    assert [r[:3] for r in again] == [r[:3] for r in first]
    assert len(again) == len(INDICATORS)  # one set of rows, not two
    assert {r[3] for r in again} == {iso(clock.now())}
    assert _rows(sdb, hour, "station") == []  # the slices went with the hour they were derived from
    assert _facts(stored.readings(sdb, clock, WH, hour, dimension="station")) == _facts(by_station)


def test_silences_and_thresholds_set_after_the_hour_was_kept_still_show(
        seeded: tuple[ServerDb, dict[str, str], str], monkeypatch: pytest.MonkeyPatch) -> None:
    sdb, incidents, _ = seeded
    hour = parse_iso(incidents["misreads"])
    clock = FakeClock(hour + timedelta(hours=1, minutes=5))
    check(sdb, clock, WH, hour=hour)
    _no_evaluation(monkeypatch)
    shown = {r.indicator.name: r for r in stored.readings(sdb, clock, WH, hour, silenced={"scan_error_rate"})}
    assert shown["scan_error_rate"].flagged and shown["scan_error_rate"].silenced  # still flagged, and silenced
    assert shown["intercept_rate"].flagged and not shown["intercept_rate"].silenced
    everything = stored.readings(sdb, clock, WH, hour, silenced={"*"})
    assert all(r.silenced for r in everything)
    limited = {r.indicator.name: r for r in stored.readings(sdb, clock, WH, hour,
                                                            thresholds={"orders_in": ("min", 1e9)})}
    assert limited["orders_in"].flagged and limited["orders_in"].why == "threshold min 1e+09"


def test_late_facts_reach_a_kept_hour_at_the_next_runs_until_it_has_settled(
        seeded: tuple[ServerDb, dict[str, str], str]) -> None:
    sdb, incidents, _ = seeded
    hour = parse_iso(incidents["misreads"]) - timedelta(days=4, hours=3)
    clock = FakeClock(hour + timedelta(hours=1, minutes=5))
    readings, _ = check(sdb, clock, WH, hour=hour)
    assert not {r.indicator.name: r for r in readings}["scan_error_rate"].flagged
    with sdb.connection(), sdb.write():  # a station back online: its hour's scans were almost all errors
        sdb.execute('UPDATE "metric_hour" SET "errors" = "scans" WHERE "warehouse" = ? AND "hour" = ?',
                    (WH, iso(hour)))
    clock.advance(minutes=55)  # the next hour is the last complete one, this one was written 55 min ago
    assert hour not in stored.settle(sdb, clock, WH)
    assert not {r.indicator.name: r for r in stored.readings(sdb, clock, WH, hour)}["scan_error_rate"].flagged
    clock.advance(minutes=15)
    assert hour in stored.settle(sdb, clock, WH)
    assert {r.indicator.name: r for r in stored.readings(sdb, clock, WH, hour)}["scan_error_rate"].flagged
    clock.advance(hours=5, minutes=30)  # 6 h 45 min after the hour's end: its last evaluation
    assert hour in stored.settle(sdb, clock, WH)
    settled_at = iso(clock.now())
    clock.advance(hours=1, minutes=5)
    assert hour not in stored.settle(sdb, clock, WH)  # evaluated at least 6 h after its end: settled
    assert {r[3] for r in _rows(sdb, hour)} == {settled_at}


def test_the_schedule_keeps_the_last_complete_hour(seeded: tuple[ServerDb, dict[str, str], str],
                                                   tmp_path: Path) -> None:
    from server.alerts.schedule import Scheduler
    from server.config import ServerConfig

    sdb, incidents, url = seeded
    clock = FakeClock(parse_iso(incidents["misreads"]) - timedelta(days=1, minutes=50))
    last = clock.now().replace(minute=0) - timedelta(hours=1)
    config = ServerConfig(tmp_path, database_url=url)
    kept = evaluate(sdb, WH, last - timedelta(days=7))
    old, recent = (clock.now() - timedelta(days=config.health_readings_days, hours=k) for k in (1, -1))
    for hour in (old, recent):  # readings kept a year and more ago
        stored.keep(sdb, clock, WH, hour, kept)
    assert Scheduler(sdb, config, clock).run_due()
    assert len(_rows(sdb, last)) == len(INDICATORS)
    assert all(len(_rows(sdb, last - timedelta(hours=k))) == len(INDICATORS) for k in range(1, stored.SETTLE_HOURS + 2))
    # Older than health_readings_days: gone.
    assert (len(_rows(sdb, old)), len(_rows(sdb, recent))) == (0, len(INDICATORS))
