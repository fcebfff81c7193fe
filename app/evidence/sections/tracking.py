"""The carrier's part of a pack: the raw tracking trail, and the SLA analysis of whose delay it was."""

from __future__ import annotations

from typing import Any

from app.evidence.layout import (
    AMBER,
    GREEN,
    GREY,
    MM,
    RED,
    LocalTime,
    gap,
    heading,
    key_values,
    para,
    styles,
    text_table,
)
from app.evidence.model import DocumentContext, EvidenceItem
from app.evidence.sla import PICKUP_STATUSES
from app.i18n import N_, Phrase
from app.tracking_states import status_words


def sla_colour(code: str, late: bool) -> str:
    if code == "dispute" or late:
        return RED
    return GREEN if code == "on_time" else AMBER


def tracking_section(item: EvidenceItem, ctx: DocumentContext, when: LocalTime) -> list[Any]:
    _ = ctx.words
    s = styles()
    ev = item.evidence
    out: list[Any] = [heading(6, _("Carrier tracking trail (raw)", sep="  "))]
    if not ev.tracking:
        return [*out, para(_("no tracking events received yet"), s.body, GREY)]
    sources = ", ".join(sorted({t.source for t in ev.tracking}))
    out.append(para(_("{count} events in time order; the description is the carrier's text exactly as sent "
                      "(source: {sources}).", count=len(ev.tracking), sources=sources), s.small, GREY))
    several = len({t.tracking_no for t in ev.tracking}) > 1
    head = (_("Time"), _("Site"), _("Courier"), _("Status"), _("Context as sent"))
    rows: list[list[str]] = []
    colours: list[tuple[int, int, str]] = []
    for n, t in enumerate(ev.tracking, start=1):
        status = f"{_.pick(*status_words(t.status))} {t.status}\n{t.carrier_status}"
        if several:
            status += f"\n{t.tracking_no}"
        rows.append([when(t.time), t.site or "—", t.courier or "—", status, t.context])
        if t.status in ("exception", "returned"):
            colours.append((n, 3, RED))
    return [*out, text_table(head, rows, [25 * MM, 25 * MM, 24 * MM, 27 * MM, 79 * MM], colours=colours)]


def sla_section(item: EvidenceItem, ctx: DocumentContext, when: LocalTime) -> list[Any]:
    _ = ctx.words
    s = styles()
    v = item.sla
    order, parcel = item.evidence.order, item.evidence.live_parcel
    handover = item.evidence.handover_of(parcel.tracking_no) if parcel else None
    trail = [t for t in item.evidence.tracking if parcel and t.tracking_no == parcel.tracking_no]
    pickup = next((t.time for t in trail if t.status in PICKUP_STATUSES), None)
    delivered = next((t.time for t in trail if t.status == "delivered"), None)
    promise_from = _("platform ship-by") if order.ship_by else _("paid + promise")
    carrier_from = {"handover": _("handed over + promise"),
                    "pickup": _("picked up + promise (no handover scan)")}.get(v.carrier_clock_from, "—")

    def party(hours: float | None) -> Any:
        if hours is None:
            return para(_("not yet known"), s.body, GREY)
        return para(_("on time"), s.body, GREEN) if hours == 0 else para(
            _("late by {hours} h", hours=f"{hours:.1f}"), s.body, RED)

    times = key_values([
        (_("Paid"), when(order.paid_at)), (_("Packed"), when(parcel.created_at if parcel else None)),
        (_("Handover due"), f"{when.dt(v.handover_due)}\n{promise_from}"),
        (_("Handed over"), when(handover.handed_over_at if handover else None)),
        (_("Picked up"), when(pickup)), (_("Delivered"), when(delivered)),
        (_("Delivery due"), f"{when.dt(v.delivery_due)}\n{carrier_from}"), ("", ""),
        (_("Warehouse (paid → handed over)"), party(v.warehouse_late_h)),
        (_("Carrier (handed over → delivered)"), party(v.carrier_late_h)),
    ], [30 * MM, 60 * MM, 30 * MM, 60 * MM])
    said = Phrase(N_("Verdict: {verdict}"), {"verdict": v.phrase})
    verdict = para(_(said, sep="\n"), s.verdict, sla_colour(v.code, v.late))
    return [heading(7, _("SLA analysis", sep="  ")), times, gap(), verdict]
