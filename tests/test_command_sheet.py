"""The printed command sheet scans: every code decodes from a 200 dpi render, quiet zones are clear."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from app.barcodes import Command, command_barcode
from app.documents.command_sheet import LABEL_PRINTER_DPI, MM, MODULE, QUIET_MODULES
from main import main

RENDER_DPI = 200


def _render(tmp_path: Path) -> Path:
    if shutil.which("pdftoppm") is None:
        pytest.skip("pdftoppm (poppler-utils) not installed")
    pdf = tmp_path / "commands.pdf"
    assert main(["--data-dir", str(tmp_path / "data"), "command-sheet", "-o", str(pdf)]) == 0
    subprocess.run(["pdftoppm", "-r", str(RENDER_DPI), "-png", str(pdf), str(tmp_path / "page")],
                   check=True, timeout=60)
    pages = sorted(tmp_path.glob("page*.png"))
    assert len(pages) == 1
    return pages[0]


def test_module_is_a_whole_number_of_label_printer_dots_and_at_least_a_quarter_millimetre() -> None:
    dots = MODULE / 72 * LABEL_PRINTER_DPI
    assert dots == pytest.approx(round(dots)) and MODULE / MM >= 0.25


def test_every_command_decodes_at_200_dpi_with_clear_quiet_zones(tmp_path: Path) -> None:
    import zxingcpp
    from PIL import Image

    image = Image.open(_render(tmp_path)).convert("L")
    found = zxingcpp.read_barcodes(image)
    texts = sorted(result.text for result in found)
    assert texts == sorted(command_barcode(command) for command in Command)

    quiet = QUIET_MODULES * MODULE / 72 * RENDER_DPI  # pixels
    boxes = []
    for result in found:
        p = result.position
        xs = [p.top_left.x, p.top_right.x, p.bottom_left.x, p.bottom_right.x]
        ys = [p.top_left.y, p.top_right.y, p.bottom_left.y, p.bottom_right.y]
        box = (min(xs) - quiet, min(ys), max(xs) + quiet, max(ys))
        boxes.append(box)
        # Nothing else is drawn into the quiet zones: every pixel there is paper-white.
        for left, right in ((box[0], min(xs) - 2), (max(xs) + 2, box[2])):
            zone = image.crop((int(left), int(box[1]), int(right), int(box[3])))
            assert zone.getextrema()[0] > 200, f"ink in the quiet zone of {result.text}"
    for i, a in enumerate(boxes):
        for b in boxes[i + 1:]:
            overlap = a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]
            assert not overlap, (a, b)


@pytest.mark.parametrize(("lang", "other"), [("zh_CN", "en"), ("en", "zh_CN")])
def test_captions_are_text_in_the_chosen_language_only(tmp_path: Path, lang: str, other: str) -> None:
    from pypdf import PdfReader

    from app.documents.command_sheet import TITLES
    from app.i18n import translator

    pdf = tmp_path / "commands.pdf"
    assert main(["--data-dir", str(tmp_path / "data"), "command-sheet", "--lang", lang, "-o", str(pdf)]) == 0
    text = PdfReader(pdf).pages[0].extract_text()
    for command in Command:
        caption, elsewhere = translator(lang).gettext(TITLES[command]), translator(other).gettext(TITLES[command])
        assert caption != elsewhere  # every caption is translated
        assert command_barcode(command) in text and caption in text and elsewhere not in text


def test_the_caption_language_is_the_stations(tmp_path: Path) -> None:
    from pypdf import PdfReader

    data = tmp_path / "data"
    data.mkdir()
    (data / "station.toml").write_text('language = "en"\n', "utf-8")
    assert main(["--data-dir", str(data), "command-sheet", "-o", str(tmp_path / "c.pdf")]) == 0
    text = PdfReader(tmp_path / "c.pdf").pages[0].extract_text()
    assert "Reprint label" in text and "补打面单" not in text
