"""Station lifecycle (`packbench server stations`, `packbench server station revoke ID`).

Revocation is immediate: the next request the station signs is answered 403 "revoked" (its worker
pauses and shows "needs admin"; the bench keeps working offline), and its passport key vouches for
nothing issued from that moment on (`server.passport_page`). It is recorded with
the OS user who ran the command and the reason in the server audit log, and logged. A revoked station comes back only by
enrolling again with a new token (a new id and secret).
"""

from __future__ import annotations

import getpass
import logging
from dataclasses import dataclass
from datetime import datetime

from app.clock import Clock, iso, parse_iso
from app.errors import BadValue
from app.i18n import N_
from server.console.audit import record
from server.db import ServerDb
from server.models import Station

log = logging.getLogger("server.stations")


class StationError(BadValue):
    """A refused station change (an input error): a msgid and its values, in the reader's language."""


@dataclass(frozen=True)
class StationRow:
    station_id: str
    name: str
    warehouse: str
    enrolled_at: str
    last_seen_at: str | None
    outbox_lag_s: float | None  # received − happened, of the last event it pushed
    key_id: str
    revoked_at: str | None
    revoked_reason: str | None


def list_stations(sdb: ServerDb) -> list[StationRow]:
    with sdb.connection():
        lag: dict[str, float] = {}
        for station_id, at, received in sdb.execute(
                'SELECT "station_id", "at", "received_at" FROM "station_event" WHERE "id" IN '
                '(SELECT MAX("id") FROM "station_event" GROUP BY "station_id")'):
            if at and received:
                lag[station_id] = max(0.0, (parse_iso(received) - parse_iso(at)).total_seconds())
        rows = list(Station.select().order_by(Station.warehouse, Station.station_id))
    return [StationRow(r.station_id, r.name, r.warehouse, r.enrolled_at, r.last_seen_at, lag.get(r.station_id),
                       r.key_id, r.revoked_at, r.revoked_reason) for r in rows]


def revoke(sdb: ServerDb, station_id: str, reason: str, clock: Clock, actor: str | None = None) -> datetime:
    """Revoke a station now; StationError if there is no such station or it was revoked before."""
    now = clock.now()
    who = actor or _os_user()
    with sdb.connection(), sdb.write():
        row = Station.get_or_none(Station.station_id == station_id)
        if row is None:
            raise StationError(N_("no station {station!r}; `packbench server stations` lists them"), station=station_id)
        if row.revoked_at:
            raise StationError(N_("station {station} was already revoked at {at}"), station=station_id,
                               at=row.revoked_at)
        Station.update(revoked_at=iso(now), revoked_reason=reason).where(Station.id == row.id).execute()
        record(clock, who, "station.revoke", warehouse=row.warehouse, target=station_id,
               detail=f"{row.name}: {reason or 'no reason given'}")
    log.warning("station %s (%s, warehouse %s) revoked by %s: %s", station_id, row.name, row.warehouse, who,
                reason or "no reason given")
    return now


def _os_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no passwd entry (a container): say so rather than fail the revocation
        return "unknown"
