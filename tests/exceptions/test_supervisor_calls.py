"""CALL_SUPERVISOR at the bench: a supervisor-routed case for the order (or the bench), bumped — not
duplicated — when called again, announced to the chat robot per the routing; and who may work it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from app import cases
from app.barcodes import Command, command_barcode
from app.case_roles import CaseRefused, act_by_badge
from app.cases import SUPERVISOR_CALL, case_title, detail_words, open_case
from app.clock import FakeClock
from app.notify import CaseNotifier, dingtalk_sign
from app.pack.flow import PackFlow
from app.store import Store
from app.store.models import AuditEntry, ExceptionCase, Outbox
from tests.helpers import scan

PACKER, SUPERVISOR, ADMIN = "B-1001", "S-2001", "A-9001"
ORDER = "TB2026112500001"
CALL = command_barcode(Command.CALL_SUPERVISOR)


class FakeRobot:
    """The chat robot as the notifier's `send`: records (url, body), fails when told to."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, dict[str, Any]]] = []

    def __call__(self, url: str, body: dict[str, Any]) -> None:
        self.sent.append((url, body))

    def texts(self) -> list[str]:
        return [str(body["text"]["content"]) for _, body in self.sent]


@pytest.fixture
def robot() -> Iterator[FakeRobot]:
    saved = list(cases.case_listeners)
    yield FakeRobot()
    cases.case_listeners[:] = saved


def listen(robot: FakeRobot, clock: FakeClock, **options: Any) -> CaseNotifier:
    notifier = CaseNotifier("https://oapi.dingtalk.com/robot/send?access_token=T", clock=clock, send=robot,
                            **options)
    cases.case_listeners.append(notifier.notify)
    return notifier


def calls() -> list[ExceptionCase]:
    return list(ExceptionCase.select().where(ExceptionCase.tag == SUPERVISOR_CALL).order_by(ExceptionCase.id))


def test_a_call_with_an_order_opens_one_case_and_a_second_call_bumps_it(flow: PackFlow, clock: FakeClock,
                                                                        robot: FakeRobot) -> None:
    notifier = listen(robot, clock)
    try:
        scan(flow, PACKER)
        scan(flow, ORDER)
        first = scan(flow, CALL)
        assert first.event == "supervisor_called" and first.order_id == ORDER and first.detail["calls"] == 1
        assert "Supervisor called to station T-1" in first.text("en") and "已呼叫主管" in first.text("zh_CN")
        (case,) = calls()
        assert (case.route, case.severity, case.state, case.order.order_id) == ("supervisor", "warning", "open", ORDER)
        assert case.dedupe_key == f"{SUPERVISOR_CALL}:T-1:{ORDER}"
        assert "T-1" in case.title and ORDER in case.title  # the English record
        assert "呼叫主管" in case_title(case.title, detail_words(case.detail)).text("zh_CN")  # worded where it is read
        assert json.loads(case.detail)["called_by"] == "王芳"

        again = scan(flow, CALL)
        assert again.event == "supervisor_called_again" and again.detail["calls"] == 2
        assert again.detail["case"] == case.id and "2" in again.text("en")
        (bumped,) = calls()  # the same case, counted twice
        detail = json.loads(bumped.detail)
        assert detail["calls"] == 2 and detail["last_called_at"] == bumped.updated_at != bumped.opened_at
        bump = AuditEntry.select().where(AuditEntry.kind == "exception.bumped").get()
        assert json.loads(bump.payload)["calls"] == 2 and bump.actor == "王芳"
        kinds = [o.kind for o in Outbox.select().order_by(Outbox.seq)]
        assert "exception.opened" in kinds and "exception.bumped" in kinds  # both reach the server

        assert notifier.flush(5)
    finally:
        notifier.close()
    texts = robot.texts()
    assert len(texts) == 2  # the call, and the call again
    assert ORDER in texts[0] and "T-1" in texts[0] and "supervisor_call" in texts[0]
    assert "called 2 times" in texts[1] and "已呼叫 2 次" in texts[1]


def test_a_call_without_an_order_is_for_the_bench_and_needs_no_login(flow: PackFlow) -> None:
    out = scan(flow, CALL)  # nobody logged in: a badge that does not scan is a reason to call
    assert out.event == "supervisor_called" and out.order_id is None
    (case,) = calls()
    assert case.order_id is None and case.dedupe_key == f"{SUPERVISOR_CALL}:T-1:-"
    assert json.loads(case.detail)["called_by"] == "-"
    scan(flow, PACKER)
    scan(flow, ORDER)
    with_order = scan(flow, CALL)  # another subject: a case of its own
    assert with_order.event == "supervisor_called" and len(calls()) == 2


def test_a_resolved_call_is_not_bumped_the_next_call_opens_a_new_case(flow: PackFlow, clock: FakeClock) -> None:
    scan(flow, PACKER)
    first = scan(flow, CALL)
    act_by_badge(flow.store, clock, first.detail["case"], "resolved", SUPERVISOR, "helped with the tape gun")
    second = scan(flow, CALL)
    assert second.event == "supervisor_called" and second.detail["case"] != first.detail["case"]
    assert [c.state for c in calls()] == ["resolved", "open"]


def test_the_robot_hears_cases_per_route_and_signs_for_dingtalk(demo_store: Store, clock: FakeClock,
                                                               robot: FakeRobot) -> None:
    notifier = listen(robot, clock, severities=["critical"], secret="SECabc", at_mobiles=["13800000001"])
    try:
        def case(key: str, route: str, severity: str) -> None:
            open_case(demo_store, clock, dedupe_key=key, tag="address_risk", rule_id="r", severity=severity,
                      route=route, title=f"{route} {severity}")

        case("a", "packer", "critical")  # for the bench itself: not the supervisors' chat
        case("b", "supervisor", "warning")  # not a configured severity
        case("c", "admin", "critical")
        cases.call_supervisor(demo_store, clock, "T-1", None, "王芳")  # a call: whatever the severities say
        assert notifier.flush(5)
    finally:
        notifier.close()
    texts = robot.texts()
    assert len(texts) == 2 and "admin critical" in texts[0] and "T-1" in texts[1]
    url, body = robot.sent[0]
    stamp = int(clock.now().timestamp() * 1000)
    assert f"timestamp={stamp}&sign=" in url
    assert dingtalk_sign("SECabc", stamp).replace("+", "%2B").replace("/", "%2F").replace("=", "%3D") in url
    assert body["at"] == {"atMobiles": ["13800000001"], "isAtAll": False}
    assert body["text"]["mentioned_mobile_list"] == ["13800000001"] and "@13800000001" in texts[0]


def test_only_supervisors_and_admins_work_supervisor_routed_cases(flow: PackFlow, clock: FakeClock) -> None:
    case_id = scan(flow, CALL).detail["case"]
    with pytest.raises(CaseRefused) as refused:
        act_by_badge(flow.store, clock, case_id, "acknowledged", PACKER)
    assert "王芳 may not act" in str(refused.value)
    assert "主管" in refused.value.text("zh_CN") and "supervisor" not in refused.value.text("zh_CN")
    with pytest.raises(CaseRefused, match="unknown badge X-1"):
        act_by_badge(flow.store, clock, case_id, "acknowledged", "X-1")
    assert ExceptionCase.get_by_id(case_id).state == "open"
    refusals = [(e.actor, json.loads(e.payload)) for e in AuditEntry.select().where(
        AuditEntry.kind == "exception.refused").order_by(AuditEntry.seq)]
    assert [(actor, p["code"], p["cases"], p["state"]) for actor, p in refusals] == [
        ("王芳", PACKER, [case_id], "acknowledged"), ("-", "X-1", [case_id], "acknowledged")]
    assert "may not act" in refusals[0][1]["reason"]
    acked = act_by_badge(flow.store, clock, case_id, "acknowledged", SUPERVISOR)
    assert acked.acked_by == "李强"
    resolved = act_by_badge(flow.store, clock, case_id, "resolved", ADMIN, "tape gun fixed")
    assert resolved.resolved_by == "admin" and resolved.state == "resolved"
