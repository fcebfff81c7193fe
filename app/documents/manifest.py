"""The handover manifest (A4 PDF) the courier signs: batch, counts, parcel list, signature lines.

Text uses the embedded CJK font and the station's language (the courier and the packer sign it
there; docs/architecture.md §7); times are shown in the station's zone; receivers arrive masked
from `app.handover`. The parcel table repeats its header on every page and each page carries the
batch id and "page x of y", so a loose page still says which batch and how many pages.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape
from zoneinfo import ZoneInfo

from app.clock import parse_iso
from app.documents.fonts import register_cjk_font
from app.documents.words import document_words
from app.handover import Manifest
from app.i18n import DEFAULT_LANGUAGE
from app.waybills import carrier_label


def _local(text: str | None, tz: ZoneInfo, fmt: str = "%Y-%m-%d %H:%M") -> str:
    return parse_iso(text).astimezone(tz).strftime(fmt) if text else "—"


def write_manifest(path: Path, manifest: Manifest, *, warehouse: str = "", tz: str = "Asia/Shanghai",
                   lang: str = DEFAULT_LANGUAGE) -> int:
    """Write the manifest PDF in `lang` (the station's language); returns the number of pages."""
    from reportlab.graphics.barcode.code128 import Code128
    from reportlab.lib import colors
    from reportlab.lib.enums import TA_RIGHT
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.pdfgen import canvas
    from reportlab.platypus import KeepTogether, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

    _ = document_words(lang)
    font = register_cjk_font()
    zone = ZoneInfo(tz)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    body = ParagraphStyle("body", fontName=font, fontSize=9, leading=11.5, wordWrap="CJK")
    small = ParagraphStyle("small", parent=body, fontSize=8, leading=10)
    head = ParagraphStyle("head", parent=body, fontSize=8.5, leading=10.5, textColor=colors.white)
    title = ParagraphStyle("title", parent=body, fontSize=17, leading=21)
    right = ParagraphStyle("right", parent=body, alignment=TA_RIGHT)

    def p(text: object, style: ParagraphStyle = body) -> Paragraph:
        return Paragraph(escape(str(text)).replace("\n", "<br/>"), style)

    closed = manifest.closed_at is not None
    carrier = f"{_.pick(carrier_label(manifest.carrier, 'zh'), carrier_label(manifest.carrier))} ({manifest.carrier})"
    kg = f"{manifest.total_weight_g / 1000:.2f}"
    parcels_count = _("{count} parcels", count=manifest.count)
    info = [
        [p(_("Warehouse")), p(warehouse or "—"), p(_("Station")), p(manifest.station)],
        [p(_("Carrier")), p(carrier), p(_("Batch")), p(manifest.batch_id)],
        [p(_("Opened at")), p(f"{_local(manifest.opened_at, zone)} ({manifest.opened_by})"),
         p(_("Handed over")),
         p(f"{_local(manifest.closed_at, zone)}" + (f" ({manifest.closed_by})" if closed else ""))],
        [p(_("Parcels")), p(parcels_count), p(_("Total weight")), p(f"{kg} kg")],
        [p(_("Courier")), p(manifest.courier or "—"), p(_("Time zone")), p(tz)],
    ]
    info_table = Table(info, colWidths=[32 * mm, 56 * mm, 32 * mm, 60 * mm])
    info_table.setStyle(TableStyle([
        ("GRID", (0, 0), (-1, -1), 0.4, colors.grey),
        ("BACKGROUND", (0, 0), (0, -1), colors.HexColor("#eeeeee")),
        ("BACKGROUND", (2, 0), (2, -1), colors.HexColor("#eeeeee")),
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
    ]))

    barcode = Code128(manifest.batch_id, barHeight=12 * mm, barWidth=0.28 * mm, quiet=False)
    if barcode.width > 88 * mm:  # a long station id: narrower bars rather than a symbol off the page
        barcode = Code128(manifest.batch_id, barHeight=12 * mm, barWidth=0.28 * mm * 88 * mm / barcode.width,
                          quiet=False)
    barcode.hAlign = "RIGHT"
    caption = ParagraphStyle("caption", parent=right, fontSize=8)
    top = Table([[p(_("Carrier handover manifest", sep="\n"), title), [barcode, p(manifest.batch_id, caption)]]],
                colWidths=[90 * mm, 90 * mm])
    top.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "MIDDLE"), ("ALIGN", (1, 0), (1, 0), "RIGHT"),
                             ("LEFTPADDING", (0, 0), (0, 0), 0), ("RIGHTPADDING", (1, 0), (1, 0), 0)]))

    columns = (_("No."), _("Tracking no."), _("Order"), _("Receiver"), _("Weight (kg)"), _("Scanned"))
    rows: list[list[Any]] = [[p(c, head) for c in columns]]
    for n, line in enumerate(manifest.lines, start=1):
        rows.append([p(n), p(line.tracking_no), p(line.order_id), p(line.receiver, small),
                     p(f"{line.weight_g / 1000:.2f}", right), p(_local(line.scanned_at, zone, "%m-%d %H:%M"), small)])
    rows.append([p(""), p(_("Total: {parcels}", parcels=parcels_count)), p(""), p(""), p(kg, right), p("")])
    parcels = Table(rows, colWidths=[12 * mm, 42 * mm, 50 * mm, 36 * mm, 17 * mm, 23 * mm], repeatRows=1)
    parcels.setStyle(TableStyle([
        ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#333333")),
        ("ROWBACKGROUNDS", (0, 1), (-1, -2), [colors.white, colors.HexColor("#f3f3f3")]),
        ("LINEBELOW", (0, 0), (-1, -1), 0.3, colors.grey),
        ("LINEABOVE", (0, -1), (-1, -1), 1, colors.black),
        ("SPAN", (1, -1), (3, -1)),
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
        ("TOPPADDING", (0, 0), (-1, -1), 2), ("BOTTOMPADDING", (0, 0), (-1, -1), 2),
    ]))

    statement = _("The {count} parcel(s) above were counted and handed to the courier in person.",
                  count=manifest.count)
    sign = Table([
        [p(_("Courier signature")), "", p(_("Date")), ""],
        [p(_("Handed over by (warehouse)")), "", p(_("Date")), ""],
    ], colWidths=[50 * mm, 70 * mm, 24 * mm, 36 * mm], rowHeights=[16 * mm, 16 * mm])
    sign.setStyle(TableStyle([
        ("LINEBELOW", (1, 0), (1, -1), 0.8, colors.black), ("LINEBELOW", (3, 0), (3, -1), 0.8, colors.black),
        ("VALIGN", (0, 0), (-1, -1), "BOTTOM"),
    ]))

    story: list[Any] = [top, Spacer(1, 3 * mm)]
    if not closed:
        draft = ParagraphStyle("draft", parent=body, fontSize=12, leading=16, textColor=colors.red)
        story += [p(_("DRAFT: batch still open, not a handover record"), draft),
                  Spacer(1, 2 * mm)]
    story += [info_table, Spacer(1, 5 * mm), parcels, Spacer(1, 8 * mm),
              KeepTogether([p(statement), Spacer(1, 4 * mm), sign])]

    footer = f"{manifest.batch_id}  ·  {manifest.carrier}  ·  {parcels_count}"

    class NumberedCanvas(canvas.Canvas):  # type: ignore[misc]  # reportlab is untyped
        """Two passes over the pages so each footer can say "page x of y"."""

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self._pages: list[dict[str, Any]] = []

        def showPage(self) -> None:  # reportlab's name
            self._pages.append(dict(self.__dict__))
            self._startPage()

        def save(self) -> None:
            total = len(self._pages)
            for number, state in enumerate(self._pages, start=1):
                self.__dict__.update(state)
                self.setFont(font, 8)
                self.setFillColor(colors.grey)
                self.drawString(15 * mm, 10 * mm, footer)
                self.drawRightString(A4[0] - 15 * mm, 10 * mm, _("Page {number} of {count}", number=number,
                                                                  count=total))
                super().showPage()
            super().save()

    name = _("Carrier handover manifest")
    doc = SimpleDocTemplate(str(path), pagesize=A4, leftMargin=15 * mm, rightMargin=15 * mm, topMargin=14 * mm,
                            bottomMargin=18 * mm, title=f"{name} {manifest.batch_id}",
                            author="PackBench", subject=f"{name} {manifest.carrier}")
    doc.build(story, canvasmaker=NumberedCanvas)
    return int(doc.page)
