"""Building blocks of the evidence PDF: styles, local times, wrapped text tables, the vector QR code.

Imports reportlab only inside functions that draw, like `app.documents.manifest`, so importing the
evidence package stays cheap for the station's cold start.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any
from xml.sax.saxutils import escape
from zoneinfo import ZoneInfo

from app.clock import parse_iso
from app.documents.fonts import register_cjk_font

GREEN, AMBER, RED, GREY = "#1b7f3b", "#a86400", "#c00000", "#666666"
MM = 72 / 25.4  # points
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def utc_offset(dt: datetime) -> str:
    """`+08:00` style offset of an aware time."""
    offset = dt.utcoffset()
    minutes = int(offset.total_seconds() // 60) if offset is not None else 0
    sign = "+" if minutes >= 0 else "-"
    return f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


class LocalTime:
    """Store times (UTC ISO) in the station's zone, `2026-11-25 10:00:03`. The document states the
    zone's offset once; a time whose offset differs (daylight saving) carries its own."""

    def __init__(self, tz: str, reference: datetime) -> None:
        self.zone = ZoneInfo(tz)
        self.name = tz
        self.offset = utc_offset(reference.astimezone(self.zone))

    def __call__(self, text: str | None, fmt: str = "%Y-%m-%d %H:%M:%S") -> str:
        if not text:
            return "—"
        try:
            local = parse_iso(text).astimezone(self.zone)
        except ValueError:
            return text  # a carrier's odd time is shown as sent
        shown = local.strftime(fmt)
        own = utc_offset(local)
        return shown if own == self.offset else f"{shown} {own}"

    def dt(self, when: datetime | None, fmt: str = "%Y-%m-%d %H:%M:%S") -> str:
        return self(when.isoformat() if when else None, fmt)

    @property
    def zone_text(self) -> str:
        return f"{self.name} (UTC{self.offset})"


def markup(text: object) -> str:
    """Plain text as Paragraph markup: escaped, line breaks kept."""
    return escape(str(text)).replace("\n", "<br/>")


@dataclass(frozen=True)
class Styles:
    font: str
    body: Any
    small: Any
    tiny: Any
    head: Any
    h1: Any
    h2: Any
    verdict: Any
    mono: Any


@cache
def styles() -> Styles:
    from reportlab.lib import colors
    from reportlab.lib.styles import ParagraphStyle

    font = register_cjk_font()
    body = ParagraphStyle("ev-body", fontName=font, fontSize=8.5, leading=11, wordWrap="CJK")
    return Styles(
        font=font, body=body,
        small=ParagraphStyle("ev-small", parent=body, fontSize=7.5, leading=9.5),
        tiny=ParagraphStyle("ev-tiny", parent=body, fontSize=6.8, leading=8.4),
        head=ParagraphStyle("ev-head", parent=body, fontSize=7.5, leading=9.5, textColor=colors.white),
        h1=ParagraphStyle("ev-h1", parent=body, fontSize=16, leading=20),
        h2=ParagraphStyle("ev-h2", parent=body, fontSize=11.5, leading=15, spaceBefore=8, spaceAfter=3,
                          textColor=colors.HexColor("#1f3a5f"), keepWithNext=1),
        verdict=ParagraphStyle("ev-verdict", parent=body, fontSize=12, leading=16),
        mono=ParagraphStyle("ev-mono", parent=body, fontSize=7.5, leading=9.5, wordWrap="CJK"),
    )


def para(text: object, style: Any = None, color: str | None = None) -> Any:
    from reportlab.platypus import Paragraph

    content = markup(text)
    if color:
        content = f'<font color="{color}">{content}</font>'
    return Paragraph(content, style or styles().body)


def heading(number: int, title: str) -> Any:
    """A numbered section heading; `title` is already in the document's language(s)."""
    return para(f"{number}  {title}", styles().h2)


def gap(height_mm: float = 2.5) -> Any:
    from reportlab.platypus import Spacer

    return Spacer(1, height_mm * MM)


def money(cents: int) -> str:
    return f"¥{cents / 100:,.2f}"


def grid(rows: list[list[Any]], widths: Sequence[float], *, header: bool = True, zebra: bool = True,
         extra: Sequence[tuple[Any, ...]] = ()) -> Any:
    """A table in the house style: dark header row repeated on every page, thin rules, zebra rows."""
    from reportlab.lib import colors
    from reportlab.platypus import Table, TableStyle

    table = Table(rows, colWidths=list(widths), repeatRows=1 if header else 0)
    commands: list[tuple[Any, ...]] = [
        ("LINEBELOW", (0, 0), (-1, -1), 0.3, colors.HexColor("#bbbbbb")),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("TOPPADDING", (0, 0), (-1, -1), 1.5), ("BOTTOMPADDING", (0, 0), (-1, -1), 1.5),
        ("LEFTPADDING", (0, 0), (-1, -1), 3), ("RIGHTPADDING", (0, 0), (-1, -1), 3),
    ]
    if header:
        commands.append(("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#333333")))
    if zebra and len(rows) > 2:
        commands.append(("ROWBACKGROUNDS", (0, 1 if header else 0), (-1, -1),
                         [colors.white, colors.HexColor("#f3f3f3")]))
    table.setStyle(TableStyle(commands + list(extra)))
    return table


def key_values(pairs: list[tuple[str, Any]], widths: Sequence[float]) -> Any:
    """Label/value pairs two to a row, labels shaded. Text values are plain wrapped strings (cheap to
    lay out); a flowable value (a coloured verdict) is used as it is."""
    from reportlab.lib import colors

    s = styles()
    label_fit, value_fit = _fitter(s.font, 7.5), _fitter(s.font, 8.5)
    rows: list[list[Any]] = []
    for i in range(0, len(pairs), 2):
        row: list[Any] = []
        for (label, value), col in zip(pairs[i:i + 2], (0, 2), strict=False):
            shown = value_fit.fit(value, widths[col + 1] - 6) if isinstance(value, str) else value
            row += [label_fit.fit(label, widths[col] - 6), shown]
        rows.append(row + [""] * (4 - len(row)))
    shade = colors.HexColor("#eeeeee")
    return grid(rows, widths, header=False, zebra=False, extra=[
        ("FONT", (0, 0), (0, -1), s.font, 7.5, 9.5), ("FONT", (2, 0), (2, -1), s.font, 7.5, 9.5),
        ("FONT", (1, 0), (1, -1), s.font, 8.5, 11), ("FONT", (3, 0), (3, -1), s.font, 8.5, 11),
        ("BACKGROUND", (0, 0), (0, -1), shade), ("BACKGROUND", (2, 0), (2, -1), shade),
        ("BOX", (0, 0), (-1, -1), 0.4, colors.grey), ("INNERGRID", (0, 0), (-1, -1), 0.3, colors.grey),
    ])


NO_LINE_START = frozenset("，。、；：？！）】》」』”’,.;:?!)]}%")


class TextFitter:
    """Wraps plain text to a column width for table cells drawn as plain strings.

    A table of a few hundred rows (a tracking trail) laid out with one Paragraph per cell spends most
    of its time in reportlab's CJK line breaking; plain strings with line breaks placed here cost a
    dictionary look-up per character, and keep the text exactly as given (no markup, spaces kept).
    Breaks fall anywhere in CJK text, after a space in Latin text, and never before closing
    punctuation (the character before it moves down with it).
    """

    def __init__(self, font: str, size: float) -> None:
        self.font, self.size = font, size
        self._widths: dict[str, float] = {}

    def width(self, ch: str) -> float:
        w = self._widths.get(ch)
        if w is None:
            from reportlab.pdfbase.pdfmetrics import stringWidth

            w = self._widths[ch] = stringWidth(ch, self.font, self.size)
        return w

    def lines(self, text: str, max_width: float) -> list[str]:
        out: list[str] = []
        for part in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
            line: list[str] = []
            used = 0.0
            for ch in part:
                w = self.width(ch)
                if used + w > max_width and line:
                    start = len(line) - 1 if ch in NO_LINE_START else len(line)
                    if _wordy(line[start] if start < len(line) else ch):
                        while start > 0 and _wordy(line[start - 1]):
                            start -= 1
                    if not 0 < start < len(line) or len(line) - start >= 20:
                        start = len(line)  # a break before `ch` (a long word breaks anywhere)
                    line, carry = line[:start], line[start:]
                    out.append("".join(line).rstrip(" ") if carry or ch != " " else "".join(line))
                    line = carry
                    used = sum(self.width(c) for c in line)
                    if ch == " " and not line:
                        continue  # a space at a break is the break
                line.append(ch)
                used += w
            out.append("".join(line))
        return out

    def fit(self, text: str, max_width: float) -> str:
        return "\n".join(self.lines(text, max_width))


def _wordy(ch: str) -> bool:
    return ch.isascii() and (ch.isalnum() or ch in "-_./@*+#")


def text_table(header: Sequence[str], rows: Sequence[Sequence[str]], widths: Sequence[float], *,
               size: float = 6.8, colours: Sequence[tuple[int, int, str]] = (),
               extra: Sequence[tuple[Any, ...]] = ()) -> Any:
    """A house-style table of plain text cells wrapped by `TextFitter` (Paragraph header row).
    `colours` are (row, column, colour) of body cells, row 1 being the first below the header."""
    from reportlab.lib import colors

    s = styles()
    fitter = _fitter(s.font, size)
    pad = 6.0
    body = [[fitter.fit(_CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", cell), w - pad) for cell, w in
             zip(row, widths, strict=True)] for row in rows]
    leading = round(size * 1.24, 2)
    commands: list[tuple[Any, ...]] = [("FONT", (0, 1), (-1, -1), s.font, size, leading)]
    commands += [("TEXTCOLOR", (c, r), (c, r), colors.HexColor(colour)) for r, c, colour in colours]
    return grid([[para(h, s.head) for h in header], *body], widths, extra=[*commands, *extra])


@cache
def _fitter(font: str, size: float) -> TextFitter:
    return TextFitter(font, size)


def lazy_image(render: Callable[[], bytes], width: float, height: float, failure: str) -> Any:
    """An image made only when it is drawn (fitted into width × height, top-left). If `render` fails,
    the box says `failure` and why; the rest of the document is unaffected."""
    from reportlab.platypus import Flowable, Image

    class LazyImage(Flowable):  # type: ignore[misc]  # reportlab is untyped
        def wrap(self, avail_width: float, avail_height: float) -> tuple[float, float]:
            return width, height

        def draw(self) -> None:
            try:
                image = Image(io.BytesIO(render()), width=width, height=height, kind="proportional")
            except Exception as exc:
                text = para(f"{failure}: {type(exc).__name__}: {exc}", styles().small, RED)
                _, used = text.wrap(width, height)
                text.drawOn(self.canv, 0, height - used)
                return
            image.drawOn(self.canv, 0, height - image.drawHeight)

    return LazyImage()


def qr_flowable(data: str, size: float) -> Any:
    """The QR symbol (error correction M, as on the label) drawn as filled rectangles: sharp at any zoom
    and print resolution, a few hundred path operations instead of a bitmap."""
    import qrcode
    from reportlab.platypus import Flowable

    qr = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=4)
    qr.add_data(data.encode("utf-8"))
    qr.make(fit=True)
    matrix: list[list[bool]] = qr.get_matrix()

    class QrCode(Flowable):  # type: ignore[misc]  # reportlab is untyped
        def wrap(self, avail_width: float, avail_height: float) -> tuple[float, float]:
            return size, size

        def draw(self) -> None:
            canvas = self.canv
            module = size / len(matrix)
            path = canvas.beginPath()
            for r, row in enumerate(matrix):
                y = size - (r + 1) * module
                c = 0
                while c < len(row):
                    if row[c]:
                        start = c
                        while c < len(row) and row[c]:
                            c += 1
                        path.rect(start * module, y, (c - start) * module, module)
                    else:
                        c += 1
            canvas.setFillColorRGB(0, 0, 0)
            canvas.drawPath(path, stroke=0, fill=1)

    return QrCode()
