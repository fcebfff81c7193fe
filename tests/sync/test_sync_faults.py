"""Faults between the station and the real server. In every case the server ends with exactly one copy
of every event and the station's outbox drains:

- the server is stopped in the middle of a push and started again;
- the connection drops after the server committed a batch, before the station heard the answer;
- a batch is replayed three times;
- the server (or something in front of it) answers 500 and garbage.
"""

from __future__ import annotations

import threading
import time
from dataclasses import replace
from typing import Any

import pytest

from app.backoff import Backoff
from app.clock import FakeClock, SystemClock
from app.store import Store
from app.store.models import Order, Outbox
from sync.client import SyncClient, SyncError
from sync.outbox import outbox_depth, pending_rows, push_outbox, to_event
from sync.pull import pull_feed
from sync.worker import ROUND_BACKOFF, SyncStatus, SyncWorker
from tests.sync import realserver
from tests.sync.fakes import queue_events
from tests.sync.netstub import FaultProxy, times
from tests.sync.realserver import Central, order_row

server_db_url = realserver.server_db_url  # fixture
central = realserver.central  # fixture
client = realserver.client  # fixture


def exactly_once(central: Central, ids: list[str]) -> None:
    held = central.events()
    missing = set(ids) - set(held)
    assert not missing, f"{len(missing)} events never reached the server"
    assert set(held.values()) == {1}, "an event is held more than once"
    assert outbox_depth() == 0


def test_the_server_is_stopped_mid_push_and_started_again(central: Central, client: SyncClient, store: Store,
                                                          clock: FakeClock) -> None:
    ids = queue_events(store, clock, 2500)
    worker = SyncWorker(store, client, clock, interval=3600.0, backoff=Backoff(base=0.05, cap=0.2, jitter=True))
    statuses: list[SyncStatus] = []
    drained = threading.Event()

    def listen(status: SyncStatus) -> None:
        statuses.append(status)
        if status.online and not status.running and status.outbox_depth == 0:
            drained.set()

    worker.add_listener(listen)
    worker.start()
    try:
        deadline = time.monotonic() + 20
        while len(central.events()) < 500:  # the worker is pushing
            assert time.monotonic() < deadline, "the worker never got going"
            time.sleep(0.01)
        central.stop()
        down_at = len(central.events())
        time.sleep(0.4)  # the worker fails and backs off meanwhile
        central.start()
        assert drained.wait(30), statuses[-1]
    finally:
        assert worker.stop(timeout=10)
    assert down_at < 2500, "the server was stopped after the push had finished"
    assert any(s.last_error and "unreachable" in s.last_error for s in statuses)
    assert any(row.attempts for row in Outbox.select(Outbox.attempts))
    exactly_once(central, ids)


def test_the_connection_drops_after_the_server_committed(central: Central, store: Store, clock: FakeClock,
                                                         tmp_path: Any) -> None:
    creds = central.enroll_station(store.path.parent)
    central.import_orders(tmp_path, [order_row(f"TB2026112700{i:03d}") for i in range(30)])
    ids = queue_events(store, clock, 1200)
    first_push = times(1, "drop", b"POST /api/v1/events")
    first_pull = times(1, "drop", b"GET /api/v1/orders")
    with FaultProxy(central.http.port, lambda req: first_push(req) if b"POST" in req[:4] else first_pull(req)) \
            as proxy, SyncClient(proxy.url, creds.station_id, creds.secret, clock=SystemClock()) as client:
        with pytest.raises(SyncError) as caught:
            push_outbox(store, client, clock)
        assert caught.value.retryable and caught.value.kind == "unreachable"
        assert len(central.events()) == 500  # the server has the batch; the station does not know it
        assert outbox_depth() == 1200
        report = push_outbox(store, client, clock)
        assert (report.known, report.accepted, report.rejected) == (500, 700, 0)

        with pytest.raises(SyncError):
            pull_feed(store, client, clock, "orders", limit=10)
        assert Order.select().count() == 0  # the page the station never heard of is not stored
        assert pull_feed(store, client, clock, "orders", limit=10).items == 30
        ids += [row.event_id for row in pending_rows()]  # the pages' own audit facts
        push_outbox(store, client, clock)
    assert proxy.log.count("drop") == 2
    exactly_once(central, ids)


def test_a_batch_replayed_three_times_changes_nothing(central: Central, client: SyncClient, store: Store,
                                                      clock: FakeClock) -> None:
    ids = queue_events(store, clock, 499)
    ids += queue_events(store, clock, 1, kind="no.such.kind")
    events = [to_event(row, client.station_id) for row in pending_rows()]
    first = client.push(events)
    held = central.event_rows()
    for _ in range(3):
        replay = client.push(events)
        for was, now in zip(first.results, replay.results, strict=True):
            assert was.id == now.id
            assert (was.status, now.status) in (("accepted", "known"), ("rejected", "rejected"))
            assert was.status == "accepted" or was.reason == now.reason
        assert central.event_rows() == held
    assert sum(r.status == "rejected" for r in first.results) == 1
    changed = events[0].model_copy(update={"payload": {**events[0].payload, "outcome": "wrong_item"}})
    (refused,) = client.push([changed]).results
    assert refused.status == "rejected" and "different body" in (refused.reason or "")
    assert central.event_rows() == held
    # The station itself, having heard none of it, pushes its outbox three times over: same result.
    for _ in range(3):
        Outbox.update(acked_at=None, rejected_reason=None).execute()
        report = push_outbox(store, client, clock)
        assert (report.known, report.rejected, report.accepted) == (499, 1, 0)
    assert central.event_rows() == held
    assert outbox_depth() == 0 and Outbox.get(Outbox.kind == "no.such.kind").rejected_reason
    held_ids = central.events()
    assert sorted(held_ids) == sorted(ids) and set(held_ids.values()) == {1}


@pytest.mark.parametrize("when", ["before", "after"])
def test_500_and_garbage_then_the_real_answers(central: Central, store: Store, clock: FakeClock, tmp_path: Any,
                                               when: str) -> None:
    """`before`: answered by something in front of the server; `after`: the server committed, then the
    answer was replaced on the way back."""
    creds = central.enroll_station(store.path.parent)
    central.import_orders(tmp_path, [order_row("TB2026112800001")])
    ids = queue_events(store, clock, 700)
    prefix = "" if when == "before" else "committed-"
    script = iter([f"{prefix}500", f"{prefix}garbage", f"{prefix}500", f"{prefix}garbage"])

    def fault(request: bytes) -> str:
        if request.startswith((b"POST /api/v1/events", b"GET /api/v1/orders")):
            return next(script, "pass")
        return "pass"

    with FaultProxy(central.http.port, fault) as proxy, \
            SyncClient(proxy.url, creds.station_id, creds.secret, clock=SystemClock()) as client:
        worker = SyncWorker(store, client, clock, backoff=replace(ROUND_BACKOFF, rand=lambda: 0.5))
        delays, errors = [], []
        for _ in range(10):
            delay = worker.step()
            delays.append(delay)
            errors.append(worker.status.last_error)
            if worker.status.last_error is None:
                break
    assert delays[-1] == worker.interval and len(delays) > 1
    assert all(d is not None and d < worker.interval for d in delays[:-1])  # backed off, never gave up
    said = " ".join(e for e in errors if e)
    assert "HTTP 500" in said and "Wi-Fi" in said  # classified, with the start of the body
    assert proxy.log.count("pass") >= 4
    exactly_once(central, ids)
    assert Order.select().count() == 1
