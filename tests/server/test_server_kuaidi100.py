"""Kuaidi100 e-waybills, cancels and subscriptions against a fake Kuaidi100 on a real socket: the
sign, the form, the answers and errors, retries and the dead-letter list, no second e-waybill."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from server_harness import SALT, WEBHOOK_SECRET, Running, Station, fresh_database

from app.clock import FakeClock, SystemClock
from server.app import create_app
from server.config import ServerConfig
from server.db import ServerDb
from server.intake import import_orders
from server.kuaidi100 import jobs
from server.kuaidi100.api import sign
from server.kuaidi100.worker import CarrierWorker
from server.warehouses import set_warehouse
from tests.fake_kuaidi100 import FakeKuaidi100Server, push
from tests.live_server import UvicornThread

ORDERS = """\
order_id,shop,status,receiver_name,receiver_phone,receiver_address,paid_at,carrier,tracking_no,line_no,sku,name,qty
K-1,Flagship,paid,张三,13912345678,上海市浦东新区世纪大道 88 号 1201 室,2026-11-24T10:00:00+08:00,,,1,TEA,龙井茶 250g,2
K-1,,,,,,,,,2,MUG,陶瓷杯,1
K-2,Flagship,paid,李四,13800001111,北京市海淀区中关村大街 1 号,2026-11-24T11:00:00+08:00,,,1,TEA,龙井茶 250g,1
K-3,Flagship,paid,王五,13700002222,广州市天河区体育西路 2 号,2026-11-24T11:00:00+08:00,ZTO,,1,TEA,龙井茶 250g,1
K-4,Flagship,paid,赵六,13600003333,杭州市西湖区文三路 90 号,2026-11-24T11:00:00+08:00,SF,SF1300000000017,1,TEA,龙井茶,1
K-5,Flagship,new,钱七,13500004444,南京市鼓楼区中山路 1 号,,,,1,TEA,龙井茶,1
"""


@dataclass
class Rig:
    running: Running
    fake: FakeKuaidi100Server
    config: ServerConfig

    @property
    def sdb(self) -> ServerDb:
        return self.running.services.sdb

    @property
    def worker(self) -> CarrierWorker:
        return self.running.services.carriers

    def import_orders(self, tmp_path: Path, text: str = ORDERS) -> None:
        path = tmp_path / f"orders-{len(list(tmp_path.iterdir()))}.csv"
        path.write_text(text, encoding="utf-8")
        import_orders(self.sdb, path, "canonical", "WH1", SystemClock(), self.config.zone)

    def rows(self, sql: str, *params: Any) -> list[tuple[Any, ...]]:
        self.running.rebind()
        with self.sdb.connection():
            return [tuple(r) for r in self.sdb.execute(sql, params).fetchall()]


@pytest.fixture
def rig(backend: str, tmp_path: Path) -> Iterator[Rig]:
    with fresh_database(backend, tmp_path) as url, FakeKuaidi100Server() as fake:
        thread = UvicornThread()
        config = ServerConfig(tmp_path / "server", database_url=url, kuaidi100_salt=SALT,
                              webhook_secret=WEBHOOK_SECRET, public_url=thread.url, kuaidi100_key=fake.fake.key,
                              kuaidi100_secret=fake.fake.secret, kuaidi100_partner_id="0755123456",
                              kuaidi100_partner_key="PWD", kuaidi100_api=fake.url, kuaidi100_poll_api=fake.url)
        app = create_app(config, carrier_worker=False)
        with thread.start(app), httpx.Client(base_url=thread.url, timeout=30) as http:
            running = Running(thread.url, app, http)
            set_warehouse(running.services.sdb, "WH1", "SF", "PackBench 仓库", "0755-8888 6666",
                          "深圳市南山区科技南十二路 2 号", "PackBench", SystemClock())
            yield Rig(running, fake, config)
        running.services.sdb.close()


def test_sign_is_upper_md5_of_param_t_key_secret() -> None:
    # worked example: MD5('{"kuaidicom":"shunfeng"}' + '1576123932000' + 'KEY' + 'SECRET')
    assert sign('{"kuaidicom":"shunfeng"}', "1576123932000", "KEY", "SECRET") == "CAC7127E9415BF5BF4E993A01CCF1DC6"


def test_a_paid_order_gets_one_e_waybill_with_its_routing_code(rig: Rig, tmp_path: Path) -> None:
    rig.import_orders(tmp_path)
    counts = rig.worker.tick()
    calls = rig.fake.fake.calls_to("/label/order", "order")
    assert [c.param["orderId"] for c in calls] == ["K-1", "K-2"]  # K-3 wants ZTO, K-4 has a waybill, K-5 unpaid
    call = calls[0]
    assert call.content_type.startswith("application/x-www-form-urlencoded")
    assert call.form["key"] == "K100-KEY" and len(call.form["t"]) == 13
    assert call.form["sign"] == sign(call.form["param"], call.form["t"], "K100-KEY", "K100-SECRET")
    p = call.param
    assert (p["partnerId"], p["partnerKey"], p["kuaidicom"], p["printType"], p["payType"], p["count"]) == (
        "0755123456", "PWD", "shunfeng", "NON", "MONTHLY", 1)
    assert p["recMan"] == {"name": "张三", "mobile": "13912345678", "printAddr": "上海市浦东新区世纪大道 88 号 1201 室",
                           "company": ""}
    assert p["sendMan"]["name"] == "PackBench 仓库" and p["sendMan"]["mobile"] == "0755-8888 6666"
    assert p["cargo"] == "龙井茶 250g 等"
    assert p["needSubscribe"] is True and p["pollCallBackUrl"] == rig.running.url + "/hooks/carriers/kuaidi100"
    assert p["salt"] == SALT and p["resultv2"] == "4"
    stored = rig.rows('SELECT "order_id", "tracking_no", "routing_code", "sorting", "subscribed", "state" '
                      'FROM "ewaybill" ORDER BY "order_id"')
    assert [(r[0], r[1][:4], r[2], r[4], r[5]) for r in stored] == [("K-1", "SF14", "755W-021A", 1, "active"),
                                                                     ("K-2", "SF14", "755W-021A", 1, "active")]
    assert json.loads(stored[0][3])["destSortingCode"] == "021WJ"
    # K-4's own waybill is subscribed by /poll with the receiver's phone (SF needs it); the e-waybills are not
    polls = rig.fake.fake.calls_to("/poll")
    assert [c.param["number"] for c in polls] == ["SF1300000000017"]
    assert polls[0].param["parameters"] == {"callbackurl": rig.running.url + "/hooks/carriers/kuaidi100",
                                            "salt": SALT, "resultv2": "4", "phone": "13600003333"}
    assert polls[0].param["company"] == "shunfeng" and polls[0].form["schema"] == "json"
    assert counts == {"done": 3}
    rig.worker.tick()  # nothing new: no second call
    assert len(rig.fake.fake.calls_to("/label/order")) == 2 and len(rig.fake.fake.calls_to("/poll")) == 1


def test_failures_are_retried_with_backoff_then_listed_dead(rig: Rig, tmp_path: Path,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    clock = FakeClock()
    worker = CarrierWorker(rig.sdb, rig.config, clock)
    rig.import_orders(tmp_path, ORDERS.split("K-2")[0].rstrip("\n") + "\n")
    rig.fake.fake.fail("/label/order", 2, status=502)
    rig.fake.fake.fail("/label/order", 10, status=200, answer={"success": False, "code": 30002,
                                                              "message": "验证签名失败", "data": None})
    assert worker.tick() == {"pending": 1}
    assert worker.tick() == {}  # not due yet: 30 s of backoff
    for attempt in range(2, jobs.MAX_ATTEMPTS + 1):
        clock.advance(jobs.RETRY.cap)
        assert worker.tick() == {"dead" if attempt == jobs.MAX_ATTEMPTS else "pending": 1}
    assert len(rig.fake.fake.calls_to("/label/order")) == jobs.MAX_ATTEMPTS
    assert rig.rows('SELECT COUNT(*) FROM "ewaybill"') == [(0,)]
    dead = jobs.listing(rig.sdb)
    assert [(d.kind, d.subject, d.attempts) for d in dead] == [("ewaybill", "K-1", jobs.MAX_ATTEMPTS)]
    assert dead[0].last_error == "kuaidi100 30002: 验证签名失败"
    from types import SimpleNamespace

    from server.cli_carriers import cmd_carrier_jobs

    assert cmd_carrier_jobs(SimpleNamespace(retry=None, all=False, limit=10), rig.config) == 0
    assert "ewaybill\tK-1\tattempts 6\tkuaidi100 30002: 验证签名失败" in capsys.readouterr().out
    rig.fake.fake.failures.clear()
    assert cmd_carrier_jobs(SimpleNamespace(retry=["ewaybill", "K-1"], all=False, limit=10), rig.config) == 0
    clock.advance(days=60)  # the CLI queued it at the real time
    assert worker.tick() == {"done": 1}
    assert rig.rows('SELECT "order_id" FROM "ewaybill"') == [("K-1",)]


def test_no_second_e_waybill_when_workers_race(rig: Rig, tmp_path: Path) -> None:
    rig.import_orders(tmp_path)
    workers = [CarrierWorker(rig.sdb, rig.config, SystemClock()) for _ in range(4)]
    barrier = threading.Barrier(len(workers))
    errors: list[BaseException] = []

    def run(worker: CarrierWorker) -> None:
        try:
            barrier.wait()
            worker.tick()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(w,)) for w in workers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    orders = [c.param["orderId"] for c in rig.fake.fake.calls_to("/label/order", "order")]
    assert sorted(orders) == ["K-1", "K-2"]
    assert rig.rows('SELECT "order_id" FROM "ewaybill" ORDER BY "order_id"') == [("K-1",), ("K-2",)]


def test_a_refund_cancels_an_unused_e_waybill_but_not_one_on_a_parcel(rig: Rig, tmp_path: Path) -> None:
    rig.import_orders(tmp_path)
    rig.worker.tick()
    (k1,), (k2,) = rig.rows('SELECT "tracking_no" FROM "ewaybill" ORDER BY "order_id"')
    station = rig.running.enroll("WH1")
    station.push(station.event("shipment.created", {"order_id": "K-2", "tracking_no": k2, "carrier": "SF"}))
    rig.import_orders(tmp_path, ORDERS.replace("K-1,Flagship,paid", "K-1,Flagship,refunded")
                      .replace("K-2,Flagship,paid", "K-2,Flagship,cancelled"))
    rig.worker.tick()
    cancels = rig.fake.fake.calls_to("/label/order", "cancel")
    assert [c.param["kuaidinum"] for c in cancels] == [k1]
    assert cancels[0].param["partnerId"] == "0755123456" and cancels[0].param["kuaidicom"] == "shunfeng"
    assert cancels[0].param["orderId"].startswith("KD")  # the carrier's order number from the order answer
    assert rig.fake.fake.orders[k1]["cancelled"] and "cancelled" not in rig.fake.fake.orders[k2]
    assert rig.rows('SELECT "order_id", "state" FROM "ewaybill" ORDER BY "order_id"') == [
        ("K-1", "cancelled"), ("K-2", "active")]


def test_pool_parcels_are_subscribed_once(rig: Rig, tmp_path: Path) -> None:
    rig.import_orders(tmp_path)
    rig.worker.tick()
    station = rig.running.enroll("WH1")
    reply = station.push(station.event("shipment.created", {"order_id": "K-3", "tracking_no": "73100000000001",
                                                            "carrier": "ZTO"}))
    assert {r["status"] for r in reply.json()["results"]} == {"accepted"}
    rig.fake.fake.fail("/poll", 1, status=200, answer={"result": False, "returnCode": "500", "message": "服务器错误"})
    assert rig.worker.tick() == {"pending": 1}  # retried later
    assert rig.rows('SELECT "state" FROM "tracking_subscription" WHERE "tracking_no" = ?', "73100000000001") == [
        ("pending",)]
    rig.fake.fake.subscribed["73100000000001"] = {"via": "elsewhere"}  # now 501 重复订阅: subscribed is subscribed
    with rig.sdb.connection(), rig.sdb.write():
        rig.sdb.execute('UPDATE "carrier_job" SET "run_at" = \'2000-01-01T00:00:00.000Z\'')
    assert rig.worker.tick() == {"done": 1}
    poll = rig.fake.fake.calls_to("/poll")[-1].param
    assert (poll["company"], poll["number"]) == ("zhongtong", "73100000000001") and "phone" not in poll["parameters"]
    assert rig.rows('SELECT "state" FROM "tracking_subscription" WHERE "tracking_no" = ?', "73100000000001") == [
        ("subscribed",)]


def _handed(station: Station, number: str, order_id: str, at: str) -> None:
    reply = station.push(station.event("shipment.created", {"order_id": order_id, "tracking_no": number,
                                                            "carrier": "SF"}, at=at),
                         station.event("handover.closed", {"batch_id": f"HO-{number}", "tracking_nos": [number]},
                                       at=at))
    assert {r["status"] for r in reply.json()["results"]} == {"accepted"}


def test_an_abort_renews_once_then_opens_the_question(rig: Rig, tmp_path: Path) -> None:
    rig.import_orders(tmp_path)
    rig.worker.tick()
    (k1,), _ = rig.rows('SELECT "tracking_no" FROM "ewaybill" ORDER BY "order_id"')
    hook = rig.running.url + "/hooks/carriers/kuaidi100"
    # Before the handover, "no record in three days" only means the parcel has not moved yet: it waits.
    assert push(hook, SALT, k1, [], status="abort", message="3天查询无记录").json()["result"] is True
    assert rig.rows('SELECT "state" FROM "tracking_subscription" WHERE "tracking_no" = ?', k1) == [("waiting",)]
    station = rig.running.enroll("WH1")
    now = SystemClock().now()
    _handed(station, k1, "K-1", (now - timedelta(hours=2)).isoformat())
    rig.fake.fake.subscribed.pop(k1)  # Kuaidi100 dropped it with the abort
    rig.worker.tick()  # the handover renews it
    assert [c.param["number"] for c in rig.fake.fake.calls_to("/poll")][-1:] == [k1]
    # Handed over, renewed once already, still nothing: the station is told (a tracking_abort case there).
    assert push(hook, SALT, k1, [], status="abort", message="3天查询无记录").json()["result"] is True
    events = rig.rows('SELECT "status", "carrier_status", "context" FROM "tracking_event" WHERE "tracking_no" = ?', k1)
    assert events == [("exception", "abort", "快递100已停止跟踪 tracking stopped: 3天查询无记录")]
    feed = station.get("/api/v1/tracking").json()["items"]
    assert [(e["tracking_no"], e["carrier_status"]) for e in feed] == [(k1, "abort")]


def test_a_carrier_refusal_is_worded_in_the_readers_language(tmp_path: Path) -> None:
    """The job's record keeps the English line (str); a person reads it in their language."""
    from app.errors import BadValue
    from server.kuaidi100.subscriptions import subscribe

    nothing: Any = None  # refused before the database or the API is used
    with pytest.raises(BadValue) as refused:
        subscribe(nothing, ServerConfig(data_dir=tmp_path), nothing, "SF1400000000000", SystemClock())
    assert str(refused.value).startswith("set public_url and kuaidi100_salt: Kuaidi100 needs somewhere to push")
    assert refused.value.text("zh_CN") == "请设置 public_url 和 kuaidi100_salt：快递100需要推送地址，我们需要签名盐值"
