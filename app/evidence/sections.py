"""The first half of one order's pack: summary, order and lines, scans, weight, label, handover."""

from __future__ import annotations

from typing import Any

from app.evidence.layout import (
    AMBER,
    GREEN,
    GREY,
    RED,
    LocalTime,
    grid,
    key_values,
    lazy_image,
    para,
    styles,
    text_table,
)
from app.evidence.model import DocumentContext, EvidenceItem
from app.pack.outcomes import MESSAGES, Level
from app.waybills import carrier_label

MM = 72 / 25.4
WIDTH = 180 * MM  # A4 less 15 mm margins


def heading(number: int, zh: str, en: str) -> Any:
    return para(f"{number}  {zh}  {en}", styles().h2)


def money(cents: int) -> str:
    return f"¥{cents / 100:,.2f}"


def chain_line(ctx: DocumentContext) -> tuple[str, str]:
    """(text, colour) of the audit chain's state, as the summary and the digest both say it."""
    chain = ctx.chain
    if ctx.source:
        return (f"链头（未在此核验）chain head kept, not verified here — entry {chain.head_seq or '—'}, "
                f"{chain.head_hash[:16] or '—'}…: verify the chain at the station", AMBER)
    if chain.ok:
        return f"审计链完整 chain intact — {chain.entries} entries, head {chain.head_hash[:16]}…", GREEN
    problem = chain.problem
    prefix = f"entry {chain.entries + 1}: "
    problem = problem[len(prefix):] if problem.startswith(prefix) else problem
    return f"审计链已损坏 CHAIN BROKEN at entry {chain.entries + 1}: {problem}", RED


def rows_line(item: EvidenceItem) -> str:
    """The audit chain's verdict on the rows this pack prints: per kind, or each row that fails."""
    rows = item.rows
    assert rows is not None
    if rows.ok:
        return f"记录核验通过 rows verified — {rows.text}"
    return "记录被篡改 ROWS ALTERED — " + "; ".join(rows.problems)


def sla_colour(code: str, late: bool) -> str:
    if code == "dispute" or late:
        return RED
    return GREEN if code == "on_time" else AMBER


def summary(item: EvidenceItem, ctx: DocumentContext, when: LocalTime) -> list[Any]:
    from reportlab.lib import colors

    s = styles()
    ev, parcel = item.evidence, item.evidence.live_parcel
    title = para(f"证据包 Evidence pack — {ev.order.order_id}", s.h1)
    sub = para(f"生成 Generated {when(ctx.generated_at)} · 工作台 Station {ctx.station} · "
               f"仓库 Warehouse {ctx.warehouse or '—'} · 时区 Time zone {when.zone_text}", s.small, GREY)
    tracking = (f"{parcel.tracking_no}  {carrier_label(parcel.carrier, 'zh')} {carrier_label(parcel.carrier)}"
                + ("  (VOIDED 已作废)" if parcel.voided else "")) if parcel else "未打包 not packed"
    chain_text, chain_colour = chain_line(ctx)
    colour = sla_colour(item.sla.code, item.sla.late)
    rows = [
        [para("运单 Tracking", s.small), para(tracking)],
        [para("时效 SLA", s.small), para(f"{item.sla.zh}  ·  {item.sla.en}", s.body, colour)],
        [para("审计 Audit", s.small), para(chain_text, s.body, chain_colour)],
        *([[para("记录 Rows", s.small), para(rows_line(item), s.body, GREEN if item.rows.ok else RED)]]
          if item.rows is not None else []),
        *([[para("来源 Source", s.small), para(ctx.source, s.body, AMBER)]] if ctx.source else []),
        *([[para("缺少 Missing", s.small), para("\n".join(ctx.missing), s.body, AMBER)]] if ctx.missing else []),
    ]
    shade = colors.HexColor("#eeeeee")
    table = grid(rows, [24 * MM, 156 * MM], header=False, zebra=False, extra=[
        ("BACKGROUND", (0, 0), (0, -1), shade), ("BOX", (0, 0), (-1, -1), 0.4, colors.grey),
        ("INNERGRID", (0, 0), (-1, -1), 0.3, colors.grey)])
    return [title, sub, table]


def order_section(item: EvidenceItem, when: LocalTime) -> list[Any]:
    s = styles()
    o = item.evidence.order
    info = key_values([
        ("平台/店铺 Platform/shop", f"{o.platform} / {o.shop or '—'}"), ("状态 Status", o.status),
        ("买家 Buyer", o.buyer or "—"), ("收件人 Receiver", f"{o.receiver_name}  {o.receiver_phone}"),
        ("地址 Address", o.receiver_address), ("金额 Total / paid", f"{money(o.total_cents)} / {money(o.paid_cents)}"),
        ("下单 Created", when(o.created_at)), ("付款 Paid", when(o.paid_at)),
        ("最晚发货 Ship by", when(o.ship_by)), ("备注 Note", o.note or "—"),
    ], [26 * MM, 64 * MM, 26 * MM, 64 * MM])
    rows: list[list[Any]] = [[para(h, s.head) for h in ("行 No.", "SKU", "品名 Name", "数量 Qty", "单价 Unit price")]]
    rows += [[para(ln.line_no, s.small), para(ln.sku, s.small), para(ln.name, s.small), para(ln.qty, s.small),
              para(money(ln.unit_price_cents), s.small)] for ln in item.evidence.lines]
    lines = grid(rows, [12 * MM, 38 * MM, 90 * MM, 16 * MM, 24 * MM])
    return [heading(1, "订单", "Order and lines"), info, _gap(), lines]


def scans_section(item: EvidenceItem, when: LocalTime) -> list[Any]:
    from reportlab.lib import colors

    s = styles()
    ev = item.evidence
    out: list[Any] = [heading(2, "打包记录", "Pack session, scan by scan")]
    if not ev.sessions and not ev.scans:
        return [*out, para("本订单没有打包记录 No pack session for this order.", s.body, GREY)]
    for session in ev.sessions:
        out.append(para(f"会话 Session #{session.id} · 工作台 Station {session.station} · 打包员 Packer "
                        f"{session.operator} · {when(session.started_at)} → {when(session.ended_at)} · {session.state}",
                        s.small))
    head = ("时间\nTime", "操作员\nOperator", "工作台\nStation", "条码\nCode", "结果\nOutcome", "信息\nMessage")
    rows: list[list[str]] = []
    colours: list[tuple[int, int, str]] = []
    marks: list[tuple[Any, ...]] = []
    for n, scan in enumerate(ev.scans, start=1):
        level = MESSAGES[scan.outcome][0] if scan.outcome in MESSAGES else Level.OK
        rows.append([when(scan.at), scan.operator, scan.station, scan.code, scan.outcome, scan.message])
        if level is not Level.OK:
            colours.append((n, 4, RED if level is Level.ERROR else AMBER))
        if level is Level.ERROR:
            marks.append(("BACKGROUND", (4, n), (4, n), colors.HexColor("#fde8e8")))
    widths = [27 * MM, 18 * MM, 16 * MM, 36 * MM, 23 * MM, 60 * MM]
    return [*out, _gap(), text_table(head, rows, widths, colours=colours, extra=marks)]


def weight_section(item: EvidenceItem) -> list[Any]:
    s = styles()
    w = item.weight
    out: list[Any] = [heading(3, "称重", "Weight vs expected")]
    if w is None:
        return [*out, para("未称重 not weighed", s.body, GREY)]
    diff = w.actual_g - w.expected_g
    if w.ok and w.approved_by:
        verdict, colour = (f"在允许范围内 within tolerance (±{w.allowed_g} g)；重量与同类包裹不符，"
                           f"主管 {w.approved_by} 已确认 unusual for these items, accepted by supervisor "
                           f"{w.approved_by}"), AMBER
    elif w.ok:
        verdict, colour = f"在允许范围内 within tolerance (±{w.allowed_g} g)", GREEN
    elif w.approved_by:
        verdict, colour = (f"超出允许范围 OUTSIDE tolerance (±{w.allowed_g} g) — 主管 {w.approved_by} 已确认 "
                           f"accepted by supervisor {w.approved_by}"), AMBER
    else:
        verdict, colour = f"超出允许范围 OUTSIDE tolerance (±{w.allowed_g} g)", RED
    return [*out, key_values([
        ("预期 Expected", f"{w.expected_g} g"), ("实际 Actual", f"{w.actual_g} g ({diff:+d} g)"),
        ("判定 Verdict", para(verdict, s.body, colour)), ("", ""),
    ], [24 * MM, 66 * MM, 24 * MM, 66 * MM])]


def label_section(item: EvidenceItem, ctx: DocumentContext, when: LocalTime) -> list[Any]:
    from reportlab.platypus import Table, TableStyle

    s = styles()
    ev = item.evidence
    out: list[Any] = [heading(4, "面单", "The label as printed")]
    if not ev.parcels:
        return [*out, para("没有面单 no label: the order was not packed", s.body, GREY)]
    rows: list[list[Any]] = [[para(h, s.head) for h in ("运单 Parcel", "打印 Print", "状态 State", "时间 Time")]]
    for parcel in ev.parcels:
        voided = " VOIDED 已作废" if parcel.voided else ""
        for n, job in enumerate(parcel.prints or (None,)):
            what = "—" if job is None else (
                "首次打印 first print" if job.reprint_no < 2 else f"补打 REPRINT {job.reprint_no}")
            state = "—" if job is None else f"{job.state} ({job.printer}/{job.format})" + (
                f" {job.error}" if job.error else "")
            rows.append([para(f"{parcel.tracking_no} {parcel.weight_g} g{voided}" if n == 0 else "", s.tiny),
                         para(f"#{job.job_id} {what}" if job else what, s.tiny), para(state, s.tiny),
                         para(when(job.updated_at if job else parcel.created_at), s.tiny)])
    jobs = grid(rows, [33 * MM, 29 * MM, 25 * MM, 27 * MM])
    if item.label is not None and ctx.render_label_png is not None:
        label, render = item.label, ctx.render_label_png
        image = lazy_image(lambda: render(label), 56 * MM, 84 * MM,
                           "面单无法渲染 label could not be rendered")
        note = para("按存储的运单与打印作业重新渲染（与打印机收到的内容相同）re-rendered from the stored shipment "
                    "and print job: the content the printer was sent", s.tiny, GREY)
        left: list[Any] = [image, note]
    else:
        left = [para(item.label_note or "没有面单图像 no label image", s.small, GREY)]
    side = Table([[left, jobs]], colWidths=[62 * MM, 118 * MM])
    side.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"), ("LEFTPADDING", (0, 0), (-1, -1), 0)]))
    return [*out, side]


def handover_section(item: EvidenceItem, when: LocalTime) -> list[Any]:
    s = styles()
    ev = item.evidence
    out: list[Any] = [heading(5, "交接", "Handover to the carrier")]
    if not ev.handovers:
        return [*out, para("未交接 not handed over (no handover scan recorded)", s.body, AMBER)]
    head = ("交接单 Manifest", "快递 Carrier", "快递员 Courier", "扫描 Scanned", "交接 Handed over", "运单 Parcel")
    rows: list[list[Any]] = [[para(h, s.head) for h in head]]
    for h in ev.handovers:
        handed = when(h.handed_over_at) if h.handed_over_at else "批次未结束 batch still open"
        rows.append([para(h.batch_id, s.tiny), para(f"{carrier_label(h.carrier, 'zh')} {h.carrier}", s.tiny),
                     para(h.courier or "—", s.tiny), para(f"{when(h.scanned_at)} ({h.scanned_by})", s.tiny),
                     para(f"{handed}" + (f" ({h.closed_by})" if h.closed_by else ""), s.tiny),
                     para(h.tracking_no, s.tiny)])
    return [*out, grid(rows, [42 * MM, 20 * MM, 22 * MM, 35 * MM, 35 * MM, 26 * MM])]


def _gap(height: float = 2.5) -> Any:
    from reportlab.platypus import Spacer

    return Spacer(1, height * MM)
