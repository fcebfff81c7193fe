"""A case opened at a station, acknowledged in the supervisors' console, reaches the station after sync;
resolved at the station, it leaves the console's queue (docs/architecture.md §11.3)."""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from uuid import uuid4

import httpx

from app.barcodes import Command, command_barcode
from app.calls_board import load_board
from app.cases import RULE_TITLE, open_case, transition
from app.clock import FakeClock, SystemClock
from app.demo import seed_demo
from app.i18n import Phrase
from app.pack.flow import FlowConfig, PackFlow
from app.rules import RuleBook
from app.store import Store
from app.store.models import ExceptionCase, Outbox
from protocol import Event
from server.console.accounts import add_user
from sync.client import SyncClient
from sync.outbox import push_outbox
from sync.pull import pull_feed
from sync.worker import run_round
from tests.helpers import scan
from tests.sync import realserver
from tests.sync.realserver import WAREHOUSE, Central

sys.path.insert(0, str(Path(__file__).parents[1] / "server"))
from console_harness import PASSWORD, csrf_of

server_db_url = realserver.server_db_url  # fixture
central = realserver.central  # fixture
client = realserver.client  # fixture
TITLE = "<b>扫错商品</b> wrong item"


@contextmanager
def _console(central: Central) -> Iterator[httpx.Client]:
    add_user(central.sdb, "zhang", "supervisor", [WAREHOUSE], PASSWORD, SystemClock())
    with httpx.Client(base_url=central.url, timeout=30, headers={"Accept-Language": "en"}) as browser:
        form = browser.get("/console/login")
        assert browser.post("/console/login", data={"name": "zhang", "password": PASSWORD,
                                                    "csrf": csrf_of(form.text)}).status_code == 303
        yield browser


def test_acknowledged_in_the_console_reaches_the_station_and_back(central: Central, client: SyncClient,
                                                                  store: Store, clock: FakeClock) -> None:
    case = open_case(store, clock, dedupe_key="scan:wrong:1", tag="wrong_item", rule_id="builtin.wrong_item",
                     severity="critical", route="supervisor", title=TITLE)
    assert case is not None
    push_outbox(store, client, clock)
    with _console(central) as browser:
        page = browser.get(f"/console/exceptions?warehouse={WAREHOUSE}")
        assert "&lt;b&gt;扫错商品&lt;/b&gt;" in page.text and TITLE not in page.text
        (server_id,) = re.findall(r"/console/exceptions/(\d+)/acknowledge", page.text)
        reply = browser.post(f"/console/exceptions/{server_id}/acknowledge", data={"csrf": csrf_of(page.text)})
        assert reply.status_code == 303

        report = pull_feed(store, client, clock, "cases")
        assert report.items == 1 and not report.notes
        here = ExceptionCase.get_by_id(case.id)
        assert (here.state, here.acked_by) == ("acknowledged", "console:zhang")
        assert Outbox.select().where(Outbox.kind == "exception.acknowledged").count() == 1
        assert pull_feed(store, client, clock, "cases").items == 0  # the cursor moved on

        push_outbox(store, client, clock)  # the station's echo of the console's change changes nothing
        assert central.query('SELECT "state", "acked_by" FROM "server_case"') == [("acknowledged", "console:zhang")]
        assert central.query('SELECT COUNT(*) FROM "station_event" WHERE "status" = \'rejected\'') == [(0,)]

        transition(store, clock, case.id, "resolved", "li.supervisor", "put back, rescanned")  # at the station
        push_outbox(store, client, clock)
        assert central.query('SELECT "state", "resolved_by", "note" FROM "server_case"') == [
            ("resolved", "li.supervisor", "put back, rescanned")]
        queue = browser.get(f"/console/exceptions?warehouse={WAREHOUSE}").text
        assert "扫错商品" not in queue and "No open cases." in queue
        assert "put back, rescanned" in browser.get(f"/console/exceptions?warehouse={WAREHOUSE}&resolved=true").text


def test_a_rule_case_reads_in_the_console_users_language(central: Central, client: SyncClient, store: Store,
                                                        clock: FakeClock) -> None:
    """The case's title travels as words (its exception.opened fact): each console user reads it in their
    language, with its tag's name; the English stays the stored record."""
    rule = RuleBook().defaults.get("address_phone")
    assert rule is not None
    open_case(store, clock, dedupe_key="address_phone:TB1", tag=rule.tag, rule_id=rule.id, severity=rule.severity,
              route=rule.route, sop=rule.sop, title=Phrase(RULE_TITLE, {"subject": "TB1", "title": Phrase(rule.title)}))
    push_outbox(store, client, clock)
    with _console(central) as browser:
        en = browser.get(f"/console/exceptions?warehouse={WAREHOUSE}").text
        zh = browser.get(f"/console/exceptions?warehouse={WAREHOUSE}", headers={"Accept-Language": "zh-CN"}).text
    assert "TB1: Receiver mobile number is not 11 digits" in en and "Address risk" in en
    assert "TB1：收件手机号不是 11 位" in zh and "地址风险" in zh
    assert "Receiver mobile" not in zh and "Address risk" not in zh
    assert central.query('SELECT "title" FROM "server_case"') == [("TB1: Receiver mobile number is not 11 digits",)]


def test_a_console_change_to_a_case_the_station_resolved_meanwhile_is_noted(
        central: Central, client: SyncClient, store: Store, clock: FakeClock) -> None:
    case = open_case(store, clock, dedupe_key="k2", tag="overweight", rule_id="r", severity="warning",
                     route="supervisor", title="overweight")
    assert case is not None
    push_outbox(store, client, clock)
    with _console(central) as browser:
        page = browser.get(f"/console/exceptions?warehouse={WAREHOUSE}").text
        (server_id,) = re.findall(r"/console/exceptions/(\d+)/resolve", page)
        transition(store, clock, case.id, "resolved", "li", "done here")  # not pushed yet
        assert browser.post(f"/console/exceptions/{server_id}/resolve",
                            data={"csrf": csrf_of(page), "note": "done there"}).status_code == 303
        report = pull_feed(store, client, clock, "cases")
        assert report.items == 1 and "not applied" in report.notes[0]
        assert ExceptionCase.get_by_id(case.id).note == "done here"


def test_a_supervisor_call_reaches_the_console_queue_and_a_second_call_moves_it_up(
        central: Central, client: SyncClient, store: Store, clock: FakeClock) -> None:
    seed_demo(store, clock, waybills=1)
    flow = PackFlow(store, clock, FlowConfig(station="BENCH-1"))
    call = command_barcode(Command.CALL_SUPERVISOR)
    scan(flow, "B-1001")
    scan(flow, "TB2026112500001")
    assert scan(flow, call).event == "supervisor_called"
    push_outbox(store, client, clock)
    (row,) = central.query('SELECT "tag", "route", "state", "order_id", "station_id", "updated_at" FROM "server_case"')
    assert row[:5] == ("supervisor_call", "supervisor", "open", "TB2026112500001", client.station_id)
    with _console(central) as browser:
        queue = browser.get(f"/console/exceptions?warehouse={WAREHOUSE}&route=supervisor").text
        assert "Supervisor called to station BENCH-1 for order TB2026112500001" in queue

    clock.advance(minutes=5)
    assert scan(flow, call).event == "supervisor_called_again"
    push_outbox(store, client, clock)
    assert central.query('SELECT COUNT(*) FROM "station_event" WHERE "status" = \'rejected\'') == [(0,)]
    ((updated_at,),) = central.query('SELECT "updated_at" FROM "server_case"')
    assert updated_at > row[5]  # one case, moved up in time by the second call


def test_a_sync_round_brings_the_other_stations_live_calls_to_the_board(
        central: Central, client: SyncClient, store: Store, clock: FakeClock, tmp_path: Path) -> None:
    other_dir = tmp_path / "bench-2"
    other_dir.mkdir()
    other = SyncClient.from_credentials(central.enroll_station(other_dir, name="BENCH-2"), clock=SystemClock())

    def other_says(seq: int, kind: str, payload: dict[str, object]) -> None:
        event = Event(id=uuid4(), kind=kind, at=clock.now(), station=other.station_id, seq=seq, payload=payload)
        assert other.push([event]).results[0].status == "accepted"

    with other:
        other_says(1, "exception.opened", {"case": 7, "key": "supervisor_call:BENCH-2:TB9", "tag": "supervisor_call",
                                           "rule_id": "builtin.call_supervisor", "severity": "warning",
                                           "route": "supervisor", "order_id": "TB9", "title": "called"})
        assert load_board(store).as_of is None  # never heard yet
        report = run_round(store, client, clock)
        assert report.ok, report.errors
        board = load_board(store)
        assert [(c.station, c.order_id, c.state) for c in board.open] == [("BENCH-2", "TB9", "open")]
        assert board.as_of == clock.now()

        other_says(2, "exception.resolved", {"case": 7, "note": "helped", "tag": "supervisor_call"})
        assert run_round(store, client, clock).ok
        assert load_board(store).calls == ()
