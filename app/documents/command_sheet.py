"""The command sheet: one Code 128 barcode per bench command, to pin at the bench.

Layout rules, each one learnt from a sheet that did not scan:

* one code per cell of a 2 × 5 grid, centred, so neighbours can never run into each other;
* a quiet zone of at least ``QUIET_MODULES`` modules left and right (ISO/IEC 15417 asks for ≥ 10)
  that nothing else — caption, cut line, neighbour — is drawn into;
* a module of exactly two dots of a 203 dpi label printer (0.250 mm): a whole number of dots keeps
  every bar the same width on a thermal head, and ≥ 0.25 mm reproduces on any A4 laser;
* a bar height well above 15 % of the symbol length, so a hand-held scanner can sweep it at a slant;
* the caption, in the station's language (the packers at that bench read it), *below* the
  human-readable payload, outside the quiet zone.
"""

from __future__ import annotations

from pathlib import Path

from app.barcodes import Command, command_barcode
from app.documents.fonts import register_cjk_font
from app.documents.words import document_words
from app.i18n import DEFAULT_LANGUAGE, N_

TITLES: dict[Command, str] = {  # message ids: the caption under each code
    Command.ABORT: N_("Abort order"),
    Command.REPRINT: N_("Reprint label"),
    Command.CALL_SUPERVISOR: N_("Call supervisor"),
    Command.LOGOUT: N_("Log out"),
    Command.SHORT_SHIP: N_("Short-ship (supervisor)"),
    Command.ACCEPT_WEIGHT: N_("Accept weight (supervisor)"),
    Command.VOID_LABEL: N_("Void label (supervisor)"),
    Command.SWITCH_CARRIER: N_("Switch carrier"),
    Command.CONFIRM: N_("Confirm"),
    Command.PREVIEW: N_("Enlarge label"),
}

POINTS_PER_INCH = 72.0
MM = POINTS_PER_INCH / 25.4
LABEL_PRINTER_DPI = 203
MODULE = 2 * POINTS_PER_INCH / LABEL_PRINTER_DPI  # points: two dots at 203 dpi = 0.250 mm
QUIET_MODULES = 10
BAR_HEIGHT = 15 * MM
COLUMNS = 2
ROWS = 5
MARGIN = 12 * MM
HEADER = 20 * MM


def write_command_sheet(path: Path, station: str = "", lang: str = DEFAULT_LANGUAGE) -> None:
    from reportlab.graphics.barcode import code128
    from reportlab.lib.colors import Color, black
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen import canvas

    _ = document_words(lang)
    font = register_cjk_font()
    path.parent.mkdir(parents=True, exist_ok=True)
    pdf = canvas.Canvas(str(path), pagesize=A4)
    width, height = A4
    title = "PackBench " + _("Command sheet")
    pdf.setTitle(title)
    pdf.setFont(font, 16)
    pdf.drawString(MARGIN, height - MARGIN - 8 * MM, title + (f" — {station}" if station else ""))
    cell_w = (width - 2 * MARGIN) / COLUMNS
    cell_h = (height - 2 * MARGIN - HEADER) / ROWS
    top = height - MARGIN - HEADER
    for index, command in enumerate(Command):
        row, column = divmod(index, COLUMNS)
        x0, y0 = MARGIN + column * cell_w, top - (row + 1) * cell_h
        pdf.setStrokeColor(Color(0.75, 0.75, 0.75))
        pdf.setLineWidth(0.3)
        pdf.rect(x0, y0, cell_w, cell_h)  # cut line; far outside every quiet zone
        payload = command_barcode(command)
        symbol = code128.Code128(payload, barHeight=BAR_HEIGHT, barWidth=MODULE, quiet=0)
        if symbol.width + 2 * QUIET_MODULES * MODULE > cell_w - 2 * MM:
            raise ValueError(f"command code {payload} does not fit a cell with its quiet zones")
        bars_y = y0 + cell_h - 6 * MM - BAR_HEIGHT
        symbol.drawOn(pdf, x0 + (cell_w - symbol.width) / 2, bars_y)
        centre = x0 + cell_w / 2
        pdf.setFillColor(black)
        pdf.setFont(font, 8)
        pdf.drawCentredString(centre, bars_y - 4 * MM, payload)
        pdf.setFont(font, 15)
        pdf.drawCentredString(centre, bars_y - 11.5 * MM, _(TITLES[command]))
    pdf.showPage()
    pdf.save()
