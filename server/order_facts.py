"""The facts stations synced that concern one order: its scans, prints, handover, passport, photos
and cases, as `station_event` rows accepted from the order's warehouse's stations.

Found without reading every event: the stations of the warehouse, the kinds that can concern an
order, and the time window of the order's own activity narrow the rows (index
station_event_station_kind_at), a substring of the payload narrows them further, and the match
itself is exact, on the parsed payload — never a LIKE that matched by accident.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from app.clock import iso, parse_iso
from app.evidence.photo import PHOTO_KIND
from server.db import ServerDb, placeholders

MARGIN = timedelta(minutes=30)
KINDS = ("scan", "shipment.created", "shipment.voided", "print.queued", "print.sent", "print.done", "print.failed",
         "handover.accepted", "handover.refused", "handover.removed", "handover.intercepted", "handover.closed",
         "passport.minted", "override", PHOTO_KIND, "exception.opened", "exception.acknowledged",
         "exception.resolved")

@dataclass(frozen=True)
class Fact:
    station_id: str
    kind: str
    at: str
    payload: dict[str, Any]


def window(order: Any, parcels: list[Any], cases: list[Any], now: datetime) -> tuple[str, str]:
    """From the order's payment (its scans come after) to its last known activity; an order never
    packed may still have scans of an aborted session, so up to now."""
    times = [t for t in (order.created_at, order.paid_at) if t] if order is not None else []
    for p in parcels:
        times += [t for t in (p.packed_at, p.voided_at, p.handed_over_at) if t]
    for c in cases:
        times += [c.opened_at, c.updated_at]
    lo = min(times) if times else iso(now)
    hi = max(times) if parcels else iso(now)
    return iso(parse_iso(lo) - MARGIN), iso(parse_iso(hi) + MARGIN)


def facts_of(sdb: ServerDb, stations: list[str], window: tuple[str, str], order_id: str, tracking_nos: list[str],
           cases: dict[str, set[int]]) -> list[Fact]:
    """The accepted station facts naming the order, one of its parcels or one of its cases. The SQL
    narrows by station, kind and time (index station_event_station_kind_at) and by a payload
    substring; the match itself is exact, on the parsed payload."""
    if not stations:
        return []
    needles = ['%"order_id":' + _like(json.dumps(order_id, ensure_ascii=False)) + "%"]
    needles += ["%" + _like(json.dumps(t, ensure_ascii=False)) + "%" for t in tracking_nos]
    needles += ['%"case":%' for ids in cases.values() if ids][:1]
    where = " OR ".join("\"payload\" LIKE ? ESCAPE '\\'" for _ in needles)
    rows = sdb.execute(
        f'SELECT "station_id", "kind", "at", "payload" FROM "station_event" WHERE "station_id" IN '
        f'({placeholders(len(stations))}) AND "kind" IN ({placeholders(len(KINDS))}) AND "at" >= ? AND "at" <= ? '
        f'AND "status" = \'accepted\' AND ({where}) ORDER BY "at", "id"',
        (*stations, *KINDS, *window, *needles)).fetchall()
    numbers = set(tracking_nos)
    found: list[Fact] = []
    for station_id, kind, at, text in rows:
        try:
            payload = json.loads(text)
        except ValueError:
            continue
        if not isinstance(payload, dict):
            continue
        listed = payload.get("tracking_nos")
        if (payload.get("order_id") == order_id or payload.get("tracking_no") in numbers
                or (isinstance(listed, list) and numbers.intersection(str(t) for t in listed))
                or payload.get("case") in cases.get(station_id, ())):
            found.append(Fact(station_id, kind, at, payload))
    return found


def _like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
