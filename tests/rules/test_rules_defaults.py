"""Every shipped default rule: a case that fires it and a case that must not, on real store rows."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest

from app.clock import FakeClock
from app.i18n import translator
from app.rules import RuleBook, evaluate, run_rules
from app.store import Store
from app.store.models import ExceptionCase, Order, OrderLine
from tests.rules.builders import hand_over, hours_ago, order, pack, product, set_status, track

Scenario = Callable[[FakeClock], str]  # builds rows, returns the order id to evaluate
BOOK = RuleBook()


def _stock(stock: int, sold_before: int, days_ago: float) -> Scenario:
    def build(clock: FakeClock) -> str:
        product("HOT-1", stock=stock)
        for n in range(sold_before // 7):
            order(clock, f"OLD-{n}", [("HOT-1", 7)], created=hours_ago(clock, days_ago * 24))
        return order(clock, "O-1", [("HOT-1", 1)]).order_id
    return build


def _packed(status: str = "packed", *, events: tuple[tuple[str, float], ...] = (), advance_h: float = 0,
            handed: bool = False, **kw: object) -> Scenario:
    """An order packed now; tracking events (status, hours before now); then the clock moves on."""
    def build(clock: FakeClock) -> str:
        row = order(clock, "O-1", [("MUG-1", 2)])
        shipment = pack(clock, row, **kw)  # type: ignore[arg-type]
        if handed:
            hand_over(clock, shipment)
        for status_, hours in events:
            track(clock, shipment, status_, hours_ago(clock, hours))
        if status != "packed":
            set_status(row, status)
        clock.advance(hours=advance_h)
        return row.order_id
    return build


def _order(**kw: object) -> Scenario:
    return lambda clock: order(clock, "O-1", **kw).order_id  # type: ignore[arg-type]


def _unpaid(hours: float) -> Scenario:
    return lambda clock: order(clock, "O-1", status="new", created=hours_ago(clock, hours)).order_id


# rule id → (scenarios that must fire it, scenarios that must not)
SCENARIOS: dict[str, tuple[list[Scenario], list[Scenario]]] = {
    "address_phone": ([_order(phone="1381234567"), _order(phone="138 1234 56789"), _order(phone="")],
                      [_order(phone="13812345678"), _order(phone="+86 138-1234-5678"), _order(phone="0571-88886666"),
                       _order(phone="1381234567", status="shipped")]),
    "address_hold_words": ([_order(address="四川省成都市锦江区春熙路 1 号 菜鸟驿站代收"),
                            _order(address="北京市朝阳区 门卫暂存")],
                           [_order(), _order(address="成都市 菜鸟驿站", status="shipped")]),
    "stock_gap": ([_stock(stock=3, sold_before=21, days_ago=2)],
                  [_stock(stock=5, sold_before=21, days_ago=2), _stock(stock=3, sold_before=14, days_ago=2),
                   _stock(stock=3, sold_before=21, days_ago=8)]),
    "payment_mismatch": ([_order(paid=3000), _order(paid=5000)],
                         [_order(), _order(paid=0), _order(paid=3000, status="cancelled")]),
    "unpaid_timeout": ([_unpaid(25)],
                       [_unpaid(23), lambda clock: order(clock, "O-1", created=hours_ago(clock, 30)).order_id]),
    "tracking_stalled": ([_packed(events=(("picked_up", 0),), advance_h=25),
                          _packed(events=(("picked_up", 0), ("in_transit", -5)), advance_h=30)],
                         [_packed(events=(("picked_up", 0),), advance_h=23), _packed(advance_h=48),
                          _packed(events=(("picked_up", 0), ("delivered", -20)), advance_h=48)]),
    "out_for_delivery_stuck": ([_packed(events=(("picked_up", 0), ("out_for_delivery", -10)), advance_h=59)],
                               [_packed(events=(("picked_up", 0), ("out_for_delivery", -10)), advance_h=57),
                                _packed(events=(("out_for_delivery", 0), ("delivered", -2)), advance_h=72)]),
    "delivered_disputed": ([_packed("refunded", events=(("picked_up", 30), ("delivered", 2))),
                            _packed(events=(("delivered", 20), ("returned", 2)))],
                           [_packed("shipped", events=(("picked_up", 30), ("delivered", 2))),
                            _packed("refunded", events=(("picked_up", 2),))]),
    "pack_mismatch": ([_packed(items={"MUG-1": 1}, short=True)], [_packed()]),
    "weight_mismatch": ([_packed(weight_g=1100, expected_g=1000), _packed(weight_g=55, expected_g=100)],
                        [_packed(weight_g=1040, expected_g=1000), _packed(weight_g=125, expected_g=100)]),
    "not_handed_over": ([_packed(advance_h=13)], [_packed(advance_h=11), _packed(advance_h=13, handed=True)]),
    "intercept": ([_packed("cancelled"), _packed("refunded", events=(("picked_up", 1),))],
                  [_packed(), _packed("cancelled", events=(("delivered", 1),)), _order(status="cancelled")]),
    "restricted_goods": ([_order(lines=[("PB-1", 1)], line_names={"PB-1": "罗马仕 充电宝 10000mAh 移动电源"}),
                          _order(lines=[("SPRAY-1", 1)], line_names={"SPRAY-1": "Hair spray AEROSOL 200 ml"})],
                         [_order(), _order(lines=[("PB-1", 1)], line_names={"PB-1": "充电宝"}, status="shipped")]),
}
CASES = [(rule_id, sign, n, build) for rule_id, (positives, negatives) in SCENARIOS.items()
         for sign, builds in (("fires", positives), ("quiet", negatives)) for n, build in enumerate(builds)]


def test_every_default_rule_has_a_positive_and_a_negative_case() -> None:
    ids = {rule.id for rule in BOOK.defaults.rules}
    assert ids == set(SCENARIOS)
    assert all(pos and neg for pos, neg in SCENARIOS.values())
    tags = {rule.tag for rule in BOOK.defaults.rules}
    assert {"address_risk", "stock_gap", "payment_anomaly", "logistics_anomaly", "pack_mismatch", "weight_mismatch",
            "not_handed_over", "intercept", "compliance"} <= tags


@pytest.mark.parametrize(("rule_id", "sign", "n", "build"), CASES, ids=[f"{r}-{s}-{n}" for r, s, n, _ in CASES])
def test_default_rule(store: Store, clock: FakeClock, rule_id: str, sign: str, n: int, build: Scenario) -> None:
    order_id = build(clock)
    rule = BOOK.defaults.get(rule_id)
    assert rule is not None
    hits = [item.order_id for batch in evaluate(store, clock, [rule], [order_id]) for _, item in batch]
    assert hits == ([order_id] if sign == "fires" else [])
    # Through the engine with each of the rule's own triggers: one case, or none.
    for trigger in sorted(rule.when):
        run_rules(store, clock, BOOK.defaults, trigger, [order_id])
    cases = list(ExceptionCase.select().where(ExceptionCase.rule_id == rule_id))
    assert len(cases) == (1 if sign == "fires" else 0)
    if cases:
        case = cases[0]
        assert case.tag == rule.tag and case.severity == rule.severity and case.route == rule.route
        if rule.key == "sku":  # one case per SKU, listing its orders, tied to none of them
            assert case.order is None and json.loads(case.detail)["orders"] == [order_id]
            expected_key = case.dedupe_key.split(":", 1)[1]
            skus = {line.sku for line in OrderLine.select().join(Order).where(Order.order_id == order_id)}
            assert expected_key in skus
        else:
            assert case.order.order_id == order_id
            expected_key = case.shipment.tracking_no if rule.key == "parcel" else order_id
        assert case.dedupe_key == f"{rule_id}:{expected_key}"
        assert case.sop and case.title.endswith(rule.title)


def test_every_default_rule_is_worded_in_english_with_chinese_in_the_catalog() -> None:
    """A shipped rule's title and SOP are English msgids; the Chinese comes from the catalog."""
    for rule in BOOK.defaults.rules:
        for text in (rule.title, rule.sop):
            assert not any("\u4e00" <= ch <= "\u9fff" for ch in text), rule.id
            chinese = translator("zh_CN").gettext(text)
            assert chinese != text and any("\u4e00" <= ch <= "\u9fff" for ch in chinese), (rule.id, text)
        assert sum(ch.isascii() and ch.isalpha() for ch in rule.sop) > 40, rule.id
