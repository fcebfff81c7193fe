"""TSPL for TSC, Xprinter, Gprinter and HPRT label printers: native BARCODE and QRCODE, GB18030 text.

Every line ends in CRLF and is encoded GB18030 as a whole. Text with any non-ASCII character uses the
built-in simplified-Chinese font TSS24.BF2 (24x24 dots, ASCII half width); ASCII text uses the bitmap
Latin fonts 1-5. Both only scale by whole multiples, so each block takes the largest size that is no
taller than the layout's and no wider than the room it was measured into.
"""

from __future__ import annotations

from app.labels import Label
from drivers.printers.layout import (
    Barcode128,
    Box,
    InverseBanner,
    LabelGeometry,
    Line,
    QrCode,
    TextBlock,
    is_wide,
    layout_label,
)

CJK_FONT = "TSS24.BF2"
# (font, character width, height) in dots, from the TSPL/TSPL2 manual's font table
LATIN_FONTS = {
    203: (("1", 8, 12), ("2", 12, 20), ("3", 16, 24), ("4", 24, 32), ("5", 32, 48)),
    300: (("1", 12, 20), ("2", 16, 28), ("3", 24, 32), ("4", 32, 48), ("5", 48, 64)),
}


def render_tspl(label: Label, geometry: LabelGeometry | None = None) -> bytes:
    layout = layout_label(label, geometry)
    g = layout.geometry
    fonts = LATIN_FONTS[300 if g.dpi >= 300 else 203]
    lines = [
        f"SIZE {g.width_mm:g} mm,{g.height_mm:g} mm",
        "GAP 2 mm,0 mm",
        "DIRECTION 1",
        "REFERENCE 0,0",
        "CLS",
    ]
    for el in layout.elements:
        if isinstance(el, TextBlock):
            lines.append(text_command(el, fonts))
        elif isinstance(el, Line):
            lines.append(f"BAR {el.x},{el.y},{el.width},{el.height}")
        elif isinstance(el, Box):
            lines.append(f"BOX {el.x},{el.y},{el.x + el.width},{el.y + el.height},{el.thickness}")
        elif isinstance(el, InverseBanner):  # text first, then invert the whole box
            lines.append(text_command(el.text, fonts))
            lines.append(f"REVERSE {el.x},{el.y},{el.width},{el.height}")
        elif isinstance(el, Barcode128):
            # "128" lets the printer switch code sets itself; human-readable 0 (the layout prints the number)
            hr = 1 if el.human_readable else 0
            lines.append(f'BARCODE {el.x},{el.y},"128",{el.height},{hr},0,{el.module},{el.module},"{quote(el.data)}"')
        elif isinstance(el, QrCode):
            lines.append(f'QRCODE {el.x},{el.y},M,{el.module},A,0,"{quote(el.data)}"')
    lines.append("PRINT 1,1")
    return "".join(line + "\r\n" for line in lines).encode("gb18030", errors="replace")


def quote(text: str) -> str:
    """A TSPL string body: a double quote is written `\\["]`."""
    return text.replace('"', '\\["]')


def text_command(block: TextBlock, fonts: tuple[tuple[str, int, int], ...]) -> str:
    font, mult = (CJK_FONT, _cjk_multiplier(block)) if not block.text.isascii() else _latin_font(block, fonts)
    return f'TEXT {block.x},{block.y},"{font}",0,{mult},{mult},"{quote(block.text)}"'


def _cjk_multiplier(block: TextBlock) -> int:
    cells = sum(24 if is_wide(ch) else 12 for ch in block.text)
    mult = max(1, min(10, block.height // 24))
    while mult > 1 and block.max_width and cells * mult > block.max_width:
        mult -= 1
    return mult


def _latin_font(block: TextBlock, fonts: tuple[tuple[str, int, int], ...]) -> tuple[str, int]:
    """The tallest font x multiplier that fits; on a tie the smaller multiplier (the font's own size)."""
    best = (fonts[0][0], 1)
    best_key = (0, 0)
    for name, width, height in fonts:
        for mult in range(1, 11):
            too_wide = block.max_width and width * mult * len(block.text) > block.max_width
            if height * mult > block.height or too_wide:
                break
            if (height * mult, -mult) > best_key:
                best, best_key = (name, mult), (height * mult, -mult)
    return best
