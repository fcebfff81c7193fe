"""The order's part of a pack: the summary box on top, the order with its lines, its exception cases."""

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
    grid,
    heading,
    key_values,
    money,
    para,
    styles,
)
from app.evidence.model import DocumentContext, EvidenceItem
from app.evidence.sections.audit import chain_line, rows_line
from app.evidence.sections.tracking import sla_colour
from app.terms import CASE_STATES, CASE_TAGS, PLATFORMS
from app.waybills import carrier_label


def summary(item: EvidenceItem, ctx: DocumentContext, when: LocalTime) -> list[Any]:
    from reportlab.lib import colors

    _ = ctx.words
    s = styles()
    ev, parcel = item.evidence, item.evidence.live_parcel
    name = _("Evidence pack")
    title = para(f"{name} — {ev.order.order_id}", s.h1)
    generated, station, warehouse, zone = _("Generated"), _("Station"), _("Warehouse"), _("Time zone")
    sub = para(f"{generated} {when(ctx.generated_at)} · {station} {ctx.station} · "
               f"{warehouse} {ctx.warehouse or '—'} · {zone} {when.zone_text}", s.small, GREY)
    if parcel is None:
        tracking = _("not packed")
    else:
        tracking = f"{parcel.tracking_no}  {_.pick(carrier_label(parcel.carrier, 'zh'), carrier_label(parcel.carrier))}"
        if parcel.voided:
            tracking += "  (" + _("VOIDED") + ")"
    chain_text, chain_colour = chain_line(ctx)
    colour = sla_colour(item.sla.code, item.sla.late)
    rows = [
        [para(_("Tracking"), s.small), para(tracking)],
        [para(_("SLA"), s.small), para(_(item.sla.phrase, sep="  ·  "), s.body, colour)],
        [para(_("Audit"), s.small), para(chain_text, s.body, chain_colour)],
        *([[para(_("Rows"), s.small), para(rows_line(item, _), s.body, GREEN if item.rows.ok else RED)]]
          if item.rows is not None else []),
        *([[para(_("Source"), s.small), para(_(ctx.source, sep="\n"), s.body, AMBER)]] if ctx.source else []),
        *([[para(_("Missing"), s.small), para("\n".join(_(thing) for thing in ctx.missing), s.body, AMBER)]]
          if ctx.missing else []),
    ]
    shade = colors.HexColor("#eeeeee")
    table = grid(rows, [24 * MM, 156 * MM], header=False, zebra=False, extra=[
        ("BACKGROUND", (0, 0), (0, -1), shade), ("BOX", (0, 0), (-1, -1), 0.4, colors.grey),
        ("INNERGRID", (0, 0), (-1, -1), 0.3, colors.grey)])
    return [title, sub, table]


def order_section(item: EvidenceItem, ctx: DocumentContext, when: LocalTime) -> list[Any]:
    _ = ctx.words
    s = styles()
    o = item.evidence.order
    platform = _(PLATFORMS.get(o.platform, o.platform))
    info = key_values([
        (_("Platform/shop"), f"{platform} / {o.shop or '—'}"), (_("Status"), _(o.status)),
        (_("Buyer"), o.buyer or "—"), (_("Receiver"), f"{o.receiver_name}  {o.receiver_phone}"),
        (_("Address"), o.receiver_address), (_("Total / paid"), f"{money(o.total_cents)} / {money(o.paid_cents)}"),
        (_("Created"), when(o.created_at)), (_("Paid"), when(o.paid_at)),
        (_("Ship by"), when(o.ship_by)), (_("Note"), o.note or "—"),
    ], [26 * MM, 64 * MM, 26 * MM, 64 * MM])
    head = (_("No."), "SKU", _("Name"), _("Qty"), _("Unit price"))
    rows: list[list[Any]] = [[para(h, s.head) for h in head]]
    rows += [[para(ln.line_no, s.small), para(ln.sku, s.small), para(ln.name, s.small), para(ln.qty, s.small),
              para(money(ln.unit_price_cents), s.small)] for ln in item.evidence.lines]
    lines = grid(rows, [12 * MM, 38 * MM, 90 * MM, 16 * MM, 24 * MM])
    return [heading(1, _("Order and lines", sep="  ")), info, gap(), lines]


def cases_section(item: EvidenceItem, ctx: DocumentContext, when: LocalTime) -> list[Any]:
    _ = ctx.words
    s = styles()
    title = heading(10, _("Exception cases", sep="  "))
    cases = item.evidence.cases
    if not cases:
        return [title, para(_("no exception cases"), s.body, GREY)]
    head = ("#", _("Tag"), _("Severity"), _("State"), _("Title"), _("Opened at"))
    rows: list[list[Any]] = [[para(h, s.head) for h in head]]
    rows += [[para(c.id, s.tiny), para(_(CASE_TAGS.get(c.tag, c.tag)), s.tiny), para(_(c.severity), s.tiny),
              para(_(CASE_STATES.get(c.state, c.state)), s.tiny),
              para(_(c.title) + (f"\n{c.note}" if c.note else ""), s.tiny), para(when(c.opened_at), s.tiny)]
             for c in cases]
    widths = [10 * MM, 26 * MM, 18 * MM, 22 * MM, 77 * MM, 27 * MM]
    return [title, grid(rows, widths)]
