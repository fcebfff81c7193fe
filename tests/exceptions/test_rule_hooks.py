"""Rules run after an import commits and after each stored pull page; a rule failure never fails either."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from app import cases
from app.clock import FakeClock
from app.config import StationConfig
from app.importers import import_orders
from app.store import Store
from app.store.models import ExceptionCase, Order
from sync.pull import pull_feed
from tests.sync.fakes import FakeApi, order_out, tracking_out

HEADER = ("order_id,platform,shop,status,buyer,receiver_name,receiver_phone,receiver_address,created_at,paid_at,"
          "ship_by,total,paid,carrier,tracking_no,note,line_no,sku,name,qty,unit_price")


def orders_csv(tmp_path: Path, *rows: str) -> Path:
    path = tmp_path / "orders.csv"
    path.write_text("\n".join((HEADER, *rows)) + "\n", encoding="utf-8")
    return path


def row(order_id: str, phone: str, address: str = "浙江省杭州市西湖区文三路 90 号") -> str:
    return (f"{order_id},taobao,main,paid,buyer,张伟,{phone},{address},2026-11-25 09:00:00,2026-11-25 09:01:00,,"
            "9.90,9.90,SF,,,1,SKU-1,One,1,9.90")


def live_tags(order_id: str) -> set[tuple[str, str]]:
    return {(c.tag, c.rule_id) for c in ExceptionCase.select().join(Order).where(Order.order_id == order_id)}


def test_an_import_opens_cases_for_its_orders(store: Store, clock: FakeClock, tmp_path: Path) -> None:
    path = orders_csv(tmp_path, row("IMP-1", "1381234567"), row("IMP-2", "13812345678"),
                      row("IMP-3", "13812345679", "上海市浦东新区 菜鸟驿站代收"))
    report = import_orders(store, path, "canonical", clock)
    assert report.created == 3
    assert live_tags("IMP-1") == {("address_risk", "address_phone")}  # a 10-digit mobile
    assert live_tags("IMP-2") == set()
    assert live_tags("IMP-3") == {("address_risk", "address_hold_words")}
    # Importing the same file again opens nothing new (the cases are still live).
    import_orders(store, path, "canonical", clock)
    assert ExceptionCase.select().count() == 2


def test_a_failing_rule_run_never_fails_the_import(store: Store, clock: FakeClock, tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch,
                                                   caplog: pytest.LogCaptureFixture) -> None:
    import app.rules

    def broken(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("rules exploded")

    monkeypatch.setattr(app.rules, "run_rules", broken)
    report = import_orders(store, orders_csv(tmp_path, row("IMP-9", "1381234567")), "canonical", clock)
    assert report.created == 1 and Order.select().where(Order.order_id == "IMP-9").exists()
    assert ExceptionCase.select().count() == 0
    assert any("the import stands" in r.getMessage() for r in caplog.records)


def test_an_orders_page_runs_the_order_change_rules(store: Store, clock: FakeClock) -> None:
    api = FakeApi()
    api.feeds["orders"] = [order_out("PL-1", receiver_phone="1381234567"), order_out("PL-2")]
    report = pull_feed(store, api, clock, "orders")
    assert report.items == 2
    assert live_tags("PL-1") == {("address_risk", "address_phone")}
    assert live_tags("PL-2") == set()


def test_a_tracking_page_runs_the_tracking_rules_on_the_orders_of_its_parcels(store: Store,
                                                                              clock: FakeClock) -> None:
    api = FakeApi()
    api.feeds["orders"] = [order_out("PL-7", status="shipped", tracking_no="SF1400000000001")]
    pull_feed(store, api, clock, "orders")
    assert ExceptionCase.select().count() == 0
    api.feeds["tracking"] = [tracking_out(1, status="delivered"), tracking_out(2, status="exception")]
    pull_feed(store, api, clock, "tracking")
    assert live_tags("PL-7") == {("logistics_anomaly", "delivered_disputed")}


def test_a_failing_rule_run_never_fails_the_pull(store: Store, clock: FakeClock, monkeypatch: pytest.MonkeyPatch,
                                                 caplog: pytest.LogCaptureFixture) -> None:
    import app.rules

    def broken(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("rules exploded")

    monkeypatch.setattr(app.rules, "run_rules", broken)
    api = FakeApi()
    api.feeds["orders"] = [order_out("PL-3", receiver_phone="1381234567")]
    api.feeds["tracking"] = [tracking_out(1)]
    assert pull_feed(store, api, clock, "orders").items == 1
    assert pull_feed(store, api, clock, "tracking").items == 1
    assert Order.select().where(Order.order_id == "PL-3").exists()
    assert any("exception rules failed" in r.getMessage() for r in caplog.records)


def test_build_runtime_registers_the_notifier_only_with_a_url(demo_store: Store, clock: FakeClock) -> None:
    from drivers.printers.simulated import SimulatedPrinter
    from wiring import build_runtime

    before = list(cases.case_listeners)
    runtime = build_runtime(demo_store, demo_store.path.parent, StationConfig(station="T-1"), clock,
                            SimulatedPrinter(), None, None)
    assert cases.case_listeners == before
    runtime.stop()
    config = StationConfig(station="T-1")
    config.notify_url = "http://127.0.0.1:9/robot"  # type: ignore[attr-defined]  (field to come)
    runtime = build_runtime(demo_store, demo_store.path.parent, config, clock, SimulatedPrinter(), None, None)
    try:
        assert len(cases.case_listeners) == len(before) + 1
    finally:
        runtime.stop()
    assert cases.case_listeners == before
