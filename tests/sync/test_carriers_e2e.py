"""Issue 10 end to end, over real sockets: orders imported on the server → an e-waybill ordered and
subscribed at (a fake) Kuaidi100 → the station pulls it, then packs and prints with no network: the
carrier's number and routing code on ZPL, TSPL and PDF, never the full mobile → a resultv2 push →
the right states at the station and on the passport page → a refund cancels the unused e-waybill."""

from __future__ import annotations

import io
import json
from pathlib import Path

import httpx
import pytest
from pypdf import PdfReader

from app.clock import FakeClock, SystemClock
from app.demo import product_barcode, seed_demo
from app.keys import load_or_create_station_key
from app.labels import Party, build_label
from app.orders import order_snapshot
from app.pack.flow import FlowConfig, PackFlow
from app.passport import extract_token, passport_for_shipment
from app.store import Store
from app.store.models import Order, PrintJob, Shipment
from drivers.printers.pdf import render_pdf
from drivers.printers.tspl import render_tspl
from drivers.printers.zpl import render_zpl
from server.app import create_app
from server.config import ServerConfig
from server.warehouses import set_warehouse
from sync.client import SyncClient
from sync.worker import run_round
from tests.fake_kuaidi100 import FakeKuaidi100Server, push
from tests.helpers import scan, weigh
from tests.sync import realserver
from tests.sync.realserver import Central, order_row

server_db_url = realserver.server_db_url  # fixture
SALT = "e2e-salt"


def test_import_to_e_waybill_to_offline_label_to_tracking_to_refund(store: Store, clock: FakeClock, tmp_path: Path,
                                                                     server_db_url: str) -> None:
    with FakeKuaidi100Server() as k100:
        central = Central(tmp_path / "server", server_db_url)
        central.config = ServerConfig(
            tmp_path / "server", database_url=server_db_url, webhook_secret="hook-secret", kuaidi100_salt=SALT,
            public_url=central.url, kuaidi100_key=k100.fake.key, kuaidi100_secret=k100.fake.secret,
            kuaidi100_partner_id="0571000111", kuaidi100_api=k100.url, kuaidi100_poll_api=k100.url)
        central.app = create_app(central.config, carrier_worker=False)
        central.http.start(central.app)
        try:
            _chain(central, k100, store, clock, tmp_path)
        finally:
            central.stop()
            central.sdb.close()


def _chain(central: Central, k100: FakeKuaidi100Server, store: Store, clock: FakeClock, tmp_path: Path) -> None:
    carriers = central.app.state.services.carriers
    set_warehouse(central.sdb, "HZ-1", "SF", "PackBench 杭州仓", "0571-8888 6666", "浙江省杭州市余杭区仓前街道 1 号",
                  "", SystemClock())
    central.import_orders(tmp_path, [order_row("TB-E2E-1", sku="TEA-LJ-250"), order_row("TB-E2E-2", sku="MUG-CER-01")])
    carriers.tick()
    ordered = {c.param["orderId"]: c.param for c in k100.fake.calls_to("/label/order", "order")}
    assert sorted(ordered) == ["TB-E2E-1", "TB-E2E-2"]
    assert ordered["TB-E2E-1"]["recMan"]["mobile"] == "13812345678"  # the full mobile goes to the carrier only
    number, other = (central.query('SELECT "tracking_no" FROM "ewaybill" WHERE "order_id" = ?', (o,))[0][0]
                     for o in ("TB-E2E-1", "TB-E2E-2"))
    assert k100.fake.subscribed[number]["via"] == "order"  # subscribed by the e-waybill order itself
    assert not k100.fake.calls_to("/poll")

    seed_demo(store, clock, waybills=5)  # operators, products, and a local SF pool (not to be touched)
    with SyncClient.from_credentials(central.enroll_station(store.path.parent), clock=SystemClock()) as client:
        assert run_round(store, client, clock).ok
        order = Order.get(Order.order_id == "TB-E2E-1")
        assert (order.ewaybill_no, order.ewaybill_carrier, order.routing_code) == (number, "SF", "755W-021A")
        assert json.loads(order.sorting)["destSortingCode"] == "021WJ"

        central.stop()  # offline from here to the printed label
        flow = PackFlow(store, clock, FlowConfig(station="BENCH-1"))
        scan(flow, "B-1001")
        assert scan(flow, "TB-E2E-1").event == "order_opened"
        assert scan(flow, product_barcode("TEA-LJ-250")).event == "items_complete"
        out = weigh(flow, 340)
        assert out is not None and out.event == "label_queued"
        assert (out.detail["tracking_no"], str(out.detail["waybill"])) == (number, "ewaybill")  # Named: its code
        assert out.text("en") == f"Printing label {number} (carrier e-waybill)"
        assert out.text("zh") == f"正在打印面单 {number}（快递电子面单）"
        job = PrintJob.get(PrintJob.shipment == Shipment.get(Shipment.tracking_no == number))
        key = load_or_create_station_key(store.path.parent)
        url = passport_for_shipment(store, key, central.url, job.shipment, clock=clock)
        label = build_label(job.id, Party("PackBench 杭州仓", "0571****6666", "浙江省杭州市余杭区"), "BENCH-1",
                            passport_url=url)
        assert (label.tracking_no, label.routing_code) == (number, "755W-021A")
        zpl, tspl = render_zpl(label), render_tspl(label)
        pdf = PdfReader(io.BytesIO(render_pdf(label))).pages[0].extract_text()
        for data in (zpl, tspl, pdf.encode()):
            assert number.encode() in data and b"755W-021A" in data
            assert b"13812345678" not in data and b"138****5678" in data

        central.http.start(central.app)
        assert run_round(store, client, clock).ok  # the shipment and its passport reach the server
        items = [
            {"time": "2026-11-26 18:20:00", "ftime": "2026-11-26 18:20:00", "context": "快件到达【上海浦东中转场】",
             "areaName": "上海,上海市,浦东新区", "status": "在途", "statusCode": "1002"},
            {"time": "2026-11-26 11:00:00", "ftime": "2026-11-26 11:00:00", "context": "顺丰速运 已收取快件",
             "areaName": "浙江,杭州市,余杭区", "status": "揽收", "statusCode": "103"},
            {"time": "2026-11-26 09:00:00", "ftime": "2026-11-26 09:00:00", "context": "等待快递员上门揽收",
             "status": "揽收", "statusCode": "102"},
            {"time": "2026-11-26 08:00:00", "ftime": "2026-11-26 08:00:00", "context": "商家已下单",
             "status": "揽收", "statusCode": "101"}]
        reply = push(central.url + "/hooks/carriers/kuaidi100", SALT, number, items, state="0")
        assert reply.json() == {"result": True, "returnCode": "200", "message": "成功"}
        assert run_round(store, client, clock).ok
        trail = order_snapshot("TB-E2E-1")["tracking"]  # type: ignore[index]
        assert [(t["state"], t["code"]) for t in trail] == [
            ("in_transit", "1002"), ("picked_up", "103"), ("awaiting_pickup", "102"), ("ordered", "101")]
        page = httpx.get(central.url + "/p/" + extract_token(url), timeout=10)
        assert page.status_code == 200
        assert "运输中 In transit" in page.text and "待揽收 Awaiting pickup" in page.text
        assert "已下单 Ordered" in page.text and "13812345678" not in page.text

        central.import_orders(tmp_path, [order_row("TB-E2E-2", sku="MUG-CER-01", status="refunded")])
        carriers.tick()
        [cancel] = k100.fake.calls_to("/label/order", "cancel")
        assert cancel.param["kuaidinum"] == other and k100.fake.orders[other]["cancelled"]
        assert "cancelled" not in k100.fake.orders[number]  # the packed one is on a parcel: never cancelled
        assert run_round(store, client, clock).ok
        assert Order.get(Order.order_id == "TB-E2E-2").ewaybill_no is None  # cancelled: no longer printed
    assert store.path.exists()


pytestmark = pytest.mark.filterwarnings("ignore::ResourceWarning")
