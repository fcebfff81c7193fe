"""ZPL II for Zebra and compatibles: native ^BC and ^BQ, ^CI28 UTF-8 text, never a full-page bitmap.

CJK text needs a font with the glyphs. `cjk="resident"` maps a font letter to a font already on the
printer (^CW; China-market models ship SIMSUN.FNT or similar). `cjk="raster"` is for printers without
one: only the text blocks that contain non-ASCII are drawn with the label's own CJK font and sent as
^GFA graphic fields in Z64 (zlib, base64, CRC-16/XMODEM of the base64 text, per the ZPL II guide).
"""

from __future__ import annotations

import base64
import binascii
import re
import zlib
from typing import Literal

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
    font,
    layout_label,
)
from drivers.printers.preview import text_bitmap

CjkMode = Literal["resident", "raster"]
CJK_FONT_LETTER = "J"  # not one of the built-in bitmap fonts
QR_SINK = 10  # dots: the smallest ^BY height, by which ^BQ fields print below their ^FO


def render_zpl(label: Label, geometry: LabelGeometry | None = None, cjk: CjkMode = "resident",
               resident_font: str = "E:SIMSUN.FNT") -> bytes:
    if cjk not in ("resident", "raster"):
        raise ValueError(f"cjk must be 'resident' or 'raster', not {cjk!r}")
    layout = layout_label(label, geometry)
    g = layout.geometry
    out = ["^XA", "^CI28", f"^PW{g.width}", f"^LL{g.height}", "^LH0,0"]
    if cjk == "resident" and any(_is_cjk_block(el) for el in layout.elements):
        out.append(f"^CW{CJK_FONT_LETTER},{resident_font}")
    for el in layout.elements:
        if isinstance(el, TextBlock):
            out.append(_text(el, cjk))
        elif isinstance(el, Line):
            out.append(f"^FO{el.x},{el.y}^GB{el.width},{el.height},{min(el.width, el.height)}^FS")
        elif isinstance(el, Box):
            out.append(f"^FO{el.x},{el.y}^GB{el.width},{el.height},{el.thickness}^FS")
        elif isinstance(el, InverseBanner):
            out.append(f"^FO{el.x},{el.y}^GB{el.width},{el.height},{min(el.width, el.height)}^FS")
            out.append(_text(el.text, cjk, reverse=True))
        elif isinstance(el, Barcode128):
            hr = "Y" if el.human_readable else "N"
            out.append(f"^FO{el.x},{el.y}^BY{el.module}^BCN,{el.height},{hr},N,N,N"
                       f"^FD{code128.zpl_field_data(el.data)}^FS")
        elif isinstance(el, QrCode):
            # Zebra firmware moves a ^FO'd QR code down by the ^BY bar-code height, which persists on the
            # printer between formats: pin it and lift the field by as much. ^FD<EC level><input mode>,data:
            # M = error correction M, A = automatic input mode.
            out.append(f"^BY{el.module},2,{QR_SINK}^FO{el.x},{max(0, el.y - QR_SINK)}"
                       f"^BQN,2,{el.module},M{field_data('MA,' + el.data)}^FS")
    out.append("^PQ1^XZ")
    return ("\n".join(out) + "\n").encode("utf-8")


def escape(text: str) -> str:
    """Field data for ^FH (indicator `_`): the indicator itself, `^` and `~` as hex escapes."""
    return text.replace("_", "_5F").replace("^", "_5E").replace("~", "_7E")


def field_data(text: str) -> str:
    """`^FD…`, behind `^FH` only when the text needs escaping: on a 9600-baud link every byte is ~1 ms."""
    if any(ch in text for ch in "_^~"):
        return f"^FH^FD{escape(text)}"
    return f"^FD{text}"


def _is_cjk_block(el: object) -> bool:
    return isinstance(el, TextBlock) and not el.text.isascii()


def _text(block: TextBlock, cjk: CjkMode, reverse: bool = False) -> str:
    fr = "^FR" if reverse else ""
    if block.text.isascii():
        return f"^FO{block.x},{block.y}^A0N,{block.height},{block.height}{fr}{field_data(block.text)}^FS"
    if cjk == "resident":
        return (f"^FO{block.x},{block.y}^A{CJK_FONT_LETTER}N,{block.height},{block.height}{fr}"
                f"{field_data(block.text)}^FS")
    # raster: only the non-ASCII runs become graphics, each where the preview draws it; ASCII stays native
    fields = []
    for x, run in text_runs(block):
        if run.isascii():
            fields.append(_text(TextBlock(x, block.y, block.height, run, block.bold), cjk, reverse))
        else:
            image = text_bitmap(TextBlock(x, block.y, block.height, run, block.bold))
            # mode "1" packs each row into whole bytes, most significant bit first: ^GF's layout
            fields.append(f"^FO{x},{block.y}{fr}{graphic_field(image.tobytes(), (image.width + 7) // 8)}^FS")
    return "\n".join(fields)


def text_runs(block: TextBlock) -> list[tuple[int, str]]:
    """The block split into ASCII and non-ASCII runs, each with its x in the preview's (WQY) metrics."""
    face = font(block.height)
    runs: list[tuple[int, str]] = []
    for match in re.finditer(r"[\x00-\x7f]+|[^\x00-\x7f]+", block.text):
        run = match.group()
        lead = len(run) - len(run.lstrip(" "))
        if run.strip(" "):
            x = block.x + int(face.getlength(block.text[:match.start() + lead]))
            runs.append((x, run.strip(" ")))
    return runs


def graphic_field(packed_rows: bytes, bytes_per_row: int) -> str:
    """^GFA with Z64 data: `packed_rows` is 1 bit per dot, 1 = black, rows padded to whole bytes."""
    encoded = base64.b64encode(zlib.compress(packed_rows, 9))
    crc = binascii.crc_hqx(encoded, 0)
    total = len(packed_rows)
    return f"^GFA,{total},{total},{bytes_per_row},:Z64:{encoded.decode('ascii')}:{crc:04x}"
