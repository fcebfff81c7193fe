"""The Reconciliation page: rows, deviations over the threshold, drill-down lists, CSV/XLSX, scope and XSS."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from console_harness import browser, close_browsers, log_in, make_user
from openpyxl import load_workbook
from reconciliation_scenario import packed_and_handed_over
from server_harness import Running, Station

from app.clock import SystemClock
from server.console.reconcile import order_list, rows
from server.intake import import_orders

__all__ = ["close_browsers"]
HOSTILE = '<script>alert(1)</script>"=cmd|\' /C calc\'!A0'
ORDERS = f"""order_id,shop,status,paid_at,line_no,sku,qty
A-1,Flagship,paid,2026-11-24T10:00:00+08:00,1,SKU1,1
A-2,Flagship,paid,2026-11-24T11:00:00+08:00,1,SKU1,1
A-3,Outlet,paid,2026-11-25T09:00:00+08:00,1,SKU1,1
A-4,Outlet,cancelled,2026-11-25T09:30:00+08:00,1,SKU1,1
A-5,"{HOSTILE.replace('"', '""')}",paid,2026-11-25T09:40:00+08:00,1,SKU1,1
"""
RANGE = "from=2026-11-24&to=2026-11-25"


@pytest.fixture
def scenario(server: Running, station: Station, tmp_path: Path) -> Running:
    packed_and_handed_over(server, station, ORDERS, tmp_path)
    make_user(server, "zhang", "viewer", ("WH1",))
    return server


def test_rows_deviations_and_lists_agree(scenario: Running) -> None:
    svc = scenario.services
    from datetime import date

    found = {(r.shop, r.day.isoformat()): r for r in rows(svc.sdb, "WH1", date(2026, 11, 24), date(2026, 11, 25),
                                                           svc.config.zone)}
    flagship = found[("Flagship", "2026-11-24")]
    assert (flagship.orders, flagship.packed, flagship.handed_over, flagship.accepted) == (2, 1, 1, 1)
    assert flagship.deviations() == {"packed": 50.0, "handed_over": 0.0, "carrier": 0.0}
    outlet = found[("Outlet", "2026-11-25")]
    # A-3's second parcel (SF…033) stayed behind: the order is not handed over until all its parcels are.
    assert outlet.lists == {"not_packed": 0, "packed_but_cancelled": 1, "packed_not_handed_over": 2,
                            "handed_over_not_accepted": 0, "duplicates": 1}
    assert outlet.deviations() == {"packed": 0.0, "handed_over": 100.0, "carrier": 0.0}
    assert found[("", "2026-11-25")].lists == {"packed_not_on_platform": 1}
    for (shop, day), row in found.items():
        for name, count in row.lists.items():
            ids = order_list(svc.sdb, "WH1", date.fromisoformat(day), shop, name, svc.config.zone)
            assert len(ids) == count, (shop, day, name)
    assert order_list(svc.sdb, "WH1", date(2026, 11, 25), "Outlet", "packed_not_handed_over",
                      svc.config.zone) == ["A-3", "A-4"]


def test_page_marks_rows_over_the_threshold_and_drills_down(scenario: Running) -> None:
    client = log_in(scenario, "zhang")
    page = client.get(f"/console/reconciliation?warehouse=WH1&{RANGE}")
    assert page.status_code == 200
    assert page.text.count('<tr class="over">') == 3  # Flagship 50 %, Outlet 100 %, the hostile shop 100 %
    assert "GHOST-1" not in page.text and "(not on the platform)" in page.text
    drill = client.get("/console/reconciliation/orders?warehouse=WH1&day=2026-11-24&shop=Flagship&list=not_packed")
    assert drill.status_code == 200 and "A-2" in drill.text and "A-1" not in drill.text
    ghost = client.get("/console/reconciliation/orders?warehouse=WH1&day=2026-11-25&shop=&list=packed_not_on_platform")
    assert "GHOST-1" in ghost.text
    assert client.get("/console/reconciliation/orders?warehouse=WH1&day=2026-11-25&list=bogus").status_code == 404
    assert client.get("/console/reconciliation/orders?warehouse=WH1&day=not-a-day").status_code == 404
    bad = client.get("/console/reconciliation?warehouse=WH1&from=2026-11-25&to=2026-11-01")
    assert bad.status_code == 200 and "after the last day" in bad.text
    assert "YYYY-MM-DD" in client.get("/console/reconciliation?from=yesterday").text
    client.headers["Accept-Language"] = "zh-CN"  # the refusal in the user's language
    bad = client.get("/console/reconciliation?warehouse=WH1&from=2026-11-25&to=2026-11-01")
    assert "起始日期晚于结束日期" in bad.text and "after the last day" not in bad.text
    assert "一次最多 93 天" in client.get("/console/reconciliation.csv?from=2026-01-01&to=2026-11-01").text


def test_hostile_shop_names_are_text_in_the_page_and_the_exports(scenario: Running) -> None:
    client = log_in(scenario, "zhang")
    page = client.get(f"/console/reconciliation?warehouse=WH1&{RANGE}").text
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    exported = client.get(f"/console/reconciliation.csv?warehouse=WH1&{RANGE}")
    assert exported.status_code == 200 and exported.headers["content-type"].startswith("text/csv")
    assert "attachment" in exported.headers["content-disposition"]
    table = list(csv.reader(io.StringIO(exported.content.decode("utf-8-sig"))))
    assert table[0][:3] == ["Shop", "Day", "Platform orders"]
    hostile = next(r for r in table if "script" in r[0])
    assert hostile[0].startswith("'<script>") or hostile[0] == HOSTILE  # starts with '<': no formula risk
    assert any(r[0] == "Flagship" and r[-1] == "50.0" for r in table)
    xlsx = client.get(f"/console/reconciliation.xlsx?warehouse=WH1&{RANGE}")
    sheet = load_workbook(io.BytesIO(xlsx.content)).active
    values = [[c.value for c in row] for row in sheet.iter_rows()]
    assert values[0][0] == "Shop" and any(r[0] == "Flagship" and r[2] == 2 for r in values[1:])
    assert all(c.data_type != "f" for row in sheet.iter_rows() for c in row)  # no cell is a formula


def test_formula_like_shop_is_defused(scenario: Running, tmp_path: Path) -> None:
    path = tmp_path / "more.csv"
    path.write_text("order_id,shop,status,paid_at,line_no,sku,qty\n"
                    "B-1,=HYPERLINK(\"http://x\"),paid,2026-11-24T10:00:00+08:00,1,SKU1,1\n", encoding="utf-8")
    svc = scenario.services
    import_orders(svc.sdb, path, "canonical", "WH1", SystemClock(), svc.config.zone)
    client = log_in(scenario, "zhang")
    table = list(csv.reader(io.StringIO(client.get(f"/console/reconciliation.csv?warehouse=WH1&{RANGE}")
                                        .content.decode("utf-8-sig"))))
    assert [r[0] for r in table if "HYPERLINK" in r[0]] == ["'=HYPERLINK(\"http://x\")"]
    sheet = load_workbook(io.BytesIO(client.get(f"/console/reconciliation.xlsx?warehouse=WH1&{RANGE}").content)).active
    assert any(c.value == "'=HYPERLINK(\"http://x\")" and c.data_type == "s" for row in sheet.iter_rows() for c in row)


def test_no_export_without_a_session_and_no_other_warehouse(scenario: Running) -> None:
    anonymous = browser(scenario)
    for path in (f"/console/reconciliation?warehouse=WH1&{RANGE}", f"/console/reconciliation.csv?warehouse=WH1&{RANGE}",
                 f"/console/reconciliation.xlsx?warehouse=WH1&{RANGE}",
                 "/console/reconciliation/orders?warehouse=WH1&day=2026-11-24&shop=Flagship&list=not_packed"):
        assert anonymous.get(path).status_code == 303
    make_user(scenario, "other", "admin", ("WH2",))
    other = log_in(scenario, "other")
    for path in (f"/console/reconciliation?warehouse=WH1&{RANGE}", f"/console/reconciliation.csv?warehouse=WH1&{RANGE}",
                 "/console/reconciliation/orders?warehouse=WH1&day=2026-11-24&shop=Flagship&list=not_packed"):
        assert other.get(path).status_code == 404
    own = other.get(f"/console/reconciliation?{RANGE}").text  # their own warehouse: nothing of WH1
    assert "Flagship" not in own and "A-2" not in own
