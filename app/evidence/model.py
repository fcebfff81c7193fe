"""What an evidence pack holds, as plain frozen data: gathered by `collect`, drawn by `pdf`.

Times are the store's UTC ISO text; the PDF converts them to the station's zone. The receiver's phone
arrives here already masked unless the pack was asked to reveal it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from app.audit import ChainReport
from app.documents.words import BILINGUAL_WORDS, DocumentWords
from app.evidence.integrity import RowsVerdict
from app.evidence.sla import SlaVerdict
from app.i18n import Phrase
from app.labels import Label


@dataclass(frozen=True)
class OrderInfo:
    order_id: str
    platform: str
    shop: str
    status: str
    buyer: str
    receiver_name: str
    receiver_phone: str  # masked unless revealed
    receiver_address: str
    total_cents: int
    paid_cents: int
    created_at: str | None
    paid_at: str | None
    ship_by: str | None
    carrier: str
    note: str


@dataclass(frozen=True)
class LineInfo:
    line_no: int
    sku: str
    name: str
    qty: int
    unit_price_cents: int


@dataclass(frozen=True)
class SessionInfo:
    id: int
    station: str
    operator: str
    started_at: str
    ended_at: str | None
    state: str
    expected_weight_g: int | None
    weight_g: int | None


@dataclass(frozen=True)
class ScanInfo:
    session_id: int | None
    at: str
    operator: str
    station: str
    source: str
    code: str  # the raw bytes as scanned, control characters made visible
    outcome: str
    message: Phrase  # the outcome's words, worded in the document's language (app.pack.recorded)


@dataclass(frozen=True)
class PrintInfo:
    job_id: int
    reprint_no: int
    state: str
    printer: str
    format: str
    attempts: int
    created_at: str
    updated_at: str
    error: str


@dataclass(frozen=True)
class ParcelInfo:
    id: int
    tracking_no: str
    carrier: str
    service: str
    weight_g: int
    voided: bool
    created_at: str
    passport_id: str | None
    session_id: int | None
    prints: tuple[PrintInfo, ...]


@dataclass(frozen=True)
class HandoverInfo:
    tracking_no: str
    batch_id: str
    carrier: str
    station: str
    courier: str
    state: str
    scanned_at: str
    scanned_by: str
    handed_over_at: str | None
    closed_by: str | None


@dataclass(frozen=True)
class TrackingInfo:
    tracking_no: str
    time: str
    status: str
    carrier_status: str
    site: str
    courier: str
    context: str  # the carrier's text exactly as sent
    source: str


@dataclass(frozen=True)
class CaseInfo:
    id: int
    tag: str
    rule_id: str
    severity: str
    state: str
    title: Phrase  # worded in the document's language (app.cases.case_title)
    opened_at: str
    updated_at: str
    note: str


@dataclass(frozen=True)
class AuditInfo:
    seq: int
    at: str
    actor: str
    kind: str
    hash: str
    payload: str


@dataclass(frozen=True)
class PhotoInfo:
    session_id: int | None
    at: str
    audit_seq: int
    file: str  # relative to the data dir, as audited
    sha256: str  # as audited
    path: Path
    status: str  # ok | missing | altered | not_synced (a pack rendered elsewhere than at the station)


@dataclass(frozen=True)
class OrderEvidence:
    """Everything the store knows about one order, for one pack."""

    order: OrderInfo
    lines: tuple[LineInfo, ...]
    sessions: tuple[SessionInfo, ...]
    scans: tuple[ScanInfo, ...]
    parcels: tuple[ParcelInfo, ...]
    handovers: tuple[HandoverInfo, ...]
    tracking: tuple[TrackingInfo, ...]
    cases: tuple[CaseInfo, ...]
    audit: tuple[AuditInfo, ...]
    photos: tuple[PhotoInfo, ...]
    rows: tuple[tuple[str, int], ...] = ()  # (table, id) of every covered row shown, for `app.evidence.integrity`

    @property
    def live_parcel(self) -> ParcelInfo | None:
        """The parcel that went (or will go) out: the newest one not voided, else the newest."""
        live = [p for p in self.parcels if not p.voided] or list(self.parcels)
        return live[-1] if live else None

    def handover_of(self, tracking_no: str) -> HandoverInfo | None:
        return next((h for h in self.handovers if h.tracking_no == tracking_no), None)


@dataclass(frozen=True)
class WeightCheck:
    expected_g: int
    actual_g: int
    allowed_g: int
    ok: bool
    approved_by: str | None  # the supervisor who accepted a weight outside tolerance


@dataclass(frozen=True)
class EvidenceItem:
    """One order's pack: the gathered evidence and what was derived from it."""

    evidence: OrderEvidence
    sla: SlaVerdict
    weight: WeightCheck | None
    label: Label | None  # the live parcel's first print, as built for the printer (rendered in the PDF)
    label_note: str  # why there is no label (a message id, worded by the PDF), or ""
    passport_url: str | None
    rows: RowsVerdict | None = None  # the rows this pack prints, as the audit chain covers them


@dataclass(frozen=True)
class DocumentContext:
    """What every order in one PDF shares."""

    tz: str
    generated_at: str  # UTC ISO
    chain: ChainReport
    verify_command: str
    station: str
    warehouse: str
    reveal_phone: bool
    render_label_png: Callable[[Label], bytes] | None = None  # injected: `app` never imports drivers
    # Set when the pack is not drawn from the station's own store (the server renders it from synced
    # facts): who rendered it, and each thing the source lacks. The audit chain is then the head the
    # source keeps, not a chain verified here.
    source: Phrase | None = None
    missing: tuple[Phrase, ...] = ()
    words: DocumentWords = BILINGUAL_WORDS  # the document's language(s), docs/architecture.md §7
