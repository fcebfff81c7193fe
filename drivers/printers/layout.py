"""One layout for every label output, so ZPL, TSPL, PDF and the preview cannot drift apart.

`label_fields` lists a label's fields in print order. `layout_label` places them on the 100x150 mm label
as elements positioned in printer dots (ZPL, TSPL, PDF and the PNG preview draw these); `layout_receipt`
turns the same fields into a vertical sequence for an 80 mm ESC/POS receipt printer. Text is measured with
the CJK font the PDF embeds (WenQuanYi Micro Hei), so Chinese wraps by its real width.
"""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache, partial
from typing import Literal

from PIL import ImageFont

from app.documents.fonts import CJK_FONT_PATH
from app.labels import Label
from drivers.printers import code128

QR_MAX_BYTES = 213  # = app.passport.MAX_URL_BYTES: byte-mode capacity of a version-10 QR at level M
QR_V10_MODULES = 57
BASELINE = 0.84  # a text block's baseline below its top, in font heights (WQY CJK ink spans 0.03-0.94)
ELLIPSIS = "..."  # ASCII, so a shortened Latin line stays in the printer's Latin font
_DOTS_PER_MM = {203: 8.0, 300: 12.0, 600: 24.0}  # Zebra/TSC heads: "203 dpi" is 8 dots/mm, "300 dpi" 12


@dataclass(frozen=True)
class LabelGeometry:
    """The label stock and the printer's resolution. The design is 100x150 mm, scaled to fit other stock."""

    width_mm: float = 100.0
    height_mm: float = 150.0
    dpi: int = 203

    @property
    def dots_per_mm(self) -> float:
        return _DOTS_PER_MM.get(self.dpi, self.dpi / 25.4)

    @property
    def width(self) -> int:
        return _round(self.width_mm * self.dots_per_mm)

    @property
    def height(self) -> int:
        return _round(self.height_mm * self.dots_per_mm)

    def dots(self, design_mm: float) -> int:
        return _round(design_mm * min(self.width_mm / 100, self.height_mm / 150) * self.dots_per_mm)


@dataclass(frozen=True)
class TextBlock:
    """One line of text; (x, y) is the top-left of its line box, `height` the font size, all in dots."""

    x: int
    y: int
    height: int
    text: str
    bold: bool = False
    max_width: int = 0  # the room the layout measured the text into

    @property
    def baseline(self) -> int:
        return self.y + _round(self.height * BASELINE)


@dataclass(frozen=True)
class Barcode128:
    x: int  # left edge of the first bar; the quiet zones lie outside
    y: int
    height: int
    module: int
    data: str
    human_readable: bool = False

    @property
    def width(self) -> int:
        return code128.modules(self.data) * self.module


@dataclass(frozen=True)
class QrCode:
    x: int
    y: int
    module: int
    data: str
    size: int  # the square reserved for a version-10 symbol; smaller versions sit at its top-left


@dataclass(frozen=True)
class Line:
    """A filled rectangle: a rule or a bar."""

    x: int
    y: int
    width: int
    height: int


@dataclass(frozen=True)
class Box:
    x: int
    y: int
    width: int
    height: int
    thickness: int


@dataclass(frozen=True)
class InverseBanner:
    """A black box with its text knocked out in white (the "REPRINT n" mark)."""

    x: int
    y: int
    width: int
    height: int
    text: TextBlock


Element = TextBlock | Barcode128 | QrCode | Line | Box | InverseBanner


@dataclass(frozen=True)
class LabelLayout:
    geometry: LabelGeometry
    elements: tuple[Element, ...]


@dataclass(frozen=True)
class Field:
    key: str
    caption: str
    text: str


def label_fields(label: Label) -> list[Field]:
    """The label's content in print order; empty fields are left out."""
    fields = [
        Field("reprint", "", label.reprint_mark),
        Field("carrier", "", f"{label.carrier} {label.service}"),
        Field("routing", "大头笔", label.routing_code),
        Field("tracking", "", label.tracking_no),
        Field("receiver", "收件 TO", f"{label.receiver.name} {label.receiver.phone_masked}"),
        Field("receiver_address", "", label.receiver.address),
        Field("sender", "寄件 FROM", f"{label.sender.name} {label.sender.phone_masked}"),
        Field("sender_address", "", label.sender.address),
        Field("order", "ORDER", label.order_id),
        Field("weight", "WEIGHT", f"{label.weight_g / 1000:.3f} kg"),
        Field("items", "ITEMS", str(label.item_count)),
        Field("packed", "PACKED", label.packed_at_local),
        Field("station", "STATION", label.station),
        Field("ref", "REF", label.shipment_ref),
        Field("passport", "PASSPORT", label.passport_url),
    ]
    # a barcode's data is kept as it is (bar the ends); every other field becomes one printable line
    out = [Field(f.key, f.caption, f.text.strip() if f.key in DATA_FIELDS else clean(f.text)) for f in fields]
    return [f for f in out if f.text]


DATA_FIELDS = ("tracking", "passport")


def clean(text: str) -> str:
    """One printable line: control, format and separator characters become spaces, runs of spaces collapse."""
    chars = [" " if unicodedata.category(ch)[0] in "CZ" else ch for ch in text]
    return " ".join("".join(chars).split())


def check_fields(fields: dict[str, Field]) -> None:
    code128.check(fields["tracking"].text if "tracking" in fields else "")
    url = fields["passport"].text if "passport" in fields else ""
    if any(unicodedata.category(ch)[0] == "C" for ch in url):
        raise ValueError(f"passport URL {url!r} holds control characters")
    if len(url.encode("utf-8")) > QR_MAX_BYTES:
        raise ValueError(f"passport URL is {len(url.encode())} bytes; a version-10 QR at level M holds {QR_MAX_BYTES}")


# --- text measuring, fitting and wrapping (WQY Micro Hei metrics) ---

@lru_cache(maxsize=64)
def font(size: int) -> ImageFont.FreeTypeFont:
    # BASIC layout: no complex-script shaping (not needed for Chinese and Latin), six times faster than raqm
    return ImageFont.truetype(str(CJK_FONT_PATH), max(size, 1), index=0, layout_engine=ImageFont.Layout.BASIC)


def bold_stroke(size: int) -> int:
    return max(1, _round(size / 36))


def measure(text: str, size: int, bold: bool = False) -> int:
    return math.ceil(font(size).getlength(text)) + (2 * bold_stroke(size) if bold else 0)


def shorten(text: str, fits: Callable[[str], bool]) -> str:
    """`text`, cut and ended with "..." until it fits."""
    if fits(text):
        return text
    while text and not fits(text.rstrip() + ELLIPSIS):
        text = text[:-1]
    return text.rstrip() + ELLIPSIS


def wrap(text: str, max_width: int, width_of: Callable[[str], int]) -> list[str]:
    """Greedy wrap: Latin words stay whole where they fit, CJK breaks between any two characters, and a
    space in the last third of a line is preferred as the break (Chinese addresses space their parts)."""
    tokens: list[str] = []
    word = ""
    for ch in text:
        if ch == " " or is_wide(ch):
            tokens += [word, ch] if word else [ch]
            word = ""
        else:
            word += ch
    if word:
        tokens.append(word)
    pieces = [p for tok in tokens for p in ([tok] if width_of(tok) <= max_width else list(tok))]
    lines: list[str] = []
    line = ""
    for piece in pieces:
        if line and width_of((line + piece).rstrip()) > max_width:
            head, space, tail = line.rpartition(" ")
            if space and tail and width_of(head.rstrip()) * 3 >= max_width * 2:
                lines.append(head.rstrip())  # a space late in the line is a better break
                line = tail
                if width_of(line + piece.rstrip()) <= max_width:
                    line += piece
                    continue
            lines.append(line.rstrip())
            line = piece.lstrip()
        else:
            line = line + piece if line else piece.lstrip()
    if line.strip():
        lines.append(line.rstrip())
    return lines


def is_wide(ch: str) -> bool:
    return unicodedata.east_asian_width(ch) in ("W", "F")


# Fitting measures the text again and again with the font; a station prints the same sender block,
# captions, header and marks on every label, so what it fitted once is kept (the arguments are the key).
@lru_cache(maxsize=512)
def fit_line(text: str, x: int, y: int, size: int, min_size: int, max_width: int, bold: bool = False) -> TextBlock:
    """One line at `size`, shrunk towards `min_size` (staying centred on the line) and then shortened
    until it fits `max_width`."""
    fitted = size
    while fitted > min_size and measure(text, fitted, bold) > max_width:
        fitted = max(min_size, fitted - max(1, fitted // 12))
    text = shorten(text, lambda t: measure(t, fitted, bold) <= max_width)
    return TextBlock(x, y + (size - fitted) // 2, fitted, text, bold, max_width)


@lru_cache(maxsize=128)
def fit_lines(text: str, x: int, y: int, size: int, min_size: int, max_width: int, max_lines: int,
              bold: bool = False) -> tuple[TextBlock, ...]:
    """`text` wrapped over at most `max_lines`, shrinking towards `min_size`, the last line shortened."""
    while True:
        width_of = partial(measure, size=size, bold=bold)
        lines = wrap(text, max_width, width_of)
        if len(lines) <= max_lines or size <= min_size:
            break
        size = max(min_size, size - max(1, size // 12))
    if len(lines) > max_lines:
        last = shorten(lines[max_lines - 1] + " " + lines[max_lines], lambda t: width_of(t) <= max_width)
        lines = [*lines[:max_lines - 1], last]
    pitch = _round(size * 1.2)
    return tuple(TextBlock(x, y + k * pitch, size, line, bold, max_width) for k, line in enumerate(lines))


# --- the 100x150 mm label ---

def layout_label(label: Label, geometry: LabelGeometry | None = None) -> LabelLayout:
    """Place the label's fields; all y positions below are design millimetres from the top edge."""
    g = geometry or LabelGeometry()
    d = g.dots
    fields = {f.key: f for f in label_fields(label)}
    check_fields(fields)
    left, right = d(5.5), g.width - d(5.5)
    width = right - left
    frame, rule = d(3), max(2, d(0.3))
    out: list[Element] = [Box(frame, frame, g.width - 2 * frame, g.height - 2 * frame, rule)]

    def hrule(y_mm: float) -> None:
        out.append(Line(frame, d(y_mm), g.width - 2 * frame, rule))

    def text(key: str, y_mm: float, size_mm: float, min_mm: float, room: int, bold: bool = False) -> None:
        if key in fields:
            out.append(fit_line(fields[key].text, left, d(y_mm), d(size_mm), d(min_mm), room, bold))

    def caption(key: str, y_mm: float) -> None:
        out.append(TextBlock(left, d(y_mm), d(3), CAPTIONS[key], False, width))

    # header: carrier and service, and the reprint mark at the right
    room = width
    if "reprint" in fields:
        bw, bh, th = d(36), d(10), d(6)
        bx, by = right - bw, d(5.5)
        mark = fit_line(fields["reprint"].text, 0, 0, th, d(4), bw - d(2), bold=True)
        tx = bx + (bw - measure(mark.text, mark.height, True)) // 2
        out.append(InverseBanner(bx, by, bw, bh, TextBlock(tx, by + (bh - mark.height) // 2, mark.height,
                                                            mark.text, True, bw - d(2))))
        room -= bw + d(2)
    if "routing" in fields:
        # 大头笔 is what sorters read from a metre away: the header's largest text, never cut short
        # (it shrinks instead); the carrier and service take the left third in smaller type.
        text("carrier", 6.5, 4.5, 2.5, room // 3, bold=True)
        space = room - room // 3 - d(2)
        code = fit_line(fields["routing"].text, 0, d(5.5), d(9.5), d(3), space, bold=True)
        out.append(TextBlock(left + room - measure(code.text, code.height, True), code.y, code.height, code.text,
                             True, space))
    else:
        text("carrier", 6.5, 7, 4, room, bold=True)
    hrule(17)

    # tracking number: Code 128, about 20 mm tall, and the number in text below it
    data = fields["tracking"].text
    modules = code128.modules(data) + 2 * code128.QUIET_MODULES
    module = min(max(1, d(0.375)), width // modules)
    if module < 1:
        raise ValueError(f"tracking number {data!r} is too long for a Code 128 on this label")
    bar_width = code128.modules(data) * module
    out.append(Barcode128((g.width - bar_width) // 2, d(19.5), d(20), module, data))
    number = fit_line(data, 0, d(41), d(5), d(3), width, bold=True)
    out.append(TextBlock((g.width - measure(number.text, number.height, True)) // 2, number.y, number.height,
                         number.text, True, width))
    hrule(48)

    # receiver: the biggest block
    caption("receiver", 50)
    text("receiver", 54, 7, 4.5, width, bold=True)
    if "receiver_address" in fields:
        out += fit_lines(fields["receiver_address"].text, left, d(63), d(5), d(3.5), width, 3)
    hrule(83)

    # sender
    caption("sender", 85)
    text("sender", 88.5, 4, 3, width, bold=True)
    if "sender_address" in fields:
        out += fit_lines(fields["sender_address"].text, left, d(93.5), d(3.5), d(2.8), width, 2)
    hrule(104)

    # bottom: details at the left, the passport QR at the right (4 modules of quiet zone stay clear)
    qr_size = d(28.5)
    qr_x, qr_y = right - qr_size, d(107)
    if "passport" in fields:
        out.append(QrCode(qr_x, qr_y, qr_size // QR_V10_MODULES, fields["passport"].text, qr_size))
        mark = fit_line("PASSPORT", 0, d(137.5), d(3), d(2.5), qr_size)
        out.append(TextBlock(qr_x + (qr_size - measure(mark.text, mark.height)) // 2, mark.y, mark.height,
                             mark.text, False, qr_size))
    y_mm = 107.0
    for key in DETAILS:
        if key in fields:
            line = f"{fields[key].caption} {fields[key].text}"
            out.append(fit_line(line, left, d(y_mm), d(4), d(3), qr_x - d(3) - left))
            y_mm += 5.4
    return LabelLayout(g, tuple(out))


CAPTIONS = {"receiver": "收件 TO", "sender": "寄件 FROM"}
DETAILS = ("order", "weight", "items", "packed", "station", "ref")


# --- the 80 mm receipt (ESC/POS): the same fields as a vertical sequence ---

RECEIPT_COLUMNS = 48  # font A is 12 dots wide on a 576-dot (72 mm) printable line
RECEIPT_DOTS = 576


@dataclass(frozen=True)
class ReceiptText:
    text: str
    scale: int = 1  # character width and height multiplier
    bold: bool = False
    align: Literal["left", "center"] = "left"
    invert: bool = False


@dataclass(frozen=True)
class ReceiptBarcode:
    data: str
    height: int  # dots
    module: int  # dots, 2-6


@dataclass(frozen=True)
class ReceiptQr:
    data: str
    module: int  # dots, 1-16


ReceiptItem = ReceiptText | ReceiptBarcode | ReceiptQr


def columns(text: str) -> int:
    return sum(2 if is_wide(ch) else 1 for ch in text)


def layout_receipt(label: Label) -> list[ReceiptItem]:
    fields = label_fields(label)
    check_fields({f.key: f for f in fields})
    rule = ReceiptText("-" * RECEIPT_COLUMNS)
    out: list[ReceiptItem] = []

    def para(text: str, scale: int = 1, bold: bool = False, align: Literal["left", "center"] = "left") -> None:
        out.extend(ReceiptText(line, scale, bold, align) for line in wrap(text, RECEIPT_COLUMNS // scale, columns))

    for f in fields:
        if f.key == "reprint":
            out.append(ReceiptText(f" {f.text} ", 2, True, "center", invert=True))
        elif f.key == "carrier":
            para(f.text, 2, True, "center")
        elif f.key == "routing":
            out.append(ReceiptText(f"{f.caption} ROUTE", 1, False, "center"))
            para(f.text, 2, True, "center")
        elif f.key == "tracking":
            modules = code128.modules(f.text) + 2 * code128.QUIET_MODULES
            out += [rule, ReceiptBarcode(f.text, 96, max(2, min(3, RECEIPT_DOTS // modules)))]
            para(f.text, 1, True, "center")
        elif f.key in CAPTIONS:
            out += [rule, ReceiptText(CAPTIONS[f.key])]
            para(f.text, 2 if f.key == "receiver" else 1, True)
        elif f.key in ("receiver_address", "sender_address"):
            para(f.text)
        elif f.key == "passport":
            out += [rule, ReceiptQr(f.text, 6), ReceiptText(f.caption, 1, False, "center")]
        else:
            if f.key == DETAILS[0]:
                out.append(rule)
            para(f"{f.caption:<8} {f.text}")
    return out


def _round(value: float) -> int:
    return math.floor(value + 0.5)
