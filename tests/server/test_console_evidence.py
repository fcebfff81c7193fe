"""The evidence pack the server renders from synced facts: a real PDF (parsed back with pypdf) holding
the order, its Chinese lines, the scans, the print job, the handover, the raw carrier trail, the case,
the packing station's chain head and what only the station has; another warehouse's order is 404, no
session goes to the login form, and every download is audited."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from console_harness import browser, close_browsers, log_in, make_user
from server_harness import Running, Station
from server_hook_calls import generic_push

from app.clock import SystemClock
from protocol import API
from server.intake import import_orders
from server.models import ServerAudit

__all__ = ["close_browsers"]
TRACKING = "SF3000000000001"
HEAD = "ab" * 32


@pytest.fixture
def shipped(server: Running, station: Station, tmp_path: Path) -> Running:
    orders = tmp_path / "orders.csv"
    orders.write_text(
        "order_id,shop,status,receiver_name,receiver_phone,receiver_address,paid_at,line_no,sku,name,qty\n"
        "E-1,旗舰店,paid,王小明,13812345678,浙江省杭州市西湖区文三路 1 号,2026-11-25T01:00:00Z,1,TEA-1,"
        "西湖龙井 250g,2\n",
        encoding="utf-8")
    svc = server.services
    import_orders(svc.sdb, orders, "canonical", "WH1", SystemClock(), svc.config.zone)
    events = [
        station.event("scan", {"actor": "李娜", "audit_seq": 11, "station": "BENCH-1", "source": "scanner",
                               "code": "E-1", "order_id": "E-1", "outcome": "order_opened"}, at="2026-11-25T02:00:00Z"),
        station.event("scan", {"actor": "李娜", "audit_seq": 12, "station": "BENCH-1", "source": "scanner",
                               "code": "6900000000000", "order_id": "E-1", "outcome": "wrong_item"},
                      at="2026-11-25T02:00:05Z"),
        station.event("scan", {"actor": "张伟", "audit_seq": 13, "station": "BENCH-1", "source": "scanner",
                               "code": "X-9", "order_id": "OTHER", "outcome": "order_opened"},
                      at="2026-11-25T02:00:06Z"),
        station.event("shipment.created", {"actor": "李娜", "audit_seq": 14, "order_id": "E-1", "tracking_no": TRACKING,
                                           "carrier": "SF", "weight_g": 540, "expected_weight_g": 520,
                                           "approved_by": None, "station": "BENCH-1"}, at="2026-11-25T02:01:00Z"),
        station.event("print.queued", {"actor": "李娜", "audit_seq": 15, "job": 4, "tracking_no": TRACKING,
                                       "reprint_no": 0}, at="2026-11-25T02:01:00Z"),
        station.event("print.done", {"actor": "李娜", "audit_seq": 16, "job": 4, "tracking_no": TRACKING,
                                     "reason": "", "reprint_no": 0}, at="2026-11-25T02:01:03Z"),
        station.event("passport.minted", {"actor": "system", "audit_seq": 17, "passport_id": "PP-77",
                                          "tracking_no": TRACKING, "order_id": "E-1", "station": "BENCH-1"},
                      at="2026-11-25T02:01:00Z"),
        station.event("photo.captured", {"actor": "李娜", "audit_seq": 18, "session": 3, "order_id": "E-1",
                                         "file": "photos/2026/11/25/E-1.jpg", "sha256": "cd" * 32},
                      at="2026-11-25T02:00:50Z"),
        station.event("exception.opened", {"actor": "李娜", "audit_seq": 19, "case": 5, "key": "k", "tag": "wrong_item",
                                           "rule_id": "R1", "severity": "warning", "route": "supervisor",
                                           "order_id": "E-1", "tracking_no": None, "title": "扫错商品"},
                      at="2026-11-25T02:00:06Z"),
        station.event("handover.accepted", {"actor": "赵六", "audit_seq": 20, "batch_id": "HO-3",
                                            "tracking_no": TRACKING, "order_id": "E-1", "outcome": "accepted"},
                      at="2026-11-25T05:00:00Z"),
        station.event("handover.closed", {"actor": "赵六", "audit_seq": 21, "batch_id": "HO-3", "carrier": "SF",
                                          "courier": "王师傅", "tracking_nos": [TRACKING]}, at="2026-11-25T05:10:00Z"),
    ]
    reply = station.request("POST", f"{API}/events", {"events": events, "audit_head": {"seq": 21, "hash": HEAD}})
    assert {r["status"] for r in reply.json()["results"]} == {"accepted"}, reply.text
    generic_push(server, [(TRACKING, "2026-11-25T08:00:00Z", "顺丰速运 已收取快件", "picked_up")])
    make_user(server, "zhang", "supervisor", ("WH1",))
    return server


def _text(pdf: bytes) -> str:
    from pypdf import PdfReader

    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


def test_the_tracking_page_links_a_server_rendered_pack_with_the_synced_facts(shipped: Running) -> None:
    client = log_in(shipped, "zhang")
    for q in ("E-1", TRACKING):
        page = client.get("/console/track", params={"q": q})
        assert "/console/track/evidence?q=E-1" in page.text
    reply = client.get("/console/track/evidence", params={"q": TRACKING})
    assert reply.status_code == 200 and reply.headers["content-type"] == "application/pdf"
    assert 'filename="evidence-E-1.pdf"' in reply.headers["content-disposition"]
    text = _text(reply.content).replace("\n", " ")
    for expected in ("证据包", "E-1", "西湖龙井 250g", "旗舰店", "138****5678", TRACKING, "wrong_item", "李娜",
                     "HO-3", "王师傅", "顺丰速运 已收取快件", "扫错商品", "服务器根据工作台同步的数据生成",
                     "rendered by the server from the facts the stations synced", "面单图像", "PP-77",
                     "照片留在工作台", "Session #3", "chain head kept, not verified here", "entry 21", HEAD[:16]):
        assert expected in text, expected
    assert "OTHER" not in text and "张伟" not in text  # a fact of another order in the same minute
    assert "13812345678" not in text  # the receiver's phone is masked
    with shipped.services.sdb.connection():
        logged = [(a.actor, a.action, a.warehouse, a.target) for a in ServerAudit.select().where(
            ServerAudit.action == "evidence.download")]
    assert logged == [("zhang", "evidence.download", "WH1", "E-1")]


def test_the_pack_of_another_warehouse_or_without_a_session_is_not_given(shipped: Running) -> None:
    make_user(shipped, "other", "admin", ("WH2",))
    other = log_in(shipped, "other")
    for q in ("E-1", TRACKING, "NOPE", ""):
        reply = other.get("/console/track/evidence", params={"q": q})
        assert reply.status_code == 404 and b"%PDF" not in reply.content
    anonymous = browser(shipped).get("/console/track/evidence?q=E-1", follow_redirects=False)
    assert anonymous.status_code == 303 and "/console/login" in anonymous.headers["location"]
    with shipped.services.sdb.connection():
        assert not ServerAudit.select().where(ServerAudit.action == "evidence.download").exists()


def test_a_parcel_unknown_to_the_platform_still_has_a_pack(server: Running, station: Station) -> None:
    reply = station.push(station.event("shipment.created", {"actor": "李娜", "audit_seq": 3, "order_id": "GHOST-1",
                                                            "tracking_no": "SF3000000000009", "carrier": "SF"}))
    assert reply.json()["results"][0]["status"] == "accepted", reply.text
    make_user(server, "zhang", "supervisor", ("WH1",))
    pdf = log_in(server, "zhang").get("/console/track/evidence", params={"q": "SF3000000000009"})
    assert pdf.status_code == 200
    text = _text(pdf.content)
    assert "GHOST-1" in text and "unknown to the platform" in text and "SF3000000000009" in text
