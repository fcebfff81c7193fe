"""Cursor pulls: pages applied through the importers, the cursor stored in the page's transaction,
intercepts for orders cancelled after packing, tracking events appended once."""

from __future__ import annotations

import json
from typing import Any

import pytest

from app.barcodes import gtin_key
from app.cases import case_sop, case_title, detail_words
from app.clock import FakeClock
from app.pack.flow import PackFlow
from app.store import Store
from app.store.models import (
    AuditEntry,
    ExceptionCase,
    Order,
    OrderLine,
    Product,
    ProductBarcode,
    SyncCursor,
    TrackingEvent,
)
from sync import pull
from sync.pull import get_cursor, pull_feed, tracking_trail
from tests.helpers import scan, weigh
from tests.sync import fakes
from tests.sync.fakes import FakeApi, order_out, product_out, tracking_out

api = fakes.api  # fixture

PACKER, ORDER = "B-1001", "TB2026112500001"


def ean(body12: str) -> str:
    from app.barcodes import gtin_check_digit
    return body12 + str(gtin_check_digit(body12))


def test_orders_are_pulled_page_by_page_and_the_cursor_kept(store: Store, clock: FakeClock, api: FakeApi) -> None:
    api.feeds["orders"] = [order_out(f"TB{i:06d}", skus=("A", "B") if i % 2 else ("A",)) for i in range(2500)]
    report = pull_feed(store, api, clock, "orders", limit=1000)
    assert (report.items, report.pages) == (2500, 3)
    assert [c for _, c, _ in api.requests] == [None, "1000", "2000"]
    assert get_cursor("orders") == "2500"
    assert Order.select().count() == 2500 and OrderLine.select().count() == 3750
    o = Order.get(Order.order_id == "TB000001")
    assert (o.status, o.receiver_phone, o.total_cents, o.created_at) == ("paid", "13800138000", 1980,
                                                                        "2026-11-25T01:00:00.000Z")
    audit = AuditEntry.select().where(AuditEntry.kind == "import.orders").order_by(AuditEntry.seq)
    assert [json.loads(a.payload)["rows"] for a in audit] == [1000, 1000, 500]
    assert json.loads(audit[0].payload)["sha256"] == "orders-0"
    api.requests.clear()
    again = pull_feed(store, api, clock, "orders")
    assert again.items == 0 and api.requests == [("orders", "2500", 500)]


def test_a_changed_order_is_updated_and_a_bound_waybill_kept(store: Store, clock: FakeClock, api: FakeApi) -> None:
    api.feeds["orders"] = [order_out("TB1", tracking_no="SF1400000000009"), order_out("TB2")]
    pull_feed(store, api, clock, "orders")
    api.feeds["orders"] += [order_out("TB1", "on_hold", tracking_no=None, minute=5, note="buyer asked to wait"),
                            order_out("TB2", skus=("A", "C"), minute=5)]
    pull_feed(store, api, clock, "orders")
    tb1, tb2 = Order.get(Order.order_id == "TB1"), Order.get(Order.order_id == "TB2")
    assert (tb1.status, tb1.tracking_no, tb1.note) == ("on_hold", "SF1400000000009", "buyer asked to wait")
    assert [x.sku for x in OrderLine.select().where(OrderLine.order == tb2).order_by(OrderLine.line_no)] == ["A", "C"]


def test_a_page_naming_an_order_twice_keeps_the_later_state(store: Store, clock: FakeClock, api: FakeApi) -> None:
    api.feeds["orders"] = [order_out("TB1"), order_out("TB1", "cancelled", minute=1)]
    pull_feed(store, api, clock, "orders")
    assert Order.get().status == "cancelled"


def test_the_cursor_is_stored_in_the_same_transaction_as_its_page(store: Store, clock: FakeClock,
                                                                  api: FakeApi) -> None:
    api.feeds["orders"] = [order_out("TB1")]
    statements: list[str] = []
    store.db.connection().set_trace_callback(statements.append)
    try:
        pull_feed(store, api, clock, "orders")
    finally:
        store.db.connection().set_trace_callback(None)
    begin = next(i for i, s in enumerate(statements) if s.upper().startswith("BEGIN"))
    commit = max(i for i, s in enumerate(statements) if s.upper().startswith("COMMIT"))
    order_write = next(i for i, s in enumerate(statements) if s.startswith('INSERT INTO "order"'))
    cursor_write = next(i for i, s in enumerate(statements) if "sync_cursor" in s and "INSERT" in s.upper())
    assert begin < order_write < cursor_write < commit
    assert sum(s.upper().startswith("BEGIN") for s in statements) == 1


def test_a_crash_between_applying_a_page_and_storing_its_cursor_keeps_neither(
        store: Store, clock: FakeClock, api: FakeApi, monkeypatch: pytest.MonkeyPatch) -> None:
    api.feeds["orders"] = [order_out(f"TB{i}") for i in range(25)]
    real = pull.save_cursor

    def crash_on_second_page(name: str, cursor: str, clock: Any) -> None:
        if cursor == "20":
            raise RuntimeError("power cut")
        real(name, cursor, clock)

    monkeypatch.setattr(pull, "save_cursor", crash_on_second_page)
    with pytest.raises(RuntimeError, match="power cut"):
        pull_feed(store, api, clock, "orders", limit=10)
    assert get_cursor("orders") == "10"
    assert Order.select().count() == 10  # the second page's orders were rolled back with it
    monkeypatch.setattr(pull, "save_cursor", real)
    api.requests.clear()
    report = pull_feed(store, api, clock, "orders", limit=10)
    assert [c for _, c, _ in api.requests] == ["10", "20"]  # the lost page was asked for again
    assert report.items == 15 and Order.select().count() == 25 and get_cursor("orders") == "25"


def test_a_failed_fetch_keeps_the_pages_already_stored(store: Store, clock: FakeClock, api: FakeApi) -> None:
    from tests.sync.fakes import unreachable

    api.feeds["products"] = [product_out(f"P{i}") for i in range(30)]
    real = api.products
    calls = {"n": 0}

    def second_fails(cursor: Any, limit: int = 1000) -> Any:
        calls["n"] += 1
        if calls["n"] == 2:
            raise unreachable("GET /products")
        return real(cursor, limit)

    api.products = second_fails  # type: ignore[method-assign]
    with pytest.raises(Exception, match="unreachable"):
        pull_feed(store, api, clock, "products", limit=10)
    assert get_cursor("products") == "10" and Product.select().count() == 10


def test_products_with_barcodes_weights_and_stock(store: Store, clock: FakeClock, api: FakeApi) -> None:
    upc = "036000291452"
    api.feeds["products"] = [product_out("TEA", [ean("690123456001"), upc], stock=7, weight_g=280),
                             product_out("BAD", [ean("690123456009")[:-1] + "0", "INT-CODE-1"])]
    report = pull_feed(store, api, clock, "products")
    tea = Product.get(Product.sku == "TEA")
    assert (tea.stock, tea.weight_g) == (7, 280)
    keys = {b.key for b in ProductBarcode.select().where(ProductBarcode.product == tea)}
    assert keys == {gtin_key(ean("690123456001")), gtin_key(upc)}
    bad = Product.get(Product.sku == "BAD")
    assert [b.raw for b in bad.barcodes] == ["INT-CODE-1"]  # the code with a wrong check digit left out
    assert len(report.notes) == 1 and "BAD" in report.notes[0]


def test_a_barcode_moved_to_another_sku_in_a_later_page_follows_the_server(store: Store, clock: FakeClock,
                                                                           api: FakeApi) -> None:
    code = ean("690123456777")
    api.feeds["products"] = [product_out("OLD", [code])]
    pull_feed(store, api, clock, "products")
    api.feeds["products"] += [product_out("NEW", [code], minute=1)]
    pull_feed(store, api, clock, "products")
    owner = ProductBarcode.get(ProductBarcode.key == gtin_key(code)).product.sku
    assert owner == "NEW"
    assert not Product.get(Product.sku == "OLD").barcodes.exists()


def test_two_skus_claiming_a_code_in_one_page_the_later_update_wins(store: Store, clock: FakeClock,
                                                                    api: FakeApi) -> None:
    code = ean("690123456888")
    api.feeds["products"] = [product_out("B", [code], minute=2), product_out("A", [code], minute=1)]
    report = pull_feed(store, api, clock, "products")
    assert ProductBarcode.get().product.sku == "B"
    assert "A" in report.notes[0]


def _pack_demo_order(flow: PackFlow) -> str:
    from app.demo import product_barcode

    scan(flow, PACKER)
    scan(flow, ORDER)
    for code in (product_barcode("TEA-LJ-250"), product_barcode("CHOP-BMB-5"), product_barcode("TEA-LJ-250")):
        scan(flow, code)
    out = weigh(flow, 715)
    assert out is not None and out.event == "label_queued"
    return str(Order.get(Order.order_id == ORDER).shipments.get().tracking_no)


@pytest.mark.parametrize("status", ["cancelled", "refunded"])
def test_a_cancel_or_refund_after_packing_opens_one_intercept(flow: PackFlow, clock: FakeClock, api: FakeApi,
                                                              status: str) -> None:
    tracking_no = _pack_demo_order(flow)
    api.feeds["orders"] = [order_out(ORDER, status, skus=("TEA-LJ-250", "CHOP-BMB-5")),
                           order_out("TB2026112500002", "cancelled", skus=("MUG-CER-01",))]  # not packed
    report = pull_feed(flow.store, api, clock, "orders")
    assert report.intercepts == 1
    case = ExceptionCase.get()
    assert (case.dedupe_key, case.tag, case.rule_id, case.severity, case.route) == (
        f"intercept:{ORDER}", "intercept", "builtin.intercept", "critical", "supervisor")
    assert case.order.order_id == ORDER and case.shipment.tracking_no == tracking_no
    assert tracking_no in case.title and status.upper() in case.title
    assert "intercept" in case.sop and "拦截" in case_sop(case.sop).text("zh_CN")
    zh_title = case_title(case.title, detail_words(case.detail)).text("zh_CN")
    assert zh_title.startswith(f"拦截 {tracking_no}") and ("已取消" if status == "cancelled" else "已退款") in zh_title
    assert json.loads(case.detail)["local_status"] == "packed"
    assert Order.get(Order.order_id == ORDER).status == status  # the platform wins, as with a file import
    assert AuditEntry.select().where(AuditEntry.kind == "exception.opened").count() == 1
    # The same news again (a refund after the cancel, a page replayed): no second case.
    api.feeds["orders"] += [order_out(ORDER, "refunded", skus=("TEA-LJ-250",), minute=9)]
    assert pull_feed(flow.store, api, clock, "orders").intercepts == 0
    assert ExceptionCase.select().count() == 1


def test_the_intercept_is_part_of_the_page_transaction(flow: PackFlow, clock: FakeClock, api: FakeApi,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    _pack_demo_order(flow)
    api.feeds["orders"] = [order_out(ORDER, "cancelled", skus=("TEA-LJ-250",))]

    def crash(*args: Any) -> None:
        raise RuntimeError("power cut")

    monkeypatch.setattr(pull, "save_cursor", crash)
    with pytest.raises(RuntimeError):
        pull_feed(flow.store, api, clock, "orders")
    assert ExceptionCase.select().count() == 0 and Order.get(Order.order_id == ORDER).status == "packed"
    monkeypatch.undo()
    assert pull_feed(flow.store, api, clock, "orders").intercepts == 1


def test_tracking_events_are_appended_once(store: Store, clock: FakeClock, api: FakeApi) -> None:
    api.feeds["tracking"] = [tracking_out(i) for i in range(1, 8)] + [tracking_out(3)]  # one delivered twice
    report = pull_feed(store, api, clock, "tracking", limit=3)
    assert report.pages == 3
    assert TrackingEvent.select().count() == 7
    SyncCursor.delete().where(SyncCursor.name == "tracking").execute()  # as if the cursor were lost
    pull_feed(store, api, clock, "tracking")
    trail = tracking_trail("SF1400000000001")
    assert [t.server_id for t in trail] == [1, 2, 3, 4, 5, 6, 7]
    first = trail[0]
    assert (first.status, first.carrier_status, first.site, first.source) == ("in_transit", "0", "杭州转运中心",
                                                                              "kuaidi100")
    assert first.context == "快件到达 杭州转运中心 #1" and first.time == "2026-11-25T02:00:00.000Z"


def test_a_server_saying_more_without_moving_on_does_not_loop(store: Store, clock: FakeClock) -> None:
    from protocol import Page
    from sync.client import Fetched

    class Stuck(FakeApi):
        def orders(self, cursor: str | None, limit: int = 1000) -> Any:
            self.requests.append(("orders", cursor, limit))
            return Fetched(Page[Any](items=[], next_cursor="5", has_more=True), "x")

    stuck = Stuck()
    pull_feed(store, stuck, clock, "orders")
    assert len(stuck.requests) == 2  # the first moves the cursor to 5; the second does not move it


def test_a_cancel_while_the_order_is_being_packed_opens_an_intercept(flow: PackFlow, clock: FakeClock,
                                                                     api: FakeApi) -> None:
    """The pack flow checks the status when the order is opened: the case is what stops the parcel."""
    from app.demo import product_barcode

    scan(flow, PACKER)
    assert scan(flow, ORDER).event == "order_opened"
    scan(flow, product_barcode("TEA-LJ-250"))
    api.feeds["orders"] = [order_out(ORDER, "cancelled", skus=("TEA-LJ-250", "CHOP-BMB-5"))]
    assert pull_feed(flow.store, api, clock, "orders").intercepts == 1
    case = ExceptionCase.get()
    assert "being packed right now" in case.title and json.loads(case.detail)["being_packed"] is True
    assert case.shipment is None


def test_an_order_cancelled_before_anyone_packed_it_opens_nothing(demo_store: Store, clock: FakeClock,
                                                                 api: FakeApi) -> None:
    api.feeds["orders"] = [order_out(ORDER, "cancelled", skus=("TEA-LJ-250",))]
    assert pull_feed(demo_store, api, clock, "orders").intercepts == 0
    assert Order.get(Order.order_id == ORDER).status == "cancelled" and not ExceptionCase.select().exists()


def test_a_carrier_abort_opens_one_tracking_abort_case(flow: PackFlow, clock: FakeClock, api: FakeApi) -> None:
    tracking_no = _pack_demo_order(flow)
    abort = tracking_out(31, tracking_no, "exception")
    abort = abort.model_copy(update={"carrier_status": "abort",
                                     "context": "快递100已停止跟踪 tracking stopped: 3天查询无记录"})
    api.feeds["tracking"] = [tracking_out(30, tracking_no), abort]
    pull_feed(flow.store, api, clock, "tracking")
    case = ExceptionCase.get(ExceptionCase.tag == "tracking_abort")
    assert (case.dedupe_key, case.severity, case.route) == (f"tracking_abort:{tracking_no}", "warning", "supervisor")
    assert case.shipment.tracking_no == tracking_no and case.order.order_id == ORDER
    assert "3天查询无记录" in case.title and "快递100" in case_sop(case.sop).text("zh_CN")
    SyncCursor.delete().where(SyncCursor.name == "tracking").execute()  # the same page again: no second case
    pull_feed(flow.store, api, clock, "tracking")
    assert ExceptionCase.select().where(ExceptionCase.tag == "tracking_abort").count() == 1
