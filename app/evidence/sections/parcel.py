"""The parcel's part of a pack: the label as printed (every print and reprint), the handover, the passport."""

from __future__ import annotations

from typing import Any

from app.evidence.layout import AMBER, GREY, MM, LocalTime, grid, heading, lazy_image, para, qr_flowable, styles
from app.evidence.model import DocumentContext, EvidenceItem
from app.i18n import N_
from app.waybills import carrier_label

PRINT_STATES = (N_("queued"), N_("sent"), N_("done"), N_("failed"))  # print_job.state, worded in the table


def label_section(item: EvidenceItem, ctx: DocumentContext, when: LocalTime) -> list[Any]:
    from reportlab.platypus import Table, TableStyle

    _ = ctx.words
    s = styles()
    ev = item.evidence
    out: list[Any] = [heading(4, _("The label as printed", sep="  "))]
    if not ev.parcels:
        return [*out, para(_("no label: the order was not packed"), s.body, GREY)]
    rows: list[list[Any]] = [[para(h, s.head) for h in (_("Parcel"), _("Print"), _("State"), _("Time"))]]
    voided_word, first_print, reprint = _("VOIDED"), _("first print"), _("REPRINT")
    for parcel in ev.parcels:
        voided = f" {voided_word}" if parcel.voided else ""
        for n, job in enumerate(parcel.prints or (None,)):
            what = "—" if job is None else (first_print if job.reprint_no < 2 else f"{reprint} {job.reprint_no}")
            state = "—" if job is None else _(job.state) + f" ({job.printer}/{job.format})" + (
                f" {job.error}" if job.error else "")
            rows.append([para(f"{parcel.tracking_no} {parcel.weight_g} g{voided}" if n == 0 else "", s.tiny),
                         para(f"#{job.job_id} {what}" if job else what, s.tiny), para(state, s.tiny),
                         para(when(job.updated_at if job else parcel.created_at), s.tiny)])
    jobs = grid(rows, [33 * MM, 29 * MM, 25 * MM, 27 * MM])
    if item.label is not None and ctx.render_label_png is not None:
        label, render = item.label, ctx.render_label_png
        image = lazy_image(lambda: render(label), 56 * MM, 84 * MM, _("label could not be rendered"))
        note = para(_("re-rendered from the stored shipment and print job: the content the printer was sent"),
                    s.tiny, GREY)
        left: list[Any] = [image, note]
    else:
        left = [para(_(item.label_note) if item.label_note else _("no label image"), s.small, GREY)]
    side = Table([[left, jobs]], colWidths=[62 * MM, 118 * MM])
    side.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"), ("LEFTPADDING", (0, 0), (-1, -1), 0)]))
    return [*out, side]


def handover_section(item: EvidenceItem, ctx: DocumentContext, when: LocalTime) -> list[Any]:
    _ = ctx.words
    s = styles()
    ev = item.evidence
    out: list[Any] = [heading(5, _("Handover to the carrier", sep="  "))]
    if not ev.handovers:
        return [*out, para(_("not handed over (no handover scan recorded)"), s.body, AMBER)]
    head = (_("Manifest"), _("Carrier"), _("Courier"), _("Scanned"), _("Handed over"), _("Parcel"))
    rows: list[list[Any]] = [[para(h, s.head) for h in head]]
    for h in ev.handovers:
        handed = when(h.handed_over_at) if h.handed_over_at else _("batch still open")
        rows.append([para(h.batch_id, s.tiny), para(_.pick(carrier_label(h.carrier, "zh"), h.carrier), s.tiny),
                     para(h.courier or "—", s.tiny), para(f"{when(h.scanned_at)} ({h.scanned_by})", s.tiny),
                     para(f"{handed}" + (f" ({h.closed_by})" if h.closed_by else ""), s.tiny),
                     para(h.tracking_no, s.tiny)])
    return [*out, grid(rows, [42 * MM, 20 * MM, 22 * MM, 35 * MM, 35 * MM, 26 * MM])]


def passport_section(item: EvidenceItem, ctx: DocumentContext, when: LocalTime) -> list[Any]:
    from reportlab.platypus import Table, TableStyle

    _ = ctx.words
    s = styles()
    out: list[Any] = [heading(8, _("Logistics passport", sep="  "))]
    parcel = item.evidence.live_parcel
    if not item.passport_url:
        why = _("the label carried no passport") if parcel else _("not packed")
        if parcel and parcel.passport_id:  # a pack rendered away from the station that signed it
            why = _("passport {passport} was issued; its signed link can only be re-made at the station",
                    passport=parcel.passport_id)
        return [*out, para(why, s.body, GREY)]
    text = [para(_("Scan to see the trail on the server; check the signature offline with:", sep="\n"), s.small),
            para(f"packbench passport verify '{item.passport_url}'", s.mono),
            para(_("Passport id") + f": {parcel.passport_id if parcel else '—'}", s.small)]
    table = Table([[qr_flowable(item.passport_url, 48 * MM), text]], colWidths=[52 * MM, 128 * MM])
    table.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "MIDDLE"), ("LEFTPADDING", (0, 0), (0, 0), 0)]))
    return [*out, table, para(item.passport_url, s.tiny)]
