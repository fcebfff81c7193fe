"""The PNG preview: the layout the printers get, readable by a scanner, Chinese in real glyphs."""

from __future__ import annotations

import dataclasses
import io

import pytest
import zxingcpp
from PIL import Image, ImageChops

from app.labels import Label, Party
from drivers.printers.layout import InverseBanner, LabelGeometry, TextBlock, font, layout_label
from drivers.printers.preview import render_png, text_bitmap
from tests.test_label_render import DEMO, LONG, URL


def png(lbl: Label, dpi: int = 203) -> Image.Image:
    image = Image.open(io.BytesIO(render_png(lbl, LabelGeometry(dpi=dpi))))
    image.load()
    return image


@pytest.mark.parametrize("dpi", [203, 300])
def test_preview_is_the_label_size_and_scans(dpi: int) -> None:
    image = png(DEMO, dpi)
    assert image.size == ((800, 1200) if dpi == 203 else (1200, 1800))
    found = {r.format.name: r.text for r in zxingcpp.read_barcodes(image)}
    assert found.get("QRCode") == URL
    assert found.get("Code128") == DEMO.tracking_no


def test_preview_code128_with_mixed_code_sets_scans() -> None:
    for tracking in ("JD0001234567890-1-1-", "7310000000001", "YT12", "A1B2C3D4E5"):
        found = {r.format.name: r.text for r in zxingcpp.read_barcodes(png(dataclasses.replace(DEMO,
                                                                                              tracking_no=tracking)))}
        assert found.get("Code128") == tracking


def test_reprint_banner_only_from_the_second_print() -> None:
    [banner] = [el for el in layout_label(dataclasses.replace(DEMO, reprint_no=2)).elements
                if isinstance(el, InverseBanner)]
    area = (banner.x, banner.y, banner.x + banner.width, banner.y + banner.height)
    for reprint_no, dark in ((0, False), (1, False), (2, True), (7, True)):
        region = png(dataclasses.replace(DEMO, reprint_no=reprint_no)).crop(area)
        ink = sum(region.histogram()[:128]) / (region.width * region.height)
        assert (ink > 0.6) is dark, (reprint_no, ink)
        if dark:  # white text knocked out of the black box
            assert ink < 0.95


def test_chinese_is_drawn_with_real_glyphs_not_boxes() -> None:
    missing = text_bitmap(TextBlock(0, 0, 40, "\U0010fffd"))  # private use: the font's "missing" box
    for ch in "张伟浙江省杭州市西湖区文三路号东部软件园幢收寄件顺丰标快仓余前街道，。（）":
        glyph = text_bitmap(TextBlock(0, 0, 40, ch))
        assert glyph.getbbox() is not None
        assert glyph.size != missing.size or ImageChops.difference(glyph, missing).getbbox() is not None, ch
    assert font(40).getname()[0] == "WenQuanYi Micro Hei"


def test_long_address_preview_stays_inside_the_frame() -> None:
    image = png(dataclasses.replace(LONG, receiver=Party("欧阳建国", "139****0001", LONG.receiver.address * 2)))
    g = LabelGeometry()
    frame = g.dots(3)
    inner = ImageChops.invert(image)
    inner.paste(0, (frame, frame, g.width - frame, g.height - frame))
    assert inner.getbbox() is None  # no ink in the margin outside the frame
