"""Case notifications: a real HTTP robot on 127.0.0.1, retries with backoff, nothing after a rollback."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from app import cases
from app.cases import RULE_TITLE, open_case
from app.clock import FakeClock
from app.i18n import Phrase
from app.notify import CaseNotifier, NotifyError, requests_send
from app.rules import RuleBook
from app.store import Store
from app.store.models import ExceptionCase, Order

RULE = RuleBook().defaults.get("address_hold_words")  # its title and SOP are worded by the catalog
assert RULE is not None


class Robot:
    """A tiny webhook robot: records each POSTed JSON body, answers with the queued statuses (then 200)."""

    def __init__(self) -> None:
        self.bodies: list[dict[str, Any]] = []
        self.statuses: list[int] = []
        self.answer: dict[str, Any] = {"errcode": 0, "errmsg": "ok"}
        robot = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                robot.bodies.append(json.loads(self.rfile.read(length)))
                status = robot.statuses.pop(0) if robot.statuses else 200
                payload = json.dumps(robot.answer if status == 200 else {"error": "boom"}).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/cgi-bin/webhook/send?key=test"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)


@pytest.fixture
def robot() -> Iterator[Robot]:
    r = Robot()
    r.thread.start()
    yield r
    r.server.shutdown()
    r.server.server_close()


@pytest.fixture
def listening() -> Iterator[list[Any]]:
    saved = list(cases.case_listeners)
    yield cases.case_listeners
    cases.case_listeners[:] = saved


def _order(store: Store, clock: FakeClock) -> Order:
    from app.demo import seed_demo

    seed_demo(store, clock, waybills=5)
    return Order.get(Order.order_id == "TB2026112500006")


def _open(store: Store, clock: FakeClock, order: Order, severity: str = "critical", key: str = "k:1",
          ) -> ExceptionCase | None:
    return open_case(store, clock, dedupe_key=key, tag="address_risk", rule_id="address_hold_words",
                     severity=severity, route="supervisor", order=order,
                     title=Phrase(RULE_TITLE, {"subject": order.order_id, "title": Phrase(RULE.title)}), sop=RULE.sop)


def test_a_new_critical_case_is_posted_once_with_the_robot_json(store: Store, clock: FakeClock, robot: Robot,
                                                                listening: list[Any]) -> None:
    order = _order(store, clock)
    notifier = CaseNotifier(robot.url, ["critical"], clock)
    listening.append(notifier.notify)
    try:
        case = _open(store, clock, order)
        assert case is not None
        assert _open(store, clock, order) is None  # still live: no new case, no new message
        _open(store, clock, order, severity="info", key="k:2")  # not a configured severity
        assert notifier.flush(5)
    finally:
        notifier.close()
    assert len(robot.bodies) == 1, robot.bodies
    body = robot.bodies[0]
    assert set(body) == {"msgtype", "text"} and body["msgtype"] == "text"
    content = body["text"]["content"]
    assert isinstance(content, str) and "\n" not in content
    for part in ("【严重】", "【Critical】", "address_risk", "TB2026112500006", "地址含代收/驿站/暂存",
                 "Address is a pickup point or held for collection", "包裹会放在驿站/快递柜由他人代收",
                 "The parcel will wait at a pickup point"):
        assert part in content, content
    assert "ask the buyer to confirm" not in content and "联系买家确认" not in content  # the SOP's first line only
    assert (notifier.sent, notifier.failed, notifier.dropped) == (1, 0, 0)


def test_500_twice_then_200_arrives_on_the_third_try(store: Store, clock: FakeClock, robot: Robot,
                                                     listening: list[Any]) -> None:
    order = _order(store, clock)
    robot.statuses = [500, 500]
    waits: list[float] = []
    notifier = CaseNotifier(robot.url, ["critical", "warning"], clock, attempts=4, backoff_base=2.0,
                            sleep=waits.append)
    listening.append(notifier.notify)
    try:
        _open(store, clock, order, severity="warning")
        assert notifier.flush(5)
    finally:
        notifier.close()
    assert len(robot.bodies) == 3 and robot.bodies[0] == robot.bodies[2]
    assert waits == [2.0, 4.0]  # exponential backoff between the tries
    assert (notifier.sent, notifier.failed, notifier.dropped) == (1, 0, 0)


def test_a_message_that_keeps_failing_is_logged_and_counted(store: Store, clock: FakeClock, robot: Robot,
                                                            caplog: pytest.LogCaptureFixture) -> None:
    order = _order(store, clock)
    robot.statuses = [500, 503, 500]
    waits: list[float] = []
    notifier = CaseNotifier(robot.url, ["critical"], clock, attempts=3, backoff_base=1.0, backoff_cap=1.5,
                            sleep=waits.append)
    case = _open(store, clock, order)
    assert case is not None
    notifier.notify(case)
    assert notifier.flush(5)
    notifier.close()
    assert len(robot.bodies) == 3 and waits == [1.0, 1.5]
    assert (notifier.sent, notifier.failed) == (0, 1)
    assert notifier.last_error is not None and "HTTP 500" in notifier.last_error
    assert any("given up after 3 tries" in r.getMessage() and "TB2026112500006" in r.getMessage()
               for r in caplog.records)


def test_a_robot_errcode_is_a_failure(robot: Robot) -> None:
    robot.answer = {"errcode": 45009, "errmsg": "api freq out of limit"}
    with pytest.raises(NotifyError, match="errcode 45009"):
        requests_send(robot.url, {"msgtype": "text", "text": {"content": "x"}})


def test_notify_never_blocks_and_a_full_queue_is_counted(store: Store, clock: FakeClock,
                                                         caplog: pytest.LogCaptureFixture) -> None:
    order = _order(store, clock)
    gate = threading.Event()
    sent: list[dict[str, Any]] = []

    def slow_send(url: str, body: dict[str, Any]) -> None:
        gate.wait(5)
        sent.append(body)

    notifier = CaseNotifier("http://robot.invalid", ["critical"], clock, send=slow_send, max_queue=1)
    case = _open(store, clock, order)
    assert case is not None
    for _ in range(4):  # one in flight, one waiting, two dropped: notify() returns at once every time
        notifier.notify(case)
    gate.set()
    assert notifier.flush(5)
    notifier.close()
    assert notifier.sent + notifier.dropped == 4 and notifier.dropped >= 2 and notifier.sent >= 1
    assert any("dropped" in r.getMessage() for r in caplog.records)


def test_a_rolled_back_case_posts_nothing(store: Store, clock: FakeClock, robot: Robot,
                                          listening: list[Any]) -> None:
    order = _order(store, clock)
    notifier = CaseNotifier(robot.url, ["critical"], clock)
    listening.append(notifier.notify)
    heard: list[int] = []
    listening.append(lambda case: heard.append(case.id))
    try:
        with pytest.raises(RuntimeError), store.atomic():
            assert _open(store, clock, order) is not None  # inside the outer transaction: not yet told
            assert heard == []
            raise RuntimeError("the page failed after the case was written")
        assert ExceptionCase.select().count() == 0
        # A savepoint rolled back inside a transaction that commits: not announced either.
        with store.atomic(), pytest.raises(RuntimeError), store.atomic():
            _open(store, clock, order, key="k:2")
            raise RuntimeError("savepoint rolled back")
        assert heard == []
        # Committed through an outer transaction: announced once, after the outer commit.
        with store.atomic():
            case = _open(store, clock, order, key="k:3")
            assert heard == []
        assert case is not None and heard == [case.id]
        assert notifier.flush(5)
    finally:
        notifier.close()
    assert len(robot.bodies) == 1 and "#" + str(heard[0]) in robot.bodies[0]["text"]["content"]


def test_a_failing_listener_does_not_break_the_commit(store: Store, clock: FakeClock, listening: list[Any],
                                                      caplog: pytest.LogCaptureFixture) -> None:
    order = _order(store, clock)
    heard: list[int] = []

    def broken(case: ExceptionCase) -> None:
        raise ValueError("listener bug")

    listening.extend([broken, lambda case: heard.append(case.id)])
    case = _open(store, clock, order)
    assert case is not None and heard == [case.id]
    assert ExceptionCase.select().count() == 1
    assert any("case listener" in r.getMessage() for r in caplog.records)
