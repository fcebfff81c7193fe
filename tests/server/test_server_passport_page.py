"""The public passport page: genuine tokens show the raw trail and a masked receiver; forged ones don't."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from server_harness import Running, Station
from server_hook_calls import kuaidi100_param, kuaidi100_push

from app.clock import SystemClock
from app.passport import mint_passport
from server.intake import import_orders

CANONICAL = Path(__file__).parents[1] / "fixtures" / "imports" / "canonical_orders.csv"
TRACKING = "SF1234567890123"
TRAIL = [
    {"time": "2026-11-26 07:40:00", "context": "【上海浦东】快递员 王师傅 正在派件 <b>请保持电话畅通</b>",
     "status": "派件", "areaName": "上海,上海市,浦东新区"},
    {"time": "2026-11-25 18:02:11", "context": "【杭州转运中心】已发出，下一站【上海转运中心】", "status": "在途",
     "areaName": "浙江,杭州市"},
    {"time": "2026-11-25 10:20:30", "context": "【杭州余杭】顺丰速运 已收取快件", "status": "揽收",
     "areaName": "浙江,杭州市,余杭区"},
]


ISSUED = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)


def _token(key: Ed25519PrivateKey, order_id: str = "PB-0002", tracking_no: str = TRACKING,
           issued_at: datetime = ISSUED) -> str:
    return mint_passport(key, "BENCH-1", order_id, "SF", tracking_no, issued_at, base_url="https://pb.example.cn").token


def _pack(station: Station, order_id: str = "PB-0002", tracking_no: str = TRACKING) -> None:
    """The station reports the parcel packed, as its outbox does."""
    reply = station.push(station.event("shipment.created", {"order_id": order_id, "tracking_no": tracking_no,
                                                            "carrier": "SF"}))
    assert reply.json()["results"][0]["status"] == "accepted", reply.text


def _seed(server: Running, station: Station) -> None:
    svc = server.services
    import_orders(svc.sdb, CANONICAL, "canonical", "WH1", SystemClock(), svc.config.zone)
    kuaidi100_push(server, kuaidi100_param(TRACKING, TRAIL))
    _pack(station)


def test_a_genuine_passport_shows_the_raw_trail_newest_first(server: Running, station: Station) -> None:
    _seed(server, station)
    reply = server.http.get(f"/p/{_token(station.key)}")
    assert reply.status_code == 200 and reply.headers["content-type"].startswith("text/html")
    page = reply.text
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in page
    assert "真实" in page and "genuine" in page and "物流轨迹 Tracking" in page
    positions = [page.index(text) for text in ("2026-11-26 07:40:00", "2026-11-25 18:02:11", "2026-11-25 10:20:30")]
    assert positions == sorted(positions)
    assert "【杭州转运中心】已发出，下一站【上海转运中心】" in page
    assert "&lt;b&gt;请保持电话畅通&lt;/b&gt;" in page  # the carrier's text, escaped, never markup
    assert "浙江,杭州市,余杭区" in page and "派送中 Out for delivery" in page
    assert "张* 138****5678" in page
    for private in ("张伟", "13812345678", "文三路", "tb_zhangwei88", "发票"):
        assert private not in page
    assert reply.headers["content-security-policy"].startswith("default-src 'none'")
    assert reply.headers["x-content-type-options"] == "nosniff" and reply.headers["referrer-policy"] == "no-referrer"


def test_a_passport_before_any_carrier_event(server: Running, station: Station) -> None:
    _pack(station, order_id="UNKNOWN-1")
    reply = server.http.get(f"/p/{_token(station.key, order_id='UNKNOWN-1')}")
    assert reply.status_code == 200
    assert "no carrier events yet" in reply.text and "收件人" not in reply.text


def test_an_altered_token_is_not_genuine(server: Running, station: Station) -> None:
    _seed(server, station)
    token = _token(station.key)
    middle = len(token) // 2
    altered = token[:middle] + ("A" if token[middle] != "A" else "B") + token[middle + 1:]
    reply = server.http.get(f"/p/{altered}")
    assert reply.status_code in (400, 404)
    assert "非真实" in reply.text and "not genuine" in reply.text
    assert "【杭州余杭】" not in reply.text


def test_a_token_signed_by_an_unenrolled_key_is_not_genuine(server: Running, station: Station) -> None:
    _seed(server, station)
    reply = server.http.get(f"/p/{_token(Ed25519PrivateKey.generate())}")
    assert reply.status_code == 404 and "非真实" in reply.text and "unknown key" in reply.text
    garbage = server.http.get("/p/not-a-token!")
    assert garbage.status_code == 400 and "not genuine" in garbage.text


def test_a_genuine_label_the_server_has_not_heard_of_shows_no_order_data(server: Running, station: Station) -> None:
    svc = server.services
    import_orders(svc.sdb, CANONICAL, "canonical", "WH1", SystemClock(), svc.config.zone)
    kuaidi100_push(server, kuaidi100_param(TRACKING, TRAIL))  # the carrier knows it; no station reported it yet
    reply = server.http.get(f"/p/{_token(station.key)}")
    assert reply.status_code == 200 and "genuine label, not yet registered" in reply.text
    assert TRACKING in reply.text
    for private in ("收件人 Receiver", "张*", "138****5678", "【杭州余杭】", "物流轨迹 Tracking"):
        assert private not in reply.text


def test_a_token_from_another_warehouse_never_shows_this_warehouses_parcel(server: Running, station: Station) -> None:
    _seed(server, station)
    thief = server.enroll("WH2", "BENCH-9")
    reply = server.http.get(f"/p/{_token(thief.key)}")  # WH2's key, WH1's order and tracking number
    assert reply.status_code == 404 and "not genuine" in reply.text
    for private in ("张*", "138****5678", "【杭州余杭】"):
        assert private not in reply.text
    other_order = server.http.get(f"/p/{_token(station.key, order_id='PB-0001')}")  # right key, wrong order
    assert other_order.status_code == 404 and "does not match the parcel" in other_order.text


def test_a_revoked_stations_key_vouches_only_for_labels_issued_before_its_revocation(server: Running,
                                                                                     station: Station) -> None:
    from server.stations import revoke

    _seed(server, station)
    at = revoke(server.services.sdb, station.station_id, "stolen", SystemClock(), actor="test")
    before = server.http.get(f"/p/{_token(station.key)}")
    assert before.status_code == 200 and "genuine PackBench passport" in before.text
    after = server.http.get(f"/p/{_token(station.key, issued_at=at + timedelta(seconds=1))}")
    assert after.status_code == 404 and "revoked" in after.text and "张*" not in after.text


def test_every_html_answer_carries_the_security_headers(server: Running) -> None:
    for path in ("/p/not-a-token!", "/p/" + "A" * 500):
        reply = server.http.get(path)
        assert reply.headers["content-type"].startswith("text/html")
        assert reply.headers["x-content-type-options"] == "nosniff"
        assert reply.headers["referrer-policy"] == "no-referrer"
        assert "default-src 'none'" in reply.headers["content-security-policy"]
    assert server.http.get("/healthz").headers["x-content-type-options"] == "nosniff"
