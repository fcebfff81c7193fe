"""The figures of the console's Today page for one warehouse and business day.

Per hour (local time of the server's timezone) and per station: orders in (by payment, else
creation time), parcels packed (live ones), handed over, and accepted by the carrier (the parcel's
first picked-up-or-later event falls in the day). Per packer (the `actor` the station recorded):
scans, errors and shipments, from the day's station events. Per station: when the server last
heard from it and how far behind its outbox was then (received − happened of its newest event).

Hours are grouped on the UTC text of the timestamps and shifted to local hours, which is exact for
whole-hour zones (Asia/Shanghai); a half-hour zone would see its hours start at :30.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from app.clock import iso, parse_iso
from server.db import ServerDb, placeholders

SERIES = ("orders", "packed", "handed_over", "accepted")
ONLINE_WITHIN = timedelta(minutes=10)


@dataclass
class StationRow:
    station_id: str
    name: str
    revoked: bool
    packed: int = 0
    handed_over: int = 0
    accepted: int = 0
    last_seen: datetime | None = None
    lag_seconds: float | None = None
    online: bool = False


@dataclass
class PackerRow:
    actor: str
    scans: int = 0
    errors: int = 0
    shipments: int = 0

    @property
    def error_pct(self) -> float:
        return round(100.0 * self.errors / self.scans, 1) if self.scans else 0.0


@dataclass
class Today:
    warehouse: str
    day: date
    hours: dict[str, list[int]] = field(default_factory=lambda: {name: [0] * 24 for name in SERIES})
    stations: list[StationRow] = field(default_factory=list)
    packers: list[PackerRow] = field(default_factory=list)
    packed_by_station: dict[str, list[int]] = field(default_factory=lambda: defaultdict(lambda: [0] * 24))

    def total(self, series: str) -> int:
        return sum(self.hours[series])


def _local_hour(utc_hour_text: str, zone: ZoneInfo) -> int:
    return parse_iso(utc_hour_text[:13] + ":00:00Z").astimezone(zone).hour


def _add(today: Today, series: str, rows: object, zone: ZoneInfo, per_station: dict[str, StationRow] | None) -> None:
    for station_id, hour, count in rows:  # type: ignore[attr-defined]
        local = _local_hour(str(hour), zone)
        today.hours[series][local] += int(count)
        if series == "packed":
            today.packed_by_station[str(station_id)][local] += int(count)
        if per_station is not None and station_id in per_station:
            row = per_station[station_id]
            setattr(row, series, getattr(row, series) + int(count))


def today(sdb: ServerDb, warehouse: str, day: date, zone: ZoneInfo, now: datetime) -> Today:
    from server.projections import ERROR_OUTCOMES

    start = iso(datetime.combine(day, time(), zone))
    end = iso(datetime.combine(day + timedelta(days=1), time(), zone))
    result = Today(warehouse, day)
    with sdb.connection():
        stations = {sid: StationRow(sid, name, revoked is not None) for sid, name, revoked in sdb.execute(
            'SELECT "station_id", "name", "revoked_at" FROM "station" WHERE "warehouse" = ? ORDER BY "name"',
            (warehouse,))}
        orders = sdb.execute(
            'SELECT \'\', SUBSTR(COALESCE("paid_at", "created_at", "updated_at"), 1, 13), COUNT(*) '
            'FROM "order" WHERE "warehouse" = ? AND "day" = ? GROUP BY 2', (warehouse, day.isoformat()))
        _add(result, "orders", orders, zone, None)
        packed = sdb.execute(
            'SELECT "station_id", SUBSTR("packed_at", 1, 13), COUNT(*) FROM "parcel" '
            'WHERE "warehouse" = ? AND "packed_at" >= ? AND "packed_at" < ? AND "voided_at" IS NULL GROUP BY 1, 2',
            (warehouse, start, end))
        _add(result, "packed", packed, zone, stations)
        handed = sdb.execute(
            'SELECT "station_id", SUBSTR("handed_over_at", 1, 13), COUNT(*) FROM "parcel" '
            'WHERE "warehouse" = ? AND "handed_over_at" >= ? AND "handed_over_at" < ? GROUP BY 1, 2',
            (warehouse, start, end))
        _add(result, "handed_over", handed, zone, stations)
        accepted = sdb.execute(
            'SELECT "station_id", SUBSTR("accepted_at", 1, 13), COUNT(*) FROM "parcel" '
            'WHERE "warehouse" = ? AND "accepted_at" >= ? AND "accepted_at" < ? GROUP BY 1, 2', (warehouse, start, end))
        _add(result, "accepted", accepted, zone, stations)
        packers: dict[str, PackerRow] = {}
        if stations:
            ids = list(stations)
            for kind, payload in sdb.execute(
                    f'SELECT "kind", "payload" FROM "station_event" WHERE "station_id" IN ({placeholders(len(ids))}) '
                    'AND "kind" IN (\'scan\', \'shipment.created\') AND "at" >= ? AND "at" < ? '
                    'AND "status" = \'accepted\'', (*ids, start, end)):
                body = json.loads(payload)
                actor = str(body.get("actor") or "?")
                row = packers.setdefault(actor, PackerRow(actor))
                if kind == "scan":
                    row.scans += 1
                    row.errors += body.get("outcome") in ERROR_OUTCOMES
                else:
                    row.shipments += 1
            for station in stations.values():
                last = sdb.execute('SELECT "at", "received_at" FROM "station_event" WHERE "station_id" = ? '
                                   'ORDER BY "seq" DESC LIMIT 1', (station.station_id,)).fetchone()
                if last is not None:
                    happened, received = parse_iso(str(last[0])), parse_iso(str(last[1]))
                    station.last_seen = received
                    station.lag_seconds = max(0.0, (received - happened).total_seconds())
                    station.online = not station.revoked and now - received <= ONLINE_WITHIN
    result.stations = list(stations.values())
    result.packers = sorted(packers.values(), key=lambda p: (-p.shipments, p.actor))
    return result

