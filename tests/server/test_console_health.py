"""The console's order-health page: indicators for an hour, a drill-down with its chart and slices,
Chinese and English from the catalog, another warehouse never shown, no page without a session."""

from __future__ import annotations

import re

from console_harness import browser, close_browsers, log_in, make_user
from server_harness import Running

from app.clock import SystemClock, parse_iso
from server.health.seed import seed_history

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


def test_health_page_is_scoped_and_needs_a_session(server: Running) -> None:
    make_user(server, "wang", warehouses=("WH1",))
    assert browser(server).get("/console/health", follow_redirects=False).status_code in (303, 307)
    client = log_in(server, "wang")
    assert client.get("/console/health", params={"warehouse": "WH2"}).status_code == 404
    assert client.get("/console/health", params={"warehouse": "WH1", "indicator": "nope"}).status_code == 404
    assert client.get("/console/health", params={"warehouse": "WH1", "hour": "yesterday"}).status_code == 404
