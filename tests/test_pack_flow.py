"""The pack flow state machine, headless: every outcome of docs/architecture.md §5, each committed before returned."""

from __future__ import annotations

import json

import pytest

from app.audit import verify_chain
from app.barcodes import Command, command_barcode
from app.clock import FakeClock
from app.demo import product_barcode
from app.pack.flow import FlowConfig, PackFlow, State
from app.store import Store
from app.store.models import AuditEntry, Order, Outbox, PackSession, PrintJob, ScanEvent, Shipment, WaybillPool
from tests.helpers import scan, weigh

PACKER, OTHER_PACKER, SUPERVISOR = "B-1001", "B-1002", "S-2001"
ORDER = "TB2026112500001"  # TEA-LJ-250 x2 (280 g), CHOP-BMB-5 x1 (95 g); box 60 g -> 715 g
TEA, CHOP, MUG = product_barcode("TEA-LJ-250"), product_barcode("CHOP-BMB-5"), product_barcode("MUG-CER-01")


def cmd(c: Command) -> str:
    return command_barcode(c)


def pack_items(flow: PackFlow) -> None:
    assert scan(flow, PACKER).event == "login"
    assert scan(flow, ORDER).event == "order_opened"
    assert scan(flow, TEA).event == "item_ok"
    assert scan(flow, CHOP).event == "item_ok"
    assert scan(flow, TEA).event == "items_complete"


def test_whole_order_auto_completes_and_ships_once(flow: PackFlow) -> None:
    pack_items(flow)
    assert flow.state is State.ITEMS_COMPLETE
    assert flow.expected_weight_g() == 715
    out = weigh(flow, 720)
    assert out is not None and out.event == "label_queued" and out.state == "labelled"
    shipment = Shipment.get()
    assert (shipment.order.order_id, shipment.weight_g, shipment.carrier) == (ORDER, 720, "SF")
    assert shipment.tracking_no.startswith("SF")
    assert WaybillPool.get(WaybillPool.number == shipment.tracking_no).state == "used"
    assert Order.get(Order.order_id == ORDER).status == "packed"
    assert PackSession.get().state == "completed"
    done = flow.print_result(out.detail["job_id"], True)
    assert done.event == "label_printed" and flow.state is State.DONE
    # Scanning the order again offers a reprint; it never creates a second shipment.
    again = scan(flow, ORDER)
    assert again.event == "order_already_shipped" and again.detail["tracking_no"] == shipment.tracking_no
    assert Shipment.select().count() == 1


def test_every_input_is_a_scan_event_with_audit_and_outbox(flow: PackFlow) -> None:
    pack_items(flow)
    weigh(flow, 715)
    events = list(ScanEvent.select().order_by(ScanEvent.id))
    assert [e.outcome for e in events] == [
        "login", "order_opened", "item_ok", "item_ok", "items_complete", "label_queued"]
    assert events[2].raw == TEA.encode() and json.loads(events[2].parsed)["gtin"]
    assert events[-1].source == "scale"
    scans = AuditEntry.select().where(AuditEntry.kind == "scan").count()
    assert scans == len(events)
    assert Outbox.select().where(Outbox.kind == "scan").count() == len(events)
    assert verify_chain().ok


def test_wrong_item_over_quantity_unknown_and_bad_check_digit(flow: PackFlow) -> None:
    scan(flow, PACKER)
    scan(flow, ORDER)
    assert scan(flow, MUG).event == "wrong_item"
    assert scan(flow, CHOP).event == "item_ok"
    over = scan(flow, CHOP)
    assert over.event == "over_quantity" and over.level.value == "error"
    assert scan(flow, "NOPE-123").event == "unknown_code"
    bad = TEA[:-1] + str((int(TEA[-1]) + 1) % 10)
    out = scan(flow, bad)
    assert out.event == "bad_scan" and "check digit" in out.detail["reason"].plain()
    assert flow.lines() == [
        ("TEA-LJ-250", "西湖龙井 250g", 0, 2), ("CHOP-BMB-5", "竹筷 5 双装 Bamboo chopsticks", 1, 1)]
    assert flow.state is State.ORDER_OPEN


def test_upc_a_matches_with_and_without_leading_zero(flow: PackFlow) -> None:
    scan(flow, PACKER)
    scan(flow, "#1004")  # USB-C-1M x3, a UPC-A product
    upc = product_barcode("USB-C-1M")
    assert len(upc) == 12
    assert scan(flow, upc).event == "item_ok"
    assert scan(flow, "0" + upc).event == "item_ok"
    assert scan(flow, "]E0" + "0" + upc).event == "items_complete"


@pytest.mark.parametrize(("status", "event"), [
    ("cancelled", "order_cancelled"), ("refunded", "order_refunded"), ("on_hold", "order_on_hold"),
    ("new", "order_not_payable"),
])
def test_orders_that_must_not_be_packed(flow: PackFlow, status: str, event: str) -> None:
    Order.update(status=status).where(Order.order_id == ORDER).execute()
    scan(flow, PACKER)
    out = scan(flow, ORDER)
    assert out.event == event and out.level.value == "error"
    assert flow.state is State.IDLE and PackSession.select().count() == 0


def test_login_is_required_and_badges_toggle(flow: PackFlow) -> None:
    assert scan(flow, ORDER).event == "login_required"
    assert scan(flow, PACKER).event == "login"
    assert flow.operator is not None and flow.operator.name == "王芳"
    scan(flow, ORDER)
    assert scan(flow, OTHER_PACKER).event == "finish_order_first"
    assert scan(flow, cmd(Command.ABORT)).event == "aborted"
    assert scan(flow, OTHER_PACKER).event == "login"
    assert flow.operator.name == "Alex Chen"
    assert scan(flow, OTHER_PACKER).event == "logout" and flow.operator is None


def test_weight_out_of_tolerance_needs_a_supervisor(flow: PackFlow) -> None:
    pack_items(flow)
    out = weigh(flow, 900)
    assert out is not None and out.event == "weight_mismatch" and flow.state is State.BLOCKED
    assert (out.detail["expected_g"], out.detail["allowed_g"]) == (715, 36)
    assert weigh(flow, 901) is None  # same parcel still on the scale: judged once
    assert scan(flow, OTHER_PACKER).event == "not_a_supervisor"
    approved = scan(flow, SUPERVISOR)
    assert approved.event == "label_queued" and approved.detail["approved_by"] == "李强"
    assert Shipment.get().weight_g == 900
    assert AuditEntry.select().where(AuditEntry.kind == "override").count() == 1


def test_corrected_parcel_clears_the_weight_block(flow: PackFlow) -> None:
    pack_items(flow)
    weigh(flow, 500)
    assert flow.state is State.BLOCKED
    out = weigh(flow, 716)
    assert out is not None and out.event == "label_queued"


def test_unstable_readings_and_readings_before_completion_are_ignored(flow: PackFlow) -> None:
    from app.devices import WeightReading

    scan(flow, PACKER)
    scan(flow, ORDER)
    assert weigh(flow, 715) is None
    pack_items_rest = [TEA, CHOP, TEA]
    for code in pack_items_rest:
        scan(flow, code)
    assert flow.weight(WeightReading(715, False, flow.clock.now())) is None
    assert Shipment.select().count() == 0


def test_weight_history_flags_a_two_sigma_outlier(demo_store: Store, clock: FakeClock) -> None:
    flow = PackFlow(demo_store, clock, FlowConfig(station="T-1"))
    scan(flow, PACKER)
    # Three earlier parcels with exactly these items weighed 700-704 g.
    for grams, order_id in ((700, "TB2026112500002"), (702, "PDD20261125-0003"), (704, "#1005")):
        order = Order.get(Order.order_id == order_id)
        Shipment.create(order=order, carrier="SF", tracking_no=f"SFH{grams}", weight_g=grams,
                        items_key="CHOP-BMB-5*1|TEA-LJ-250*2", created_at="2026-11-20T00:00:00.000Z")
    for code in (ORDER, TEA, CHOP, TEA):
        scan(flow, code)
    out = weigh(flow, 745)  # inside 715 ±36, but far from what these parcels weigh
    assert out is not None and out.event == "weight_unusual"
    assert out.detail["history_mean_g"] == 702 and out.detail["history_n"] == 3
    ok = weigh(flow, 703)
    assert ok is not None and ok.event == "label_queued"


def test_short_ship_only_with_supervisor(flow: PackFlow) -> None:
    scan(flow, PACKER)
    scan(flow, ORDER)
    assert scan(flow, cmd(Command.SHORT_SHIP)).event == "command_not_now"  # nothing scanned yet
    scan(flow, TEA)
    out = scan(flow, cmd(Command.SHORT_SHIP))
    assert out.event == "supervisor_required" and flow.state is State.BLOCKED
    assert scan(flow, TEA).event == "command_not_now"
    assert scan(flow, SUPERVISOR).event == "short_shipped"
    assert flow.expected_weight_g() == 60 + 280
    weigh(flow, 340)
    assert PackSession.get().state == "short_shipped"
    assert Shipment.get().items_key == "TEA-LJ-250*1"


def test_abort_keeps_the_record_and_frees_the_order(flow: PackFlow) -> None:
    scan(flow, PACKER)
    scan(flow, ORDER)
    scan(flow, TEA)
    out = scan(flow, cmd(Command.ABORT))
    assert out.event == "aborted" and flow.state is State.IDLE
    assert PackSession.get().state == "aborted"
    assert scan(flow, ORDER).event == "order_opened"  # can be packed again from scratch
    assert flow.lines()[0][2] == 0


def test_reprint_is_numbered_and_void_needs_supervisor(flow: PackFlow) -> None:
    pack_items(flow)
    first = weigh(flow, 715)
    assert first is not None
    flow.print_result(first.detail["job_id"], True)
    r2 = scan(flow, cmd(Command.REPRINT))
    r3 = scan(flow, cmd(Command.REPRINT))
    assert (r2.event, r2.detail["reprint_no"], r3.detail["reprint_no"]) == ("reprint_queued", 2, 3)
    assert [j.reprint_no for j in PrintJob.select().order_by(PrintJob.id)] == [0, 2, 3]
    assert scan(flow, cmd(Command.VOID_LABEL)).event == "supervisor_required"
    assert scan(flow, SUPERVISOR).event == "override_accepted"
    assert Shipment.get().voided and Order.get(Order.order_id == ORDER).status == "paid"
    # After a void the order can be packed again and gets a new waybill.
    for code in (ORDER, TEA, CHOP, TEA):
        scan(flow, code)
    out = weigh(flow, 715)
    assert out is not None and out.event == "label_queued"
    assert Shipment.select().where(Shipment.voided == False).count() == 1  # noqa: E712


def test_reprint_from_an_already_shipped_scan(flow: PackFlow) -> None:
    pack_items(flow)
    weigh(flow, 715)
    scan(flow, ORDER)
    out = scan(flow, cmd(Command.REPRINT))
    assert out.event == "reprint_queued" and out.detail["reprint_no"] == 2


def test_preprinted_waybill_is_bound_and_used(flow: PackFlow) -> None:
    scan(flow, PACKER)
    scan(flow, ORDER)
    out = scan(flow, "SF1234567890123")
    assert out.event == "waybill_bound" and out.detail["carrier"] == "SF"
    for code in (TEA, CHOP, TEA):
        scan(flow, code)
    shipped = weigh(flow, 715)
    assert shipped is not None and shipped.detail["tracking_no"] == "SF1234567890123"
    assert WaybillPool.select().where(WaybillPool.state == "used").count() == 0
    # The waybill now finds the order (and its shipment).
    assert scan(flow, "SF1234567890123").event == "order_already_shipped"


def test_empty_waybill_pool_is_reported(flow: PackFlow) -> None:
    WaybillPool.delete().execute()
    pack_items(flow)
    out = weigh(flow, 715)
    assert out is not None and out.event == "no_waybill" and flow.state is State.ITEMS_COMPLETE
    assert Shipment.select().count() == 0


def test_no_waybill_waits_for_a_change_not_for_the_next_reading(flow: PackFlow) -> None:
    WaybillPool.delete().execute()
    pack_items(flow)
    assert weigh(flow, 715).event == "no_waybill"  # type: ignore[union-attr]
    assert "import waybills" in ScanEvent.select().order_by(ScanEvent.id.desc()).get().message
    assert not flow.ready_to_weigh
    for _ in range(50):  # a scale that keeps reporting the same stable weight
        assert weigh(flow, 715) is None
    assert scan(flow, MUG).event == "wrong_item"
    assert weigh(flow, 715) is None
    # Lifted off and put back: judged again (and refused again, the pool is still empty).
    assert weigh(flow, 3) is None
    assert weigh(flow, 715).event == "no_waybill"  # type: ignore[union-attr]
    assert weigh(flow, 716) is None
    assert ScanEvent.select().where(ScanEvent.outcome == "no_waybill").count() == 2
    # A pre-printed waybill scanned is a change too: the parcel ships on it.
    assert scan(flow, "SF1234567890123").event == "waybill_bound" and flow.ready_to_weigh
    shipped = weigh(flow, 715)
    assert shipped is not None and shipped.event == "label_queued"
    assert shipped.detail["tracking_no"] == "SF1234567890123"


def test_waybills_arriving_resume_a_waiting_parcel(flow: PackFlow, clock: FakeClock) -> None:
    from app.waybills import add_numbers

    WaybillPool.update(state="used").execute()
    pack_items(flow)
    assert weigh(flow, 715).event == "no_waybill"  # type: ignore[union-attr]
    assert not flow.waybills_arrived()
    add_numbers(flow.store, ["73100000099999"], "ZTO", clock, "admin")
    assert not flow.waybills_arrived()  # another carrier's numbers do not help this parcel
    add_numbers(flow.store, ["SF1400000099999"], "SF", clock, "admin")
    assert flow.waybills_arrived() and flow.ready_to_weigh
    assert weigh(flow, 715).detail["tracking_no"] == "SF1400000099999"  # type: ignore[union-attr]


def test_another_order_while_one_is_open(flow: PackFlow) -> None:
    scan(flow, PACKER)
    scan(flow, ORDER)
    assert scan(flow, "TB2026112500002").event == "order_in_progress"
    assert scan(flow, "NOSUCHORDER").event == "unknown_code"


def test_restart_resumes_the_open_order_and_operator(demo_store: Store, clock: FakeClock) -> None:
    flow = PackFlow(demo_store, clock, FlowConfig(station="T-1"))
    scan(flow, PACKER)
    scan(flow, ORDER)
    scan(flow, TEA)
    restarted = PackFlow(demo_store, clock, FlowConfig(station="T-1"))
    assert restarted.state is State.ORDER_OPEN and restarted.operator is not None
    assert restarted.lines()[0][2] == 1
    scan(restarted, CHOP)
    assert scan(restarted, TEA).event == "items_complete"


def test_failed_commit_leaves_memory_matching_the_store(flow: PackFlow, monkeypatch: pytest.MonkeyPatch) -> None:
    scan(flow, PACKER)
    scan(flow, ORDER)

    def broken(*args: object, **kwargs: object) -> int:
        raise OSError("disk full")

    monkeypatch.setattr("app.pack.flow.record_fact", broken)
    with pytest.raises(OSError):
        scan(flow, TEA)
    monkeypatch.undo()
    assert flow.lines()[0][2] == 0  # the unrecorded scan did not count
    assert ScanEvent.select().count() == 2


def test_scan_order_first_when_idle(flow: PackFlow) -> None:
    scan(flow, PACKER)
    assert scan(flow, TEA).event == "scan_order_first"
    assert scan(flow, "XX-404").event == "order_not_found"


def test_outcome_text_in_both_languages(flow: PackFlow) -> None:
    scan(flow, PACKER)
    out = scan(flow, ORDER)
    assert out.text("en") == f"Order {ORDER}: scan 3 item(s)"
    assert out.text("zh_CN") == f"订单 {ORDER}：请扫描 3 件商品"


def test_rescanning_the_open_order_says_where_it_stands(flow: PackFlow) -> None:
    scan(flow, PACKER)
    scan(flow, ORDER)
    scan(flow, TEA)
    out = scan(flow, ORDER)
    assert out.event == "order_resumed" and out.detail["remaining"] == 2
    assert isinstance(out.detail["scan_event_id"], int)
    assert ScanEvent.get_by_id(out.detail["scan_event_id"]).outcome == "order_resumed"


def test_an_order_held_by_a_blocking_rule_needs_a_supervisor(demo_store: Store, clock: FakeClock) -> None:
    holds = {ORDER: [("address_phone", "address_risk", "mobile number is not 11 digits")]}
    flow = PackFlow(demo_store, clock, FlowConfig(station="T-1"), gate=lambda o: holds.get(o.order_id, []))
    scan(flow, PACKER)
    out = scan(flow, ORDER)
    assert out.event == "order_blocked" and out.level.value == "error" and flow.state is State.BLOCKED
    assert out.detail["rules"] == ["address_phone"] and "11 digits" in out.text("en")
    assert PackSession.select().count() == 0
    assert scan(flow, OTHER_PACKER).event == "not_a_supervisor"
    assert scan(flow, cmd(Command.ABORT)).event == "aborted" and flow.state is State.IDLE
    scan(flow, ORDER)
    opened = scan(flow, SUPERVISOR)
    assert opened.event == "order_opened" and opened.detail["approved_by"] == "李强"
    assert flow.operator is not None and flow.operator.name == "王芳"  # the packer stays logged in
    override = AuditEntry.select().where(AuditEntry.kind == "override").get()
    assert ORDER in override.payload and "held by exception rules" in override.payload
    assert scan(flow, "TB2026112500002").event == "order_in_progress"


def test_default_rules_hold_an_order_with_a_bad_mobile_number(demo_store: Store, clock: FakeClock) -> None:
    from drivers.printers.simulated import SimulatedPrinter
    from wiring import build_runtime

    Order.update(receiver_phone="1381234567").where(Order.order_id == ORDER).execute()  # 10 digits
    from app.config import StationConfig

    runtime = build_runtime(demo_store, demo_store.path.parent, StationConfig(station="T-1"), clock,
                            SimulatedPrinter(), None, None)
    scan(runtime.flow, PACKER)
    out = scan(runtime.flow, ORDER)
    assert out.event == "order_blocked", out
    assert scan(runtime.flow, "TB2026112500002").event == "command_not_now"


def test_an_order_cancelled_while_on_the_bench_gets_no_label(flow: PackFlow) -> None:
    pack_items(flow)
    Order.update(status="cancelled").where(Order.order_id == ORDER).execute()  # a sync pull, mid-pack
    out = weigh(flow, 715)
    assert out is not None and out.event == "order_cancelled" and out.detail["mid_pack"]
    assert Shipment.select().count() == 0 and PackSession.get().state == "aborted"
    assert Order.get(Order.order_id == ORDER).status == "cancelled"


def test_preview_toggles_on_the_last_label_and_any_other_input_ends_it(flow: PackFlow) -> None:
    assert scan(flow, cmd(Command.PREVIEW)).event == "nothing_to_preview" and not flow.previewing
    pack_items(flow)
    out = weigh(flow, 715)
    assert out is not None
    enlarged = scan(flow, cmd(Command.PREVIEW))
    assert enlarged.event == "label_enlarged" and enlarged.detail["tracking_no"] == Shipment.get().tracking_no
    assert flow.previewing and flow.state is State.LABELLED  # a view: the flow's state is untouched
    assert scan(flow, cmd(Command.PREVIEW)).event == "label_preview_closed" and not flow.previewing
    assert scan(flow, cmd(Command.PREVIEW)).event == "label_enlarged"
    assert flow.print_result(out.detail["job_id"], True).event == "label_printed" and not flow.previewing
    assert scan(flow, cmd(Command.PREVIEW)).event == "label_enlarged"
    assert scan(flow, "TB2026112500002").event == "order_opened" and not flow.previewing
