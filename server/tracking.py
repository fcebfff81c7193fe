"""Carrier tracking ingestion (docs/architecture.md §11.4): parse pushes, store events append-only, publish them.

Every request body is stored as it came (`carrier_push`), once per source and SHA-256 of the body (a
replayed push stores nothing), and every event with its own raw JSON.
An event is one row per (carrier, tracking no, time, SHA-256 of the text): Kuaidi100 re-sends a
parcel's whole trail on every push, so most of a push is duplicates, skipped by the unique index
(`ON CONFLICT DO NOTHING`). Carrier states map to the normalised ones (`app.tracking_states`;
Kuaidi100's codes in `server.kuaidi100.codes`); the carrier's own code or word is kept unchanged in
`carrier_status`, its text in `context`, its time in `time_raw`.

A new event is published to the tracking stream of the warehouse whose station packed the parcel
(`tracking_feed`, positions from the `tracking` counter). Ingest takes that stream's lock after it
inserted its new events and before it looks for their parcels; the event applier takes it after it
registered a parcel and before it looks for that parcel's events. Whichever locks second sees what
the first committed, so an event and its parcel arriving at the same moment are always published.
A push of duplicates only takes no lock at all.
On PostgreSQL a batch goes in with multi-row INSERTs (`execute_values`), not a statement per event.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import ValidationError

from app.audit import canonical_json
from app.clock import Clock, iso
from app.errors import InputError
from protocol import TrackingStatus
from server.db import ServerDb, chunks, has_nul, lock_stream, placeholders, take_positions
from server.fulfilment import KEPT, refresh_tracking
from server.kuaidi100.codes import carrier_of, status_of
from server.limits import NestingError, loads_bounded
from server.schemas import GenericTrackingEvent, HookRejection

log = logging.getLogger("server.tracking")

MAX_GENERIC_EVENTS = 10_000
EVENT_COLUMNS = ('"carrier", "tracking_no", "status", "carrier_status", "time", "time_raw", "site", "courier", '
                 '"context", "context_hash", "source", "push_id", "raw", "received_at"')
DEDUPE = '("carrier", "tracking_no", "time", "context_hash")'


class PushError(InputError, ValueError):
    """The push as a whole cannot be read; the message says why."""


@dataclass(frozen=True)
class TrackingRecord:
    carrier: str
    tracking_no: str
    status: TrackingStatus
    carrier_status: str
    time: str  # UTC ISO
    time_raw: str
    site: str
    courier: str
    context: str
    raw: str  # the event's JSON as sent

    @property
    def key(self) -> tuple[str, str, str, str]:
        return (self.carrier, self.tracking_no, self.time, context_hash(self.context))


@dataclass(frozen=True)
class IngestResult:
    received: int
    new: int
    replayed: bool = False  # the same body from the same source was stored before: nothing stored now

    @property
    def duplicates(self) -> int:
        return self.received - self.new


def context_hash(context: str) -> str:
    return hashlib.sha256(context.encode("utf-8")).hexdigest()


def parse_time(text: str, zone: ZoneInfo) -> str:
    """A carrier time (`2026-11-25 10:20:30`, ISO 8601 with or without an offset) in UTC ISO."""
    value = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    if value.tzinfo is None:
        value = value.replace(tzinfo=zone)
    try:
        return iso(value)
    except OverflowError:
        raise ValueError(f"time {text!r} is out of range") from None


@dataclass(frozen=True)
class Kuaidi100Push:
    """One subscription push: the subscription's `status` (polling, shutdown, abort, updateall), its
    `message`, and the parcel's trail items as records."""

    status: str
    message: str
    carrier: str
    tracking_no: str
    records: list[TrackingRecord]


def parse_kuaidi100(param: str, zone: ZoneInfo) -> Kuaidi100Push:
    try:
        data = loads_bounded(param)
    except NestingError as exc:
        raise PushError(f"param is {exc}") from None
    except json.JSONDecodeError as exc:
        raise PushError(f"param is not JSON ({exc.msg})") from None
    last = data.get("lastResult") if isinstance(data, dict) else None
    if not isinstance(last, dict):
        raise PushError("param has no lastResult object")
    tracking_no = str(last.get("nu") or "").strip().upper()
    if not tracking_no or len(tracking_no) > 64 or has_nul(tracking_no):
        raise PushError("lastResult.nu (the tracking number) is missing or not one")
    com = str((data.get("comNew") if data.get("autoCheck") == "1" else None) or last.get("com") or "").strip()
    if has_nul(com) or len(com) > 32:
        raise PushError("lastResult.com is not a carrier code")
    carrier = carrier_of(com)
    state = str(last.get("state") or "")
    items = last.get("data") or []
    if not isinstance(items, list):
        raise PushError("lastResult.data is not a list")
    records = []
    for i, item in enumerate(items):  # newest first; the overall state belongs to the newest
        context = item.get("context") if isinstance(item, dict) else None
        time_raw = str(item.get("time") or item.get("ftime") or "") if isinstance(item, dict) else ""
        if not isinstance(context, str) or not context or not time_raw or has_nul(item):
            log.warning("kuaidi100 push for %s: item %d has no time or context; skipped", tracking_no, i)
            continue
        try:
            when = parse_time(time_raw, zone)
        except ValueError:
            log.warning("kuaidi100 push for %s: item %d time %r unreadable; skipped", tracking_no, i, time_raw)
            continue
        code, word = str(item.get("statusCode") or "").strip(), str(item.get("status") or "").strip()
        fallback = state if i == 0 else ""
        records.append(TrackingRecord(
            carrier, tracking_no, status_of(code, word, fallback, context), code or word or fallback, when, time_raw,
            str(item.get("areaName") or item.get("location") or ""), "", context, canonical_json(item)))
    status, message = str(data.get("status") or "").strip(), str(data.get("message") or "").strip()
    return Kuaidi100Push(status, message[:500], carrier, tracking_no, records)


def parse_generic(body: Any, zone: ZoneInfo) -> tuple[list[TrackingRecord], list[HookRejection]]:
    if not isinstance(body, dict) or not isinstance(body.get("events"), list):
        raise PushError('expected {"events": [...]}')
    events = body["events"]
    if len(events) > MAX_GENERIC_EVENTS:
        raise PushError(f"{len(events)} events in one request; at most {MAX_GENERIC_EVENTS}")
    records, rejected = [], []
    for index, item in enumerate(events):
        if has_nul(item):
            rejected.append(HookRejection(index=index, reason="contains a NUL character"))
            continue
        try:
            ev = GenericTrackingEvent.model_validate(item)
            when = parse_time(ev.time, zone)
        except ValidationError as exc:
            first = exc.errors()[0]
            rejected.append(HookRejection(index=index, reason=f"{'.'.join(map(str, first['loc']))}: {first['msg']}"))
            continue
        except ValueError:
            rejected.append(HookRejection(index=index, reason="time: not an ISO 8601 time"))
            continue
        records.append(TrackingRecord(ev.carrier.strip().upper(), ev.tracking_no.strip().upper(), ev.status,
                                      ev.carrier_status, when, ev.time, ev.site, ev.courier, ev.context,
                                      canonical_json(item)))
    return records, rejected


def _insert_events(sdb: ServerDb, rows: list[tuple[Any, ...]]) -> list[tuple[int, str]]:
    """Insert, skipping duplicates; (id, tracking no) of the rows that are new."""
    sql = f'INSERT INTO "tracking_event" ({EVENT_COLUMNS}) VALUES %s ON CONFLICT {DEDUPE} DO NOTHING'
    cursor = sdb.db.cursor()
    if sdb.postgres:
        from psycopg2.extras import execute_values

        return [(int(a), str(b)) for a, b in execute_values(
            cursor, sql + ' RETURNING "id", "tracking_no"', rows, page_size=1000, fetch=True)]
    new = []
    single = sql.replace("%s", f"({placeholders(len(rows[0]))})")
    for row in rows:
        cursor.execute(single, row)
        if cursor.rowcount == 1:
            new.append((int(cursor.lastrowid), str(row[1])))
    return new


def insert_feed(sdb: ServerDb, pairs: Sequence[tuple[str, int]]) -> None:
    """Publish events to warehouses: (warehouse, event id) pairs, in event order. Stream lock held."""
    if not pairs:
        return
    first = take_positions(sdb, "tracking", len(pairs))
    rows = [(first + i, warehouse, event_id) for i, (warehouse, event_id) in enumerate(pairs)]
    sql = ('INSERT INTO "tracking_feed" ("pos", "warehouse", "event_id") VALUES %s '
           'ON CONFLICT ("warehouse", "event_id") DO NOTHING')
    if sdb.postgres:
        from psycopg2.extras import execute_values

        execute_values(sdb.db.cursor(), sql, rows, page_size=1000)
    else:
        sdb.db.cursor().executemany(sql.replace("%s", "(?, ?, ?)"), rows)


def _warehouses(sdb: ServerDb, tracking_nos: Sequence[str]) -> dict[str, str]:
    found: dict[str, str] = {}
    for chunk in chunks(sorted(set(tracking_nos))):
        found.update(sdb.execute(f'SELECT "tracking_no", "warehouse" FROM "parcel" WHERE "tracking_no" IN '
                                 f'({placeholders(len(chunk))})', chunk).fetchall())
    return found


def ingest(sdb: ServerDb, source: str, body: str, records: Sequence[TrackingRecord], clock: Clock) -> IngestResult:
    """Store one push and its events (duplicates skipped) in one transaction; publish the new ones. A body
    this source pushed before is not stored again (`replayed`)."""
    now = iso(clock.now())
    unique = list({record.key: record for record in records}.values())
    digest = hashlib.sha256(body.encode("utf-8")).hexdigest()
    with sdb.write():
        cursor = sdb.execute('INSERT INTO "carrier_push" ("source", "received_at", "body", "body_sha256", "events", '
                             '"new_events") VALUES (?, ?, ?, ?, ?, 0) ON CONFLICT ("source", "body_sha256") DO NOTHING'
                             + (' RETURNING "id"' if sdb.postgres else ''), (source, now, body, digest, len(records)))
        inserted = cursor.fetchone() if sdb.postgres else (cursor.lastrowid if cursor.rowcount == 1 else None)
        if inserted is None:  # a replay: its events are all known, and the body is not stored twice
            log.info("%s push replayed (body sha256 %s…): nothing stored", source, digest[:12])
            return IngestResult(len(records), 0, replayed=True)
        push_id = int(inserted[0]) if sdb.postgres else int(inserted)
        rows = [(r.carrier, r.tracking_no, r.status, r.carrier_status, r.time, r.time_raw, r.site, r.courier,
                 r.context, r.key[3], source, push_id, r.raw, now) for r in unique]
        new = _insert_events(sdb, rows) if rows else []
        if new:
            sdb.execute('UPDATE "carrier_push" SET "new_events" = ? WHERE "id" = ?', (len(new), push_id))
            lock_stream(sdb, "tracking")  # before looking for parcels: see the module doc
            owners = _warehouses(sdb, [t for _, t in new])
            insert_feed(sdb, [(owners[t], event_id) for event_id, t in sorted(new) if t in owners])
            fresh = {t for _, t in new}
            refresh_tracking(sdb, [r.tracking_no for r in unique
                                   if r.tracking_no in fresh and r.status in KEPT])
    return IngestResult(len(records), len(new))


def publish_existing(sdb: ServerDb, parcels: Sequence[tuple[str, str]]) -> None:
    """Parcels just registered: publish the events that arrived before them, and subscribe their numbers
    at Kuaidi100 (`server.kuaidi100.subscriptions`). In the caller's transaction."""
    from server.kuaidi100.subscriptions import learn_parcels  # it imports this module

    learn_parcels(sdb, [tracking_no for tracking_no, _ in parcels])
    lock_stream(sdb, "tracking")
    owner = dict(parcels)
    pairs: list[tuple[int, str]] = []
    for chunk in chunks(sorted(owner)):
        pairs += sdb.execute(f'SELECT "id", "tracking_no" FROM "tracking_event" WHERE "tracking_no" IN '
                             f'({placeholders(len(chunk))})', chunk).fetchall()
    insert_feed(sdb, [(owner[t], event_id) for event_id, t in sorted(pairs)])
