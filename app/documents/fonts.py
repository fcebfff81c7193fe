"""The CJK TrueType font every PDF embeds (WenQuanYi Micro Hei, Apache-2.0, in assets/fonts)."""

from __future__ import annotations

from functools import cache
from pathlib import Path

ASSETS = Path(__file__).resolve().parents[2] / "assets"
CJK_FONT_PATH = ASSETS / "fonts" / "wqy-microhei.ttc"
CJK_FONT = "PackBenchCJK"


@cache
def register_cjk_font() -> str:
    """Register once per process; reportlab subsets and embeds the glyphs actually used."""
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    pdfmetrics.registerFont(TTFont(CJK_FONT, str(CJK_FONT_PATH), subfontIndex=0))
    return CJK_FONT
