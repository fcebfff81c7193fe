"""PDF labels (100x150 mm pages) through reportlab: all text in the embedded CJK TrueType font, Code 128 and
QR code drawn as vectors. For the system print queue and for archives; one page per label."""

from __future__ import annotations

import io
from collections.abc import Iterable
from typing import Any

from reportlab.graphics.barcode.code128 import Code128
from reportlab.graphics.barcode.qr import QrCodeWidget
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas

from app.documents.fonts import register_cjk_font
from app.labels import Label
from drivers.printers.layout import (
    Barcode128,
    Box,
    InverseBanner,
    LabelGeometry,
    Line,
    QrCode,
    TextBlock,
    bold_stroke,
    layout_label,
)


def render_pdf(label: Label, geometry: LabelGeometry | None = None) -> bytes:
    return render_pdf_pages([label], geometry)


def render_pdf_pages(labels: Iterable[Label], geometry: LabelGeometry | None = None) -> bytes:
    g = geometry or LabelGeometry()
    out = io.BytesIO()
    canvas = Canvas(out, pagesize=(g.width_mm * mm, g.height_mm * mm), invariant=1, pageCompression=1,
                    initialFontName=register_cjk_font())
    canvas.setCreator("PackBench")
    for label in labels:
        _PdfPage(canvas, g).draw(label)
        canvas.showPage()
    canvas.save()
    return out.getvalue()


class _PdfPage:
    def __init__(self, canvas: Canvas, geometry: LabelGeometry) -> None:
        self.c = canvas
        self.g = geometry
        self.pt: float = float(mm) / geometry.dots_per_mm  # points per dot
        self.font = register_cjk_font()

    def x(self, dots: int) -> float:
        return dots * self.pt

    def y(self, dots: int) -> float:  # PDF's origin is the bottom-left corner
        return (self.g.height - dots) * self.pt

    def draw(self, label: Label) -> None:
        c = self.c
        c.setTitle(f"{label.carrier} {label.tracking_no}")
        for el in layout_label(label, self.g).elements:
            if isinstance(el, TextBlock):
                self.text(el)
            elif isinstance(el, Line):
                c.rect(self.x(el.x), self.y(el.y + el.height), el.width * self.pt, el.height * self.pt,
                       stroke=0, fill=1)
            elif isinstance(el, Box):
                half = el.thickness / 2
                c.setLineWidth(el.thickness * self.pt)
                c.rect(self.x(el.x) + half * self.pt, self.y(el.y + el.height) + half * self.pt,
                       (el.width - el.thickness) * self.pt, (el.height - el.thickness) * self.pt, stroke=1, fill=0)
            elif isinstance(el, InverseBanner):
                c.rect(self.x(el.x), self.y(el.y + el.height), el.width * self.pt, el.height * self.pt,
                       stroke=0, fill=1)
                c.setFillGray(1)
                c.setStrokeGray(1)
                self.text(el.text)
                c.setFillGray(0)
                c.setStrokeGray(0)
            elif isinstance(el, Barcode128):
                self.barcode(el)
            elif isinstance(el, QrCode):
                self.qr(el)

    def text(self, block: TextBlock) -> None:
        self.c.saveState()  # the render mode and line width belong to the graphics state: keep them here
        t = self.c.beginText()
        t.setFont(self.font, block.height * self.pt)
        stroke = bold_stroke(block.height) if block.bold else 0
        if stroke:  # WQY has no bold face: fill and stroke the outlines, as the preview does
            self.c.setLineWidth(2 * stroke * self.pt)
            t.setTextRenderMode(2)
        t.setTextOrigin(self.x(block.x + stroke), self.y(block.baseline))
        t.textOut(block.text)
        self.c.drawText(t)
        self.c.restoreState()

    def barcode(self, el: Barcode128) -> None:
        symbol: Any = Code128(el.data, barWidth=el.module * self.pt, barHeight=el.height * self.pt,
                              humanReadable=bool(el.human_readable), quiet=0)
        # reportlab picks its own code sets (it agrees with ours on tracking numbers): centre its width
        left = self.x(el.x) + (el.width * self.pt - symbol.width) / 2
        symbol.drawOn(self.c, left, self.y(el.y + el.height))

    def qr(self, el: QrCode) -> None:
        # reportlab's QR encoder (QrCodeWidget), drawn as one filled path: a rectangle per run of dark modules
        widget: Any = QrCodeWidget(el.data, barLevel="M", barBorder=0)
        widget.qr.make()
        path = self.c.beginPath()
        for r, row in enumerate(widget.qr.modules):
            c = 0
            while c < len(row):
                if not row[c]:
                    c += 1
                    continue
                start = c
                while c < len(row) and row[c]:
                    c += 1
                path.rect(self.x(el.x + start * el.module), self.y(el.y + (r + 1) * el.module),
                          (c - start) * el.module * self.pt, el.module * self.pt)
        self.c.drawPath(path, stroke=0, fill=1)
