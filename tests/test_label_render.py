"""One label, four languages: ZPL, TSPL, ESC/POS and PDF, asserted on parsed commands."""

from __future__ import annotations

import base64
import binascii
import dataclasses
import io
import re
import zlib

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image
from pypdf import PdfReader

from app.labels import Label, Party
from drivers.printers import code128
from drivers.printers.escpos import render_escpos
from drivers.printers.layout import (
    Barcode128,
    InverseBanner,
    LabelGeometry,
    Line,
    QrCode,
    TextBlock,
    label_fields,
    layout_label,
    layout_receipt,
    measure,
)
from drivers.printers.pdf import render_pdf, render_pdf_pages
from drivers.printers.preview import render_png, text_bitmap
from drivers.printers.tspl import render_tspl
from drivers.printers.zpl import graphic_field, render_zpl
from tests.printer_parsers import (
    find_escpos_barcode,
    find_escpos_qr,
    parse_tspl,
    parse_zpl,
    zpl_code128_text,
    zpl_fields,
)

TOKEN = "AQx7Kq9ZpW3mN8vB2cR5tY1uI0oP4aS6dF7gH9jK2lZ3xC5vB7nM1qW3eR5tY7uI9oP1aS3dF5gH7jK9lZ1xC3vB5nM7qW9eR1tY3u_-Fx"
URL = f"https://pb.example.com/p/{TOKEN}"
DEMO = Label(
    carrier="SF", service="顺丰标快", tracking_no="SF1400000000000",
    sender=Party("PackBench 杭州仓", "0571****6666", "浙江省杭州市余杭区仓前街道 1 号仓"),
    receiver=Party("张伟", "138****5678", "浙江省杭州市西湖区文三路 90 号 东部软件园 3 幢"),
    order_id="TB2026112500012345", weight_g=1234, item_count=3, packed_at_local="2026-11-25 10:02",
    station="HZ-01", passport_url=URL, shipment_ref="S000123",
)
LONG_ADDRESS = ("新疆维吾尔自治区乌鲁木齐市天山区解放北路街道人民路 188 号国际大厦 B 座 2105 室"
                "（工作日请放前台，周末请放快递柜，谢谢）")
LONG = dataclasses.replace(DEMO, receiver=Party("欧阳建国", "139****0001", LONG_ADDRESS))


def label(**changes: object) -> Label:
    return dataclasses.replace(DEMO, **changes)  # type: ignore[arg-type]


def field_with(fields: list[dict[str, str]], command: str) -> dict[str, str]:
    [field] = [f for f in fields if command in f]
    return field


# --- ZPL ---

def test_zpl_is_one_utf8_format_with_native_barcode_and_qr() -> None:
    data = render_zpl(DEMO)
    commands = parse_zpl(data)
    assert commands[0] == ("XA", "") and commands[-1] == ("XZ", "")
    assert ("CI", "28") in commands
    fields = zpl_fields(data)
    bc = field_with(fields, "BC")
    assert bc["BC"].startswith("N,") and zpl_code128_text(bc["FD"]) == DEMO.tracking_no
    qr = field_with(fields, "BQ")
    assert qr["BQ"] == "N,2,4,M"
    at = commands.index(("FO", qr["FO"]))
    assert commands[at - 1] == ("BY", "4,2,10")  # the ^BY height a QR sinks by, pinned
    [qr_el] = [el for el in layout_label(DEMO).elements if isinstance(el, QrCode)]
    assert qr["FO"] == f"{qr_el.x},{qr_el.y - 10}"
    assert qr["FD"].startswith("MA,") and qr["FD"][3:] == URL  # M = error correction M, A = automatic mode
    texts = [f["FD"] for f in fields if "A" in f]
    assert "张伟 138****5678" in texts and DEMO.tracking_no in texts
    assert ("CW", "J,E:SIMSUN.FNT") in commands
    assert all(f["A"].startswith("J") for f in fields if "A" in f and not f["FD"].isascii())
    assert not any(name == "GF" for name, _ in commands)


@pytest.mark.parametrize(("dpi", "width", "height", "qr_module"), [(203, 800, 1200, 4), (300, 1200, 1800, 6)])
def test_zpl_page_is_100_by_150_mm_in_dots(dpi: int, width: int, height: int, qr_module: int) -> None:
    # 203 dpi heads are 8 dots/mm and 300 dpi heads 12 dots/mm: 100x150 mm = 800x1200 or 1200x1800 dots
    commands = parse_zpl(render_zpl(DEMO, LabelGeometry(dpi=dpi)))
    assert ("PW", str(width)) in commands and ("LL", str(height)) in commands
    assert ("BQ", f"N,2,{qr_module},M") in commands


def test_zpl_scales_positions_from_203_to_300_dpi() -> None:
    low = zpl_fields(render_zpl(DEMO))
    high = zpl_fields(render_zpl(DEMO, LabelGeometry(dpi=300)))
    assert [f.get("FD") for f in low] == [f.get("FD") for f in high]
    for a, b in zip(low, high, strict=True):
        if "BC" in a:  # the module goes from 3 to 5 dots (0.375 mm rounded), so its centring shifts
            continue
        ax, ay = map(int, a["FO"].split(","))
        bx, by = map(int, b["FO"].split(","))
        assert abs(bx - 1.5 * ax) <= 12 and abs(by - 1.5 * ay) <= 12, (a, b)


def test_zpl_escapes_user_text_through_fh() -> None:
    tricky = label(receiver=Party("A^XZ~JA_5E\\", "138****5678", "^FS~HS"), order_id="^XA", tracking_no="SF^1~2>3")
    data = render_zpl(tricky)
    commands = parse_zpl(data)
    assert [name for name, _ in commands].count("XA") == 1 and [name for name, _ in commands].count("XZ") == 1
    assert not any(name in ("HS", "JA") for name, _ in commands)
    texts = {f["FD"] for f in zpl_fields(data) if "A" in f}
    assert {"A^XZ~JA_5E\\ 138****5678", "^FS~HS", "ORDER ^XA"} <= texts
    assert b"_5EXZ_7EJA_5F5E" in data
    assert zpl_code128_text(field_with(zpl_fields(data), "BC")["FD"]) == "SF^1~2>3"


@pytest.mark.parametrize("cjk", ["resident", "raster"])
def test_zpl_stays_small_with_a_long_chinese_address(cjk: str) -> None:
    data = render_zpl(LONG, cjk=cjk)  # type: ignore[arg-type]
    page = full_page_z64(LONG)  # ~15 KB in Z64, 240 KB as plain ^GFA hex
    if cjk == "resident":
        assert len(data) < 4096 and len(data) < page / 8
    else:
        # 1-bit CJK glyphs cost ~100 bytes each in Z64 at 5 mm: a long address cannot fit 4 KB this way,
        # but it stays well under the full-page bitmap, and the ASCII, barcode and QR stay native
        assert len(data) < 10 * 1024 and len(data) < page * 0.7


def test_zpl_typical_label_is_a_few_kb() -> None:
    assert len(render_zpl(DEMO)) < 2048
    assert len(render_zpl(DEMO, cjk="raster")) < 8 * 1024


def test_zpl_raster_mode_sends_only_the_non_ascii_runs_as_z64_graphics() -> None:
    data = render_zpl(DEMO, cjk="raster")
    commands = parse_zpl(data)
    assert not any(name == "CW" for name, _ in commands)
    graphics = [params for name, params in commands if name == "GF"]
    cjk_runs = sum(len(re.findall(r"[^\x00-\x7f]+", el.text)) for el in layout_label(DEMO).elements
                   if isinstance(el, TextBlock))
    assert len(graphics) == cjk_runs
    ascii_texts = {f["FD"] for f in zpl_fields(data) if "A" in f}
    assert {"138****5678", "PackBench", "0571****6666", DEMO.tracking_no} <= ascii_texts
    for params in graphics:
        kind, total, _, row, encoded = params.split(",", 4)
        _, tag, body, crc = encoded.split(":")
        assert kind == "A" and tag == "Z64"
        assert f"{binascii.crc_hqx(body.encode(), 0):04x}" == crc
        bitmap = zlib.decompress(base64.b64decode(body))
        assert len(bitmap) == int(total) and len(bitmap) % int(row) == 0 and any(bitmap)
    assert "张伟" not in data.decode()


def test_zpl_raster_of_a_cjk_run_is_the_preview_glyphs() -> None:
    block = TextBlock(0, 0, 56, "张伟", bold=True)
    image = text_bitmap(block)
    field = graphic_field(image.tobytes(), (image.width + 7) // 8)
    body = field.split(":")[2]
    decoded = Image.frombytes("1", image.size, zlib.decompress(base64.b64decode(body)))
    assert decoded.tobytes() == image.tobytes() and image.getbbox() is not None


def full_page_z64(lbl: Label) -> int:
    """Bytes of the same label sent as one full-page 1-bit ^GFA in Z64 (what native commands avoid)."""
    page = Image.open(io.BytesIO(render_png(lbl))).point(lambda v: 255 if v < 128 else 0).convert("1")
    return len(graphic_field(page.tobytes(), (page.width + 7) // 8))


# --- TSPL ---

def test_tspl_commands() -> None:
    commands = parse_tspl(render_tspl(DEMO))
    names = [name for name, _ in commands]
    assert names[:5] == ["SIZE", "GAP", "DIRECTION", "REFERENCE", "CLS"] and names[-1] == "PRINT"
    assert commands[0][1] == ["100 mm", "150 mm"] and commands[-1][1] == ["1", "1"]
    texts = {args[-1]: args for name, args in commands if name == "TEXT"}
    assert texts["张伟 138****5678"][2] == "TSS24.BF2"
    assert texts[DEMO.tracking_no][2] in "12345"  # a Latin bitmap font for ASCII
    [barcode] = [args for name, args in commands if name == "BARCODE"]
    assert barcode[2] == "128" and barcode[-1] == DEMO.tracking_no
    [qr] = [args for name, args in commands if name == "QRCODE"]
    assert qr[2:6] == ["M", "4", "A", "0"] and qr[-1] == URL
    assert "REVERSE" not in names


def test_tspl_text_is_gb18030_and_quotes_are_escaped() -> None:
    data = render_tspl(label(receiver=Party('王"小"明', "138****5678", "杭州")))
    assert '王\\["]小\\["]明'.encode("gb18030") in data
    texts = [args[-1] for name, args in parse_tspl(data) if name == "TEXT"]
    assert '王"小"明 138****5678' in texts


# --- ESC/POS ---

def test_escpos_native_qr_barcode_and_gb18030_text() -> None:
    data = render_escpos(DEMO)
    assert b"\x1d(k" in data and b"\x1dk" in data
    assert find_escpos_qr(data) == URL
    assert find_escpos_barcode(data) == DEMO.tracking_no
    assert b"\x1dkI" + bytes([len(code128.escpos_data(DEMO.tracking_no))]) + b"{BSF1{C" in data  # sets B then C
    assert "张伟 138****5678".encode("gb18030") in data and b"\x1c&" in data
    assert b"\x1dv0" not in data and b"\x1b*" not in data  # no raster images
    assert data.endswith(b"\x1dV\x00")  # full cut


def test_the_routing_code_is_the_biggest_text_and_in_every_language() -> None:
    layout = layout_label(ROUTED)
    texts = [el for el in layout.elements if isinstance(el, TextBlock)]
    [code] = [el for el in texts if el.text == "755W-021A 沪东"]
    assert code.bold and code.height == max(el.height for el in texts) and code.y < layout.geometry.dots(17)
    zpl = render_zpl(ROUTED)
    assert "755W-021A 沪东" in {f["FD"] for f in zpl_fields(zpl) if "A" in f}
    raster = render_zpl(ROUTED, cjk="raster")
    assert "755W-021A" in {f["FD"].strip() for f in zpl_fields(raster) if "A" in f}  # 沪东 goes as a ^GF graphic
    tspl = [args[-1] for name, args in parse_tspl(render_tspl(ROUTED)) if name == "TEXT"]
    assert "755W-021A 沪东" in tspl
    assert "755W-021A 沪东".encode("gb18030") in render_escpos(ROUTED)
    assert "755W-021A 沪东" in PdfReader(io.BytesIO(render_pdf(ROUTED))).pages[0].extract_text()
    assert not [el for el in layout_label(DEMO).elements if isinstance(el, TextBlock) and "755W" in el.text]


def test_escpos_receipt_follows_the_label_fields() -> None:
    texts = [getattr(item, "text", "") for item in layout_receipt(DEMO)]
    for f in label_fields(DEMO):
        if f.key not in ("tracking", "passport"):
            assert any(f.text.split()[0] in t for t in texts), f


# --- PDF ---

def pdf_fonts(reader: PdfReader) -> list[object]:
    fonts = reader.pages[0]["/Resources"]["/Font"]
    return [fonts[name].get_object() for name in fonts]


def test_pdf_embeds_the_cjk_font_and_draws_only_vectors() -> None:
    reader = PdfReader(io.BytesIO(render_pdf(DEMO)))
    page = reader.pages[0]
    assert [round(float(v) / 72 * 25.4) for v in page.mediabox[2:]] == [100, 150]
    text = page.extract_text()
    for expected in ("张伟", "138****5678", DEMO.tracking_no, "浙江省杭州市", "顺丰标快", "1.234 kg"):
        assert expected in text
    for font in pdf_fonts(reader):
        assert "/FontFile2" in font["/FontDescriptor"]  # type: ignore[index]
    xobjects = page["/Resources"].get("/XObject", {})
    assert not [x for x in xobjects.values() if x.get_object().get("/Subtype") == "/Image"]


def test_pdf_pages_one_label_per_page() -> None:
    labels = [label(tracking_no=f"SF14000000000{k:02d}") for k in range(3)]
    reader = PdfReader(io.BytesIO(render_pdf_pages(labels)))
    assert len(reader.pages) == 3
    for page, lbl in zip(reader.pages, labels, strict=True):
        assert lbl.tracking_no in page.extract_text()


# --- the reprint mark, in each language ---

@pytest.mark.parametrize("reprint_no", [0, 1, 2, 3])
def test_reprint_mark_only_from_the_second_print(reprint_no: int) -> None:
    lbl = label(reprint_no=reprint_no)
    mark = f"REPRINT {reprint_no}"
    shown = reprint_no >= 2
    zpl = zpl_fields(render_zpl(lbl))
    assert any(f.get("FD") == mark and "FR" in f for f in zpl) is shown
    tspl = parse_tspl(render_tspl(lbl))
    assert any(name == "TEXT" and args[-1] == mark for name, args in tspl) is shown
    assert any(name == "REVERSE" for name, _ in tspl) is shown
    escpos = render_escpos(lbl)
    assert (mark.encode() in escpos) is shown and (b"\x1dB\x01" in escpos) is shown
    assert (mark in PdfReader(io.BytesIO(render_pdf(lbl))).pages[0].extract_text()) is shown
    assert (b"REPRINT" in render_zpl(lbl) + render_tspl(lbl) + escpos) is shown


# --- layout ---

ROUTED = label(routing_code="755W-021A 沪东")


@pytest.mark.parametrize("lbl", [DEMO, LONG, label(reprint_no=12), ROUTED,
                                 label(routing_code="上海浦东新区张江转运中心 021WJ-A12-88", reprint_no=3)],
                         ids=["demo", "long", "reprint", "routed", "long-route-reprint"])
@pytest.mark.parametrize("dpi", [203, 300])
def test_layout_keeps_everything_on_the_label_without_overlap(lbl: Label, dpi: int) -> None:
    layout = layout_label(lbl, LabelGeometry(dpi=dpi))
    g = layout.geometry
    boxes = []
    for el in layout.elements:
        if isinstance(el, TextBlock):
            box = (el.x, el.y, el.x + measure(el.text, el.height, el.bold), el.y + round(el.height * 1.1))
            assert box[2] - el.x <= el.max_width, el
        elif isinstance(el, Barcode128):
            quiet = code128.QUIET_MODULES * el.module
            box = (el.x - quiet, el.y, el.x + el.width + quiet, el.y + el.height)
        elif isinstance(el, QrCode):
            box = (el.x, el.y, el.x + el.size, el.y + el.size)
        elif isinstance(el, InverseBanner):
            box = (el.x, el.y, el.x + el.width, el.y + el.height)
        elif isinstance(el, Line):  # the rules between sections: nothing may cross them
            boxes.append(((el.x, el.y, el.x + el.width, el.y + el.height), el))
            continue
        else:
            continue
        frame = g.dots(3)
        assert frame < box[0] and box[2] < g.width - frame and frame < box[1] and box[3] < g.height - frame, el
        boxes.append((box, el))
    for i, (a, ea) in enumerate(boxes):
        for b, eb in boxes[i + 1:]:
            assert a[2] <= b[0] or b[2] <= a[0] or a[3] <= b[1] or b[3] <= a[1], (ea, eb)


def receiver_address_lines(lbl: Label) -> list[TextBlock]:
    g = LabelGeometry()
    return [el for el in layout_label(lbl).elements
            if isinstance(el, TextBlock) and g.dots(62) <= el.y < g.dots(83)]


def test_long_address_shrinks_to_fit_three_lines_wrapped_by_measured_width() -> None:
    lines = receiver_address_lines(LONG)
    assert len(lines) == 3 and lines[0].height < LabelGeometry().dots(5)
    assert "".join(line.text for line in lines).replace(" ", "") == LONG_ADDRESS.replace(" ", "")
    assert all(measure(line.text, line.height) <= line.max_width for line in lines)
    assert measure(lines[0].text + lines[1].text[0], lines[0].height) > lines[0].max_width  # filled greedily


def test_address_too_long_for_three_lines_is_shortened_visibly() -> None:
    lines = receiver_address_lines(label(receiver=Party("张伟", "138****5678", LONG_ADDRESS * 3)))
    assert len(lines) == 3 and lines[-1].text.endswith("...")


def test_demo_address_breaks_at_its_space() -> None:
    assert [line.text for line in receiver_address_lines(DEMO)] == ["浙江省杭州市西湖区文三路 90 号", "东部软件园 3 幢"]


def test_layout_rejects_what_no_barcode_can_hold() -> None:
    with pytest.raises(ValueError, match="ASCII"):
        layout_label(label(tracking_no="顺丰1400"))
    with pytest.raises(ValueError, match="version-10"):
        layout_label(label(passport_url="https://pb.example.com/p/" + "A" * 200))


# --- code 128 ---

def decode_code128(values: list[int]) -> str:
    assert values[-1] == code128.STOP
    assert values[-2] == (values[0] + sum(i * v for i, v in enumerate(values[1:-2], 1))) % 103
    code_set, out = ("C" if values[0] == code128.START_C else "B"), []
    for v in values[1:-2]:
        if code_set == "B" and v == code128.CODE_C:
            code_set = "C"
        elif code_set == "C" and v == code128.CODE_B:
            code_set = "B"
        else:
            out.append(f"{v:02d}" if code_set == "C" else chr(v + 32))
    return "".join(out)


@given(st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), min_size=1, max_size=40))
def test_code128_round_trips_and_never_beats_its_own_set_b(data: str) -> None:
    values = code128.encode(data)
    assert decode_code128(values) == data
    assert len(values) <= len(data) + 3
    assert zpl_code128_text(code128.zpl_field_data(data)) == data


# --- anything a label may hold renders everywhere ---

printable = st.text(st.characters(exclude_categories=("Cs",)) | st.sampled_from('^~"\\_{}<>张伟浙江，。'),
                    max_size=60)
tracking = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E) | st.sampled_from("^~\"\\"),
                   min_size=1, max_size=24).filter(lambda t: t.strip())
parties = st.builds(Party, printable, printable, st.text(max_size=300) | printable)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.builds(
    Label, carrier=printable, service=printable, tracking_no=tracking, sender=parties, receiver=parties,
    order_id=printable, weight_g=st.integers(0, 10**7), item_count=st.integers(0, 10**4),
    packed_at_local=printable, station=printable,
    passport_url=st.text(st.characters(exclude_categories=("C",)), max_size=30).map(lambda t: URL[:80] + t),
    reprint_no=st.integers(0, 99), shipment_ref=printable,
))
def test_any_label_renders_in_every_language(lbl: Label) -> None:
    for cjk in ("resident", "raster"):
        data = render_zpl(lbl, cjk=cjk)  # type: ignore[arg-type]
        commands = parse_zpl(data)  # raises on a ^FD without its ^FS
        assert commands[0][0] == "XA" and commands[-1][0] == "XZ"
        assert [n for n, _ in commands].count("FD") == [n for n, _ in commands].count("FS") - sum(
            1 for n, _ in commands if n in ("GB", "GF"))
        fields = zpl_fields(data)
        assert zpl_code128_text(field_with(fields, "BC")["FD"]) == lbl.tracking_no.strip()
    tspl = parse_tspl(render_tspl(lbl))
    assert [args[-1] for name, args in tspl if name == "BARCODE"] == [lbl.tracking_no.strip()]
    escpos = render_escpos(lbl)
    assert find_escpos_barcode(escpos) == lbl.tracking_no.strip()
    assert render_pdf(lbl).startswith(b"%PDF")
