"""Carrier webhooks: Kuaidi100 push (sign, reply format, dedupe, state codes) and the generic hook."""

from __future__ import annotations

import pytest
from server_harness import Running
from server_hook_calls import generic_push, kuaidi100_param, kuaidi100_push

from server.kuaidi100.codes import status_of
from server.models import CarrierPush, TrackingEvent

OK = {"result": True, "returnCode": "200", "message": "成功"}
TRAIL = [  # newest first, as Kuaidi100 sends it
    {"time": "2026-11-26 09:12:00", "ftime": "2026-11-26 09:12:00", "context": "【上海浦东】快件已签收，签收人：本人",
     "status": "签收", "statusCode": "301", "areaCode": "CN310115000000", "areaName": "上海,上海市,浦东新区"},
    {"time": "2026-11-26 07:40:00", "ftime": "2026-11-26 07:40:00",
     "context": "【上海浦东】快递员 王师傅 13900001111 正在派件", "status": "派件", "areaCode": "CN310115000000",
     "areaName": "上海,上海市,浦东新区"},
    {"time": "2026-11-25 10:20:30", "ftime": "2026-11-25 10:20:30", "context": "【杭州余杭】顺丰速运 已收取快件",
     "status": "揽收", "areaCode": "CN330110000000", "areaName": "浙江,杭州市,余杭区"},
]


def _events(server: Running) -> list[TrackingEvent]:
    with server.services.sdb.connection():
        return list(TrackingEvent.select().order_by(TrackingEvent.time))


def test_a_good_push_is_stored_and_answered_in_kuaidi100s_format(server: Running) -> None:
    reply = kuaidi100_push(server, kuaidi100_param("SF1234567890123", TRAIL, state="3"))
    assert (reply.status_code, reply.json()) == (200, OK)
    events = _events(server)
    assert [(e.carrier, e.status, e.carrier_status, e.time_raw) for e in events] == [
        ("SF", "picked_up", "揽收", "2026-11-25 10:20:30"),
        ("SF", "out_for_delivery", "派件", "2026-11-26 07:40:00"),
        ("SF", "delivered", "301", "2026-11-26 09:12:00")]
    assert events[0].time == "2026-11-25T02:20:30.000Z"  # Asia/Shanghai → UTC
    assert events[0].site == "浙江,杭州市,余杭区" and events[0].context == "【杭州余杭】顺丰速运 已收取快件"


def test_the_whole_trail_pushed_again_is_stored_once(server: Running) -> None:
    kuaidi100_push(server, kuaidi100_param("SF1234567890123", TRAIL[2:]))
    kuaidi100_push(server, kuaidi100_param("SF1234567890123", TRAIL[1:]))
    assert kuaidi100_push(server, kuaidi100_param("SF1234567890123", TRAIL)).json() == OK
    assert len(_events(server)) == 3
    with server.services.sdb.connection():
        pushes = [(p.events, p.new_events) for p in CarrierPush.select().order_by(CarrierPush.id)]
    assert pushes == [(1, 1), (2, 1), (3, 1)]  # every push kept raw


@pytest.mark.parametrize(("sign", "salt"), [("0" * 32, "kuaidi100-test-salt"), (None, "another-salt")])
def test_a_bad_sign_is_refused_in_their_format(server: Running, sign: str | None, salt: str) -> None:
    reply = kuaidi100_push(server, kuaidi100_param("SF1234567890123", TRAIL), salt=salt, sign=sign)
    assert reply.status_code == 401
    body = reply.json()
    assert body["result"] is False and body["returnCode"] == "401" and "sign" in body["message"]
    assert _events(server) == []


def test_an_unreadable_push_is_refused_in_their_format(server: Running) -> None:
    reply = kuaidi100_push(server, '{"lastResult": 3}')
    assert reply.status_code == 400 and reply.json()["result"] is False
    missing = server.http.post("/hooks/carriers/kuaidi100", data={"param": "{}"})
    assert missing.status_code == 400 and missing.json()["returnCode"] == "400"


@pytest.mark.parametrize(("code", "word", "status"), [
    ("101", "揽收", "ordered"), ("102", "揽收", "awaiting_pickup"), ("103", "揽收", "picked_up"),
    ("1", "", "picked_up"), ("0", "", "in_transit"), ("1001", "在途", "in_transit"), ("1002", "", "in_transit"),
    ("1003", "", "in_transit"), ("5", "", "out_for_delivery"), ("501", "派件", "out_for_delivery"),
    ("3", "", "delivered"), ("301", "签收", "delivered"), ("304", "", "delivered"), ("4", "", "cancelled"),
    ("401", "退签", "cancelled"), ("14", "", "refused"), ("", "拒签", "refused"), ("6", "", "returning"),
    ("7", "", "forwarded"), ("10", "", "customs"), ("13", "", "customs"), ("2", "", "exception"),
    ("", "疑难", "exception"), ("204", "", "exception"),
])
def test_kuaidi100_states_map_to_normalised_ones(code: str, word: str, status: str) -> None:
    assert status_of(code, word) == status


def test_an_item_without_a_code_falls_back_to_the_push_state_then_its_own_text() -> None:
    assert status_of("", "", fallback="3") == "delivered"  # the newest item: the push's overall state
    assert status_of("", "", text="【深圳市】顺丰速运 已收取快件") == "picked_up"
    assert status_of("", "", text="快件已在【广州】完成分拣，准备发往【上海】") == "in_transit"


def test_the_generic_hook_needs_its_hmac(server: Running) -> None:
    event = [("YT1234567890123", "2026-11-25T10:00:00+08:00", "已揽收", "picked_up")]
    assert generic_push(server, event, secret="wrong").status_code == 401
    unsigned = server.http.post("/hooks/carriers/generic", json={"events": []})
    assert unsigned.status_code == 401 and "X-PackBench-Signature" in unsigned.json()["detail"]
    reply = generic_push(server, event * 2, carrier="YTO")
    assert reply.status_code == 200
    assert reply.json() == {"received": 2, "new": 1, "duplicates": 1, "rejected": [], "status": "stored"}
    assert generic_push(server, event, carrier="YTO").json()["duplicates"] == 1


def test_the_generic_hook_rejects_bad_events_one_by_one(server: Running) -> None:
    reply = generic_push(server, [("YT1234567890123", "2026-11-25T10:00:00+08:00", "ok", "picked_up"),
                                  ("YT1234567890124", "not a time", "x", "in_transit"),
                                  ("YT1234567890125", "2026-11-25T10:00:00", "y", "lost_in_space")], carrier="YTO")
    body = reply.json()
    assert (body["new"], [r["index"] for r in body["rejected"]]) == (1, [1, 2])


def test_hooks_without_a_configured_secret_refuse_everything(tmp_path: object, database_url: str) -> None:
    import httpx

    from server.app import create_app
    from server.config import ServerConfig
    from tests.live_server import UvicornThread

    app = create_app(ServerConfig(tmp_path / "bare", database_url=database_url))  # type: ignore[operator]
    with UvicornThread().start(app) as thread:
        reply = httpx.post(f"{thread.url}/hooks/carriers/kuaidi100", data={"param": "{}", "sign": "x"})
        assert reply.status_code == 503 and reply.json()["result"] is False
        assert httpx.post(f"{thread.url}/hooks/carriers/generic", content=b"{}").status_code == 503
