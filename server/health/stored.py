"""Order-health readings kept per hour (`health_reading`, migration 13): the console reads what the
schedule already evaluated instead of evaluating every indicator again per request.

A row is one reading — (warehouse, hour, indicator, dimension, slice) → value, volume, baseline, σ, z,
flagged, why, evaluated_at; the whole warehouse has dimension and slice ''. What counts is the
measurement and its baseline: a reading read back is judged again (`evaluate.verdict`, a pure function
of those numbers) with the thresholds and silences of the moment, so a threshold set or a silence
started after the hour was written shows at once, exactly as a fresh evaluation would.

Writing an hour replaces its rows (delete, then insert-or-update, in one transaction: two writers of
the same hour leave one set of rows): the indicators written and, when it is the whole warehouse,
their slices of that hour too — they came from the same facts and are evaluated again when asked for.
Reading an hour that has no rows for an indicator (a fresh install, the current hour, an indicator
added since) evaluates it, and keeps it once the hour is complete. Only the default baseline
(`evaluate.WEEKS` weeks) is kept; another `--weeks` is evaluated and not kept.

Late facts (a station back from a day offline, a carrier pushing pickup scans hours late) change
hours already written. Each scheduled run therefore also evaluates again the hours of the last
`SETTLE_HOURS` whose rows are missing, or were written less than `SETTLE_HOURS` after the hour ended
and at least an hour ago (`settle`): each hour is evaluated again about hourly until one evaluation
is `SETTLE_HOURS` after its end — some six evaluations more per hour, instead of re-evaluating every
recent hour on every run. Those re-evaluations update readings and charts but raise no alerts:
alerts are about the last complete hour (`server.health.check`). A fact later than that reaches the
stored readings when `packbench server health --hour H` evaluates its hour again.

The table grows by about 14 rows an hour per warehouse, plus the slices opened in the console; each
scheduled run deletes the readings older than `health_readings_days` (server.toml, default 400: the
monthly reports and a comparison with the same month a year before read them) (`prune`). A pruned
hour asked for again is evaluated, as any hour not kept.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta

from app.clock import Clock, iso, parse_iso
from server.db import ServerDb, chunks, placeholders
from server.health.evaluate import WEEKS, Reading, evaluate, evaluate_hours, verdict
from server.health.indicators import BY_NAME, INDICATORS, Indicator

HOUR = timedelta(hours=1)
SETTLE_HOURS = 6
_COLUMNS = ('"warehouse"', '"hour"', '"indicator"', '"dimension"', '"slice"', '"value"', '"volume"', '"baseline"',
            '"sigma"', '"z"', '"flagged"', '"why"', '"evaluated_at"')
_KEY = '"warehouse", "hour", "indicator", "dimension", "slice"'
_UPSERT = (f'INSERT INTO "health_reading" ({", ".join(_COLUMNS)}) VALUES ({placeholders(len(_COLUMNS))}) '
           f'ON CONFLICT ({_KEY}) DO UPDATE SET '
           + ", ".join(f"{c} = excluded.{c}" for c in _COLUMNS[5:]))


def complete(clock: Clock, hour: datetime) -> bool:
    return hour + HOUR <= clock.now()


def keep(sdb: ServerDb, clock: Clock, warehouse: str, hour: datetime, readings: Sequence[Reading],
         dimension: str | None = None, weeks: int = WEEKS) -> None:
    """Replace the stored readings of `hour` for the indicators in `readings` (evaluated whole, or by
    `dimension`); the whole warehouse's also drop those indicators' slices of that hour. An incomplete
    hour, or another baseline than the default, is not kept."""
    names = sorted({r.indicator.name for r in readings})
    if not names or weeks != WEEKS or not complete(clock, hour):
        return
    now = iso(clock.now())
    rows = [(warehouse, iso(hour), r.indicator.name, r.dimension, r.slice, r.value, r.volume, r.baseline, r.sigma,
             r.z, int(r.flagged), r.why, now) for r in readings]
    scope = ' AND "dimension" = ?' if dimension is not None else ""
    with sdb.connection(), sdb.write():
        sdb.execute(f'DELETE FROM "health_reading" WHERE "warehouse" = ? AND "hour" = ? AND "indicator" IN '
                    f'({placeholders(len(names))}){scope}',
                    (warehouse, iso(hour), *names, *((dimension,) if dimension is not None else ())))
        sdb.executemany(_UPSERT, rows)


def readings(sdb: ServerDb, clock: Clock, warehouse: str, hour: datetime, *, names: Iterable[str] | None = None,
             dimension: str | None = None, weeks: int = WEEKS, thresholds: dict[str, tuple[str, float]] | None = None,
             silenced: set[str] | None = None) -> list[Reading]:
    """As `evaluate` (same readings, same order), from the stored rows where the hour has them."""
    return hours(sdb, clock, warehouse, [hour], names=names, dimension=dimension, weeks=weeks,
                 thresholds=thresholds, silenced=silenced)[0]


def hours(sdb: ServerDb, clock: Clock, warehouse: str, starts: Sequence[datetime], *,
          names: Iterable[str] | None = None, dimension: str | None = None, weeks: int = WEEKS,
          thresholds: dict[str, tuple[str, float]] | None = None,
          silenced: set[str] | None = None) -> list[list[Reading]]:
    """`readings` for each hour of `starts`, with one query for the stored ones."""
    chosen = [BY_NAME[n] for n in names] if names is not None else list(INDICATORS)
    chosen = [i for i in chosen if dimension is None or dimension in i.slices]
    found = _load(sdb, warehouse, starts, [i.name for i in chosen], dimension or "") if weeks == WEEKS else {}
    missing: dict[tuple[str, ...], list[datetime]] = defaultdict(list)  # what to evaluate → the hours lacking it
    for hour in starts:
        lacking = tuple(i.name for i in chosen if (hour, i.name) not in found)
        if lacking:
            missing[lacking].append(hour)
    for lacking, lacking_hours in missing.items():
        evaluated = evaluate_hours(sdb, warehouse, lacking_hours, weeks=weeks, dimension=dimension, names=lacking)
        for hour, fresh in zip(lacking_hours, evaluated, strict=True):
            keep(sdb, clock, warehouse, hour, fresh, dimension, weeks)
            for reading in fresh:
                found.setdefault((hour, reading.indicator.name), []).append(_row(reading))
    return [[_judged(i, hour, dimension or "", row, thresholds, silenced)
             for i in chosen for row in sorted(found[(hour, i.name)], key=lambda r: r[0])] for hour in starts]


_Row = tuple[str, float | None, int, float | None, float | None]  # slice, value, volume, baseline, sigma


def _row(reading: Reading) -> _Row:
    return reading.slice, reading.value, reading.volume, reading.baseline, reading.sigma


def _judged(indicator: Indicator, hour: datetime, dimension: str, row: _Row,
            thresholds: dict[str, tuple[str, float]] | None, silenced: set[str] | None) -> Reading:
    slice_, value, volume, baseline, sigma = row
    quiet = silenced or set()
    return verdict(indicator, hour, dimension, slice_, value, volume, baseline, sigma,
                   threshold=(thresholds or {}).get(indicator.name),
                   silenced=indicator.name in quiet or "*" in quiet)


def _load(sdb: ServerDb, warehouse: str, starts: Sequence[datetime], names: list[str],
          dimension: str) -> dict[tuple[datetime, str], list[_Row]]:
    """(hour, indicator) → its stored rows, for the hours from the first to the last of `starts`."""
    if not starts or not names:
        return {}
    wanted = set(starts)
    found: dict[tuple[datetime, str], list[_Row]] = defaultdict(list)
    with sdb.connection():
        for part in chunks(names):
            rows = sdb.execute(
                'SELECT "hour", "indicator", "slice", "value", "volume", "baseline", "sigma" FROM "health_reading" '
                f'WHERE "warehouse" = ? AND "hour" >= ? AND "hour" <= ? AND "dimension" = ? AND "indicator" IN '
                f'({placeholders(len(part))})',
                (warehouse, iso(min(starts)), iso(max(starts)), dimension, *part)).fetchall()
            for hour, name, slice_, value, volume, baseline, sigma in rows:
                start = parse_iso(str(hour))
                if start in wanted:
                    found[(start, str(name))].append((str(slice_), _float(value), int(volume), _float(baseline),
                                                      _float(sigma)))
    return found


def _float(value: object) -> float | None:
    return None if value is None else float(str(value))


def settle(sdb: ServerDb, clock: Clock, warehouse: str) -> list[datetime]:
    """Evaluate again (whole warehouse, every indicator) the recent hours late facts may have changed;
    returns them. See the module's note on late facts."""
    last = clock.now().replace(minute=0, second=0, microsecond=0) - HOUR
    candidates = [last - k * HOUR for k in range(1, SETTLE_HOURS + 2)]
    with sdb.connection():
        rows = sdb.execute('SELECT "hour", MIN("evaluated_at") FROM "health_reading" WHERE "warehouse" = ? '
                           'AND "dimension" = \'\' AND "hour" >= ? AND "hour" < ? GROUP BY "hour"',
                           (warehouse, iso(candidates[-1]), iso(last))).fetchall()
    written = {parse_iso(str(hour)): parse_iso(str(at)) for hour, at in rows}
    due = [hour for hour in candidates if hour not in written
           or (written[hour] < hour + HOUR * (1 + SETTLE_HOURS) and written[hour] <= clock.now() - HOUR)]
    for hour in due:
        keep(sdb, clock, warehouse, hour, evaluate(sdb, warehouse, hour))
    return due


def prune(sdb: ServerDb, clock: Clock, warehouse: str, days: int) -> int:
    """Delete the warehouse's readings of hours more than `days` days before now; returns how many."""
    with sdb.connection(), sdb.write():
        deleted: int = sdb.execute('DELETE FROM "health_reading" WHERE "warehouse" = ? AND "hour" < ?',
                           (warehouse, iso(clock.now() - timedelta(days=days)))).rowcount
    return deleted
