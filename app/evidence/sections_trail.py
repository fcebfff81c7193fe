"""The second half of one order's pack: tracking trail, SLA, passport, photo, cases, audit digest."""

from __future__ import annotations

import io
from typing import Any

from app.evidence.layout import (
    AMBER,
    GREEN,
    GREY,
    RED,
    LocalTime,
    grid,
    key_values,
    para,
    qr_flowable,
    styles,
    text_table,
)
from app.evidence.model import DocumentContext, EvidenceItem
from app.evidence.sections import MM, chain_line, heading, rows_line, sla_colour
from app.evidence.sla import PICKUP_STATUSES
from app.tracking_states import status_words


def tracking_section(item: EvidenceItem, when: LocalTime) -> list[Any]:

    s = styles()
    ev = item.evidence
    out: list[Any] = [heading(6, "物流轨迹", "Carrier tracking trail (raw)")]
    if not ev.tracking:
        return [*out, para("尚无物流信息 no tracking events received yet", s.body, GREY)]
    sources = ", ".join(sorted({t.source for t in ev.tracking}))
    n = len(ev.tracking)
    out.append(para(f"共 {n} 条，按时间排序；描述为快递公司原文，未作改动。 {n} events in time order; "
                    f"the description is the carrier's text exactly as sent (source: {sources}).",
                    s.small, GREY))
    several = len({t.tracking_no for t in ev.tracking}) > 1
    head = ("时间 Time", "网点 Site", "快递员 Courier", "状态 Status", "描述（原文）Context as sent")
    rows: list[list[str]] = []
    colours: list[tuple[int, int, str]] = []
    for n, t in enumerate(ev.tracking, start=1):
        status = f"{status_words(t.status)[0]} {t.status}\n{t.carrier_status}"
        if several:
            status += f"\n{t.tracking_no}"
        rows.append([when(t.time), t.site or "—", t.courier or "—", status, t.context])
        if t.status in ("exception", "returned"):
            colours.append((n, 3, RED))
    return [*out, text_table(head, rows, [25 * MM, 25 * MM, 24 * MM, 27 * MM, 79 * MM], colours=colours)]


def sla_section(item: EvidenceItem, when: LocalTime) -> list[Any]:
    s = styles()
    v = item.sla
    order, parcel = item.evidence.order, item.evidence.live_parcel
    handover = item.evidence.handover_of(parcel.tracking_no) if parcel else None
    trail = [t for t in item.evidence.tracking if parcel and t.tracking_no == parcel.tracking_no]
    pickup = next((t.time for t in trail if t.status in PICKUP_STATUSES), None)
    delivered = next((t.time for t in trail if t.status == "delivered"), None)
    promise_from = "平台最晚发货时间 platform ship-by" if order.ship_by else "付款 + 承诺时长 paid + promise"
    carrier_from = {"handover": "交接 + 承诺时长 handed over + promise",
                    "pickup": "揽收 + 承诺时长 picked up + promise (no handover scan)"}.get(v.carrier_clock_from, "—")

    def party(hours: float | None) -> Any:
        if hours is None:
            return para("尚无法判断 not yet known", s.body, GREY)
        return para("按时 on time", s.body, GREEN) if hours == 0 else para(
            f"超时 {hours:.1f} 小时 late by {hours:.1f} h", s.body, RED)

    times = key_values([
        ("付款 Paid", when(order.paid_at)), ("打包 Packed", when(parcel.created_at if parcel else None)),
        ("承诺交接 Handover due", f"{when.dt(v.handover_due)}\n{promise_from}"),
        ("交接 Handed over", when(handover.handed_over_at if handover else None)),
        ("揽收 Picked up", when(pickup)), ("签收 Delivered", when(delivered)),
        ("承诺送达 Delivery due", f"{when.dt(v.delivery_due)}\n{carrier_from}"), ("", ""),
        ("仓库 Warehouse (paid → handed over)", party(v.warehouse_late_h)),
        ("快递 Carrier (handed over → delivered)", party(v.carrier_late_h)),
    ], [30 * MM, 60 * MM, 30 * MM, 60 * MM])
    verdict = para(f"结论：{v.zh}\nVerdict: {v.en}", s.verdict, sla_colour(v.code, v.late))
    return [heading(7, "时效分析", "SLA analysis"), times, _gap(), verdict]


def passport_section(item: EvidenceItem) -> list[Any]:
    from reportlab.platypus import Table, TableStyle

    s = styles()
    out: list[Any] = [heading(8, "物流护照", "Logistics passport")]
    parcel = item.evidence.live_parcel
    if not item.passport_url:
        why = "面单未带护照 the label carried no passport" if parcel else "未打包 not packed"
        if parcel and parcel.passport_id:
            why = (f"护照 {parcel.passport_id} 已签发，签名链接只在工作台 passport {parcel.passport_id} was issued; "
                   "its signed link can only be re-made at the station")
        return [*out, para(why, s.body, GREY)]
    text = [para("扫描二维码可查看服务器上的物流轨迹；离线校验签名：\nScan to see the trail on the server; "
                 "check the signature offline with:", s.small),
            para(f"packbench passport verify '{item.passport_url}'", s.mono),
            para(f"护照编号 Passport id: {parcel.passport_id if parcel else '—'}", s.small)]
    table = Table([[qr_flowable(item.passport_url, 48 * MM), text]], colWidths=[52 * MM, 128 * MM])
    table.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "MIDDLE"), ("LEFTPADDING", (0, 0), (0, 0), 0)]))
    return [*out, table, para(item.passport_url, s.tiny)]


def photo_section(item: EvidenceItem, when: LocalTime) -> list[Any]:
    from PIL import Image as PILImage
    from reportlab.platypus import Image, KeepTogether

    s = styles()
    title = heading(9, "打包照片", "Packing photo")
    if not item.evidence.photos:
        return [title, para("没有打包照片 no packing photo (no camera at the bench, or none taken)", s.body, GREY)]
    out: list[Any] = []
    for photo in item.evidence.photos:
        seq = photo.audit_seq
        words = {"ok": (f"文件哈希与审计记录 #{seq} 一致 file matches audit entry #{seq}", GREEN),
                 "missing": (f"照片文件缺失 PHOTO FILE MISSING (audit entry #{seq})", RED),
                 "altered": (f"照片文件与审计记录 #{seq} 不符 PHOTO FILE ALTERED since it was audited", RED),
                 "not_synced": (f"照片留在工作台，未同步 the photo stays at the station, not synced (audit entry "
                                f"#{seq} holds its SHA-256)", AMBER)}
        text, colour = words[photo.status]
        block: list[Any] = [] if out else [title]
        if photo.status == "ok":
            data = photo.path.read_bytes()
            w, h = PILImage.open(io.BytesIO(data)).size
            width = min(90 * MM, 120 * MM * w / h)
            block.append(Image(io.BytesIO(data), width=width, height=width * h / w))
        block += [para(f"拍摄 Taken {when(photo.at)} · 会话 Session #{photo.session_id} · {photo.file}", s.small),
                  para(f"SHA-256 {photo.sha256}", s.mono), para(text, s.small, colour)]
        out.append(KeepTogether(block))
    return out


def cases_section(item: EvidenceItem, when: LocalTime) -> list[Any]:
    s = styles()
    cases = item.evidence.cases
    if not cases:
        return [heading(10, "异常单", "Exception cases"), para("没有异常单 no exception cases", s.body, GREY)]
    rows: list[list[Any]] = [[para(h, s.head) for h in ("#", "标签 Tag", "级别 Severity", "状态 State", "标题 Title",
                                                         "开立 Opened")]]
    rows += [[para(c.id, s.tiny), para(c.tag, s.tiny), para(c.severity, s.tiny), para(c.state, s.tiny),
              para(c.title + (f"\n{c.note}" if c.note else ""), s.tiny), para(when(c.opened_at), s.tiny)]
             for c in cases]
    widths = [10 * MM, 26 * MM, 18 * MM, 22 * MM, 77 * MM, 27 * MM]
    return [heading(10, "异常单", "Exception cases"), grid(rows, widths)]


def audit_section(item: EvidenceItem, ctx: DocumentContext, when: LocalTime) -> list[Any]:
    from reportlab.platypus import KeepTogether

    s = styles()
    text, colour = chain_line(ctx)
    chain = ctx.chain
    state = [para(text, s.verdict, colour)]
    if item.rows is not None:
        state.append(para(rows_line(item), s.body, GREEN if item.rows.ok else RED))
        state += [para(problem, s.mono, RED) for problem in item.rows.problems]
    head_label = "链头哈希 Head hash" if chain.ok else "断点前哈希 Last good hash"
    counted = f"{chain.entries} verified" + ("" if chain.ok else " before the break")
    if ctx.source:
        head_label, counted = "链头哈希 Head hash", f"{chain.head_seq} (head kept, not verified here)"
    facts = key_values([
        (head_label, para(chain.head_hash, s.mono)), ("条目 Entries", counted),
        ("校验命令 Verify with", para(ctx.verify_command, s.mono)),
        ("说明 How", "命令重新计算每条记录的哈希；输出的条目数与链头哈希应与本页一致。 The command recomputes every "
                     "entry's hash; its entry count and head hash must match this page."),
    ], [24 * MM, 66 * MM, 24 * MM, 66 * MM])
    entries = item.evidence.audit
    head = ("序号 Seq", "时间 Time", "类型 Kind", "操作人 Actor", "哈希 Hash (first 20)")
    rows = [[str(e.seq), when(e.at), e.kind, e.actor, e.hash[:20]] for e in entries]
    listing: list[Any] = [para(f"本订单相关的审计记录 {len(entries)} 条 Audit entries that concern this order: "
                               f"{len(entries)}", s.small)]
    if entries:
        listing.append(text_table(head, rows, [18 * MM, 30 * MM, 42 * MM, 40 * MM, 50 * MM]))
    return [KeepTogether([heading(11, "审计链", "Audit chain digest"), *state, _gap(), facts]), _gap(), *listing]


def _gap(height: float = 2.5) -> Any:
    from reportlab.platypus import Spacer

    return Spacer(1, height * MM)

