"""The command sheet: one Code 128 barcode per bench command, to pin at the bench."""

from __future__ import annotations

from pathlib import Path

from app.barcodes import Command, command_barcode
from app.documents.fonts import register_cjk_font

TITLES: dict[Command, tuple[str, str]] = {
    Command.ABORT: ("Abort order", "取消打包"),
    Command.REPRINT: ("Reprint label", "补打面单"),
    Command.CALL_SUPERVISOR: ("Call supervisor", "呼叫主管"),
    Command.LOGOUT: ("Log out", "退出登录"),
    Command.SHORT_SHIP: ("Short-ship (supervisor)", "缺货发货（需主管）"),
    Command.ACCEPT_WEIGHT: ("Accept weight (supervisor)", "接受重量（需主管）"),
    Command.VOID_LABEL: ("Void label (supervisor)", "作废面单（需主管）"),
    Command.SWITCH_CARRIER: ("Switch carrier", "切换快递"),
    Command.CONFIRM: ("Confirm", "确认"),
}


def write_command_sheet(path: Path, station: str = "") -> None:
    from reportlab.graphics.barcode import code128
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.units import mm
    from reportlab.pdfgen import canvas

    font = register_cjk_font()
    path.parent.mkdir(parents=True, exist_ok=True)
    pdf = canvas.Canvas(str(path), pagesize=A4)
    width, height = A4
    pdf.setTitle("PackBench command sheet 操作指令条码")
    pdf.setFont(font, 18)
    pdf.drawString(20 * mm, height - 20 * mm, "PackBench 操作指令 Command sheet" + (f" — {station}" if station else ""))
    row_h = 29 * mm
    y = height - 32 * mm
    for i, command in enumerate(Command):
        col_x = 20 * mm if i % 2 == 0 else width / 2 + 5 * mm
        if i % 2 == 0 and i:
            y -= row_h
        english, chinese = TITLES[command]
        pdf.setFont(font, 12)
        pdf.drawString(col_x, y, f"{chinese}  {english}")
        symbol = code128.Code128(command_barcode(command), barHeight=14 * mm, barWidth=0.33 * mm)
        symbol.drawOn(pdf, col_x - 6 * mm, y - 18 * mm)
        pdf.setFont(font, 8)
        pdf.drawString(col_x, y - 22 * mm, command_barcode(command))
    pdf.showPage()
    pdf.save()
