"""Assets on disk (fonts, sounds) and the fonts every screen uses.

The bench PC may have no CJK font at all (this dev machine has none), so the shipped WenQuanYi Micro
Hei is registered at start-up and made the fallback of every font the UI builds: Chinese names and
addresses must never render as boxes.
"""

from __future__ import annotations

from pathlib import Path

from ui.qt import QApplication, QFont, QFontDatabase

ASSETS = Path(__file__).resolve().parent.parent / "assets"
CJK_FONT = ASSETS / "fonts" / "wqy-microhei.ttc"

_cjk_families: list[str] = []


def install_fonts(app: QApplication) -> None:
    """Register the CJK font once and make it the application font's fallback."""
    if not _cjk_families:
        font_id = QFontDatabase.addApplicationFont(str(CJK_FONT))
        if font_id < 0:
            raise RuntimeError(f"cannot load the CJK font {CJK_FONT}")
        _cjk_families.extend(QFontDatabase.applicationFontFamilies(font_id))
    base = app.font()
    if _cjk_families[0] not in base.families():
        base.setFamilies([base.family(), _cjk_families[0]])
        app.setFont(base)
    # Widgets that name a family of their own (style sheets, monospace) fall back through these.
    for family in (base.family(), QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont).family()):
        QFont.insertSubstitutions(family, _cjk_families)


def cjk_families() -> list[str]:
    """The families of the bundled CJK font, once `install_fonts` loaded it (empty before)."""
    return list(_cjk_families)


def ui_font(pixels: int, bold: bool = False, mono: bool = False) -> QFont:
    """A font of `pixels` height (pixels, not points: readable-at-2-m sizes are set in pixels)."""
    if mono:
        font = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
        font.setFamilies([font.family(), *_cjk_families[-1:]])
    else:
        font = QFont(QApplication.font())
    font.setPixelSize(pixels)
    font.setBold(bold)
    return font
