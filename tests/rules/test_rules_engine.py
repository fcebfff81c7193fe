"""The engine on a real store: time-based rules on an injected clock, no duplicate cases, several tags
per order, resolved cases, the pack-flow blocking check, and the built-in checks' keys."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest

from app.cases import open_overdue_handover_cases, transition
from app.clock import FakeClock
from app.rules import RuleBook, blocking_rules, order_ids_for_waybills, run_rules
from app.store import Store
from app.store.models import AuditEntry, ExceptionCase, Order, Outbox
from tests.rules.builders import hand_over, order, pack, set_status, track

BOOK = RuleBook()
RULES = BOOK.defaults


def _cases(rule_id: str | None = None) -> list[ExceptionCase]:
    query = ExceptionCase.select().order_by(ExceptionCase.id)
    return list(query.where(ExceptionCase.rule_id == rule_id) if rule_id else query)


def test_no_tracking_update_24h_after_pickup_on_the_timer(store: Store, clock: FakeClock) -> None:
    shipment = pack(clock, order(clock, "O-1"))
    hand_over(clock, shipment)
    track(clock, shipment, "picked_up")
    clock.advance(hours=23, minutes=59)
    assert run_rules(store, clock, RULES, "timer") == []
    clock.advance(minutes=2)
    [case] = run_rules(store, clock, RULES, "timer")
    assert (case.rule_id, case.tag, case.dedupe_key) == ("tracking_stalled", "logistics_anomaly",
                                                         f"tracking_stalled:{shipment.tracking_no}")
    assert case.shipment.id == shipment.id and case.opened_at == "2026-11-26T02:01:00.000Z"
    clock.advance(hours=30)
    assert run_rules(store, clock, RULES, "timer") == []  # still stalled: the live case is enough
    assert len(_cases("tracking_stalled")) == 1


def test_out_for_delivery_48h_without_signature(store: Store, clock: FakeClock) -> None:
    shipment = pack(clock, order(clock, "O-1"))
    hand_over(clock, shipment)
    track(clock, shipment, "picked_up")
    clock.advance(hours=20)
    track(clock, shipment, "out_for_delivery")
    assert [c.rule_id for c in run_rules(store, clock, RULES, "tracking")] == []
    clock.advance(hours=30)
    track(clock, shipment, "out_for_delivery")  # a second attempt does not restart the 48 h
    clock.advance(hours=18, seconds=1)
    assert [c.rule_id for c in run_rules(store, clock, RULES, "timer")] == ["out_for_delivery_stuck"]
    # Delivered: the case stays for the supervisor, nothing new opens.
    track(clock, shipment, "delivered")
    assert run_rules(store, clock, RULES, "tracking") == []


def test_rerunning_never_duplicates_an_open_case(store: Store, clock: FakeClock) -> None:
    order(clock, "O-1", phone="1381234567", address="成都市 菜鸟驿站代收")
    first = run_rules(store, clock, RULES, "import")
    assert sorted(c.rule_id for c in first) == ["address_hold_words", "address_phone"]
    audit_entries, outbox = AuditEntry.select().count(), Outbox.select().count()
    for trigger in ("import", "order_change", "all", "all"):
        assert run_rules(store, clock, RULES, trigger) == []
    assert len(_cases()) == 2
    assert (AuditEntry.select().count(), Outbox.select().count()) == (audit_entries, outbox)
    transition(store, clock, first[0].id, "acknowledged", "李强")
    assert run_rules(store, clock, RULES, "all") == []  # acknowledged is still live


def test_several_tags_on_one_order(store: Store, clock: FakeClock) -> None:
    order(clock, "O-1", [("PB-1", 1)], phone="1381234567", address="北京市 驿站代收", paid=100,
          line_names={"PB-1": "充电宝 20000mAh"})
    cases = run_rules(store, clock, RULES, "import")
    assert sorted((c.tag, c.rule_id) for c in cases) == [
        ("address_risk", "address_hold_words"), ("address_risk", "address_phone"), ("compliance", "restricted_goods"),
        ("payment_anomaly", "payment_mismatch")]
    assert {c.order.order_id for c in cases} == {"O-1"}


def test_a_resolved_case_stays_resolved_until_its_facts_change(store: Store, clock: FakeClock) -> None:
    row = order(clock, "O-1", phone="1381234567")
    [case] = run_rules(store, clock, RULES, "import")
    detail = json.loads(case.detail)
    assert detail["facts"]["order.receiver_phone"] == "138****4567"  # masked, as everywhere a case is shown
    assert detail["trigger"] == "import" and detail["rules_version"] == 1
    transition(store, clock, case.id, "resolved", "李强", "买家确认号码无误 / buyer confirmed the number")
    assert run_rules(store, clock, RULES, "all") == []
    Order.update(receiver_phone="1391234567").where(Order.id == row.id).execute()  # another wrong number
    [again] = run_rules(store, clock, RULES, "order_change")
    assert again.dedupe_key == case.dedupe_key and again.id != case.id


def test_blocking_rules_for_the_pack_flow(store: Store, clock: FakeClock) -> None:
    bad = order(clock, "O-1", [("PB-1", 1)], phone="1381234567", address="驿站代收", line_names={"PB-1": "锂电池"})
    good = order(clock, "O-2")
    # No trigger ran yet: the check evaluates the blocking rules itself, and only those.
    assert [r.id for r in blocking_rules(store, clock, RULES, bad)] == ["address_phone", "restricted_goods"]
    assert {c.rule_id for c in _cases()} == {"address_phone", "restricted_goods"}
    assert blocking_rules(store, clock, RULES, good) == []
    assert len(_cases()) == 2
    for case in _cases():
        transition(store, clock, case.id, "resolved", "李强", "已核实 / checked")
    assert blocking_rules(store, clock, RULES, bad) == []  # a supervisor resolved them: packing may go on


def test_rule_and_builtin_handover_check_share_one_case(store: Store, clock: FakeClock) -> None:
    shipment = pack(clock, order(clock, "O-1"))
    clock.advance(hours=13)
    assert open_overdue_handover_cases(store, clock, "T-1", timedelta(hours=12)) == 1
    assert run_rules(store, clock, RULES, "timer") == []
    [case] = _cases()
    assert case.dedupe_key == f"not_handed_over:{shipment.tracking_no}"
    other = pack(clock, order(clock, "O-2"))
    clock.advance(hours=13)
    assert [c.dedupe_key for c in run_rules(store, clock, RULES, "timer")] == [f"not_handed_over:{other.tracking_no}"]
    assert open_overdue_handover_cases(store, clock, "T-1", timedelta(hours=12)) == 0


def test_intercept_after_a_cancellation_then_tracking_finds_the_order(store: Store, clock: FakeClock) -> None:
    row = order(clock, "O-1")
    shipment = pack(clock, row)
    assert run_rules(store, clock, RULES, "order_change") == []
    set_status(row, "cancelled")
    [case] = run_rules(store, clock, RULES, "import", ["O-1"])
    assert (case.dedupe_key, case.severity) == ("intercept:O-1", "critical")
    assert order_ids_for_waybills(store, [shipment.tracking_no, "SF0"]) == ["O-1"]


def test_disabled_rules_and_unknown_order_ids(store: Store, clock: FakeClock) -> None:
    order(clock, "O-1", phone="1381234567")
    book = RuleBook()
    quiet = book.load('version = 2\n[[rule]]\nid = "address_phone"\nenabled = false\n')
    assert run_rules(store, clock, quiet, "all", ["O-1", "NOPE"]) == []
    assert run_rules(store, clock, RULES, "all", ["NOPE"]) == []
    assert [c.rule_id for c in run_rules(store, clock, RULES, "all", ["O-1"])] == ["address_phone"]


def test_demo_store_raises_the_pickup_point_order(demo_store: Store, clock: FakeClock) -> None:
    cases = run_rules(demo_store, clock, RULES, "import")
    assert [(c.order.order_id, c.rule_id) for c in cases] == [("TB2026112500006", "address_hold_words")]


def test_since_leaves_out_orders_not_created_or_changed_lately(store: Store, clock: FakeClock) -> None:
    order(clock, "OLD", phone="1381234567")
    clock.advance(days=40)
    order(clock, "NEW", phone="1381234567")
    cases = run_rules(store, clock, RULES, "all", since=clock.now() - timedelta(days=30))
    assert [c.order.order_id for c in cases] == ["NEW"]
    assert [c.order.order_id for c in run_rules(store, clock, RULES, "all", ["OLD", "NEW"])] == ["OLD"]


def test_a_value_of_the_wrong_type_in_the_store_skips_that_rule_for_that_order(store: Store, clock: FakeClock,
                                                                               caplog: Any) -> None:
    order(clock, "O-1", [("ODD-1", 1)], phone="1381234567")
    store.db.execute_sql("UPDATE product SET stock = 'n/a' WHERE sku = 'ODD-1'")  # SQLite keeps it as text
    cases = run_rules(store, clock, RULES, "all")
    assert [c.rule_id for c in cases] == ["address_phone"]
    assert "rule stock_gap failed on order O-1" in caplog.text


def test_a_builtin_case_a_supervisor_resolved_is_not_reopened_by_the_rule(store: Store, clock: FakeClock) -> None:
    pack(clock, order(clock, "O-1"))
    clock.advance(hours=13)
    open_overdue_handover_cases(store, clock, "T-1", timedelta(hours=12))
    [case] = _cases()
    transition(store, clock, case.id, "resolved", "李强", "客户自提 / collected by the buyer")
    assert run_rules(store, clock, RULES, "timer") == []


def test_an_unknown_trigger_is_an_error(store: Store, clock: FakeClock) -> None:
    with pytest.raises(ValueError, match="unknown trigger 'orders_change'"):
        run_rules(store, clock, RULES, "orders_change")
