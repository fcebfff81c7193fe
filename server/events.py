"""Station events (outbox pushes), applied at most once (docs/architecture.md §10.2).

`POST /api/v1/events` carries up to `MAX_BATCH` events. Each event id is stored with the SHA-256
of its canonical body (kind, `at` in UTC, station, seq, payload) and the answer it got:

- a new id is applied (or rejected with a reason) and answered `accepted` / `rejected`;
- a known id with the same body changes nothing and is answered `known` if it was accepted, or
  the same `rejected` + reason again: a replayed batch gets the same answers every time;
- a known id with a different body is `rejected`: "id reused with a different body".

Rejected events are stored too (with their body) and never dropped: `packbench server events`
lists them for a supervisor, as the station keeps them in its outbox with the reason.

Ordering: a station sends its outbox in `seq` order. New events of a batch are applied in `seq` order (a batch
assembled out of order is sorted first). The server keeps, per station, the seq it expects next; an event with
another seq is still applied (the facts happened; blocking the station's outbox behind a lost event would stop
all later facts) but flagged: a gap (events lost before reaching the server) or a regression (the station store
was restored from a backup) is stored as the event's `note`, logged, listed with the rejected ones, and returned
as the `reason` of its `accepted` answer. Batches apply one at a time (station row locked), with the audit head.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

import peewee as pw
from pydantic import ValidationError

from app.audit import canonical_json
from app.clock import Clock, iso
from app.errors import InputError
from protocol import MAX_BATCH, Event, EventBatchResult, EventResult
from server.audit_heads import ENVELOPE, Claim, anchor
from server.auth import AuthError, StationIdentity
from server.claims import open_cases
from server.db import ServerDb, chunks, has_nul, placeholders, retrying, take_positions
from server.fulfilment import refresh_orders
from server.projections import METRIC_UPSERT, WRITES, Effects, Rejected, project
from server.tracking import publish_existing

log = logging.getLogger("server.events")

REUSED = "id reused with a different body"
MAX_SEQ = 2**62  # stored as a 64-bit integer, with room for the next one


class BatchError(InputError, ValueError):
    """The batch as a whole is malformed (HTTP 422): no event of it was looked at."""


@dataclass
class _Item:
    index: int
    event_id: str
    event: Event | None
    invalid: str | None  # why the event does not validate
    body_hash: str
    raw: dict[str, Any]
    at: str = ""  # iso(event.at), of a valid event
    payload: str = ""  # canonical_json(event.payload), of a valid event

    @property
    def seq(self) -> int | None:
        """The outbox seq, also of an event that does not validate otherwise (it was sent all the same)."""
        if self.event is not None:
            return self.event.seq
        seq = self.raw.get("seq")
        return seq if isinstance(seq, int) and not isinstance(seq, bool) and 1 <= seq <= MAX_SEQ else None


def _describe(exc: ValidationError) -> str:
    first = exc.errors()[0]
    where = ".".join(str(p) for p in first["loc"]) or "event"
    return f"invalid event: {where}: {first['msg']}"


def _at(at: datetime) -> str | None:
    """iso(at), or None for a naive time or one out of range."""
    if at.tzinfo is None:
        return None
    try:
        return iso(at)
    except OverflowError:
        return None


def _hash(body: Any) -> str:
    return hashlib.sha256(canonical_json(body).encode("utf-8")).hexdigest()


_quoted: Callable[[str], str] = json.encoder.encode_basestring  # what dumps(str) does


def _canonical_dumper() -> Callable[[Any], str]:
    """`canonical_json` without building an encoder per call (the C encoder `json.dumps` builds each time,
    with the same settings). Payloads come from `json.loads`: no cycles, so no cycle check."""
    make = getattr(json.encoder, "c_make_encoder", None)
    if make is None:
        return canonical_json
    encode = make(None, str, json.encoder.encode_basestring, None, ":", ",", True, False, True)

    def dump(value: Any) -> str:
        return "".join(encode(value, 0)) if isinstance(value, dict) else canonical_json(value)

    return dump


_canonical = _canonical_dumper()


def _canonical_body(event_id: str, event: Event, at: str, payload: str) -> str:
    """`canonical_json` of the hashed body {id, kind, at, station, seq, payload}, given the canonical
    JSON of the payload (computed once: it is stored too). Keys in sorted order, as `sort_keys` puts
    them; a nested value is encoded exactly as on its own. Anything but plain str/int falls back."""
    kind, station, seq = event.kind, event.station, event.seq
    if type(kind) is not str or type(station) is not str or type(seq) is not int:
        return canonical_json({"id": event_id, "kind": kind, "at": at, "station": station, "seq": seq,
                               "payload": event.payload})
    return (f'{{"at":{_quoted(at)},"id":{_quoted(event_id)},"kind":{_quoted(kind)},"payload":{payload},'
            f'"seq":{seq},"station":{_quoted(station)}}}')


def parse_batch(body: Any, identity: StationIdentity) -> list[_Item]:
    """Check the envelope (BatchError) and that every event is the signer's own (AuthError 403)."""
    if not isinstance(body, dict) or not isinstance(body.get("events"), list) or not set(body) <= ENVELOPE:
        raise BatchError('expected {"events": [...]}, optionally with "audit_head" and "audit_links"')
    events = body["events"]
    if len(events) > MAX_BATCH:
        raise BatchError(f"{len(events)} events in one batch; at most {MAX_BATCH}")
    items: list[_Item] = []
    for index, raw in enumerate(events):
        try:
            event_id = str(UUID(str(raw["id"])))
        except (TypeError, KeyError, ValueError):
            raise BatchError(f"event {index}: no valid id (a UUID)") from None
        station = raw.get("station")
        if station is not None and station != identity.station_id:
            reason = f"event {event_id} is from station {str(station)[:64]}, but the request is signed by " \
                     f"{identity.station_id}: a station pushes only its own events"
            raise AuthError(403, reason)
        try:
            event = Event.model_validate(raw)
        except ValidationError as exc:
            items.append(_Item(index, event_id, None, _describe(exc), _hash(raw), raw))
            continue
        at = _at(event.at)
        problem = ("invalid event: at: needs a UTC offset" if event.at.tzinfo is None else
                   "invalid event: at: out of range" if at is None else
                   f"invalid event: seq: at most {MAX_SEQ}" if event.seq > MAX_SEQ else None)
        if problem is None:
            assert at is not None
            payload = _canonical(event.payload)
            text = _canonical_body(event_id, event, at, payload)
            # JSON writes NUL as \u0000: without that in the text, no string of the event holds one (id,
            # at and seq validated hold none; extra fields are refused). With it, look exactly.
            if "\\u0000" in text and has_nul(raw):
                problem = "invalid event: contains a NUL character"
            else:
                body_hash = hashlib.sha256(text.encode("utf-8")).hexdigest()
                items.append(_Item(index, event_id, event, None, body_hash, raw, at, payload))
                continue
        items.append(_Item(index, event_id, None, problem, _hash(raw), raw))
    return items


def _result(item: _Item, status: str, reason: str | None) -> EventResult:
    """An answer, built without validating it again: its id is a parsed UUID and status one of the three
    (FastAPI checks the response against `EventBatchResult` all the same)."""
    assert status in ("accepted", "known", "rejected")
    return EventResult.model_construct(id=item.event.id if item.event is not None else UUID(item.event_id),
                                       status=status, reason=reason)


def _seq_note(expected: int, seq: int) -> str | None:
    if seq == expected:
        return None
    if seq > expected:
        missing = f"seq {expected}" if seq == expected + 1 else f"seq {expected}–{seq - 1}"
        return f"gap: {missing} never arrived"
    return f"seq went back from {expected - 1} to {seq} (station store restored from a backup?)"


class EventApplier:
    def __init__(self, sdb: ServerDb, clock: Clock) -> None:
        self.sdb = sdb
        self.clock = clock

    def apply(self, identity: StationIdentity, items: list[_Item], claim: Claim | None = None) -> EventBatchResult:
        for attempt in range(2):
            try:
                return retrying(self.sdb, lambda: self._apply(identity, items, claim))
            except pw.IntegrityError:
                if attempt:  # another station pushed the same id meanwhile: look again
                    raise
        raise AssertionError("unreachable")

    def _known(self, ids: list[str]) -> dict[str, tuple[str, str, str | None]]:
        known: dict[str, tuple[str, str, str | None]] = {}
        if self.sdb.postgres and ids:  # one array parameter: parsed once, not 500 literals (ids are canonical UUIDs)
            rows = self.sdb.execute('SELECT "event_id", "body_hash", "status", "reason" FROM "station_event" '
                                    'WHERE "event_id" = ANY(?::text[])', ("{" + ",".join(ids) + "}",))
            return {event_id: (body_hash, status, reason) for event_id, body_hash, status, reason in rows}
        for chunk in chunks(ids):
            rows = self.sdb.execute(
                f'SELECT "event_id", "body_hash", "status", "reason" FROM "station_event" '
                f'WHERE "event_id" IN ({placeholders(len(chunk))})', chunk)
            for event_id, body_hash, status, reason in rows:
                known[event_id] = (body_hash, status, reason)
        return known

    def _apply(self, identity: StationIdentity, items: list[_Item], claim: Claim | None) -> EventBatchResult:
        now = iso(self.clock.now())
        results: dict[int, EventResult] = {}
        rows: list[tuple[Any, ...]] = []
        fx = Effects()
        with self.sdb.write():
            expected = int(self.sdb.execute(
                f'SELECT "next_seq" FROM "station" WHERE "station_id" = ?{self.sdb.for_update()}',
                (identity.station_id,)).fetchone()[0])
            known = self._known([item.event_id for item in items])
            fresh: list[_Item] = []
            for item in items:
                seen = known.get(item.event_id)
                if seen is None:
                    known[item.event_id] = (item.body_hash, "pending", None)
                    fresh.append(item)
                elif seen[0] != item.body_hash:
                    results[item.index] = self._reject(identity, item, REUSED)
            for item in sorted(fresh, key=lambda it: it.seq or 0):
                status, reason, note = self._one(identity, item, fx)
                if item.seq is not None:
                    note = _seq_note(expected, item.seq)
                    expected = item.seq + 1
                    if note:
                        log.warning("station %s event %s: %s", identity.station_id, item.event_id, note)
                event = item.event
                rows.append((item.event_id, identity.station_id, item.seq or 0,
                             event.kind if event else repr(item.raw.get("kind", ""))[:64],
                             item.at if event else "",
                             item.payload if event else canonical_json(item.raw), item.body_hash, status, reason,
                             note, now))
                known[item.event_id] = (item.body_hash, status, reason)
                answer = reason if status == "rejected" else note
                results[item.index] = _result(item, status, answer)
            for item in items:  # replays, and an id repeated within this batch
                if item.index not in results:
                    _, status, reason = known[item.event_id]
                    results[item.index] = _result(item, "known" if status == "accepted" else "rejected", reason)
            self.sdb.insert_rows(
                'INSERT INTO "station_event" ("event_id", "station_id", "seq", "kind", "at", "payload", "body_hash", '
                '"status", "reason", "note", "received_at") VALUES', 11, rows)
            self.sdb.execute('UPDATE "station" SET "next_seq" = ? WHERE "station_id" = ?',
                             (expected, identity.station_id))
            self._finish(fx)
            head = anchor(self.sdb, identity.station_id, claim, now) if claim is not None else None
        return EventBatchResult.model_construct(results=[results[item.index] for item in items], audit_head=head)

    def _one(self, identity: StationIdentity, item: _Item, fx: Effects) -> tuple[str, str | None, str | None]:
        if item.event is None:
            assert item.invalid is not None
            self._reject(identity, item, item.invalid)
            return "rejected", item.invalid, None
        try:
            if item.event.kind in WRITES:
                with self.sdb.db.atomic():  # a savepoint: a refused projection leaves nothing behind
                    project(identity, item.event, fx, item.at)
            else:
                project(identity, item.event, fx, item.at)
        except Rejected as exc:
            self._reject(identity, item, str(exc))
            return "rejected", str(exc), None
        return "accepted", None, None

    def _reject(self, identity: StationIdentity, item: _Item, reason: str) -> EventResult:
        log.warning("station %s event %s rejected: %s", identity.station_id, item.event_id, reason)
        return _result(item, "rejected", reason)

    def _finish(self, fx: Effects) -> None:
        """Stream positions (orders first, then tracking: a fixed lock order), metric counts, claim cases."""
        open_cases(self.sdb, fx.cases, iso(self.clock.now()))
        if fx.orders:
            first = take_positions(self.sdb, "order", len(fx.orders))
            self.sdb.executemany('UPDATE "order" SET "pos" = ? WHERE "id" = ?',
                                 [(first + i, pk) for i, pk in enumerate(sorted(fx.orders))])
        if fx.parcels:
            publish_existing(self.sdb, fx.parcels)
        refresh_orders(self.sdb, fx.fulfilment)
        if fx.metrics:
            self.sdb.executemany(METRIC_UPSERT, [(*key, *counts) for key, counts in sorted(fx.metrics.items())])
