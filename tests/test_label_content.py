"""Label content from imported text: control characters never reach the printer's command stream."""

from __future__ import annotations

from app.demo import product_barcode
from app.labels import Party, build_label, printable
from app.pack.flow import PackFlow
from app.store.models import Order, PrintJob
from drivers.printers.escpos import render_escpos
from drivers.printers.tspl import render_tspl
from drivers.printers.zpl import render_zpl
from tests.helpers import scan, weigh
from tests.printer_parsers import parse_tspl

ORDER, PACKER = "TB2026112500001", "B-1001"
TEA, CHOP = product_barcode("TEA-LJ-250"), product_barcode("CHOP-BMB-5")
SENDER = Party("PackBench 杭州仓", "0571****6666", "浙江省杭州市余杭区仓前街道 1 号仓")
# A buyer's name that, printed raw, ends the TSPL TEXT command and prints 99 labels; an ESC/POS
# initialise (ESC @) and cut (GS V) in the address; a right-to-left override that reverses the street.
HOSTILE_NAME = '张伟"\r\nPRINT 99\r\nTEXT 0,0,"TSS24.BF2",0,1,1,"'
HOSTILE_ADDRESS = "浙江省杭州市\x1b@\x1dV\x00西湖区\u202e路三文 90 号\u200b"


def test_printable_folds_control_runs_into_one_space() -> None:
    assert printable("a\r\n\x1bb") == "a b"
    assert printable("\u202e杭州\u200b") == "杭州"
    assert printable("西湖区 文三路") == "西湖区 文三路"


def test_a_hostile_receiver_cannot_inject_printer_commands(flow: PackFlow) -> None:
    Order.update(receiver_name=HOSTILE_NAME, receiver_address=HOSTILE_ADDRESS).where(
        Order.order_id == ORDER).execute()
    for code in (PACKER, ORDER, TEA, CHOP, TEA):
        scan(flow, code)
    out = weigh(flow, 715)
    assert out is not None and out.event == "label_queued"
    label = build_label(PrintJob.get().id, SENDER, "T-1")
    assert "\r" not in label.receiver.name and "\n" not in label.receiver.name
    assert label.receiver.address == "浙江省杭州市 @ V 西湖区 路三文 90 号"  # the bytes, not the letters
    commands = [name for name, _ in parse_tspl(render_tspl(label))]
    assert commands.count("PRINT") == 1 and commands[-1] == "PRINT"
    assert b"\r\nPRINT 99" not in render_zpl(label)
    assert b"\x1b@\x1dV" not in render_escpos(label)
