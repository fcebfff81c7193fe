"""Every console page a Chinese user reads, in the states the browser test does not reach — the log-in form
and its refusal, an alert listed, a case in the queue, a parcel's trail, a range refused, an unknown list,
an empty health page — shows no Latin word outside names, codes and units (docs/i18n.md)."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import date

import httpx
import test_console_reconciliation
from console_harness import browser, close_browsers, csrf_of, latin_words, log_in, make_user
from server_harness import Running, Station
from test_console_exceptions import _opened
from test_console_reconciliation import HOSTILE, RANGE

from app.clock import SystemClock
from server.alerts.channels import AlertChannel
from server.alerts.reconciliation import check
from server.alerts.store import deliver_due

__all__ = ["close_browsers"]
scenario = test_console_reconciliation.scenario  # fixture
CHINESE = {"Accept-Language": "zh-CN,zh;q=0.9"}
# The product's name; the scenario's names and codes: its shops (one hostile), user, carrier, alert channel,
# the case's tag; the language button's "English", the export formats and the health page's units (z, h).
ALLOWED = {"PackBench", "Flagship", "Outlet", "boss", "SF", "bi", "overweight", "English", "CSV", "XLSX", "PDF",
           "z", "h", *re.findall(r"[A-Za-z]+", HOSTILE)}
PAGES = {"today": "/console/", "reconciliation": f"/console/reconciliation?warehouse=WH1&{RANGE}",
         "range refused": "/console/reconciliation?warehouse=WH1&from=2026-11-25&to=2026-11-01",
         "day refused": "/console/reconciliation?warehouse=WH1&from=yesterday",
         "drill-down": "/console/reconciliation/orders?warehouse=WH1&day=2026-11-24&shop=Flagship&list=not_packed",
         "unknown list": "/console/reconciliation/orders?warehouse=WH1&day=2026-11-24&list=bogus",
         "export refused": "/console/reconciliation.csv?warehouse=WH1&from=2026-01-01&to=2026-11-01",
         "exceptions": "/console/exceptions?warehouse=WH1", "trail": "/console/track?q=A-3",
         "nothing found": "/console/track?q=NO-SUCH-ORDER", "alerts": "/console/alerts",
         "stations": "/console/stations", "health": "/console/health?warehouse=WH1"}


def test_every_console_page_in_chinese_shows_no_english_outside_names_and_codes(scenario: Running,
                                                                                 station: Station) -> None:
    station.push(_opened(station, 1, "overweight", "warning", "超重"))
    config = replace(scenario.services.config, alert_channels=(AlertChannel("bi", "webhook", "http://127.0.0.1:9/x"),))
    assert check(scenario.services.sdb, config, SystemClock(), "WH1", [date(2026, 11, 24)]).raised
    deliver_due(scenario.services.sdb, SystemClock(), config.alert_channels, lambda _c, _m: None)
    make_user(scenario, "boss", "admin", ("WH1",))  # the stations page is an admin's
    client = log_in(scenario, "boss")
    client.headers.update(CHINESE)
    found = {name: client.get(path) for name, path in PAGES.items()}
    assert {name: reply.status_code for name, reply in found.items() if reply.status_code not in (200, 400, 404)} == {}
    assert "对账偏差 50.00%" in found["alerts"].text and "超重" in found["exceptions"].text  # the states are there
    assert {name: words for name, reply in found.items() if (words := latin_words(reply.text, ALLOWED))} == {}
    english = client.get(PAGES["range refused"], headers={"Accept-Language": "en"})
    assert latin_words(english.text, ALLOWED)  # the check can fail: the English page has English words


def test_the_chinese_log_in_form_and_its_refusal(scenario: Running) -> None:
    make_user(scenario, "li.na")
    client: httpx.Client = browser(scenario)
    client.headers.update(CHINESE)
    form = client.get("/console/login")
    refused = client.post("/console/login", data={"name": "li.na", "password": "wrong", "csrf": csrf_of(form.text),
                                                  "next": "/console/"})
    assert refused.status_code == 401 and "用户名或密码错误" in refused.text
    assert latin_words(form.text, ALLOWED) == [] and latin_words(refused.text, ALLOWED) == []
