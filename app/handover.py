"""Carrier handover (docs/architecture.md §9.4): scan parcels out to a courier, close the batch, sign a manifest.

A batch is open for one carrier at one station; scanning a parcel's label adds it once. A parcel that
must not leave is refused loudly: voided label, order cancelled or refunded after packing (intercept),
already handed over, another carrier's, or unknown here. Closing re-checks every parcel in the batch
(an order can be cancelled between its scan and the courier's signature), drops the intercepted ones,
stamps the rest handed over and marks their orders shipped.

Each fact is one transaction with its audit entry and outbox event: `handover.opened`,
`handover.accepted`, `handover.refused` (every scan that added nothing, with its outcome — also a
scan that found no open batch),
`handover.removed`, `handover.intercepted` (dropped at close), `handover.closed`,
`handover.manifest_opened` (CONFIRM scanned to the offer to print a closed batch's manifest).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import peewee as pw

from app.audit import record_fact
from app.barcodes import CARRIER_PATTERNS, BarcodeError, Kind, interpret
from app.clock import Clock, iso, parse_iso
from app.errors import PackBenchError
from app.i18n import ENGLISH, N_, Phrase, Words, plain
from app.labels import mask_phone
from app.pack.outcomes import Level, Message, message_text
from app.store import Store
from app.store.handover_models import Handover, HandoverItem
from app.store.models import Order, Shipment
from app.store.states import HandoverState, OrderStatus
from app.terms import BARCODE_KINDS, named

IN_CHUNK = 500
INTERCEPT_STATUSES = {OrderStatus.CANCELLED: "intercept_cancelled", OrderStatus.REFUNDED: "intercept_refunded"}

# event: (level, English msgid). Placeholders are filled from the outcome's fields and detail.
MESSAGES: dict[str, Message] = {
    "accepted": Message(Level.OK, N_("{tracking_no} OK — {count} in batch")),
    "already_in_this_batch": Message(
        Level.WARN, N_("{tracking_no} already scanned — if this is a second box with the same label, set it aside")),
    "already_handed_over": Message(
        Level.ERROR, N_("{tracking_no} was ALREADY HANDED OVER in {handed_over_batch} — set it aside")),
    "in_other_batch": Message(
        Level.ERROR, N_("{tracking_no} is in open batch {other_batch} — finish that batch first")),
    "voided": Message(Level.ERROR, N_("VOIDED label {tracking_no} — do not ship, set the parcel aside")),
    "wrong_carrier": Message(
        Level.ERROR, N_("{tracking_no} is a {parcel_carrier} parcel, not {carrier} — set it aside")),
    "intercept_cancelled": Message(
        Level.ERROR, N_("INTERCEPT {tracking_no}: order {order_id} was CANCELLED — do not ship")),
    "intercept_refunded": Message(
        Level.ERROR, N_("INTERCEPT {tracking_no}: order {order_id} was REFUNDED — do not ship")),
    "unknown_parcel": Message(Level.ERROR, N_("No packed parcel {tracking_no} at this station — set it aside")),
    "not_a_tracking_number": Message(Level.ERROR, N_("Not a waybill: {reason}")),
    "removed": Message(Level.WARN, N_("{tracking_no} taken out of {batch_id}")),
    "not_in_batch": Message(Level.ERROR, N_("{tracking_no} is not in {batch_id}")),
}
REFUSALS = frozenset(event for event, message in MESSAGES.items() if message.level is Level.ERROR)


class HandoverError(PackBenchError):
    """The batch cannot do that (closed, empty, unknown carrier); one line for the person at the bench."""

    def __init__(self, message: str | Words, intercepted: tuple[HandoverOutcome, ...] = (), **values: Any) -> None:
        super().__init__(message, **values)
        self.intercepted = intercepted


@dataclass(frozen=True)
class HandoverOutcome:
    event: str
    code: str
    batch_id: str
    tracking_no: str | None = None
    order_id: str | None = None
    detail: dict[str, Any] = field(default_factory=dict)

    @property
    def level(self) -> Level:
        return MESSAGES[self.event].level

    @property
    def refused(self) -> bool:
        return self.event in REFUSALS

    def text(self, lang: str) -> str:
        return message_text(MESSAGES, self.event, lang, {
            "code": self.code, "batch_id": self.batch_id, "tracking_no": self.tracking_no or self.code,
            "order_id": self.order_id, **self.detail})

    def as_json(self, lang: str = ENGLISH) -> dict[str, Any]:
        return {"event": self.event, "level": self.level.value, "code": self.code, "tracking_no": self.tracking_no,
                "order_id": self.order_id, "batch_id": self.batch_id, "message": self.text(lang),
                **{k: plain(v) for k, v in self.detail.items()}}


@dataclass(frozen=True)
class Batch:
    id: int
    batch_id: str
    carrier: str
    station: str
    state: str
    opened_at: str
    opened_by: str
    count: int
    resumed: bool = False  # open_batch found this station's unfinished batch for the carrier


@dataclass(frozen=True)
class ManifestLine:
    tracking_no: str
    order_id: str
    receiver: str  # masked: "张* 138****5678"
    weight_g: int
    scanned_at: str


@dataclass(frozen=True)
class Manifest:
    batch_id: str
    carrier: str
    station: str
    opened_at: str
    opened_by: str
    closed_at: str | None
    closed_by: str | None
    courier: str
    lines: tuple[ManifestLine, ...]
    intercepted: tuple[HandoverOutcome, ...] = ()  # dropped at close: these parcels must be pulled

    @property
    def count(self) -> int:
        return len(self.lines)

    @property
    def total_weight_g(self) -> int:
        return sum(line.weight_g for line in self.lines)


@dataclass(frozen=True)
class OverdueParcel:
    tracking_no: str
    order_id: str
    carrier: str
    packed_at: str
    age_hours: float
    order_status: str
    open_batch: str | None  # scanned into a batch that is not closed yet

    def as_json(self) -> dict[str, Any]:
        return {"tracking_no": self.tracking_no, "order_id": self.order_id, "carrier": self.carrier,
                "packed_at": self.packed_at, "age_hours": round(self.age_hours, 1),
                "order_status": self.order_status, "open_batch": self.open_batch}


def mask_name(name: str) -> str:
    """`张伟` → `张*`, `Emily Zhang` → `E**`: the courier sees enough to match a parcel, not a person."""
    name = name.strip()
    return name[:1] + "*" * min(max(len(name) - 1, 1), 2) if name else ""


class HandoverService:
    def __init__(self, store: Store, clock: Clock, station: str, actor: str, tz: str = "Asia/Shanghai") -> None:
        self.store = store
        self.clock = clock
        self.station = station
        self.actor = actor
        self.tz = ZoneInfo(tz)

    # ----- batches -----
    def open_batch(self, carrier: str) -> Batch:
        """A new batch for the carrier, or this station's batch for it that was never closed."""
        code = carrier.strip().upper()
        if code not in CARRIER_PATTERNS:
            raise HandoverError(N_("unknown carrier {code!r}; known: {known}"), code=carrier,
                                known=", ".join(CARRIER_PATTERNS))
        now = self.clock.now()
        with self.store.atomic():
            row = Handover.get_or_none((Handover.station == self.station) & (Handover.carrier == code)
                                       & (Handover.state == HandoverState.OPEN))
            if row is not None:
                return self._batch(row, resumed=True)
            row = Handover.create(batch_id=self._new_batch_id(code, now), carrier=code, station=self.station,
                                  state=HandoverState.OPEN, opened_at=iso(now), opened_by=self.actor)
            record_fact("handover.opened", self.actor, now,
                        {"batch_id": row.batch_id, "carrier": code, "station": self.station})
        return self._batch(row)

    def open_batches(self) -> list[Batch]:
        rows = Handover.select().where((Handover.station == self.station) & (Handover.state == HandoverState.OPEN))
        return [self._batch(row) for row in rows.order_by(Handover.id)]

    def batch(self, batch_id: str) -> Batch:
        return self._batch(self._row(batch_id))

    def _new_batch_id(self, carrier: str, now: datetime) -> str:
        tag = re.sub(r"[^A-Z0-9-]+", "", self.station.upper()) or "ST"
        prefix = f"HO-{now.astimezone(self.tz):%Y%m%d}-{tag}-{carrier}-"
        taken = Handover.select().where(Handover.batch_id.startswith(prefix)).count()
        return f"{prefix}{taken + 1:03d}"

    def _batch(self, row: Handover, resumed: bool = False) -> Batch:
        count = HandoverItem.select().where(HandoverItem.handover == row).count()
        return Batch(row.id, row.batch_id, row.carrier, row.station, row.state, row.opened_at, row.opened_by,
                     count, resumed)

    def _row(self, batch_id: str) -> Handover:
        row = Handover.get_or_none(Handover.batch_id == batch_id)
        if row is None:
            raise HandoverError(N_("no handover batch {batch}"), batch=batch_id)
        return row  # type: ignore[no-any-return]

    def _open_row(self, batch: Batch) -> Handover:
        row = self._row(batch.batch_id)
        if row.state != HandoverState.OPEN:
            raise HandoverError(N_("handover batch {batch} is closed; open a new one"), batch=row.batch_id)
        return row

    # ----- scanning -----
    def scan(self, batch: Batch, code: str | bytes) -> HandoverOutcome:
        """Judge one scanned label and, if the parcel may go, add it to the batch."""
        now = self.clock.now()
        with self.store.atomic():
            row = self._open_row(batch)
            outcome = self._judge(row, code)
            if outcome.event == "accepted":
                shipment = Shipment.get(Shipment.tracking_no == outcome.tracking_no)
                HandoverItem.create(handover=row, shipment=shipment, tracking_no=shipment.tracking_no,
                                    scanned_at=iso(now), scanned_by=self.actor)
                count = HandoverItem.select().where(HandoverItem.handover == row).count()
                outcome = _with(outcome, count=count)
                kind = "handover.accepted"
            else:
                kind = "handover.refused"
                if outcome.event in INTERCEPT_STATUSES.values() or outcome.event == "voided":
                    # Accepted earlier, stopped now: it leaves the batch at once (close would drop it anyway).
                    removed = (HandoverItem.delete().where((HandoverItem.handover == row)
                               & (HandoverItem.tracking_no == outcome.tracking_no)).execute())
                    if removed:
                        outcome = _with(outcome, removed_from_batch=True)
            record_fact(kind, self.actor, now, self._fact(outcome))
        return outcome

    def record_manifest_opened(self, batch_id: str, code: str | bytes) -> None:
        """CONFIRM scanned to the offer to print a closed batch's manifest: recorded like every scan here."""
        with self.store.atomic():
            record_fact("handover.manifest_opened", self.actor, self.clock.now(),
                        {"station": self.station, "batch_id": batch_id, "code": _scanned_text(code)[:64]})

    def record_unbatched(self, code: str | bytes, why: str) -> None:
        """A scan no batch could take (no carrier picked yet, the batch closed elsewhere): recorded
        all the same, as a refusal with its reason, so every scan at the handover leaves a trace."""
        now = self.clock.now()
        with self.store.atomic():
            record_fact("handover.refused", self.actor, now, {
                "station": self.station, "batch_id": None, "outcome": "not_in_a_batch", "reason": why,
                "code": _tracking_text(code)[:64]})

    def remove(self, batch: Batch, code: str | bytes) -> HandoverOutcome:
        """Take a scanned parcel out of an open batch (it stays at the warehouse)."""
        now = self.clock.now()
        with self.store.atomic():
            row = self._open_row(batch)
            tracking = _tracking_text(code)
            deleted = HandoverItem.delete().where((HandoverItem.handover == row)
                                                  & (HandoverItem.tracking_no == tracking)).execute()
            outcome = HandoverOutcome("removed" if deleted else "not_in_batch", tracking, row.batch_id, tracking)
            if deleted:
                record_fact("handover.removed", self.actor, now, self._fact(outcome))
        return outcome

    def _judge(self, row: Handover, code: str | bytes) -> HandoverOutcome:
        text = code.decode("utf-8", "replace") if isinstance(code, bytes) else code
        batch_id = row.batch_id
        try:
            parsed = interpret(code)
        except BarcodeError as exc:
            return HandoverOutcome("not_a_tracking_number", text.strip()[:64], batch_id, detail={"reason": exc.reason})
        is_parcel = parsed.kind is Kind.TRACKING or (parsed.kind is Kind.GTIN and parsed.carrier is not None)
        if not is_parcel:
            return HandoverOutcome("not_a_tracking_number", parsed.text, batch_id,
                                   detail={"reason": Phrase(N_("{code} is {kind}, not a waybill number"), {
                                       "code": parsed.text, "kind": named(BARCODE_KINDS, parsed.kind.value)})})
        tracking = parsed.text
        shipment = Shipment.get_or_none(Shipment.tracking_no == tracking)
        if shipment is None:
            return HandoverOutcome("unknown_parcel", tracking, batch_id, tracking)
        order = shipment.order

        def out(event: str, **detail: Any) -> HandoverOutcome:
            return HandoverOutcome(event, tracking, batch_id, tracking, order.order_id, detail)

        if shipment.voided:
            return out("voided")
        if order.status in INTERCEPT_STATUSES:
            return out(INTERCEPT_STATUSES[order.status], order_status=order.status)
        item = HandoverItem.get_or_none(HandoverItem.shipment == shipment)
        if item is not None:
            other = item.handover
            if other.id == row.id:
                return out("already_in_this_batch")
            if other.state == HandoverState.CLOSED:
                return out("already_handed_over", handed_over_batch=other.batch_id,
                           handed_over_at=item.handed_over_at or other.closed_at)
            return out("in_other_batch", other_batch=other.batch_id)
        if shipment.carrier != row.carrier:
            return out("wrong_carrier", parcel_carrier=shipment.carrier, carrier=row.carrier)
        return out("accepted")

    def _fact(self, outcome: HandoverOutcome) -> dict[str, Any]:
        return {"station": self.station, "batch_id": outcome.batch_id, "outcome": outcome.event,
                "code": outcome.code, "tracking_no": outcome.tracking_no, "order_id": outcome.order_id,
                **{k: plain(v) for k, v in outcome.detail.items() if k != "count"}}

    # ----- closing -----
    def close(self, batch: Batch, courier_name: str) -> Manifest:
        """Close the batch: drop parcels stopped since their scan, stamp the rest handed over.

        Raises HandoverError (with the intercepted parcels) when nothing is left to hand over; the
        batch then stays open.
        """
        now = self.clock.now()
        stamp = iso(now)
        with self.store.atomic():
            row = self._open_row(batch)
            intercepted = self._drop_stopped(row, now)
            items = list(HandoverItem.select(HandoverItem, Shipment, Order).join(Shipment).join(Order)
                         .where(HandoverItem.handover == row))
            if items:
                HandoverItem.update(handed_over_at=stamp).where(HandoverItem.handover == row).execute()
                order_ids = [item.shipment.order_id for item in items]
                for start in range(0, len(order_ids), IN_CHUNK):
                    Order.update(status=OrderStatus.SHIPPED, updated_at=stamp).where(
                        Order.id.in_(order_ids[start:start + IN_CHUNK])
                        & (Order.status == OrderStatus.PACKED)).execute()
                Handover.update(state=HandoverState.CLOSED, closed_at=stamp, closed_by=self.actor,
                                courier=courier_name.strip()).where(Handover.id == row.id).execute()
                record_fact("handover.closed", self.actor, now, {
                    "station": self.station, "batch_id": row.batch_id, "carrier": row.carrier,
                    "courier": courier_name.strip(), "count": len(items),
                    "tracking_nos": sorted(item.tracking_no for item in items),
                })
        if not items:
            raise HandoverError(N_("batch {batch} has no parcels to hand over; it stays open"), intercepted,
                                batch=row.batch_id)
        return self.manifest(batch.batch_id, intercepted)

    def _drop_stopped(self, row: Handover, now: datetime) -> tuple[HandoverOutcome, ...]:
        stopped = (HandoverItem.select(HandoverItem, Shipment, Order).join(Shipment).join(Order)
                   .where((HandoverItem.handover == row)
                          & ((Shipment.voided == True) | Order.status.in_(list(INTERCEPT_STATUSES))))  # noqa: E712
                   .order_by(HandoverItem.id))
        dropped = []
        for item in list(stopped):
            shipment, order = item.shipment, item.shipment.order
            event = "voided" if shipment.voided else INTERCEPT_STATUSES[order.status]
            outcome = HandoverOutcome(event, item.tracking_no, row.batch_id, item.tracking_no, order.order_id,
                                      {"removed_from_batch": True})
            HandoverItem.delete().where(HandoverItem.id == item.id).execute()
            record_fact("handover.intercepted", self.actor, now, self._fact(outcome))
            dropped.append(outcome)
        return tuple(dropped)

    def manifest(self, batch_id: str, intercepted: tuple[HandoverOutcome, ...] = ()) -> Manifest:
        """The manifest of a batch as stored (also to reprint a closed batch's manifest)."""
        row = self._row(batch_id)
        items = (HandoverItem.select(HandoverItem, Shipment, Order).join(Shipment).join(Order)
                 .where(HandoverItem.handover == row).order_by(HandoverItem.id))
        lines = tuple(
            ManifestLine(item.tracking_no, item.shipment.order.order_id,
                         f"{mask_name(item.shipment.order.receiver_name)} "
                         f"{mask_phone(item.shipment.order.receiver_phone)}".strip(),
                         item.shipment.weight_g, item.scanned_at)
            for item in items
        )
        return Manifest(row.batch_id, row.carrier, row.station, row.opened_at, row.opened_by, row.closed_at,
                        row.closed_by, row.courier, lines, intercepted)

    # ----- parcels that never left -----
    def overdue_parcels(self, max_age: timedelta, carrier: str | None = None,
                        lookback: timedelta | None = None) -> list[OverdueParcel]:
        """Live parcels packed more than `max_age` ago and not in any closed batch, oldest first.

        Parcels whose order was cancelled after packing are included (they need intercepting and
        unpacking, which is an exception too); voided labels are not.
        """
        now = self.clock.now()
        query = (Shipment.select(Shipment.tracking_no, Order.order_id, Shipment.carrier, Shipment.created_at,
                                 Order.status, Handover.batch_id)
                 .join(Order)
                 .switch(Shipment).join(HandoverItem, pw.JOIN.LEFT_OUTER)
                 .join(Handover, pw.JOIN.LEFT_OUTER)
                 .where((Shipment.voided == False) & (Shipment.created_at < iso(now - max_age))  # noqa: E712
                        & HandoverItem.handed_over_at.is_null())
                 .order_by(Shipment.created_at, Shipment.id))
        if carrier:
            query = query.where(Shipment.carrier == carrier.strip().upper())
        if lookback is not None:  # bounded by the live-shipment index on created_at
            query = query.where(Shipment.created_at >= iso(now - lookback))
        return [
            OverdueParcel(tracking, order_id, code, packed_at, (now - parse_iso(packed_at)).total_seconds() / 3600,
                          status, batch_id)
            for tracking, order_id, code, packed_at, status, batch_id in query.tuples()
        ]


def reads_as_badge(code: str | bytes) -> bool:
    """True for a code that reads as none of what a handover scans — no waybill, product or command,
    nothing unreadable — which is what a person's badge reads as (`app.operators.add_operator` refuses
    any other). The close dialog takes only such a scan for the courier's badge: a late parcel scanned
    while it asks is a parcel, and a waybill number must never be signed for as the courier."""
    try:
        return interpret(code).kind is Kind.ORDER
    except BarcodeError:
        return False


def _with(outcome: HandoverOutcome, **detail: Any) -> HandoverOutcome:
    return HandoverOutcome(outcome.event, outcome.code, outcome.batch_id, outcome.tracking_no, outcome.order_id,
                           {**outcome.detail, **detail})


def _tracking_text(code: str | bytes) -> str:
    try:
        return interpret(code).text
    except BarcodeError:
        return _scanned_text(code).upper()


def _scanned_text(code: str | bytes) -> str:
    return (code.decode("utf-8", "replace") if isinstance(code, bytes) else code).strip()
