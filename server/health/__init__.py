"""Order health: indicators per warehouse and hour, judged against their own history.

    indicators  what is measured (unit, bad direction, minimum volume) and the SQL that counts it
    evaluate    one hour against the same hour of the previous weeks (median/MAD), 2σ flags,
                thresholds
    orders      the facts behind an hour: the orders, their slices, SKUs and times
    explain     which slice (and SKU, part of the hour) holds an anomaly's excess, in words
    state       silence windows, thresholds, and the alert state (an anomaly alerts once until it
                recovers)
    stored      the readings kept per hour, which the console reads; late facts settled
    seed        a realistic demo history with planted incidents (`packbench server demo seed`)

`check` is what `packbench server health` and the server's schedule run; it keeps what it evaluated
for a complete hour (`stored`).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from app.clock import Clock
from server.db import ServerDb
from server.health import stored
from server.health.evaluate import WEEKS, Reading, evaluate
from server.health.explain import Explanation, explain, explain_slices, hour_facts
from server.health.state import NewAlert, mark_notified, silenced_names, silences_at, thresholds, track_alerts

Notify = Callable[[NewAlert], str]  # sends one alert, returns what the channels answered
UTC_ZONE = ZoneInfo("UTC")  # where no warehouse zone is given: a record then says "UTC", never a wrong zone


def last_complete_hour(clock: Clock) -> datetime:
    return clock.now().replace(minute=0, second=0, microsecond=0) - timedelta(hours=1)


def explain_kept(sdb: ServerDb, clock: Clock, warehouse: str, reading: Reading,
                 weeks: int = WEEKS) -> Explanation | None:
    """`explain` from the hour's kept slices (evaluated and kept where none are yet) and its facts."""
    return explain_slices(reading, {
        d: stored.readings(sdb, clock, warehouse, reading.hour, dimension=d, names=[reading.indicator.name],
                           weeks=weeks) for d in reading.indicator.slices}, hour_facts(sdb, warehouse, reading, weeks))


def check(sdb: ServerDb, clock: Clock, warehouse: str, *, hour: datetime | None = None, weeks: int = WEEKS,
          dimension: str | None = None, notify: Notify | None = None,
          zone: ZoneInfo = UTC_ZONE) -> tuple[list[Reading], list[NewAlert]]:
    """Evaluate every indicator for `hour` (default: the last complete hour) and keep the readings of a
    complete hour; with `notify`, open and send alerts for what is newly flagged (explained from the
    hour's stored slices; the English record names the hour in `zone`, the warehouse's, server.toml
    `timezone`) and close the ones that recovered."""
    hour = hour or last_complete_hour(clock)
    silenced = silenced_names(silences_at(sdb, warehouse, clock.now()))
    readings = evaluate(sdb, warehouse, hour, weeks=weeks, dimension=dimension,
                        thresholds=thresholds(sdb, warehouse), silenced=silenced)
    stored.keep(sdb, clock, warehouse, hour, readings, dimension, weeks)
    alerts: list[NewAlert] = []
    if notify is not None:
        alerts = track_alerts(sdb, clock, warehouse, readings,
                              lambda r: explain_kept(sdb, clock, warehouse, r, weeks), zone)
        for alert in alerts:
            mark_notified(sdb, clock, warehouse, alert, notify(alert))
    return readings, alerts


__all__ = ["NewAlert", "Notify", "Reading", "check", "evaluate", "explain", "explain_kept", "last_complete_hour"]
