"""The console's order-health page: indicators for an hour, a drill-down with its chart and slices,
Chinese and English from the catalog, another warehouse never shown, no page without a session."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from urllib.parse import quote

import pytest
from console_harness import browser, close_browsers, latin_words, log_in, make_user, post_form
from server_harness import Running

from app.clock import SystemClock, iso, parse_iso
from server.health import check, stored
from server.health.seed import CARRIERS, SHOPS, seed_history
from server.health.state import silences_at
from server.models import ServerAudit

__all__ = ["close_browsers"]


def test_health_page_flags_the_planted_misreads_and_drills_down(server: Running) -> None:
    sdb = server.services.sdb
    made = seed_history(sdb, "WH1", 30, SystemClock().now(), orders_per_hour=25)
    hour = made.incidents["misreads"]
    make_user(server, "li.na", warehouses=("WH1",))
    en = log_in(server, "li.na")
    page = en.get("/console/health", params={"warehouse": "WH1", "hour": hour})
    assert page.status_code == 200
    row = re.search(r"scan error rate</a></td>(.*?)</tr>", page.text, re.S)
    assert row is not None and 'class="bad">flagged' in row.group(1)
    detail = en.get("/console/health", params={"warehouse": "WH1", "hour": hour, "indicator": "scan_error_rate"})
    assert detail.status_code == 200 and "<svg" in detail.text and 'class="flag"' in detail.text
    assert "comes from station WH1-BENCH-3" in detail.text and "By station" in detail.text
    zh = browser(server)
    zh.headers["Accept-Language"] = "zh-CN,zh;q=0.9"
    zh.cookies = en.cookies
    chinese = zh.get("/console/health", params={"warehouse": "WH1", "hour": hour, "indicator": "scan_error_rate"})
    assert "订单健康" in chinese.text and "扫描错误率" in chinese.text and "来自工位 WH1-BENCH-3" in chinese.text
    assert parse_iso(hour)  # the incident hour is a real ISO time


def test_the_explanation_says_its_hour_in_the_warehouse_zone_like_the_heading(server: Running) -> None:
    sdb = server.services.sdb
    assert server.services.config.zone.key == "Asia/Shanghai"
    made = seed_history(sdb, "WH1", 30, datetime(2026, 12, 4, 12, tzinfo=UTC), orders_per_hour=25)
    hour = made.incidents["misreads"]
    assert parse_iso(hour).hour == 6  # 06:00 UTC is 14:00 in Shanghai
    make_user(server, "li.na", warehouses=("WH1",))
    en = log_in(server, "li.na")
    asked = {"warehouse": "WH1", "hour": hour, "indicator": "scan_error_rate"}
    english = en.get("/console/health", params=asked, headers={"Accept-Language": "en"})
    assert "2026-12-04 14:00</h1>" in english.text  # the heading's hour …
    assert "comes from station WH1-BENCH-3 (14:00–15:00)" in english.text and "UTC" not in english.text  # … is its
    # The chart's hours are the warehouse's too: every third of the 24 up to the hour read, whether or not
    # it had a value (a night hour with no scans kept its label off the chart).
    assert re.findall(r'<text class="hour"[^>]*>([^<]*)</text>', english.text) == [
        "17:00", "20:00", "23:00", "02:00", "05:00", "08:00", "11:00", "14:00"]
    chinese = en.get("/console/health", params=asked, headers={"Accept-Language": "zh-CN,zh;q=0.9"})
    assert "来自工位 WH1-BENCH-3（14:00–15:00）" in chinese.text and "UTC" not in chinese.text


def test_the_drill_down_lists_the_orders_behind_the_anomaly_with_links_to_their_tracking(server: Running) -> None:
    sdb = server.services.sdb
    made = seed_history(sdb, "WH1", 30, datetime(2026, 12, 4, 12, tzinfo=UTC), orders_per_hour=30)
    hour = made.incidents["refunds"]
    with sdb.connection():  # the parcels packed in the incident's hour whose order was refunded after packing
        refunded = {str(r[0]) for r in sdb.execute(
            'SELECT o."order_id" FROM "parcel" p JOIN "order" o ON o."order_id" = p."order_id" WHERE '
            'p."warehouse" = ? AND p."packed_at" >= ? AND p."packed_at" < ? AND o."status" = ?',
            ("WH1", hour, iso(parse_iso(hour) + timedelta(hours=1)), "refunded")).fetchall()}
    assert len(refunded) >= 3
    make_user(server, "li.na", warehouses=("WH1",))
    en = log_in(server, "li.na")
    page = en.get("/console/health", params={"warehouse": "WH1", "hour": hour, "indicator": "intercept_rate"},
                  headers={"Accept-Language": "en"})
    listed = page.text[page.text.index("<h3>Orders</h3>"):]
    rows = re.findall(r'<a href="[^"]*/console/track\?q=([^"]+)">\1</a></td>\s*<td>([^<]*)</td>', listed)
    assert {order for order, _shop in rows} == refunded  # every refunded order, and only those
    assert {shop for _order, shop in rows} >= {SHOPS[1][1]}  # the shop the incident struck, as its slices say
    # Scan errors are counted per station-hour: no orders behind them, the slices say where.
    misreads = en.get("/console/health", params={"warehouse": "WH1", "hour": made.incidents["misreads"],
                                                 "indicator": "scan_error_rate"}, headers={"Accept-Language": "en"})
    assert "By station" in misreads.text and "<h3>Orders</h3>" not in misreads.text


def test_health_page_is_scoped_and_needs_a_session(server: Running) -> None:
    make_user(server, "wang", warehouses=("WH1",))
    assert browser(server).get("/console/health", follow_redirects=False).status_code in (303, 307)
    client = log_in(server, "wang")
    assert client.get("/console/health", params={"warehouse": "WH2"}).status_code == 404
    assert client.get("/console/health", params={"warehouse": "WH1", "indicator": "nope"}).status_code == 404
    assert client.get("/console/health", params={"warehouse": "WH1", "hour": "yesterday"}).status_code == 404


def test_a_supervisor_silences_from_the_page_as_the_cli_would_and_it_is_listed_and_audited(server: Running) -> None:
    sdb = server.services.sdb
    made = seed_history(sdb, "WH1", 30, SystemClock().now(), orders_per_hour=25)
    hour = made.incidents["misreads"]
    make_user(server, "li.na", warehouses=("WH1",))
    client = log_in(server, "li.na")
    page = f"/console/health?warehouse=WH1&hour={hour}"
    drilled = client.get(page + "&indicator=scan_error_rate").text
    # The form as the drill-down shows it: the indicator drilled into chosen, the hour and it kept to come back to.
    assert re.search(r'<option value="scan_error_rate" selected>', drilled)
    form = dict(re.findall(r'<input type="hidden" name="(hour|shown)" value="([^"]*)">', drilled))
    assert parse_iso(form["hour"]) == parse_iso(hour) and form["shown"] == "scan_error_rate"
    refused = post_form(client, page, "/console/health/silence", {**form, "warehouse": "WH1", "hours": "0",
                                                                 "reason": "x", "indicator": "scan_error_rate"})
    assert refused.status_code == 400 and 'class="flag"' in refused.text  # the same drill-down, with the problem
    reply = post_form(client, page, "/console/health/silence",
                      {**form, "warehouse": "WH1", "hours": "2", "reason": "双十二大促 <b>",
                       "indicator": "scan_error_rate"})
    assert reply.status_code == 303
    assert reply.headers["location"].endswith(f"/console/health?warehouse=WH1&hour={quote(hour)}"
                                              "&indicator=scan_error_rate")
    (active,) = silences_at(sdb, "WH1", SystemClock().now())
    assert (active.indicator, active.actor, active.reason) == ("scan_error_rate", "li.na", "双十二大促 <b>")
    shown = client.get(page).text
    assert "Active silences" in shown and "li.na" in shown and "双十二大促 &lt;b&gt;" in shown
    row = re.search(r"scan error rate</a></td>(.*?)</tr>", shown, re.S)
    assert row is not None and "flagged, silenced" in row.group(1)  # still computed and shown
    with sdb.connection():
        logged = [(a.actor, a.action, a.warehouse, a.target) for a in ServerAudit.select().where(
            ServerAudit.action == "health.silence")]
    assert logged == [("li.na", "health.silence", "WH1", "scan_error_rate")]
    _, alerts = check(sdb, SystemClock(), "WH1", hour=parse_iso(hour), notify=lambda alert: "sent")
    assert not [a for a in alerts if a.reading.indicator.name == "scan_error_rate"]


def test_the_silence_form_refuses_viewers_forgeries_other_warehouses_and_bad_input(server: Running) -> None:
    make_user(server, "viewer-wang", "viewer", ("WH1",))
    make_user(server, "li.na", warehouses=("WH1",))
    viewer = log_in(server, "viewer-wang")
    assert "/console/health/silence" not in viewer.get("/console/health").text
    assert post_form(viewer, "/console/health", "/console/health/silence",
                     {"warehouse": "WH1", "hours": "2", "reason": "x"}).status_code == 403
    client = log_in(server, "li.na")
    good = {"warehouse": "WH1", "hours": "2", "reason": "campaign"}
    assert client.post("/console/health/silence", data={**good, "csrf": "forged"}).status_code == 403
    assert post_form(client, "/console/health", "/console/health/silence", {**good, "warehouse": "WH2"}).status_code \
        == 404
    assert post_form(client, "/console/health", "/console/health/silence",
                     {**good, "indicator": "nope"}).status_code == 404
    for hours in ("0", "-1", "nan", "inf", "1e9", "two"):
        reply = post_form(client, "/console/health", "/console/health/silence", {**good, "hours": hours})
        assert reply.status_code == 400 and "at most 744 hours" in reply.text, hours
    blank = post_form(client, "/console/health", "/console/health/silence", {**good, "reason": "  "})
    assert blank.status_code == 400 and "Say why" in blank.text
    assert not silences_at(server.services.sdb, "WH1", SystemClock().now())
    assert browser(server).post("/console/health/silence", data=good, follow_redirects=False).status_code == 403


def test_the_page_shows_the_kept_readings_without_evaluating(server: Running, monkeypatch: pytest.MonkeyPatch) -> None:
    sdb = server.services.sdb
    made = seed_history(sdb, "WH1", 30, SystemClock().now(), orders_per_hour=25)
    hour = made.incidents["misreads"]
    check(sdb, SystemClock(), "WH1", hour=parse_iso(hour))  # what the schedule does each hour

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("the page evaluated an hour that was kept")

    monkeypatch.setattr(stored, "evaluate", refuse)
    monkeypatch.setattr(stored, "evaluate_hours", refuse)
    make_user(server, "li.na", warehouses=("WH1",))
    page = log_in(server, "li.na").get("/console/health", params={"warehouse": "WH1", "hour": hour})
    row = re.search(r"scan error rate</a></td>(.*?)</tr>", page.text, re.S)
    assert page.status_code == 200 and row is not None and 'class="bad">flagged' in row.group(1)


# Latin a Chinese health page may show: σ's companion z, the unit h, the PDF of a report's link, and
# the seeded history's names and codes — its carriers and its one shop with a Latin name (no "UTC":
# an explanation's hour is the warehouse's). Tokens with a digit, '-' or '_' are names and codes too (WH1-BENCH-3, p90).
LATIN_ALLOWED = {"z", "h", "PDF", *CARRIERS, *re.findall(r"[A-Za-z]+", " ".join(name for _, name in SHOPS))}


def test_the_chinese_health_page_shows_no_english_outside_names_codes_and_units(server: Running) -> None:
    sdb = server.services.sdb
    made = seed_history(sdb, "WH1", 30, SystemClock().now(), orders_per_hour=25)
    make_user(server, "li.na", warehouses=("WH1",))
    client = log_in(server, "li.na")
    client.headers["Accept-Language"] = "zh-CN,zh;q=0.9"
    assert post_form(client, "/console/health", "/console/health/silence",
                     {"warehouse": "WH1", "hours": "2", "reason": "双十二大促"}).status_code == 303
    # Each planted incident's hour, drilled into the indicator it spikes: slices by station, shop, carrier.
    for incident, indicator in (("misreads", "scan_error_rate"), ("refunds", "intercept_rate"),
                                ("pickup", "not_collected")):
        page = client.get("/console/health", params={"warehouse": "WH1", "hour": made.incidents[incident],
                                                      "indicator": indicator})
        assert page.status_code == 200 and latin_words(page.text, LATIN_ALLOWED) == [], incident
        if incident == "misreads":
            assert "扫描错误率超出部分的" in page.text and "来自工位 WH1-BENCH-3" in page.text
        if incident == "pickup":  # no parcel left uncollected in the history: z in the thousands, shown capped
            row = re.search(r"交接后未揽收.*?</a></td>(.*?)</tr>", page.text, re.S)
            assert row is not None and '<td class="num">＞10σ</td>' in row.group(1), incident
    english = client.get("/console/health", params={"warehouse": "WH1", "hour": made.incidents["misreads"],
                                                     "indicator": "scan_error_rate"},
                         headers={"Accept-Language": "en"})
    assert "scan error rate" in english.text  # the check can fail: the English page has English words
