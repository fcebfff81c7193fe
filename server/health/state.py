"""What order health remembers: silence windows, thresholds, and which anomalies already alerted.

An anomaly alerts once: the first evaluation that flags (indicator, slice) opens a `health_alert` row
and is the one that notifies; later evaluations that still flag it see the open row and stay quiet;
the first that does not flag it closes the row (recovered), so a relapse alerts again. The open row is
unique per (warehouse, indicator, slice), so two workers evaluating at once cannot both notify.
Silences and thresholds are audited in the server audit log.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from app.clock import Clock, iso
from app.errors import BadValue
from app.i18n import N_
from app.stored_words import dump_words
from server.db import ServerDb
from server.health.evaluate import NOT_MATERIAL, Reading
from server.health.explain import Explanation, local_hours
from server.health.indicators import BY_NAME

MAX_SILENCE_HOURS = 24 * 31


class HealthError(BadValue):
    """A health command was given something it cannot use; the message (a msgid and its values) says
    what, in the CLI's language (app.errors.report)."""


def unknown_indicator(name: str) -> HealthError:
    return HealthError(N_("unknown indicator {indicator!r} (known: {known})"), indicator=name, known=", ".join(BY_NAME))


@dataclass(frozen=True)
class Silence:
    id: int
    indicator: str  # "" = every indicator
    starts_at: str
    ends_at: str
    reason: str
    actor: str


def silence(sdb: ServerDb, clock: Clock, warehouse: str, hours: float, reason: str, actor: str,
            indicator: str = "") -> Silence:
    if indicator and indicator not in BY_NAME:
        raise unknown_indicator(indicator)
    if not 0 < hours <= MAX_SILENCE_HOURS:
        raise HealthError(N_("--hours must be more than 0 and at most {most}, not {hours:g}"), most=MAX_SILENCE_HOURS,
                          hours=hours)
    if not reason.strip():
        raise HealthError(N_("a silence needs a --reason (e.g. the campaign's name)"))
    from server.console.audit import record  # here: the console package imports this module's page

    now = clock.now()
    starts, ends = iso(now), iso(now + timedelta(hours=hours))
    with sdb.connection(), sdb.write():
        sdb.execute('INSERT INTO "health_silence" ("warehouse", "indicator", "starts_at", "ends_at", "reason", '
                    '"actor", "created_at") VALUES (?, ?, ?, ?, ?, ?, ?)',
                    (warehouse, indicator, starts, ends, reason.strip()[:500], actor, starts))
        row = sdb.execute('SELECT MAX("id") FROM "health_silence" WHERE "warehouse" = ?', (warehouse,)).fetchone()
        record(clock, actor, "health.silence", warehouse=warehouse, target=indicator or "*",
               detail=f"{hours:g} h until {ends}: {reason.strip()}")
    return Silence(int(row[0]), indicator, starts, ends, reason.strip(), actor)


def silences_at(sdb: ServerDb, warehouse: str, at: datetime) -> list[Silence]:
    stamp = iso(at)
    with sdb.connection():
        rows = sdb.execute('SELECT "id", "indicator", "starts_at", "ends_at", "reason", "actor" FROM '
                           '"health_silence" WHERE "warehouse" = ? AND "starts_at" <= ? AND "ends_at" > ? '
                           'ORDER BY "id"', (warehouse, stamp, stamp)).fetchall()
    return [Silence(int(r[0]), r[1], r[2], r[3], r[4], r[5]) for r in rows]


def silenced_names(silences: Sequence[Silence]) -> set[str]:
    return {s.indicator or "*" for s in silences}


def set_threshold(sdb: ServerDb, clock: Clock, warehouse: str, indicator: str, op: str, limit: float,
                  actor: str) -> None:
    if indicator not in BY_NAME:
        raise unknown_indicator(indicator)
    if op not in ("max", "min"):
        raise HealthError(N_("a threshold is --max or --min"))
    from server.console.audit import record
    with sdb.connection(), sdb.write():
        sdb.execute('DELETE FROM "health_threshold" WHERE "warehouse" = ? AND "indicator" = ?', (warehouse, indicator))
        sdb.execute('INSERT INTO "health_threshold" ("warehouse", "indicator", "op", "limit_value", "actor", '
                    '"updated_at") VALUES (?, ?, ?, ?, ?, ?)', (warehouse, indicator, op, limit, actor,
                                                                iso(clock.now())))
        record(clock, actor, "health.threshold", warehouse=warehouse, target=indicator, detail=f"{op} {limit:g}")


def thresholds(sdb: ServerDb, warehouse: str) -> dict[str, tuple[str, float]]:
    with sdb.connection():
        rows = sdb.execute('SELECT "indicator", "op", "limit_value" FROM "health_threshold" WHERE "warehouse" = ?',
                           (warehouse,)).fetchall()
    return {r[0]: (r[1], float(r[2])) for r in rows}


@dataclass(frozen=True)
class NewAlert:
    reading: Reading
    explanation: Explanation | None


def track_alerts(sdb: ServerDb, clock: Clock, warehouse: str, readings: Sequence[Reading],
                 explain: Callable[[Reading], Explanation | None], zone: ZoneInfo) -> list[NewAlert]:
    """Open an alert for each newly flagged, unsilenced reading; close those no longer flagged. The
    explanation's English record names its hour in `zone`, the warehouse's; its words keep the instant."""
    now = iso(clock.now())
    opened: list[NewAlert] = []
    with sdb.connection():
        open_rows = {(r[0], r[1]) for r in sdb.execute(
            'SELECT "indicator", "slice" FROM "health_alert" WHERE "warehouse" = ? AND "recovered_at" IS NULL',
            (warehouse,)).fetchall()}
    for reading in readings:
        key = (reading.indicator.name, reading.key)
        if reading.flagged and not reading.silenced and key not in open_rows:
            why = explain(reading)
            with sdb.connection(), sdb.write():
                inserted = sdb.execute(
                    'INSERT INTO "health_alert" ("warehouse", "indicator", "slice", "hour", "value", "baseline", '
                    '"z", "explanation", "explanation_words", "opened_at") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) '
                    'ON CONFLICT DO NOTHING',
                    (warehouse, key[0], key[1], iso(reading.hour), reading.value, reading.baseline, reading.z,
                     local_hours(why.words, zone, named=True).plain() if why else "",
                     json.dumps(dump_words(why.words), ensure_ascii=False) if why else None, now))
                if inserted.rowcount == 1:  # another worker opened it first: that one notifies
                    opened.append(NewAlert(reading, why))
        elif not reading.flagged and key in open_rows and reading.why not in ("too few facts", NOT_MATERIAL):
            with sdb.connection(), sdb.write():
                sdb.execute('UPDATE "health_alert" SET "recovered_at" = ? WHERE "warehouse" = ? AND "indicator" = ? '
                            'AND "slice" = ? AND "recovered_at" IS NULL', (now, warehouse, key[0], key[1]))
    return opened


def mark_notified(sdb: ServerDb, clock: Clock, warehouse: str, alert: NewAlert, delivery: str) -> None:
    with sdb.connection(), sdb.write():
        sdb.execute('UPDATE "health_alert" SET "notified_at" = ?, "delivery" = ? WHERE "warehouse" = ? AND '
                    '"indicator" = ? AND "slice" = ? AND "recovered_at" IS NULL',
                    (iso(clock.now()), delivery[:500], warehouse, alert.reading.indicator.name, alert.reading.key))
