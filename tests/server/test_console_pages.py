"""Today, Tracking and Stations pages: figures from real station pushes, scope, roles, CSRF, hostile text."""

from __future__ import annotations

import re
from datetime import UTC, datetime, time, timedelta
from pathlib import Path

import pytest
from console_harness import browser, close_browsers, csrf_of, log_in, make_user, post_form
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from server_harness import Running, Station
from server_hook_calls import generic_push

from app.clock import SystemClock, iso
from app.keys import public_pem
from protocol import API
from server.console.today import today
from server.intake import import_orders

__all__ = ["close_browsers"]
HOSTILE = "<img src=x onerror=alert(1)>"


@pytest.fixture
def packed_today(server: Running, station: Station, tmp_path: Path) -> Running:
    # Midday of the local business day: the whole story falls on "today" whatever the hour the test runs.
    zone = server.services.config.zone
    now = datetime.combine(datetime.now(zone).date(), time(12), zone).astimezone(UTC)
    path = tmp_path / "orders.csv"
    path.write_text("order_id,shop,status,paid_at,line_no,sku,qty\n"
                    f"T-1,Flagship,paid,{iso(now - timedelta(minutes=30))},1,SKU1,1\n"
                    f"T-2,Flagship,paid,{iso(now - timedelta(minutes=20))},1,SKU1,1\n", encoding="utf-8")
    svc = server.services
    import_orders(svc.sdb, path, "canonical", "WH1", SystemClock(), svc.config.zone)
    at = iso(now - timedelta(minutes=5))
    reply = station.push(
        station.event("scan", {"actor": "packer-li", "outcome": "ok"}, at=at),
        station.event("scan", {"actor": "packer-li", "outcome": "wrong_item"}, at=at),
        station.event("shipment.created", {"actor": "packer-li", "order_id": "T-1", "tracking_no": "SF2000000000001",
                                           "carrier": "SF"}, at=at),
        station.event("handover.closed", {"actor": "packer-li", "batch_id": "HO-9",
                                          "tracking_nos": ["SF2000000000001"]}, at=at))
    assert {r["status"] for r in reply.json()["results"]} == {"accepted"}, reply.text
    generic_push(server, [("SF2000000000001", iso(now - timedelta(minutes=1)), HOSTILE, "picked_up")])
    make_user(server, "zhang", "supervisor", ("WH1",))
    return server


def test_today_counts_by_hour_station_and_packer(packed_today: Running, station: Station) -> None:
    svc = packed_today.services
    now = datetime.now(UTC)
    figures = today(svc.sdb, "WH1", now.astimezone(svc.config.zone).date(), svc.config.zone, now)
    # The station pushed moments ago (received now), whatever the facts' own times: it is online.
    assert [figures.total(s) for s in ("orders", "packed", "handed_over", "accepted")] == [2, 1, 1, 1]
    (row,) = figures.stations
    assert (row.station_id, row.packed, row.handed_over, row.accepted, row.online) == (station.station_id, 1, 1, 1,
                                                                                        True)
    (packer,) = figures.packers
    assert (packer.actor, packer.scans, packer.errors, packer.shipments, packer.error_pct) == ("packer-li", 2, 1, 1,
                                                                                               50.0)
    page = log_in(packed_today, "zhang").get("/console/").text
    assert "packer-li" in page and "50.0%" in page and "<svg" in page and "BENCH-1" in page


def test_tracking_shows_the_raw_trail_and_sla_escaped(packed_today: Running) -> None:
    client = log_in(packed_today, "zhang")
    for q in ("T-1", "SF2000000000001"):
        page = client.get("/console/track", params={"q": q})
        assert page.status_code == 200 and "SF2000000000001" in page.text and "HO-9" in page.text
        assert HOSTILE not in page.text and "&lt;img src=x onerror=alert(1)&gt;" in page.text
    assert client.get("/console/track", params={"q": "NOPE"}).status_code == 404
    chinese = client.get("/console/track", params={"q": "T-1"}, headers={"Accept-Language": "zh-CN"}).text
    assert "已揽收" in chinese and "Picked up" not in chinese


def test_tracking_never_shows_another_warehouses_parcel(packed_today: Running) -> None:
    make_user(packed_today, "other", "admin", ("WH2",))
    client = log_in(packed_today, "other")
    for q in ("T-1", "SF2000000000001"):
        reply = client.get("/console/track", params={"q": q})
        assert reply.status_code == 404 and "Nothing found" in reply.text
        assert "HO-9" not in reply.text and "BENCH-1" not in reply.text and "Flagship" not in reply.text
    assert browser(packed_today).get("/console/track?q=T-1").status_code == 303


def test_stations_page_is_for_admins_and_issues_working_tokens(server: Running, station: Station) -> None:
    make_user(server, "viewer-wang", "viewer", ("WH1",))
    make_user(server, "boss", "admin", ("WH1",))
    viewer = log_in(server, "viewer-wang")
    assert viewer.get("/console/stations").status_code == 403
    assert "/console/stations" not in viewer.get("/console/").text
    admin = log_in(server, "boss")
    page = admin.get("/console/stations")
    assert page.status_code == 200 and station.station_id in page.text
    assert admin.post("/console/stations/token", data={"warehouse": "WH1", "csrf": "forged"}).status_code == 403
    assert post_form(admin, "/console/stations", "/console/stations/token",
                     {"warehouse": "WH2", "ttl_hours": "1"}).status_code == 404  # not their warehouse
    assert post_form(admin, "/console/stations", "/console/stations/token",
                     {"warehouse": "WH1", "ttl_hours": "-3"}).status_code == 400
    reply = post_form(admin, "/console/stations", "/console/stations/token", {"warehouse": "WH1", "ttl_hours": "2"})
    token = re.search(r"--token ([A-Za-z0-9_\-]+)", reply.text)
    assert reply.status_code == 200 and token
    key = Ed25519PrivateKey.generate()
    enrolled = server.http.post(f"{API}/enroll", json={"token": token.group(1), "station_name": "NEW-BENCH",
                                                       "passport_public_key": public_pem(key.public_key()).decode()})
    assert enrolled.status_code == 200 and enrolled.json()["warehouse"] == "WH1"
    assert "NEW-BENCH" in admin.get("/console/stations").text
    assert csrf_of(admin.get("/console/stations").text)


def test_an_admin_revokes_a_station_from_the_console(server: Running, station: Station) -> None:
    make_user(server, "boss", "admin", ("WH1",))
    make_user(server, "other-boss", "admin", ("WH2",))
    admin = log_in(server, "boss")
    assert admin.post("/console/stations/revoke", data={"station_id": station.station_id, "reason": "stolen",
                                                        "csrf": "forged"}).status_code == 403
    assert post_form(log_in(server, "other-boss"), "/console/stations", "/console/stations/revoke",
                     {"station_id": station.station_id, "reason": "x"}).status_code == 404  # not theirs
    assert post_form(admin, "/console/stations", "/console/stations/revoke",
                     {"station_id": station.station_id, "reason": " "}).status_code == 400
    reply = post_form(admin, "/console/stations", "/console/stations/revoke",
                      {"station_id": station.station_id, "reason": "PC stolen 工位电脑被盗"})
    assert reply.status_code == 200 and "revoked" in reply.text
    refused = station.push(station.event("scan", {"actor": "x", "outcome": "ok"}))
    assert refused.status_code == 403 and "revoked" in refused.text
    with server.services.sdb.connection():
        audit = server.services.sdb.execute('SELECT "actor", "target" FROM "server_audit" WHERE "action" = ?',
                                            ("station.revoke",)).fetchall()
    assert audit == [("boss", station.station_id)]
    again = post_form(admin, "/console/stations", "/console/stations/revoke",
                      {"station_id": station.station_id, "reason": "twice"})
    assert again.status_code == 400 and "already revoked" in again.text
    admin.headers["Accept-Language"] = "zh-CN"
    again = post_form(admin, "/console/stations", "/console/stations/revoke",
                      {"station_id": station.station_id, "reason": "twice"})
    assert f"工位 {station.station_id} 已于 " in again.text and "already revoked" not in again.text
