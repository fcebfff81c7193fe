"""A realistic order history for evidence packs, built through the real services.

Demo order TB2026112500001 was paid 2026-11-24 20:00 UTC with ship-by 48 h later. It is packed at
the bench (a wrong item scanned on the way), its label printed with a passport, handed over to the
SF courier 6.5 h after the ship-by, and the carrier's trail (Chinese contexts, as sent) ends with a
signature well inside the 72 h delivery promise: the verdict is "warehouse late by 6.5 h".
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from app.clock import FakeClock, iso, parse_iso
from app.demo import product_barcode
from app.handover import HandoverService
from app.keys import load_or_create_station_key
from app.pack.flow import PackFlow
from app.passport import passport_for_shipment
from app.store import Store
from app.store.models import Order, Shipment, TrackingEvent
from tests.helpers import scan, weigh

PACKER = "B-1001"
ORDER = "TB2026112500001"
BASE_URL = "https://pb.example.cn"
TRAIL = [  # hours after handover, status, carrier status, site, courier, context
    (0.5, "picked_up", "50", "杭州余杭仓前营业点", "王小明", "【杭州市】快件已被顺丰速运揽收，揽收员：王小明"),
    (3.0, "in_transit", "30", "杭州转运中心", "", "【杭州市】快件到达 【杭州转运中心】"),
    (4.2, "in_transit", "36", "杭州转运中心", "",
     "【杭州市】快件已从 【杭州转运中心】 发出，准备发往 【上海浦东集散中心】"),
    (11.0, "in_transit", "31", "上海浦东集散中心", "", "【上海市】快件到达 【上海浦东集散中心】"),
    (20.0, "out_for_delivery", "44", "上海世纪大道营业部", "李师傅 13900001111",
     "【上海市】快件交给李师傅，正在派送途中（联系电话：13900001111，顺丰已开启“安全呼叫”保护您的电话隐私，请放心接听！）"
     "  如有疑问请联系快递员，或拨打客服热线 95338 查询。"),
    (23.5, "delivered", "80", "上海世纪大道营业部", "李师傅", "已签收，签收人：本人。感谢使用顺丰，期待再次为您服务"),
]


@dataclass(frozen=True)
class History:
    order_id: str
    tracking_no: str
    passport_url: str
    handed_over_at: datetime
    batch_id: str
    scan_times: tuple[str, ...]  # the scan events' UTC times


def pack(flow: PackFlow, order_id: str, *, wrong_item: bool = True) -> str:
    """Pack a demo order through the pack flow (logged-in packer); its tracking number."""
    assert scan(flow, order_id).event == "order_opened"
    lines = list(Order.get(Order.order_id == order_id).lines)
    if wrong_item:
        stray = "MUG-CER-01" if all(ln.sku != "MUG-CER-01" for ln in lines) else "USB-C-1M"
        assert scan(flow, product_barcode(stray)).event == "wrong_item"
    for line in lines:
        for _ in range(line.qty):
            scan(flow, product_barcode(line.sku))
    out = weigh(flow, (flow.expected_weight_g() or 0) + 5)
    assert out is not None and out.event == "label_queued", out
    flow.print_result(out.detail["job_id"], True)
    return str(out.detail["tracking_no"])


def add_trail(tracking_no: str, start: datetime, trail: list[tuple[float, str, str, str, str, str]] | None = None,
              *, first_server_id: int = 1) -> int:
    rows = [{"server_id": first_server_id + n, "carrier": "SF", "tracking_no": tracking_no, "status": status,
             "carrier_status": code, "time": iso(start + timedelta(hours=h)), "site": site, "courier": courier,
             "context": context, "source": "kuaidi100", "received_at": iso(start + timedelta(hours=h, minutes=2))}
            for n, (h, status, code, site, courier, context) in enumerate(trail or TRAIL)]
    TrackingEvent.insert_many(rows).execute()
    return len(rows)


def build_history(store: Store, flow: PackFlow, clock: FakeClock, order_id: str = ORDER, *,
                  late_hours: float = 6.5, trail: bool = True, server_id: int = 1) -> History:
    if flow.operator is None:
        assert scan(flow, PACKER).event == "login"
    tracking = pack(flow, order_id)
    shipment = Shipment.get(Shipment.tracking_no == tracking)
    url = passport_for_shipment(store, load_or_create_station_key(store.path.parent), BASE_URL, shipment,
                                clock=clock)
    from app.store.models import ScanEvent

    scan_times = tuple(e.at for e in ScanEvent.select().where(ScanEvent.order == shipment.order)
                       .order_by(ScanEvent.at))
    order = Order.get(Order.order_id == order_id)
    due = parse_iso(order.ship_by)
    target = due + timedelta(hours=late_hours)
    if target > clock.now():
        clock.advance((target - clock.now()).total_seconds() - 60)
    service = HandoverService(store, clock, "T-1", "王芳")
    batch = service.open_batch(shipment.carrier)
    assert service.scan(batch, tracking).event == "accepted"
    if target > clock.now():
        clock.advance((target - clock.now()).total_seconds())
    manifest = service.close(batch, "王小明")
    handed = clock.now()
    if trail:
        add_trail(tracking, handed, first_server_id=server_id)
    return History(order_id, tracking, url, handed, manifest.batch_id, scan_times)
