"""The evidence pack of one order rendered by the server, from the facts its stations synced.

The station's renderer (`app.evidence.pdf`) draws it; this only builds its model (`app.evidence.model`)
from the server database instead of a station store: the platform's order and lines, the parcels the
stations reported, the scan, print, handover, passport and photo facts they pushed (`station_event`,
read by station and time window, then matched exactly on the order id or a parcel number), the raw
carrier trail, the exception cases and the audit chain head each station had the server keep.

What only the station holds is named in the pack as missing, never guessed: the label image (the
station re-renders it from its print job), pack sessions and the station's weight tolerance (the
weight is judged with the default one), packing photo files, audit entry hashes and row checks, the
passport's signed link. The pack says it was rendered by the server and from which station's head.
"""

from __future__ import annotations

import os
import tempfile
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from app.audit import ChainReport, canonical_json
from app.clock import iso
from app.evidence.collect import approved_by, sla_facts
from app.evidence.model import (
    AuditInfo,
    CaseInfo,
    DocumentContext,
    EvidenceItem,
    HandoverInfo,
    LineInfo,
    OrderEvidence,
    OrderInfo,
    ParcelInfo,
    PhotoInfo,
    PrintInfo,
    ScanInfo,
    TrackingInfo,
    WeightCheck,
)
from app.evidence.photo import PHOTO_KIND
from app.evidence.sla import SlaPolicy, analyse
from app.i18n import N_, Phrase, placeholders
from app.labels import mask_phone
from app.pack.outcomes import MESSAGES
from app.pack.weights import Tolerance
from app.store.states import HandoverState
from server.cases import title_of
from server.db import ServerDb
from server.models import Order, OrderLine, Parcel, ServerCase, Station, TrackingEvent
from server.order_facts import Fact, facts_of, window

SOURCE = Phrase(N_("rendered by the server from the facts the stations synced, not the station's own evidence pack"))


@dataclass(frozen=True)
class ServerPack:
    item: EvidenceItem
    chain: ChainReport  # the head the server keeps of the packing station's chain
    station: str  # that station, "BENCH-1 (ST-…)"
    warehouse: str
    missing: tuple[Phrase, ...]


def _text(payload: dict[str, Any], key: str, default: str = "") -> str:
    value = payload.get(key)
    return default if value is None else str(value)


def _int(payload: dict[str, Any], key: str) -> int | None:
    value = payload.get(key)
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _order_info(order: Any, order_id: str) -> OrderInfo:
    if order is None:
        return OrderInfo(order_id, "—", "", N_("unknown to the platform"), "", "", "", "", 0, 0, None,
                         None, None, "", "")
    return OrderInfo(order.order_id, order.platform, order.shop, order.status, order.buyer, order.receiver_name,
                     mask_phone(order.receiver_phone), order.receiver_address, order.total_cents, order.paid_cents,
                     order.created_at, order.paid_at, order.ship_by, order.carrier, order.note)


def _prints(facts: list[Fact]) -> dict[str, list[PrintInfo]]:
    """Print jobs per tracking number, from the print.* facts (state: the last one's)."""
    jobs: dict[tuple[str, int], list[Fact]] = defaultdict(list)
    for f in facts:
        if f.kind.startswith("print.") and isinstance(f.payload.get("job"), int):
            jobs[(f.station_id, f.payload["job"])].append(f)
    out: dict[str, list[PrintInfo]] = defaultdict(list)
    for (_, job), seen in sorted(jobs.items(), key=lambda item: item[1][0].at):
        last = seen[-1]
        attempts = sum(f.kind != "print.queued" for f in seen)
        out[_text(last.payload, "tracking_no")].append(PrintInfo(
            job, _int(last.payload, "reprint_no") or 0, last.kind.removeprefix("print."), "—", "—", attempts,
            seen[0].at, last.at, _text(last.payload, "reason")))
    return out


def _handovers(parcels: list[Any], facts: list[Fact], names: dict[str, str]) -> tuple[HandoverInfo, ...]:
    scanned = {_text(f.payload, "tracking_no"): f for f in facts if f.kind == "handover.accepted"}
    closed = {_text(f.payload, "batch_id"): f for f in facts if f.kind == "handover.closed"}
    out = []
    for p in parcels:
        scan = scanned.get(p.tracking_no)
        batch = p.handover_batch or (_text(scan.payload, "batch_id") if scan else "")
        if not batch:
            continue
        close = closed.get(batch)
        station = names.get(close.station_id if close else p.station_id, p.station_id)
        out.append(HandoverInfo(
            p.tracking_no, batch, _text(close.payload, "carrier", p.carrier) if close else p.carrier, station,
            _text(close.payload, "courier") if close else "",
            HandoverState.CLOSED if p.handed_over_at else HandoverState.OPEN,
            scan.at if scan else (p.handed_over_at or ""), _text(scan.payload, "actor", "—") if scan else "—",
            p.handed_over_at, _text(close.payload, "actor") if close else None))
    return tuple(out)


def _audit(facts: list[Fact], names: dict[str, str]) -> tuple[AuditInfo, ...]:
    """Each fact as the audit entry the station recorded it in (`audit_seq`); the entry's hash is not
    synced, only the chain head."""
    several = len({f.station_id for f in facts}) > 1
    out = []
    for f in facts:
        body = {k: v for k, v in f.payload.items() if k not in ("audit_seq", "actor")}
        actor = _text(f.payload, "actor", "—") + (f" @{names.get(f.station_id, f.station_id)}" if several else "")
        out.append(AuditInfo(_int(f.payload, "audit_seq") or 0, f.at, actor, f.kind, "—", canonical_json(body)))
    return tuple(out)


def _scans(facts: list[Fact], names: dict[str, str]) -> tuple[ScanInfo, ...]:
    out = []
    for f in facts:
        if f.kind != "scan":
            continue
        outcome = _text(f.payload, "outcome")
        msgid = MESSAGES[outcome].text if outcome in MESSAGES else ""
        # Worded only when the fact carries every detail its words need (the station's own pack words them all).
        message = Phrase(msgid, dict(f.payload)) if placeholders(msgid) <= set(f.payload) else Phrase("")
        out.append(ScanInfo(None, f.at, _text(f.payload, "actor", "—"),
                            _text(f.payload, "station", names.get(f.station_id, f.station_id)),
                            _text(f.payload, "source", "—"), _text(f.payload, "code", "—"), outcome, message))
    return tuple(out)


def gather(sdb: ServerDb, order_id: str, warehouses: tuple[str, ...], now: datetime,
           policy: SlaPolicy | None = None) -> ServerPack | None:
    """The pack of `order_id` if it is an order (or the order of a parcel) of one of `warehouses`,
    else None: another warehouse's order is not found, the same as one that does not exist."""
    with sdb.connection():
        order = Order.get_or_none((Order.order_id == order_id) & Order.warehouse.in_(list(warehouses)))
        parcels = list(Parcel.select().where((Parcel.order_id == order_id) & Parcel.warehouse.in_(list(warehouses)))
                       .order_by(Parcel.packed_at, Parcel.id))
        if order is None and not parcels:
            return None
        warehouse = order.warehouse if order is not None else parcels[0].warehouse
        lines = tuple(LineInfo(ln.line_no, ln.sku, ln.name, ln.qty, ln.unit_price_cents) for ln in
                      OrderLine.select().where(OrderLine.order == order).order_by(OrderLine.line_no)
                      ) if order is not None else ()
        numbers = [p.tracking_no for p in parcels]
        case_rows = list(ServerCase.select().where((ServerCase.warehouse == warehouse) & (
            (ServerCase.order_id == order_id) | (ServerCase.tracking_no.in_(numbers or [""])))).order_by(ServerCase.id))
        stations = {s.station_id: s for s in Station.select().where(Station.warehouse == warehouse)}
        names = {sid: s.name for sid, s in stations.items()}
        cases: dict[str, set[int]] = defaultdict(set)
        for c in case_rows:
            if c.station_case is not None:
                cases[c.station_id].add(int(c.station_case))
        facts = facts_of(sdb, sorted(stations), window(order, parcels, case_rows, now), order_id, numbers, cases)
        trail = tuple(TrackingInfo(t.tracking_no, t.time, t.status, t.carrier_status, t.site, t.courier, t.context,
                                   t.source)
                      for t in TrackingEvent.select().where(TrackingEvent.tracking_no.in_(numbers))
                      .order_by(TrackingEvent.time, TrackingEvent.id)) if numbers else ()
    created = {_text(f.payload, "tracking_no"): f.payload for f in facts if f.kind == "shipment.created"}
    prints = _prints(facts)
    parcel_infos = tuple(ParcelInfo(
        p.id, p.tracking_no, p.carrier, "", int(created.get(p.tracking_no, {}).get("weight_g") or 0),
        p.voided_at is not None, p.packed_at, p.passport_id, None, tuple(prints.get(p.tracking_no, ())))
        for p in parcels)
    photos = tuple(PhotoInfo(_int(f.payload, "session"), f.at, _int(f.payload, "audit_seq") or 0,
                             _text(f.payload, "file"), _text(f.payload, "sha256"), Path(_text(f.payload, "file")),
                             "not_synced")
                   for f in facts if f.kind == PHOTO_KIND)
    case_infos = tuple(CaseInfo(int(c.station_case if c.station_case is not None else c.id), c.tag, c.rule_id,
                                c.severity, c.state, title_of(c.title, c.title_words), c.opened_at, c.updated_at,
                                c.note) for c in case_rows)
    evidence = OrderEvidence(_order_info(order, order_id), lines, (), _scans(facts, names), parcel_infos,
                             _handovers(parcels, facts, names), trail, case_infos, _audit(facts, names), photos)
    live = evidence.live_parcel
    weight = None
    shipped = created.get(live.tracking_no) if live else None
    if live and shipped and isinstance(shipped.get("expected_weight_g"), int):
        expected, allowed = int(shipped["expected_weight_g"]), Tolerance().allowed(int(shipped["expected_weight_g"]))
        weight = WeightCheck(expected, live.weight_g, allowed, abs(live.weight_g - expected) <= allowed,
                             approved_by(evidence, live.tracking_no))
    packer = next((p.station_id for p in reversed(parcels) if p.voided_at is None), parcels[-1].station_id
                  if parcels else "")
    head = stations.get(packer)
    chain = ChainReport(True, 0, (head.audit_hash or "") if head else "", head_seq=int(head.audit_seq or 0)
                        if head else 0)
    missing = _missing(order, evidence, head, names)
    item = EvidenceItem(evidence, analyse(sla_facts(evidence), now, policy or SlaPolicy()), weight, None,
                        N_("the label image is not on the server: the station re-renders it from its print job"),
                        None)
    station = f"{head.name} ({head.station_id})" if head else "—"
    return ServerPack(item, chain, station, warehouse, missing)


def _missing(order: Any, evidence: OrderEvidence, head: Any, names: dict[str, str]) -> tuple[Phrase, ...]:
    tolerance = Tolerance()
    out = [Phrase(N_("the label image (the station re-renders it from its print job)")),
           Phrase(N_("pack sessions and the station's weight tolerance (weight judged with the default ±{grams} g "
                     "/ {percent}%)"), {"grams": tolerance.grams, "percent": f"{tolerance.percent:g}"}),
           Phrase(N_("audit entry hashes and row checks (the server keeps each station's chain head only)"))]
    if order is None:
        out.insert(0, Phrase(N_("the platform's order: never synced (packed but unknown to the platform)")))
    if evidence.photos:
        out.append(Phrase(N_("packing photos: {count} recorded, the files stay at the station"),
                          {"count": len(evidence.photos)}))
    if any(p.passport_id for p in evidence.parcels):
        out.append(Phrase(N_("the passport's signed link (only the station's key can re-make it)")))
    if head is not None:
        out.append(Phrase(N_("facts {station} recorded after its last sync ({seen})"),
                          {"station": head.name, "seen": head.last_seen_at or "—"}))
    elif not names:
        out.append(Phrase(N_("stations: none enrolled for this warehouse")))
    return tuple(out)


def render_pdf(sdb: ServerDb, order_id: str, warehouses: tuple[str, ...], now: datetime, tz: str
               ) -> tuple[bytes, str] | None:
    """(the PDF, the order's warehouse), or None when the order is not one of `warehouses`."""
    from app.evidence.pdf import write_evidence_pdf

    pack = gather(sdb, order_id, warehouses, now)
    if pack is None:
        return None
    ctx = DocumentContext(tz, iso(now), pack.chain, f"packbench audit verify   # at station {pack.station}",
                          pack.station, pack.warehouse, False, None, SOURCE, pack.missing)
    handle, name = tempfile.mkstemp(suffix=".pdf")
    os.close(handle)
    path = Path(name)
    try:
        write_evidence_pdf(path, [pack.item], ctx)
        return path.read_bytes(), pack.warehouse
    finally:
        path.unlink(missing_ok=True)
