"""ESC/POS for 80 mm receipt printers, through python-escpos 3.1's `Dummy` printer (bytes, no device).

The receipt is the label's fields as a vertical sequence (`layout_receipt`). Barcode and QR code are the
printer's own (`GS k`, `GS ( k`), never images. Text is encoded GB18030 here and sent raw after `FS &`
(Chinese character mode): the library's own CJK handling turns full-width punctuation into `???`.
"""

from __future__ import annotations

from escpos.constants import QR_ECLEVEL_M
from escpos.printer import Dummy

from app.labels import Label
from drivers.printers import code128
from drivers.printers.layout import ReceiptBarcode, ReceiptQr, ReceiptText, layout_receipt

INIT = b"\x1b@"
CHINESE_MODE = b"\x1c&"  # FS &


def render_escpos(label: Label) -> bytes:
    printer = Dummy()
    printer._raw(INIT + CHINESE_MODE)
    for item in layout_receipt(label):
        if isinstance(item, ReceiptText):
            # GS ! sizes Chinese and ASCII alike; `normal_textsize` would only send ESC ! 0 (ASCII)
            printer.set(align=item.align, bold=item.bold, invert=item.invert, custom_size=True,
                        width=item.scale, height=item.scale)
            printer._raw(item.text.encode("gb18030", errors="replace") + b"\n")
        elif isinstance(item, ReceiptBarcode):
            # the printer's own CODE128 (GS k, function B) with the code sets the label preview draws (`{B`,
            # `{C`). `_hw_barcode` is what `barcode()` calls once it has chosen hardware, minus its print()
            # to stdout and its fallback to a software bitmap, neither of which a label wants.
            printer._hw_barcode(code128.escpos_data(item.data), "CODE128", height=item.height, width=item.module,
                                pos="OFF", align_ct=True, function_type="B")
        elif isinstance(item, ReceiptQr):
            printer.set(align="center", custom_size=True, width=1, height=1, bold=False, invert=False)
            printer.qr(item.data, ec=QR_ECLEVEL_M, size=item.module, native=True)
            printer._raw(b"\n")
    printer.set(align="left", custom_size=True, width=1, height=1, bold=False, invert=False)
    printer.cut()
    output: bytes = printer.output
    return output
