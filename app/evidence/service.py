"""Evidence packs (docs/architecture.md §9.2): one PDF for many orders, or one PDF per order in a folder.

    paths = build_evidence(store, ["TB2026112500001"], Path("pack.pdf"),
                           render_label_png=drivers.printers.preview.render_png,
                           settings=EvidenceSettings.from_config(config), progress=report)

or in two steps, `gather_evidence` (reads one snapshot, verifies the chain) then `write_evidence`, when
the caller wants to know the chain's state before writing (the CLI's exit code, the UI's warning).

The label image comes from the renderer the caller injects (`app` never imports `drivers`). The audit
chain is verified once per call and every pack states the result. Read-only: nothing is written to the
store (a parcel printed without a passport gets none here either). Output files appear whole or not at
all (written to a temporary name, then renamed).
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from app.audit import ChainReport
from app.audit_rows import verify_rows
from app.clock import Clock, SystemClock, iso, parse_iso
from app.config import StationConfig
from app.documents.words import BOTH, document_words
from app.evidence.collect import EvidenceError, approved_by, collect, sla_facts
from app.evidence.integrity import row_verdict
from app.evidence.model import DocumentContext, EvidenceItem, OrderEvidence, WeightCheck
from app.evidence.pdf import Progress, write_evidence_pdf
from app.evidence.sla import SlaPolicy, analyse
from app.i18n import N_
from app.labels import Label, Party, build_label
from app.pack.weights import Tolerance
from app.store import Store
from app.store.models import Shipment

LabelRenderer = Callable[[Label], bytes]
PassportLookup = Callable[[Shipment], str | None]


@dataclass(frozen=True)
class EvidenceSettings:
    """What the packs need from the station's configuration (see `from_config`)."""

    tz: str = "Asia/Shanghai"
    station: str = "BENCH-1"
    warehouse: str = ""
    sender: Party = field(default_factory=lambda: StationConfig().sender_party())
    tolerance: Tolerance = field(default_factory=Tolerance)
    policy: SlaPolicy = field(default_factory=SlaPolicy)
    passport_base_url: str = ""
    reveal_phone: bool = False
    lang: str = BOTH  # a catalog language, or BOTH: a dispute's reader may read either (docs/architecture.md §7)

    @classmethod
    def from_config(cls, config: StationConfig, *, reveal_phone: bool = False,
                    policy: SlaPolicy | None = None, lang: str = BOTH) -> EvidenceSettings:
        """`sla_handover_hours` / `sla_delivery_hours` in station.toml set the promises once StationConfig
        has those fields; until then (and when absent) the SlaPolicy defaults apply."""
        default = SlaPolicy()
        policy = policy or SlaPolicy(float(getattr(config, "sla_handover_hours", default.handover_hours)),
                                     float(getattr(config, "sla_delivery_hours", default.delivery_hours)))
        return cls(tz=config.timezone, station=config.station, warehouse=config.sender.name,
                   sender=config.sender_party(), tolerance=Tolerance(config.tolerance_g, config.tolerance_pct),
                   policy=policy, passport_base_url=config.passport_base_url, reveal_phone=reveal_phone,
                   lang=lang)


def verify_command(data_dir: Path) -> str:
    args = ["packbench", "audit", "verify", "--data-dir", str(data_dir)]
    return subprocess.list2cmdline(args) if os.name == "nt" else shlex.join(args)


def stored_passports(store: Store, data_dir: Path, base_url: str) -> PassportLookup:
    """The passport URL a parcel's label carried, or None when it had none. `passport_for_shipment`
    re-mints it from the stored passport id with this station's key (deterministic, so identical to
    the printed one); it writes nothing for a parcel that already has its id, and no other is asked."""
    from app.keys import load_or_create_station_key, private_key_path
    from app.passport import PassportError, passport_for_shipment

    if not base_url or not private_key_path(data_dir).exists():
        return lambda shipment: None
    key = load_or_create_station_key(data_dir)  # exists: only loaded

    def lookup(shipment: Shipment) -> str | None:
        if not shipment.passport_id:
            return None
        try:
            return passport_for_shipment(store, key, base_url, shipment)
        except PassportError:
            return None
    return lookup


def prepare(evidence: OrderEvidence, settings: EvidenceSettings, now_iso: str, passports: PassportLookup
            ) -> EvidenceItem:
    """Derive what the PDF shows from the gathered evidence: SLA verdict, weight check, the label (its
    image is rendered while the PDF is laid out, so a batch's progress moves with the real work)."""
    verdict = analyse(sla_facts(evidence), parse_iso(now_iso), settings.policy)
    parcel = evidence.live_parcel
    weight: WeightCheck | None = None
    session = next((s for s in evidence.sessions if parcel and s.id == parcel.session_id), None)
    if parcel and session and session.expected_weight_g is not None:
        expected = session.expected_weight_g
        actual = session.weight_g if session.weight_g is not None else parcel.weight_g
        allowed = settings.tolerance.allowed(expected)
        weight = WeightCheck(expected, actual, allowed, abs(actual - expected) <= allowed,
                             approved_by(evidence, parcel.tracking_no))
    label, note, url = None, "", None
    if parcel is not None:
        shipment = Shipment.get_by_id(parcel.id)
        url = passports(shipment)
        first = min(parcel.prints, key=lambda j: (j.reprint_no, j.job_id), default=None)
        if first is None:
            note = N_("no print job for this parcel")
        else:
            station = session.station if session else settings.station
            label = build_label(first.job_id, settings.sender, station, settings.tz, url or "")
    return EvidenceItem(evidence, verdict, weight, label, note, url)


def safe_name(order_id: str) -> str:
    name = re.sub(r"[^A-Za-z0-9._-]+", "_", order_id).strip("._") or "order"
    return name[:80]


@dataclass(frozen=True)
class EvidenceBatch:
    """The packs to write, read from the store in one snapshot; `chain` says whether the audit chain
    verified in that snapshot (a caller may warn before writing anything)."""

    items: tuple[EvidenceItem, ...]
    context: DocumentContext

    @property
    def chain(self) -> ChainReport:
        return self.context.chain


def gather_evidence(store: Store, order_ids: Sequence[str], *, render_label_png: LabelRenderer,
                    settings: EvidenceSettings | None = None, clock: Clock | None = None,
                    passports: PassportLookup | None = None) -> EvidenceBatch:
    """Read every order, its audit entries and the chain digest in one read transaction (deferred:
    no write lock, the bench keeps packing), so the pack describes one moment. Unknown order ids
    raise EvidenceError before anything is written."""
    settings = settings or EvidenceSettings()
    ids = list(dict.fromkeys(order_ids))  # each order once, in the order asked
    if not ids:
        raise EvidenceError("no order ids given")
    data_dir = store.path.parent
    now = iso((clock or SystemClock()).now())
    lookup = passports or stored_passports(store, data_dir, settings.passport_base_url)
    with store.db.atomic():
        gathered = [collect(order_id, data_dir, reveal_phone=settings.reveal_phone) for order_id in ids]
        chain, checks = verify_rows(ref for evidence in gathered for ref in evidence.rows)
        items = tuple(replace(prepare(evidence, settings, now, lookup), rows=row_verdict(evidence.rows, checks))
                      for evidence in gathered)
    return EvidenceBatch(items, DocumentContext(settings.tz, now, chain, verify_command(data_dir), settings.station,
                                                settings.warehouse, settings.reveal_phone, render_label_png,
                                                words=document_words(settings.lang)))


def write_evidence(batch: EvidenceBatch, out: Path, *, per_order: bool = False,
                   progress: Progress | None = None) -> list[Path]:
    """Write the packs: one PDF `out` with a section per order, or with `per_order` one `<order>.pdf`
    per order in the folder `out`. `progress(done, total)` counts orders; returns the files written."""
    items, ctx = batch.items, batch.context
    out = Path(out)
    if not per_order:
        _atomic(out, lambda tmp: write_evidence_pdf(tmp, items, ctx, progress))
        return [out]
    out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    taken: set[str] = set()
    for n, one in enumerate(items, start=1):
        name = safe_name(one.evidence.order.order_id)
        stem, k = name, 2
        while name.lower() in taken:
            name, k = f"{stem}-{k}", k + 1
        taken.add(name.lower())
        path = out / f"{name}.pdf"
        _atomic(path, lambda tmp, one=one: write_evidence_pdf(tmp, [one], ctx))  # type: ignore[misc]
        written.append(path)
        if progress is not None:
            progress(n, len(items))
    return written


def build_evidence(store: Store, order_ids: Sequence[str], out: Path, *, render_label_png: LabelRenderer,
                   per_order: bool = False, settings: EvidenceSettings | None = None, clock: Clock | None = None,
                   progress: Progress | None = None, passports: PassportLookup | None = None) -> list[Path]:
    """`gather_evidence` then `write_evidence`: the packs of `order_ids` into `out`; the files written."""
    batch = gather_evidence(store, order_ids, render_label_png=render_label_png, settings=settings, clock=clock,
                            passports=passports)
    return write_evidence(batch, out, per_order=per_order, progress=progress)


def _atomic(path: Path, write: Callable[[Path], object]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
