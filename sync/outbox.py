"""Outbox push (docs/architecture.md §3.3, §10.2): the station's facts go to the server in order, each applied once.

An outbox row is written in the same transaction as the fact it carries (`app.audit.record_fact`).
Here rows leave in `seq` order in batches of at most `MAX_BATCH`. The server answers per event:

    accepted / known  → `acked_at` is set: done, never sent again
    rejected          → `rejected_reason` is set: the row is KEPT, skipped by later pushes, counted
                        and listed for a supervisor (`rejected_events()`); never deleted

All the answers of one batch are written in one transaction, so a crash leaves a batch either wholly
marked or wholly unmarked; an unmarked batch is simply sent again, and the event id (the idempotency
key on the server) makes that harmless, including when the connection dropped after the server had
committed. A failed send only increments `attempts` of the rows in that batch.

A row this station cannot even encode (a payload that is not a JSON object) is marked rejected here,
with a reason saying so, instead of blocking every event behind it.

Every batch also carries the audit chain's head (and links to the heads the server may hold), and the
head the server answers it keeps is recorded (`app.audit_anchor`): the chain's anchor outside the
file. When the outbox is empty but the chain grew (entries that carry no event), a batch of no events
carries the head alone.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple, Protocol
from uuid import UUID

import peewee as pw

from app import audit_anchor
from app.clock import Clock, iso, parse_iso
from app.store import Store
from app.store.models import Outbox
from protocol import MAX_BATCH, AuditHead, Event, EventBatchResult

log = logging.getLogger(__name__)

LOCAL_REJECT_PREFIX = "station: "


class EventSink(Protocol):
    """Where batches go: `SyncClient` in production, a fake in unit tests."""

    station_id: str

    def push(self, events: Sequence[Event], head: AuditHead | None = None,
             links: Sequence[AuditHead] = ()) -> EventBatchResult: ...


@dataclass(frozen=True)
class PushReport:
    sent: int = 0
    accepted: int = 0
    known: int = 0
    rejected: int = 0  # by the server, plus rows this station could not encode
    batches: int = 0

    def __add__(self, other: PushReport) -> PushReport:
        return PushReport(self.sent + other.sent, self.accepted + other.accepted, self.known + other.known,
                          self.rejected + other.rejected, self.batches + other.batches)


@dataclass(frozen=True)
class RejectedEvent:
    seq: int
    event_id: str
    kind: str
    created_at: str
    reason: str
    payload: dict[str, Any]


class OutboxRow(NamedTuple):
    seq: int
    event_id: str
    kind: str
    payload: str
    created_at: str


def _unsent() -> Any:
    return Outbox.acked_at.is_null() & Outbox.rejected_reason.is_null()


def pending_rows(limit: int = MAX_BATCH, after_seq: int = 0) -> list[OutboxRow]:
    """The next unsent rows in `seq` order (neither acked nor rejected)."""
    query = (Outbox.select(Outbox.seq, Outbox.event_id, Outbox.kind, Outbox.payload, Outbox.created_at)
             .where(_unsent() & (Outbox.seq > after_seq)).order_by(Outbox.seq).limit(limit).tuples())
    return [OutboxRow(*row) for row in query]


def outbox_depth() -> int:
    return int(Outbox.select().where(_unsent()).count())


def oldest_unsent_at() -> datetime | None:
    row = Outbox.select(Outbox.created_at).where(_unsent()).order_by(Outbox.seq).first()
    return parse_iso(row.created_at) if row else None


def _rejected() -> Any:
    # A rejected row is never acked: saying so lets SQLite use the partial index of unacked rows
    # instead of scanning an outbox that keeps every row it ever sent.
    return Outbox.acked_at.is_null() & Outbox.rejected_reason.is_null(False)


def rejected_count() -> int:
    return int(Outbox.select().where(_rejected()).count())


def rejected_events(limit: int | None = None) -> list[RejectedEvent]:
    """Events the server (or this station) refused: kept for a supervisor, oldest first."""
    query = Outbox.select().where(_rejected()).order_by(Outbox.seq)
    if limit is not None:
        query = query.limit(limit)
    out: list[RejectedEvent] = []
    for row in query:
        try:
            payload = json.loads(row.payload)
        except ValueError:
            payload = {"unreadable": row.payload[:200]}
        out.append(RejectedEvent(row.seq, row.event_id, row.kind, row.created_at, row.rejected_reason,
                                 payload if isinstance(payload, dict) else {"value": payload}))
    return out


def to_event(row: OutboxRow, station_id: str) -> Event:
    """The protocol form of an outbox row; ValueError when the row cannot be encoded.

    Built without pydantic's validation (the drain of 100,000 events spends its time here otherwise):
    the checks below are the ones `Event` would make, on values typed exactly as its fields.
    """
    payload = json.loads(row.payload)
    if not isinstance(payload, dict):
        raise ValueError(f"payload is a JSON {type(payload).__name__}, not an object")
    if not 1 <= len(row.kind) <= 64 or not 1 <= len(station_id) <= 64 or row.seq < 1:
        raise ValueError(f"kind {row.kind[:80]!r}, station or seq out of range")
    return Event.model_construct(id=UUID(row.event_id), kind=row.kind, at=parse_iso(row.created_at),
                                 station=station_id, seq=row.seq, payload=payload)


def _encode(rows: Sequence[OutboxRow], station_id: str) -> tuple[list[Event], dict[int, str]]:
    events: list[Event] = []
    broken: dict[int, str] = {}
    for row in rows:
        try:
            events.append(to_event(row, station_id))
        except ValueError as exc:  # json.JSONDecodeError and a bad UUID or time are ValueErrors too
            first = str(exc).splitlines()[0]
            broken[row.seq] = f"{LOCAL_REJECT_PREFIX}cannot encode event: {first}"[:500]
    return events, broken


def _set(store: Store, column: str, value: str, seqs: Sequence[int], only_unacked: bool = True) -> None:
    """One UPDATE of at most MAX_BATCH rows by primary key (raw SQL: peewee spends longer building it)."""
    if not seqs:
        return
    guard = '"acked_at" IS NULL AND ' if only_unacked else ""
    marks = ", ".join("?" * len(seqs))
    store.db.execute_sql(f'UPDATE "outbox" SET "{column}" = ? WHERE {guard}"seq" IN ({marks})', (value, *seqs))


def _mark(store: Store, clock: Clock, rows: Sequence[OutboxRow], result: EventBatchResult,
          broken: dict[int, str]) -> tuple[int, int, int]:
    """Every answer of one batch, in one transaction."""
    seq_of = {str(UUID(row.event_id)): row.seq for row in rows if row.seq not in broken}
    acked = [seq_of[str(r.id)] for r in result.results if r.status in ("accepted", "known")]
    rejected: dict[str, list[int]] = {}
    for r in result.results:
        if r.status == "rejected":
            reason = (r.reason or "rejected by the server, no reason given")[:2000]
            rejected.setdefault(reason, []).append(seq_of[str(r.id)])
    for seq, reason in broken.items():
        rejected.setdefault(reason, []).append(seq)
    with store.atomic():
        _set(store, "acked_at", iso(clock.now()), acked)
        for reason, seqs in rejected.items():
            _set(store, "rejected_reason", reason, seqs)
        _record_head(store, result)
    accepted = sum(r.status == "accepted" for r in result.results)
    return accepted, len(acked) - accepted, sum(len(seqs) for seqs in rejected.values())


def _count_failure(store: Store, seqs: Sequence[int]) -> None:
    marks = ", ".join("?" * len(seqs))
    with store.atomic():
        store.db.execute_sql(f'UPDATE "outbox" SET "attempts" = "attempts" + 1 WHERE "seq" IN ({marks})', tuple(seqs))


@dataclass(frozen=True)
class _Prepared:
    rows: Sequence[OutboxRow]
    events: list[Event]
    broken: dict[int, str]
    head: AuditHead | None = None
    links: tuple[AuditHead, ...] = ()


def _prepare(rows: Sequence[OutboxRow], station_id: str) -> _Prepared:
    events, broken = _encode(rows, station_id)
    claim = audit_anchor.claim()
    if claim is None:
        return _Prepared(rows, events, broken)
    head, links = claim
    return _Prepared(rows, events, broken, AuditHead(seq=head.seq, hash=head.hash),
                     tuple(AuditHead(seq=p.seq, hash=p.hash) for p in links))


def _send(store: Store, sink: EventSink, batch: _Prepared) -> EventBatchResult:
    if batch.head is not None:
        audit_anchor.note_sent(store, batch.head.seq)
    return sink.push(batch.events, batch.head, batch.links)


def _record_head(store: Store, result: EventBatchResult) -> None:
    ack = result.audit_head
    if ack is not None:
        audit_anchor.record_ack(store, ack.status, ack.seq, ack.hash, ack.acknowledged_at, ack.reason)


def _settle(store: Store, clock: Clock, batch: _Prepared, sending: Future[EventBatchResult] | None) -> PushReport:
    """Wait for the answer to `batch` and record it; on failure count the attempt and raise."""
    result = EventBatchResult(results=[])
    if sending is not None:
        try:
            result = sending.result()
        except BaseException:
            try:
                _count_failure(store, [row.seq for row in batch.rows])
            except pw.DatabaseError:
                log.exception("could not count a failed push attempt")
            raise
    accepted, known, rejected = _mark(store, clock, batch.rows, result, batch.broken)
    return PushReport(sent=len(batch.events), accepted=accepted, known=known, rejected=rejected, batches=1)


def push_outbox(store: Store, sink: EventSink, clock: Clock, *, batch_size: int = MAX_BATCH,
                max_batches: int | None = None,
                on_batch: Callable[[PushReport], None] | None = None) -> PushReport:
    """Push everything unsent, oldest first, batch by batch, until the outbox is drained (or
    `max_batches` were sent). Raises the sink's error on the first failure; batches already answered
    stay marked. `on_batch` gets the running total after each batch (progress; it may raise to stop
    before the next batch is sent).

    One request is in flight at a time (the server applies a station's events in order); while it is,
    this thread reads and encodes the next batch, so the station's share of the work overlaps the
    server's. Rows a batch did not settle are sent again next round, not in a tight loop now.
    """
    if not 1 <= batch_size <= MAX_BATCH:
        raise ValueError(f"batch_size must be 1..{MAX_BATCH}, not {batch_size}")
    total = PushReport()
    station = sink.station_id
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="outbox-push") as http:
        batch = _prepare(pending_rows(batch_size, 0), station)
        if not batch.rows:
            _push_head_alone(store, sink, batch)
        while batch.rows and (max_batches is None or total.batches < max_batches):
            sending = http.submit(_send, store, sink, batch) if batch.events else None
            last = max_batches is not None and total.batches + 1 >= max_batches
            upcoming = _prepare([] if last else pending_rows(batch_size, batch.rows[-1].seq), station)
            total += _settle(store, clock, batch, sending)
            if on_batch is not None:
                on_batch(total)
            batch = upcoming
    return total


def _push_head_alone(store: Store, sink: EventSink, batch: _Prepared) -> None:
    """No event to send, but a head the server has not acknowledged: send it in a batch of none."""
    ack = audit_anchor.acknowledged()
    if batch.head is None or (ack is not None and (ack.seq, ack.hash) == (batch.head.seq, batch.head.hash)):
        return
    _record_head(store, _send(store, sink, batch))
