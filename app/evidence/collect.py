"""Gather everything the store holds about one order into an `OrderEvidence` (no drawing here).

A handful of indexed queries per order: the order and its lines, its pack sessions, their scan events
(by order or session, in time order), shipments with their print jobs, handover items with their
batches, the tracking trail of every parcel, exception cases, and the audit entries that name it.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import peewee as pw

from app.cases import case_title, detail_words
from app.clock import parse_iso
from app.errors import InputError
from app.evidence import audit_trail
from app.evidence.model import (
    AuditInfo,
    CaseInfo,
    HandoverInfo,
    LineInfo,
    OrderEvidence,
    OrderInfo,
    ParcelInfo,
    PhotoInfo,
    PrintInfo,
    ScanInfo,
    SessionInfo,
    TrackingInfo,
)
from app.evidence.photo import PHOTO_DIR, PHOTO_KIND
from app.evidence.sla import SlaFacts
from app.i18n import N_, Phrase
from app.labels import mask_phone
from app.pack.recorded import recorded_words
from app.store.handover_models import Handover, HandoverItem
from app.store.models import (
    ExceptionCase,
    Operator,
    Order,
    OrderLine,
    PackSession,
    PrintJob,
    ScanEvent,
    Shipment,
    TrackingEvent,
)
from app.store.states import CaseState

_VISIBLE = {0x1D: "<GS>", 0x1E: "<RS>", 0x04: "<EOT>", 0x09: "<TAB>", 0x0D: "<CR>", 0x0A: "<LF>"}


class EvidenceError(InputError):
    """An evidence pack cannot be made (unknown order, unwritable output); one line for a person."""


def visible_code(raw: bytes | None, limit: int = 96) -> str:
    """A scanned code as text, with control characters (GS1 separators, suffixes) shown by name."""
    if raw is None:
        return "—"
    text = bytes(raw).decode("utf-8", "replace")
    shown = "".join(_VISIBLE.get(ord(ch), f"\\x{ord(ch):02x}") if ord(ch) < 0x20 or ord(ch) == 0x7F else ch
                    for ch in text)
    return shown if len(shown) <= limit else shown[:limit - 1] + "…"


def collect(order_id: str, data_dir: Path, *, reveal_phone: bool = False) -> OrderEvidence:
    order = Order.get_or_none(Order.order_id == order_id)
    if order is None:
        raise EvidenceError(N_("no order {order!r} in this store"), order=order_id)
    info = OrderInfo(
        order.order_id, order.platform, order.shop, order.status, order.buyer, order.receiver_name,
        order.receiver_phone if reveal_phone else mask_phone(order.receiver_phone), order.receiver_address,
        order.total_cents, order.paid_cents, order.created_at, order.paid_at, order.ship_by, order.carrier,
        order.note)
    line_rows = list(OrderLine.select().where(OrderLine.order == order).order_by(OrderLine.line_no))
    lines = tuple(LineInfo(ln.line_no, ln.sku, ln.name, ln.qty, ln.unit_price_cents) for ln in line_rows)
    line_ids = [ln.id for ln in line_rows]
    sessions = tuple(
        SessionInfo(s.id, s.station, s.operator.name if s.operator_id else "—", s.started_at, s.ended_at, s.state,
                    s.expected_weight_g, s.weight_g)
        for s in PackSession.select(PackSession, Operator).join(Operator, pw.JOIN.LEFT_OUTER)
        .where(PackSession.order == order).order_by(PackSession.id))
    scans, scan_ids = _scans(order, [s.id for s in sessions])
    parcels = _parcels(order)
    tracking_nos = [p.tracking_no for p in parcels]
    items = list(HandoverItem.select(HandoverItem, Handover).join(Handover).where(
        HandoverItem.shipment.in_([p.id for p in parcels])).order_by(HandoverItem.id)) if parcels else []
    handovers = tuple(
        HandoverInfo(item.tracking_no, item.handover.batch_id, item.handover.carrier, item.handover.station,
                     item.handover.courier, item.handover.state, item.scanned_at, item.scanned_by,
                     item.handed_over_at, item.handover.closed_by) for item in items)
    tracking = tuple(
        TrackingInfo(t.tracking_no, t.time, t.status, t.carrier_status, t.site, t.courier, t.context, t.source)
        for t in TrackingEvent.select().where(TrackingEvent.tracking_no.in_(tracking_nos))
        .order_by(TrackingEvent.time, TrackingEvent.id)
    ) if tracking_nos else ()
    cases = tuple(
        CaseInfo(c.id, c.tag, c.rule_id, c.severity, c.state, case_title(c.title, detail_words(c.detail)), c.opened_at,
                 c.updated_at, c.note)
        for c in ExceptionCase.select().where(ExceptionCase.order == order).order_by(ExceptionCase.id))
    activity = [order.updated_at, *(s.started_at for s in sessions), *(s.ended_at for s in sessions),
                *(s.at for s in scans), *(p.created_at for p in parcels),
                *(j.updated_at for p in parcels for j in p.prints),
                *(h.scanned_at for h in handovers), *(h.handed_over_at for h in handovers),
                *(c.opened_at for c in cases), *(c.updated_at for c in cases)]
    audit = audit_trail.order_entries(order.order_id, tracking_nos, [c.id for c in cases], activity)
    photos = tuple(_photo(entry, data_dir) for entry in audit if entry.kind == PHOTO_KIND)
    rows = (("order", order.id), *(("order_line", pk) for pk in line_ids), *(("pack_session", x.id) for x in sessions),
            *(("scan_event", pk) for pk in scan_ids), *(("shipment", p.id) for p in parcels),
            *(("print_job", j.job_id) for p in parcels for j in p.prints), *(("handover_item", i.id) for i in items),
            *(("exception_case", c.id) for c in cases))
    return OrderEvidence(info, lines, sessions, scans, parcels, handovers, tracking, cases, audit, photos, rows)


def _scans(order: Order, session_ids: list[int]) -> tuple[tuple[ScanInfo, ...], list[int]]:
    where = ScanEvent.order == order
    if session_ids:
        where = where | ScanEvent.session.in_(session_ids)
    rows = (ScanEvent.select(ScanEvent, Operator).join(Operator, pw.JOIN.LEFT_OUTER)
            .where(where).order_by(ScanEvent.at, ScanEvent.id))
    events = list(rows)
    return tuple(ScanInfo(e.session_id, e.at, e.operator.name if e.operator_id else "—", e.station, e.source,
                          visible_code(e.raw), e.outcome, recorded_words(e.outcome, e.message)) for e in events), \
        [e.id for e in events]


def _parcels(order: Order) -> tuple[ParcelInfo, ...]:
    shipments = list(Shipment.select().where(Shipment.order == order).order_by(Shipment.id))
    jobs: dict[int, list[PrintInfo]] = {}
    if shipments:
        for j in PrintJob.select().where(PrintJob.shipment.in_([s.id for s in shipments])).order_by(PrintJob.id):
            jobs.setdefault(j.shipment_id, []).append(PrintInfo(
                j.id, j.reprint_no, j.state, j.printer, j.format, j.attempts, j.created_at, j.updated_at, j.error))
    return tuple(ParcelInfo(s.id, s.tracking_no, s.carrier, s.service, s.weight_g, bool(s.voided), s.created_at,
                            s.passport_id, s.session_id, tuple(jobs.get(s.id, ())))
                 for s in shipments)


def payload_of(entry: AuditInfo) -> dict[str, Any]:
    """An entry's payload; {} when it is not a JSON object (a tampered row must not stop the pack)."""
    try:
        payload = json.loads(entry.payload)
    except ValueError:
        return {}
    return payload if isinstance(payload, dict) else {}


def _photo(entry: AuditInfo, data_dir: Path) -> PhotoInfo:
    payload = payload_of(entry)
    relative = str(payload.get("file", ""))
    expected = str(payload.get("sha256", ""))
    root = Path(data_dir).resolve()
    path = (root / relative).resolve()
    try:
        if not relative or not path.is_relative_to(root / PHOTO_DIR):
            raise FileNotFoundError(relative)  # only files under DATA_DIR/photos are shown
        actual = hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        status = "missing"
    else:
        status = "ok" if actual == expected else "altered"
    session = payload.get("session")
    return PhotoInfo(session if isinstance(session, int) else None, entry.at, entry.seq, relative, expected, path,
                     status)


def approved_by(evidence: OrderEvidence, tracking_no: str) -> str | None:
    """The supervisor who accepted the parcel's weight, from its `shipment.created` audit entry."""
    for entry in evidence.audit:
        if entry.kind == "shipment.created":
            payload = payload_of(entry)
            if payload.get("tracking_no") == tracking_no and payload.get("approved_by"):
                return str(payload["approved_by"])
    return None


def sla_facts(evidence: OrderEvidence) -> SlaFacts:
    order = evidence.order
    parcel = evidence.live_parcel
    handover = evidence.handover_of(parcel.tracking_no) if parcel else None
    trail = tuple((t.status, parse_iso(t.time)) for t in evidence.tracking if parcel and t.tracking_no ==
                  parcel.tracking_no)
    dispute = next((Phrase(N_("case #{case} is open: {title}"), {"case": c.id, "title": c.title})
                    for c in evidence.cases if c.state != CaseState.RESOLVED
                    and ("disput" in f"{c.tag} {c.rule_id} {c.title.plain()}".lower() or "争议" in c.title.plain())),
                   None)
    return SlaFacts(
        paid_at=parse_iso(order.paid_at) if order.paid_at else None,
        ship_by=parse_iso(order.ship_by) if order.ship_by else None,
        packed_at=parse_iso(parcel.created_at) if parcel else None,
        handed_over_at=parse_iso(handover.handed_over_at) if handover and handover.handed_over_at else None,
        tracking=trail, dispute_note=dispute)
