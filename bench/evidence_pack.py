"""Evidence packs: one order with 200 tracking events (time, size), a batch of 100 packs (total time).

Budget (docs/architecture.md §12): an evidence pack with 200 tracking events under 0.5 s.

Everything goes through the app's own services on a real store: demo data, orders packed through
`PackFlow` (a wrong item on the way), passports minted, parcels handed over through
`HandoverService`, Chinese tracking contexts as carriers send them, a packing photo from the simulated
camera. The timed call is `app.evidence.service.build_evidence` with the label renderer the station
uses (`drivers.printers.preview.render_png`); it includes verifying the whole audit chain, collecting
the order, rendering the label, laying out and writing the PDF. The first pack in the process is
reported apart (font loading, imports). `--chain N` then appends N audit entries and times the same
pack again, to show what a long-lived station's chain costs (verify_chain reads every entry).

    .venv/bin/python -m bench.evidence_pack            # 15 single packs, a batch of 100, chain of 100,000
    .venv/bin/python -m bench.evidence_pack --quick    # 5 single packs, a batch of 20, chain of 10,000
"""

from __future__ import annotations

import statistics
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

from pypdf import PdfReader

from app.audit import entry_hash, verify_chain
from app.clock import FakeClock, iso
from app.demo import PRODUCTS, product_barcode, seed_demo
from app.devices import Scan, WeightReading
from app.evidence.collect import collect
from app.evidence.photo import store_packing_photo
from app.evidence.service import EvidenceSettings, build_evidence, prepare, stored_passports
from app.handover import HandoverService
from app.keys import load_or_create_station_key
from app.pack.flow import FlowConfig, PackFlow
from app.passport import passport_for_shipment
from app.store import Store, open_store
from app.store.models import AuditEntry, Order, OrderLine, PackSession, Shipment, TrackingEvent
from bench import _fixtures as fx
from drivers.camera import SimulatedCamera
from drivers.printers.preview import render_png

BUDGET_S = 0.5
BASE_URL = "https://pb.example.cn"
SITES = ("杭州余杭仓前营业点", "杭州转运中心", "嘉兴分拨中心", "上海浦东集散中心", "上海世纪大道营业部")
CONTEXTS = (
    "【{site}】快件已被顺丰速运揽收，揽收员：王小明（电话：13800001111）",
    "【{site}】快件到达 【{site}】",
    "【{site}】快件已从 【{site}】 发出，准备发往下一站",
    "【{site}】快件交给李师傅，正在派送途中（联系电话：13900001111，顺丰已开启“安全呼叫”保护您的电话隐私，请放心接听！）"
    "  如有疑问请联系快递员，或拨打客服热线 95338 查询。",
    "【{site}】因天气原因，快件可能延误，给您带来不便敬请谅解。",
)
STATUSES = ("picked_up", "in_transit", "in_transit", "out_for_delivery", "exception")


def _scan(flow: PackFlow, clock: FakeClock, code: str) -> Any:
    clock.advance(2)
    return flow.scan(Scan(code.encode(), "bench", clock.now()))


def _new_order(n: int, clock: FakeClock) -> str:
    order_id = f"TB20261126{n:07d}"
    paid = clock.now() - timedelta(hours=2)
    order = Order.create(order_id=order_id, platform="taobao", shop="bench", status="paid", buyer="张伟",
                         receiver_name="张伟", receiver_phone="13812345678",
                         receiver_address="浙江省杭州市西湖区文三路 90 号 东部软件园 3 幢", created_at=iso(paid),
                         paid_at=iso(paid), ship_by=iso(paid + timedelta(hours=48)), updated_at=iso(clock.now()))
    for line_no, (sku, name, *_rest) in enumerate(PRODUCTS[n % 3:n % 3 + 2], start=1):
        OrderLine.create(order=order, line_no=line_no, sku=sku, name=name, qty=1 + line_no % 2, unit_price_cents=3900)
    return order_id


def _pack(store: Store, flow: PackFlow, clock: FakeClock, order_id: str) -> str:
    assert _scan(flow, clock, order_id).event == "order_opened"
    _scan(flow, clock, product_barcode("USB-C-1M"))  # a wrong item, for a realistic scan log
    for line in Order.get(Order.order_id == order_id).lines:
        for _ in range(line.qty):
            _scan(flow, clock, product_barcode(line.sku))
    out = flow.weight(WeightReading((flow.expected_weight_g() or 0) + 4, True, clock.now()))
    assert out is not None and out.event == "label_queued", out
    flow.print_result(out.detail["job_id"], True)
    shipment = Shipment.get(Shipment.tracking_no == out.detail["tracking_no"])
    passport_for_shipment(store, load_or_create_station_key(store.path.parent), BASE_URL, shipment, clock=clock)
    session = PackSession.select().order_by(PackSession.id.desc()).get()
    store_packing_photo(store, clock, store.path.parent, session.id, SimulatedCamera(clock=clock).capture(order_id),
                        "王芳")
    return str(shipment.tracking_no)


def _trail(tracking_no: str, start: Any, events: int, first_id: int) -> None:
    rows = []
    for k in range(events):
        site = SITES[k % len(SITES)]
        status = "delivered" if k == events - 1 else STATUSES[k % len(STATUSES)]
        context = "已签收，签收人：本人。感谢使用顺丰，期待再次为您服务" if status == "delivered" else (
            CONTEXTS[k % len(CONTEXTS)].format(site=site))
        at = start + timedelta(minutes=20 * k)
        rows.append({"server_id": first_id + k, "carrier": "SF", "tracking_no": tracking_no, "status": status,
                     "carrier_status": str(30 + k % 50), "time": iso(at), "site": site,
                     "courier": "李师傅" if k % 4 == 3 else "", "context": context, "source": "kuaidi100",
                     "received_at": iso(at + timedelta(minutes=1))})
    TrackingEvent.insert_many(rows).execute()


def build(data_dir: Path, orders: int, events: int) -> tuple[Store, FakeClock, list[str]]:
    clock = FakeClock()
    store = open_store(data_dir, clock)
    seed_demo(store, clock, waybills=orders + 10)
    flow = PackFlow(store, clock, FlowConfig(station="BENCH-1"))
    assert _scan(flow, clock, "B-1001").event == "login"
    with store.atomic():
        ids = [_new_order(n, clock) for n in range(orders)]
    trackings = [_pack(store, flow, clock, order_id) for order_id in ids]
    clock.advance(hours=3)
    handover = HandoverService(store, clock, "BENCH-1", "王芳")
    batch = handover.open_batch("SF")
    for tracking in trackings:
        handover.scan(batch, tracking)
    handover.close(batch, "王小明")
    for n, tracking in enumerate(trackings):
        _trail(tracking, clock.now() + timedelta(minutes=30), events, 1 + n * events)
    clock.advance(hours=200)
    return store, clock, ids


def _timed(fn: Any) -> tuple[float, Any]:
    t0 = time.perf_counter()
    result = fn()
    return time.perf_counter() - t0, result


def _append_chain(n: int, clock: FakeClock) -> None:
    head = AuditEntry.select().order_by(AuditEntry.seq.desc()).get()
    prev, seq, rows = head.hash, head.seq, []
    at = iso(clock.now())
    for _ in range(n):
        seq += 1
        payload = f'{{"code":"690123456{seq % 1000:04d}","order_id":"X{seq}","outcome":"item_ok","station":"B-2"}}'
        digest = entry_hash(prev, seq, at, "bench", "scan", payload)
        rows.append((seq, at, "bench", "scan", payload, prev, digest))
        prev = digest
    fields = [AuditEntry.seq, AuditEntry.at, AuditEntry.actor, AuditEntry.kind, AuditEntry.payload,
              AuditEntry.prev_hash, AuditEntry.hash]
    for chunk in fx.chunked(rows, 20_000):
        AuditEntry.insert_many(list(chunk), fields=fields).execute()


def main() -> None:
    args = fx.base_parser(__doc__.splitlines()[0]).parse_args()
    repeats, batch_n, chain_n = (5, 20, 10_000) if args.quick else (15, 100, 100_000)
    settings = EvidenceSettings(station="BENCH-1", passport_base_url=BASE_URL)
    result: dict[str, Any] = {"benchmark": "evidence_pack", "machine": fx.machine(), "budget_s": BUDGET_S}
    with tempfile.TemporaryDirectory(prefix="pb-evidence-") as tmp, fx.Contention() as contention:
        root = Path(tmp)
        setup, (store, clock, [order]) = _timed(lambda: build(root / "one", 1, 200))
        out = root / "pack.pdf"

        def one() -> list[Path]:
            return build_evidence(store, [order], out, render_label_png=render_png, settings=settings, clock=clock)

        first, _ = _timed(one)
        times, cpu = [], []
        for _ in range(repeats):
            c0 = time.process_time()
            times.append(_timed(one)[0])
            cpu.append(time.process_time() - c0)
        size = out.stat().st_size
        data_dir = store.path.parent
        lookup = stored_passports(store, data_dir, settings.passport_base_url)
        t_chain, chain = _timed(verify_chain)
        t_collect, evidence = _timed(lambda: collect(order, data_dir))
        t_prepare, item = _timed(lambda: prepare(evidence, settings, iso(clock.now()), lookup))
        t_render, _png = _timed(lambda: render_png(item.label))
        result["single"] = {
            "tracking_events": len(evidence.tracking), "scans": len(evidence.scans), "audit_entries": chain.entries,
            "first_in_process_s": round(first, 3), "p50_s": round(statistics.median(times), 3),
            "max_s": round(max(times), 3), "cpu_p50_s": round(statistics.median(cpu), 3), "runs": repeats,
            "bytes": size,
            "pages": len(PdfReader(str(out)).pages),
            "breakdown_s": {"verify_chain": round(t_chain, 4), "collect": round(t_collect, 4),
                            "prepare": round(t_prepare, 4), "label_render": round(t_render, 4)},
            "setup_s": round(setup, 1),
        }
        store.close()

        setup, (store, clock, ids) = _timed(lambda: build(root / "batch", batch_n, 20))
        done: list[int] = []
        t_file, _ = _timed(lambda: build_evidence(store, ids, root / "batch.pdf", render_label_png=render_png,
                                                  settings=settings, clock=clock, progress=lambda d, t: done.append(d)))
        t_dir, paths = _timed(lambda: build_evidence(store, ids, root / "each", render_label_png=render_png,
                                                     settings=settings, clock=clock, per_order=True))
        result["batch"] = {
            "orders": batch_n, "tracking_events_each": 20, "one_file_s": round(t_file, 2),
            "one_file_bytes": (root / "batch.pdf").stat().st_size,
            "one_file_pages": len(PdfReader(str(root / "batch.pdf")).pages),
            "per_order_s": round(t_dir, 2), "per_order_bytes": sum(p.stat().st_size for p in paths),
            "per_order_ms_each": round(1000 * t_dir / batch_n, 1), "progress_calls": len(done),
            "setup_s": round(setup, 1),
        }
        store.close()

        store = open_store(root / "one", clock)
        _append_chain(chain_n, clock)
        t_verify, chain = _timed(verify_chain)
        t_pack, _ = _timed(one)
        result["long_chain"] = {"audit_entries": chain.entries, "verify_chain_s": round(t_verify, 3),
                                "us_per_entry": round(1e6 * t_verify / chain.entries, 1), "pack_s": round(t_pack, 3)}
        store.close()
    result["contention"] = contention.result
    s, b, c = result["single"], result["batch"], result["long_chain"]
    print(f"evidence pack, {s['tracking_events']} tracking events, {s['scans']} scans, photo, {s['audit_entries']} "
          f"audit entries:")
    fx.print_table(["first in process", "p50", "max", "CPU p50", "budget", "size", "pages"],
                   [[f"{s['first_in_process_s']:.3f} s", f"{s['p50_s']:.3f} s", f"{s['max_s']:.3f} s",
                     f"{s['cpu_p50_s']:.3f} s", f"{BUDGET_S} s", f"{s['bytes'] / 1024:.0f} KiB", s["pages"]]])
    parts = s["breakdown_s"]
    print(f"  of which verify_chain {parts['verify_chain'] * 1000:.1f} ms, collect {parts['collect'] * 1000:.1f} ms, "
          f"SLA/weight/label content {parts['prepare'] * 1000:.1f} ms, label render "
          f"{parts['label_render'] * 1000:.1f} ms; the rest is PDF layout and writing")
    print(f"batch of {b['orders']} packs ({b['tracking_events_each']} events each):")
    fx.print_table(["mode", "total", "per order", "size", "pages"], [
        ["one file", f"{b['one_file_s']:.2f} s", f"{1000 * b['one_file_s'] / b['orders']:.0f} ms",
         f"{b['one_file_bytes'] / 2**20:.1f} MiB", b["one_file_pages"]],
        ["one per order", f"{b['per_order_s']:.2f} s", f"{b['per_order_ms_each']:.0f} ms",
         f"{b['per_order_bytes'] / 2**20:.1f} MiB", b["orders"]]])
    print(f"with {c['audit_entries']} audit entries: verify_chain {c['verify_chain_s']:.2f} s "
          f"({c['us_per_entry']} µs/entry), the same pack {c['pack_s']:.2f} s")
    print(fx.Contention.describe(result["contention"]))
    verdict = "within" if s["max_s"] < BUDGET_S else "OVER"
    print(f"budget: {verdict} {BUDGET_S} s (max of {s['runs']} runs)")
    if not args.no_json:
        print(f"wrote {fx.write_json('evidence_pack', result)}")


if __name__ == "__main__":
    main()
