"""The label as a PNG, drawn from the same layout the printers get: the UI preview and the tests' eyes."""

from __future__ import annotations

import io

import qrcode
from PIL import Image, ImageDraw

from app.labels import Label
from drivers.printers import code128
from drivers.printers.layout import (
    Barcode128,
    Box,
    InverseBanner,
    LabelGeometry,
    Line,
    QrCode,
    TextBlock,
    bold_stroke,
    font,
    layout_label,
    measure,
)

BLACK, WHITE = 0, 255


def render_png(label: Label, geometry: LabelGeometry | None = None) -> bytes:
    layout = layout_label(label, geometry)
    image = Image.new("L", (layout.geometry.width, layout.geometry.height), WHITE)
    draw = ImageDraw.Draw(image)
    for el in layout.elements:
        if isinstance(el, TextBlock):
            draw_text(draw, el, BLACK)
        elif isinstance(el, Line):
            draw.rectangle((el.x, el.y, el.x + el.width - 1, el.y + el.height - 1), fill=BLACK)
        elif isinstance(el, Box):
            draw.rectangle((el.x, el.y, el.x + el.width - 1, el.y + el.height - 1), outline=BLACK,
                           width=el.thickness)
        elif isinstance(el, InverseBanner):
            draw.rectangle((el.x, el.y, el.x + el.width - 1, el.y + el.height - 1), fill=BLACK)
            draw_text(draw, el.text, WHITE)
        elif isinstance(el, Barcode128):
            for offset, width in code128.bars(el.data):
                x = el.x + offset * el.module
                draw.rectangle((x, el.y, x + width * el.module - 1, el.y + el.height - 1), fill=BLACK)
        elif isinstance(el, QrCode):
            for r, row in enumerate(qr_matrix(el.data)):
                for c, dark in enumerate(row):
                    if dark:
                        x, y = el.x + c * el.module, el.y + r * el.module
                        draw.rectangle((x, y, x + el.module - 1, y + el.module - 1), fill=BLACK)
    out = io.BytesIO()
    image.save(out, "PNG", compress_level=6)
    return out.getvalue()


def draw_text(draw: ImageDraw.ImageDraw, block: TextBlock, fill: int) -> None:
    stroke = bold_stroke(block.height) if block.bold else 0
    draw.text((block.x + stroke, block.baseline), block.text, fill=fill, font=font(block.height), anchor="ls",
              stroke_width=stroke, stroke_fill=fill)


def text_bitmap(block: TextBlock) -> Image.Image:
    """One text block alone as a 1-bit image (1 = ink), its top-left at the block's (x, y)."""
    width = max(1, measure(block.text, block.height, block.bold))
    height = max(1, round(block.height * 1.1))
    image = Image.new("1", (width, height), 0)
    draw = ImageDraw.Draw(image)
    draw.fontmode = "1"
    draw_text(draw, TextBlock(0, 0, block.height, block.text, block.bold), 1)
    return image


def qr_matrix(data: str) -> list[list[bool]]:
    """The QR symbol (no quiet zone) at error correction M, smallest version that holds `data`."""
    qr = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=0)
    qr.add_data(data.encode("utf-8"))
    qr.make(fit=True)
    return [[bool(cell) for cell in row] for row in qr.get_matrix()]
