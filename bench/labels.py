"""Bytes and render time per label in each printer language, next to a full-page bitmap of it.

    .venv/bin/python -m bench.labels            # 200 renders per language
    .venv/bin/python -m bench.labels --quick    # 20

For the demo label (Chinese receiver and address, 15-character tracking number, a passport URL of
realistic length): bytes per label for ZPL (203/300 dpi, resident CJK font and rasterised CJK text),
TSPL, ESC/POS, PDF and the PNG preview; the same label as one full-page 1-bit ^GFA bitmap (hex and
Z64), which is what a "print the label as an image" driver sends; the time to send a ZPL label over
a 9600-baud serial link (8N1: 10 bits a byte); and the render time of each (median, p99).
"""

from __future__ import annotations

import base64
import time
import zlib
from collections.abc import Callable
from io import BytesIO

from PIL import Image

from app.labels import Label, Party
from bench import _fixtures as fx
from drivers.printers.escpos import render_escpos
from drivers.printers.layout import LabelGeometry
from drivers.printers.pdf import render_pdf
from drivers.printers.preview import render_png
from drivers.printers.tspl import render_tspl
from drivers.printers.zpl import render_zpl

BAUD = 9600
LABEL = Label(
    carrier="SF", service="顺丰标快", tracking_no="SF1400000000000",
    sender=Party("PackBench 杭州仓", "0571****6666", "浙江省杭州市余杭区仓前街道 1 号仓"),
    receiver=Party("张伟", "138****5678", "浙江省杭州市西湖区文三路 90 号 东部软件园 3 幢"),
    order_id="TB2026112500012345", weight_g=1234, item_count=3, packed_at_local="2026-11-25 10:02",
    station="HZ-01", passport_url="https://pb.example.com/p/" + "A" * 150, shipment_ref="S000123",
)
G203, G300 = LabelGeometry(dpi=203), LabelGeometry(dpi=300)

RENDERERS: dict[str, Callable[[Label], bytes]] = {
    "zpl 203 dpi, resident CJK": lambda label: render_zpl(label, G203, cjk="resident"),
    "zpl 300 dpi, resident CJK": lambda label: render_zpl(label, G300, cjk="resident"),
    "zpl 203 dpi, raster CJK": lambda label: render_zpl(label, G203, cjk="raster"),
    "zpl 300 dpi, raster CJK": lambda label: render_zpl(label, G300, cjk="raster"),
    "tspl 203 dpi": lambda label: render_tspl(label, G203),
    "escpos 80 mm": render_escpos,
    "pdf 100x150 mm": lambda label: render_pdf(label, G203),
    "png preview 203 dpi": lambda label: render_png(label, G203),
}


def full_page_bitmap(dpi: int) -> dict[str, int]:
    """The label as one 1-bit image in ZPL: ^GFA with ASCII hex, and with Z64 compression."""
    geometry = LabelGeometry(dpi=dpi)
    image = Image.open(BytesIO(render_png(LABEL, geometry))).convert("1")
    width_bytes = (image.width + 7) // 8
    raw = image.tobytes()  # 1 = white in PIL's mode "1"; ZPL wants 1 = black
    raw = bytes(b ^ 0xFF for b in raw)
    total = len(raw)
    hex_form = f"^XA^FO0,0^GFA,{total},{total},{width_bytes},{raw.hex().upper()}^FS^XZ"
    z64 = base64.b64encode(zlib.compress(raw, 9)).decode()
    z64_form = f"^XA^FO0,0^GFA,{total},{total},{width_bytes},:Z64:{z64}:0000^FS^XZ"
    return {"hex": len(hex_form.encode()), "z64": len(z64_form.encode())}


def time_ms(render: Callable[[Label], bytes], repeat: int) -> dict[str, float]:
    samples = []
    render(LABEL)  # fonts and caches warm
    for _ in range(repeat):
        start = time.perf_counter_ns()
        render(LABEL)
        samples.append(time.perf_counter_ns() - start)
    return fx.summarize_ns(samples)


def main(argv: list[str] | None = None) -> int:
    parser = fx.base_parser(__doc__ or "")
    args = parser.parse_args(argv)
    repeat = 20 if args.quick else 200
    rows, report = [], {"labels": {}, "bitmap": {}, "machine": fx.machine()}
    for name, render in RENDERERS.items():
        size = len(render(LABEL))
        timing = time_ms(render, repeat)
        report["labels"][name] = {"bytes": size, "render_ms": timing}
        rows.append((name, f"{size:,}", fx.fmt_ms(timing["p50"]), fx.fmt_ms(timing["p99"])))
    for dpi in (203, 300):
        bitmap = full_page_bitmap(dpi)
        report["bitmap"][str(dpi)] = bitmap
        rows.append((f"full-page bitmap {dpi} dpi, ^GFA hex", f"{bitmap['hex']:,}", "", ""))
        rows.append((f"full-page bitmap {dpi} dpi, ^GFA Z64", f"{bitmap['z64']:,}", "", ""))
    fx.print_table(("label", "bytes", "render p50", "render p99"), rows)
    zpl = report["labels"]["zpl 203 dpi, resident CJK"]["bytes"]
    seconds = zpl * 10 / BAUD
    report["zpl_9600_baud_seconds"] = round(seconds, 3)
    print(f"\nZPL label (203 dpi, resident CJK font): {zpl:,} bytes = {seconds:.2f} s at {BAUD} baud 8N1; "
          f"budget: under 4 KB ({'PASS' if zpl < 4096 else 'FAIL'}), under 1 s ({'PASS' if seconds < 1 else 'FAIL'})")
    raster = report["labels"]["zpl 203 dpi, raster CJK"]["bytes"]
    print(f"ZPL with rasterised Chinese text: {raster:,} bytes = {raster * 10 / BAUD:.2f} s at {BAUD} baud")
    if not args.no_json:
        print(f"wrote {fx.write_json('labels', report)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
