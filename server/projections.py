"""What each station event changes on the server (docs/architecture.md §11.3): parcels, order status, metrics, cases.

A station event is a fact recorded by `app.audit.record_fact`; its `kind` names it and its
payload is the audit payload. Kinds the server knows but does not project (overrides, imports,
most handover scans) are stored and acknowledged. An unknown kind, or a payload
missing what the projection needs, is rejected with the reason; so is an event that would touch
another warehouse's order or parcel, or claim a tracking number already on another order's live
parcel. A projection reads and checks everything before it writes, and runs in a savepoint.

Effects that need a change-stream position (orders to re-send, tracking events now visible to a
warehouse) and metric increments are collected in `Effects` and written once per batch.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from app.clock import iso
from app.errors import PackBenchError
from app.pack.outcomes import MESSAGES, Level
from app.store.states import OrderStatus
from protocol import Event
from server.auth import StationIdentity
from server.claims import VOUCHED, Case, claim_of
from server.models import Order, Parcel

log = logging.getLogger("server.events")

PROJECTED = ("scan", "shipment.created", "shipment.voided", "print.queued", "handover.closed", "passport.minted",
             "exception.opened", "exception.bumped", "exception.acknowledged", "exception.resolved")
STORED_ONLY = (
    "print.sent", "print.done", "print.failed", "handover.opened", "handover.accepted", "handover.refused",
    "handover.removed", "handover.intercepted", "handover.manifest_opened", "override", "operator.added",
    "operator.language", "import.orders", "import.products",
    "waybills.imported",
    "photo.captured", "rules.updated", "rules.reset", "rules.refused", "exception.refused",
)
KNOWN_KINDS = frozenset(PROJECTED + STORED_ONLY)
ERROR_OUTCOMES = frozenset(name for name, message in MESSAGES.items() if message.level is Level.ERROR)
PACKABLE = (OrderStatus.NEW, OrderStatus.PAID)


class Rejected(PackBenchError):
    """The event cannot be applied; the message is the reason the station is told."""


class _Payload(BaseModel):
    model_config = ConfigDict(extra="allow")


class ScanPayload(_Payload):
    outcome: str = Field(min_length=1)


class ShipmentCreated(_Payload):
    order_id: str = Field(min_length=1, max_length=64)
    tracking_no: str = Field(min_length=4, max_length=64)
    carrier: str = Field(min_length=1, max_length=32)


class ShipmentVoided(_Payload):
    tracking_no: str = Field(min_length=4, max_length=64)


class PrintQueued(_Payload):
    reprint_no: int = 0


class HandoverClosed(_Payload):
    batch_id: str = Field(min_length=1, max_length=128)
    tracking_nos: list[str] = Field(max_length=10_000)


class PassportMinted(_Payload):
    passport_id: str = Field(min_length=1, max_length=64)
    tracking_no: str = Field(min_length=4, max_length=64)


@dataclass
class Effects:
    """What a batch changed that is written once at its end."""

    orders: set[int] = field(default_factory=set)  # order pks whose stream position must move
    parcels: list[tuple[str, str]] = field(default_factory=list)  # (tracking no, warehouse) now known
    metrics: dict[tuple[str, str, str], list[int]] = field(
        default_factory=lambda: defaultdict(lambda: [0, 0, 0, 0]))  # (station, hour, warehouse) → counts
    cases: list[Case] = field(default_factory=list)  # tracking-number claims to review (server.claims)
    fulfilment: set[str] = field(default_factory=set)  # order ids whose parcels changed (server.fulfilment)

    at: str = ""  # iso(event.at) of the event being projected, set by `project`

    def count(self, station: StationIdentity, at: datetime, column: int) -> None:
        offset = at.utcoffset()
        if self.at and offset is not None and not offset.seconds % 3600 and not offset.microseconds:
            hour = self.at[:14] + "00:00.000Z"  # a whole-hour offset: the hour in UTC is the local hour
        else:  # the local hour (half-hour offsets give hours at :30 UTC, as they always have)
            hour = iso(at.replace(minute=0, second=0, microsecond=0))
        self.metrics[(station.station_id, hour, station.warehouse)][column] += 1


SCANS, ERRORS, SHIPMENTS, REPRINTS = range(4)
METRIC_UPSERT = (  # one row of Effects.metrics added to the hour's counts
    'INSERT INTO "metric_hour" ("station_id", "hour", "warehouse", "scans", "errors", "shipments", "reprints") '
    'VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT ("station_id", "hour") DO UPDATE SET '
    '"scans" = "metric_hour"."scans" + excluded."scans", "errors" = "metric_hour"."errors" + excluded."errors", '
    '"shipments" = "metric_hour"."shipments" + excluded."shipments", '
    '"reprints" = "metric_hour"."reprints" + excluded."reprints"')


def payload(model: type[_Payload], event: Event) -> Any:
    try:
        return model.model_validate(event.payload)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "payload"
        raise Rejected(f"bad payload for {event.kind}: {where}: {first['msg']}") from None


def _foreign(station: StationIdentity, what: str, warehouse: str) -> Rejected:
    reason = f"{what} belongs to warehouse {warehouse}, not {station.warehouse}"
    log.warning("station %s tried to write another warehouse's data: %s", station.station_id, reason)
    return Rejected(reason)


def _order(station: StationIdentity, order_id: str) -> Any:
    order = Order.get_or_none(Order.order_id == order_id)
    if order is not None and order.warehouse != station.warehouse:
        raise _foreign(station, f"order {order_id}", order.warehouse)
    return order


def _set_order_status(fx: Effects, order: Any, status: OrderStatus, at: datetime) -> None:
    Order.update(status=status, updated_at=iso(at)).where(Order.id == order.id).execute()
    fx.orders.add(order.id)


def on_scan(station: StationIdentity, event: Event, fx: Effects) -> None:
    outcome = event.payload.get("outcome")
    if type(outcome) is not str or not outcome:  # what ScanPayload checks: say why the way pydantic does
        outcome = payload(ScanPayload, event).outcome
    fx.count(station, event.at, SCANS)
    if outcome in ERROR_OUTCOMES:
        fx.count(station, event.at, ERRORS)


def on_shipment_created(station: StationIdentity, event: Event, fx: Effects) -> None:
    p = payload(ShipmentCreated, event)
    order = _order(station, p.order_id)
    parcel = Parcel.get_or_none(Parcel.tracking_no == p.tracking_no)
    if parcel is not None:
        fx.fulfilment.add(parcel.order_id)  # the order it may leave (idempotent if nothing changes)
    at = iso(event.at)
    claim = claim_of(station.warehouse, p.tracking_no, order)
    sides = (station.warehouse, *((claim.other_warehouse,) if claim.other_warehouse else ()))
    if claim.source == "conflict":
        fx.cases += [Case(w, p.tracking_no, "conflict", station.station_id, next((o for o in sides if o != w), None),
                          f"station {station.station_id} claimed it: {claim.why}") for w in sides]
        raise Rejected(f"tracking number {p.tracking_no} is {claim.why}; refused, and a case was opened")
    if parcel is not None and parcel.warehouse != station.warehouse:
        pair = (station.warehouse, parcel.warehouse)
        taken = parcel.claim == "preprinted" and claim.source in VOUCHED
        fx.cases += [Case(w, p.tracking_no, "taken_over" if taken else "conflict", station.station_id,
                          pair[1 - i], f"{'taken over' if taken else 'claimed'} by station {station.station_id} "
                                       f"({claim.source}) from warehouse {parcel.warehouse} ({parcel.claim})")
                     for i, w in enumerate(pair)]
        if not taken:
            raise _foreign(station, f"parcel {p.tracking_no}", parcel.warehouse)
        Parcel.update(warehouse=station.warehouse, order_id=p.order_id).where(Parcel.id == parcel.id).execute()
        fx.parcels.append((p.tracking_no, station.warehouse))
        parcel = Parcel.get_by_id(parcel.id)
    if claim.source == "preprinted" and (parcel is None or parcel.claim != "preprinted"):
        fx.cases.append(Case(station.warehouse, p.tracking_no, "unverified", station.station_id, None,
                             "no pool, order or e-waybill vouches for this number: check the roll it came from"))
    if parcel is not None:
        if parcel.voided_at is None and parcel.order_id != p.order_id:
            raise Rejected(f"tracking number {p.tracking_no} is already on a live parcel of order {parcel.order_id}")
        Parcel.update(carrier=p.carrier, order_id=p.order_id, station_id=station.station_id, packed_at=at,
                      voided_at=None, updated_at=at, claim=claim.source).where(Parcel.id == parcel.id).execute()
    else:
        Parcel.create(tracking_no=p.tracking_no, carrier=p.carrier, order_id=p.order_id, warehouse=station.warehouse,
                      station_id=station.station_id, packed_at=at, updated_at=at, claim=claim.source)
        fx.parcels.append((p.tracking_no, station.warehouse))
    fx.fulfilment.add(p.order_id)
    if order is not None and order.status in PACKABLE:
        _set_order_status(fx, order, OrderStatus.PACKED, event.at)
    fx.count(station, event.at, SHIPMENTS)


def on_shipment_voided(station: StationIdentity, event: Event, fx: Effects) -> None:
    p = payload(ShipmentVoided, event)
    parcel = Parcel.get_or_none(Parcel.tracking_no == p.tracking_no)
    if parcel is None or parcel.voided_at is not None:
        return  # nothing live to void: the fact is stored all the same
    if parcel.warehouse != station.warehouse:
        raise _foreign(station, f"parcel {p.tracking_no}", parcel.warehouse)
    at = iso(event.at)
    Parcel.update(voided_at=at, updated_at=at).where(Parcel.id == parcel.id).execute()
    fx.fulfilment.add(parcel.order_id)
    order = Order.get_or_none(Order.order_id == parcel.order_id)
    live = Parcel.select().where((Parcel.order_id == parcel.order_id) & Parcel.voided_at.is_null()).exists()
    if order is not None and order.status == OrderStatus.PACKED and not live:
        _set_order_status(fx, order, OrderStatus.PAID, event.at)


def on_print_queued(station: StationIdentity, event: Event, fx: Effects) -> None:
    if payload(PrintQueued, event).reprint_no > 0:
        fx.count(station, event.at, REPRINTS)


def on_handover_closed(station: StationIdentity, event: Event, fx: Effects) -> None:
    p = payload(HandoverClosed, event)
    at = iso(event.at)
    parcels = list(Parcel.select().where(Parcel.tracking_no.in_(p.tracking_nos))) if p.tracking_nos else []
    for parcel in parcels:
        if parcel.warehouse != station.warehouse:
            raise _foreign(station, f"parcel {parcel.tracking_no}", parcel.warehouse)
    for parcel in parcels:
        if parcel.handed_over_at is None:
            Parcel.update(handed_over_at=at, handover_batch=p.batch_id, updated_at=at).where(
                Parcel.id == parcel.id).execute()
            fx.fulfilment.add(parcel.order_id)
        order = Order.get_or_none(Order.order_id == parcel.order_id)
        if order is not None and order.status == OrderStatus.PACKED:
            _set_order_status(fx, order, OrderStatus.SHIPPED, event.at)


def on_passport_minted(station: StationIdentity, event: Event, fx: Effects) -> None:
    p = payload(PassportMinted, event)
    Parcel.update(passport_id=p.passport_id).where(
        (Parcel.tracking_no == p.tracking_no) & (Parcel.warehouse == station.warehouse)).execute()


def on_case(station: StationIdentity, event: Event, fx: Effects) -> None:
    """Exception cases go to the server's one queue (`server.cases`)."""
    from server.cases import project_bumped, project_opened, project_transition

    if event.kind == "exception.opened":
        project_opened(station.station_id, station.warehouse, event.payload, fx.at)
    elif event.kind == "exception.bumped":
        project_bumped(station.station_id, event.payload, fx.at)
    else:
        project_transition(station.station_id, event.kind.removeprefix("exception."), event.payload, fx.at)


PROJECTIONS: dict[str, Callable[[StationIdentity, Event, Effects], None]] = {
    "exception.opened": on_case,
    "exception.bumped": on_case,
    "exception.acknowledged": on_case,
    "exception.resolved": on_case,
    "scan": on_scan,
    "shipment.created": on_shipment_created,
    "shipment.voided": on_shipment_voided,
    "print.queued": on_print_queued,
    "handover.closed": on_handover_closed,
    "passport.minted": on_passport_minted,
}
WRITES = frozenset({"shipment.created", "shipment.voided", "handover.closed", "passport.minted"})


def project(station: StationIdentity, event: Event, fx: Effects, at: str | None = None) -> None:
    """Apply one event's effects, or raise Rejected. `at` is iso(event.at), if the caller has it."""
    if event.kind not in KNOWN_KINDS:
        raise Rejected(f"unknown kind {event.kind!r}")
    handler = PROJECTIONS.get(event.kind)
    if handler is not None:
        fx.at = at or iso(event.at)
        try:
            handler(station, event, fx)
        finally:
            fx.at = ""
