"""The Exceptions queue: station cases projected from their events, filters, heat map, roles, scope, CSRF,
the station's pull of console changes, and the server-only "tracking stalled" rule."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from console_harness import close_browsers, csrf_of, log_in, make_user
from server_harness import Running, Station

from app.clock import FakeClock, iso
from protocol import API
from server.cases import STALLED_TAG, run_server_rules

__all__ = ["close_browsers"]


def _opened(station: Station, case: int, tag: str, severity: str = "warning", title: str = "t",
            at: datetime | None = None) -> dict[str, object]:
    when = iso(at or datetime.now(UTC) - timedelta(hours=2))
    return station.event("exception.opened", {"case": case, "key": f"k{case}", "tag": tag, "rule_id": "r",
                                              "severity": severity, "route": "supervisor", "order_id": None,
                                              "tracking_no": None, "title": title, "actor": "system"}, at=when)


@pytest.fixture
def queue(server: Running, station: Station) -> Running:
    other = server.enroll("WH1", "BENCH-2")
    reply = station.push(_opened(station, 1, "wrong_item", "critical", "<script>x()</script>"),
                         _opened(station, 2, "overweight"),
                         _opened(station, 3, "wrong_item", at=datetime.now(UTC) - timedelta(minutes=5)))
    assert {r["status"] for r in reply.json()["results"]} == {"accepted"}
    assert other.push(_opened(other, 1, "wrong_item")).status_code == 200
    elsewhere = server.enroll("WH2", "FAR-BENCH")
    elsewhere.push(_opened(elsewhere, 1, "secret_tag_wh2"))
    make_user(server, "zhang", "supervisor", ("WH1",))
    make_user(server, "viewer", "viewer", ("WH1",))
    make_user(server, "far", "supervisor", ("WH2",))
    return server


def test_queue_filters_and_heat_map(queue: Running) -> None:
    client = log_in(queue, "zhang")
    page = client.get("/console/exceptions?warehouse=WH1").text
    assert page.count("/acknowledge") == 4 and "secret_tag_wh2" not in page
    assert page.count("<td>open") == 4  # each case's state, worded from app.terms.CASE_STATES
    chinese = client.get("/console/exceptions?warehouse=WH1", headers={"Accept-Language": "zh-CN"}).text
    assert chinese.count("<td>待处理") == 4  # a state, not the link's "打开"
    assert "<script>x()</script>" not in page and "&lt;script&gt;x()&lt;/script&gt;" in page
    assert '<svg class="chart heat"' in page and "BENCH-2" in page
    assert client.get("/console/exceptions?warehouse=WH1&tag=wrong_item").text.count("/acknowledge") == 3
    assert client.get("/console/exceptions?warehouse=WH1&severity=critical").text.count("/acknowledge") == 1
    assert client.get("/console/exceptions?warehouse=WH1&age=1").text.count("/acknowledge") == 3  # not the new one
    assert client.get("/console/exceptions?warehouse=WH1&age=-1").status_code == 422


def test_roles_scope_and_csrf_on_case_actions(queue: Running, station: Station) -> None:
    client = log_in(queue, "zhang")
    page = client.get("/console/exceptions?warehouse=WH1").text
    first = re.findall(r"/console/exceptions/(\d+)/acknowledge", page)[0]
    assert client.post(f"/console/exceptions/{first}/acknowledge", data={"csrf": "nope"}).status_code == 403
    viewer = log_in(queue, "viewer")
    assert "/acknowledge" not in viewer.get("/console/exceptions").text
    token = csrf_of(viewer.get("/console/exceptions").text)
    assert viewer.post(f"/console/exceptions/{first}/acknowledge", data={"csrf": token}).status_code == 403
    far = log_in(queue, "far")
    far_page = far.get("/console/exceptions").text
    assert far.post(f"/console/exceptions/{first}/acknowledge",
                    data={"csrf": csrf_of(far_page)}).status_code == 404  # another warehouse's id: not found
    assert far.get("/console/exceptions?warehouse=WH1").status_code == 404
    resolve = client.post(f"/console/exceptions/{first}/resolve", data={"csrf": csrf_of(page), "note": ""},
                          headers={"Accept-Language": "zh-CN"})  # the refusal in the user's language
    assert resolve.status_code == 303 and "problem=" in resolve.headers["location"]
    refused = client.get(resolve.headers["location"], headers={"Accept-Language": "zh-CN"})
    assert "关闭异常需要填写备注" in refused.text and "needs a note" not in refused.text
    acked = client.post(f"/console/exceptions/{first}/acknowledge", data={"csrf": csrf_of(page)})
    twice = client.post(f"/console/exceptions/{first}/acknowledge", data={"csrf": csrf_of(page)})
    assert acked.status_code == twice.status_code == 303
    assert "acknowledged; it cannot become acknowledged" in client.get(twice.headers["location"]).text
    pulled = station.get(f"{API}/cases").json()
    assert [(i["case"], i["state"], i["actor"]) for i in pulled["items"]] == [(1, "acknowledged", "console:zhang")]
    again = station.get(f"{API}/cases", cursor=pulled["next_cursor"]).json()
    assert again["items"] == [] and again["next_cursor"] == pulled["next_cursor"]
    assert station.get(f"{API}/cases", cursor="o.1").status_code == 400


def test_server_rule_opens_a_case_when_tracking_stalls(server: Running, station: Station) -> None:
    handed = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)
    reply = station.push(
        station.event("shipment.created", {"order_id": "Z-1", "tracking_no": "SF3000000000001", "carrier": "SF"},
                      at=iso(handed)),
        station.event("handover.closed", {"batch_id": "HO-1", "tracking_nos": ["SF3000000000001"]}, at=iso(handed)))
    assert reply.status_code == 200
    svc = server.services
    clock = FakeClock(handed + timedelta(hours=47))
    assert run_server_rules(svc.sdb, clock, "WH1") == 0
    clock.advance(hours=2)
    assert run_server_rules(svc.sdb, clock, "WH1") == 1
    assert run_server_rules(svc.sdb, clock, "WH1") == 0  # once while it is live
    make_user(server, "zhang", "supervisor", ("WH1",))
    page = log_in(server, "zhang").get("/console/exceptions").text
    assert STALLED_TAG in page and "SF3000000000001" in page


def _call(station: Station, case: int, order_id: str | None, at: datetime) -> dict[str, object]:
    return station.event("exception.opened", {
        "case": case, "key": f"supervisor_call:x:{case}", "tag": "supervisor_call",
        "rule_id": "builtin.call_supervisor",
        "severity": "warning", "route": "supervisor", "order_id": order_id, "tracking_no": None, "title": "called",
        "actor": "王芳"}, at=iso(at))


def test_each_station_hears_the_live_supervisor_calls_of_its_warehouses_other_stations(server: Running,
                                                                                      station: Station) -> None:
    now = datetime.now(UTC)
    other = server.enroll("WH1", "BENCH-2")
    far = server.enroll("WH2", "FAR-BENCH")
    station.push(_call(station, 1, "TB1", now - timedelta(minutes=9)),
                 _call(station, 2, None, now - timedelta(minutes=3)),
                 _opened(station, 3, "wrong_item"),  # not a call
                 station.event("exception.resolved", {"case": 2, "note": "done", "tag": "supervisor_call",
                                                      "actor": "李强"}))
    other.push(_call(other, 1, "TB9", now - timedelta(minutes=1)))
    far.push(_call(far, 1, "FAR1", now))
    seen_by_other = other.request("GET", f"{API}/supervisor-calls")
    assert seen_by_other.status_code == 200, seen_by_other.text
    assert [(c["station"], c["order_id"], c["state"]) for c in seen_by_other.json()["calls"]] == [
        ("BENCH-1", "TB1", "open")]  # its own call is not listed, the resolved one is gone, WH2 never shows
    seen_by_first = station.request("GET", f"{API}/supervisor-calls").json()["calls"]
    assert [(c["station"], c["order_id"]) for c in seen_by_first] == [("BENCH-2", "TB9")]
    assert station.request("GET", f"{API}/supervisor-calls", secret="wrong").status_code == 401
