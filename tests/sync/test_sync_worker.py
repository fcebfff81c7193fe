"""The worker: backoff with full jitter, what each failure does to the next round, status, threading."""

from __future__ import annotations

import random
import threading
import time
from dataclasses import replace
from typing import Any

import pytest

from app.audit import record_fact
from app.backoff import Backoff
from app.clock import FakeClock
from app.store import Store
from app.store.models import WaybillPool
from sync.client import SyncError
from sync.outbox import outbox_depth
from sync.worker import ROUND_BACKOFF, SyncStatus, SyncWorker, run_round
from tests.ptypair import wait_until
from tests.sync import fakes
from tests.sync.fakes import FakeApi, order_out, queue_events, unreachable

api = fakes.api  # fixture

AUTH = SyncError("POST /events: the server refuses this station (HTTP 401: unknown station ST-TEST)",
                 retryable=False, kind="auth", status=401)
SERVER_500 = SyncError("POST /events: server error HTTP 500: oops", retryable=True, kind="server", status=500)
GARBAGE = SyncError("POST /events: unexpected answer from the server: '<html>'", retryable=True, kind="garbage")


def test_backoff_doubles_from_2_s_up_to_a_5_min_cap() -> None:
    b = replace(ROUND_BACKOFF, rand=lambda: 1.0)
    assert [b.ceiling(n) for n in range(0, 12)] == [0, 2, 4, 8, 16, 32, 64, 128, 256, 300, 300, 300]
    assert b.delay(10_000) == 300  # no overflow however long the outage


def test_full_jitter_stays_within_zero_and_the_ceiling() -> None:
    rnd = random.Random(7)
    b = replace(ROUND_BACKOFF, rand=rnd.random)
    for n in range(1, 15):
        samples = [b.delay(n) for _ in range(200)]
        assert all(0 <= s <= b.ceiling(n) for s in samples)
        assert max(samples) > 0.8 * b.ceiling(n) and min(samples) < 0.2 * b.ceiling(n)  # the whole range


def make_worker(store: Store, api: Any, clock: FakeClock, rand: float = 0.5, **kwargs: Any) -> SyncWorker:
    return SyncWorker(store, api, clock, interval=30.0, backoff=replace(ROUND_BACKOFF, rand=lambda: rand), **kwargs)


def test_retryable_failures_back_off_and_a_success_resets(store: Store, clock: FakeClock, api: FakeApi) -> None:
    queue_events(store, clock, 3)
    api.failures = [unreachable(), SERVER_500, GARBAGE]
    worker = make_worker(store, api, clock)
    seen: list[SyncStatus] = []
    worker.add_listener(seen.append)
    assert [worker.step() for _ in range(3)] == [1.0, 2.0, 4.0]  # 0.5 × 2, 4, 8
    status = worker.status
    assert (status.online, status.outbox_depth, status.retry_in_s) == (False, 3, 4.0)
    assert "garbage" not in (status.last_error or "") and "<html>" in (status.last_error or "")
    assert worker.step() == 30.0
    status = worker.status
    assert (status.online, status.last_error, status.outbox_depth) == (True, None, 0)
    assert status.last_round_at == clock.now()
    assert api.batches and len(api.events) == 3
    assert any(s.running for s in seen)


def test_a_round_ends_with_the_pulled_pages_pushed_too(store: Store, clock: FakeClock, api: FakeApi) -> None:
    """Each applied page is an audit fact with its outbox event: pushed in the same round."""
    queue_events(store, clock, 2)
    api.feeds["orders"] = [order_out("TB1"), order_out("TB2")]
    report = run_round(store, api, clock)
    assert report.ok and report.outbox_depth == 0
    assert (report.push.sent, report.push.batches) == (3, 2)
    assert api.batches[-1][0].kind == "import.orders"
    assert report.summary() == ("pushed 3 (accepted 3, known 0, rejected 0), pulled orders 2, products 0, "
                                "tracking 0; outbox depth 0")


def test_an_unreachable_server_ends_the_round_after_the_push(store: Store, clock: FakeClock, api: FakeApi) -> None:
    queue_events(store, clock, 1)
    api.failures = [unreachable()]
    report = run_round(store, api, clock)
    assert report.error is not None and report.pull.feeds == {}
    assert api.requests == []


def test_a_refused_push_does_not_stop_the_pulls(store: Store, clock: FakeClock, api: FakeApi) -> None:
    """An order cancelled at the server must reach the bench even while the server refuses a batch."""
    queue_events(store, clock, 1)
    api.failures = [SyncError("POST /events: refused (HTTP 413)", retryable=False, kind="refused", status=413)]
    api.feeds["orders"] = [order_out("TB1", "cancelled")]
    worker = make_worker(store, api, clock)
    delay = worker.step()
    assert delay == 1.0  # retried with backoff, not given up
    report = worker.last_report
    assert report is not None and report.pull.items("orders") == 1
    assert report.error is not None and report.error.status == 413
    assert worker.status.online  # the server answered


def test_a_refused_enrollment_pauses_automatic_rounds_until_a_manual_one(store: Store, clock: FakeClock,
                                                                        api: FakeApi) -> None:
    queue_events(store, clock, 2)
    api.failures = [AUTH]
    worker = make_worker(store, api, clock)
    assert worker.step() is None
    status = worker.status
    assert status.needs_admin and not status.online and "paused" in (status.last_error or "")
    assert "unknown station" in (status.last_error or "")
    sent = len(api.batches)
    assert worker.step() is None and len(api.batches) == sent  # nothing tried behind the admin's back
    worker.kick()
    assert worker.step() == 30.0
    assert not worker.status.needs_admin and outbox_depth() == 0


def test_new_credentials_resume_at_once(store: Store, clock: FakeClock, api: FakeApi) -> None:
    api.pull_failures = [AUTH]  # nothing to push: the first pull is refused
    worker = make_worker(store, api, clock)
    assert worker.step() is None
    other = FakeApi()
    worker.set_client(other)
    queue_events(store, clock, 1)
    assert worker.step() == 30.0 and len(other.events) == 1


def test_the_age_of_the_oldest_unsent_event(store: Store, clock: FakeClock, api: FakeApi) -> None:
    worker = make_worker(store, api, clock)
    assert worker.publish().oldest_unsent_age_s is None
    queue_events(store, clock, 2)
    clock.advance(90)
    queue_events(store, clock, 1)
    clock.advance(10)
    status = worker.publish()
    assert (status.outbox_depth, status.oldest_unsent_age_s, status.rejected_count) == (3, 100.0, 0)


def test_a_failing_listener_does_not_stop_the_worker(store: Store, clock: FakeClock, api: FakeApi) -> None:
    worker = make_worker(store, api, clock)

    def broken(status: SyncStatus) -> None:
        raise RuntimeError("UI gone")

    got: list[SyncStatus] = []
    worker.add_listener(broken)
    worker.add_listener(got.append)
    assert worker.step() == 30.0 and got


def test_a_store_error_is_backed_off_not_fatal(store: Store, clock: FakeClock, api: FakeApi,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    import sync.worker as w

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("database is locked")

    monkeypatch.setattr(w, "run_round", broken)
    worker = make_worker(store, api, clock)
    assert worker.step() == 1.0
    assert worker.status.last_error == "RuntimeError: database is locked"


def test_the_thread_follows_the_backoff_schedule(store: Store, clock: FakeClock, api: FakeApi) -> None:
    api.pull_failures = [unreachable("GET /products")] * 4
    delays: list[float | None] = []
    worker = SyncWorker(store, api, clock, interval=30.0, status_every=None,
                        backoff=Backoff(base=0.001, cap=300.0, jitter=True, rand=lambda: 1.0))
    worker.add_listener(lambda s: None if s.running else delays.append(s.retry_in_s))
    worker.start()
    try:
        wait_until(lambda: len(delays) >= 5, 5)
    finally:
        assert worker.stop(timeout=5)
    assert delays[:5] == [0.001, 0.002, 0.004, 0.008, 30.0]  # the backoff doubles; a success: the interval


def test_the_thread_drains_on_a_kick_and_stops_promptly(store: Store, clock: FakeClock, api: FakeApi) -> None:
    worker = SyncWorker(store, api, clock, interval=3600.0)
    drained = threading.Event()
    worker.add_listener(lambda s: drained.set() if s.outbox_depth == 0 and not s.running and s.online else None)
    worker.start()
    try:
        assert drained.wait(5)
        drained.clear()
        queue_events(store, clock, 1200)
        worker.kick()
        assert drained.wait(10)
        assert len(api.events) == 1200
    finally:
        started = time.monotonic()
        assert worker.stop(timeout=5)
        assert time.monotonic() - started < 1.0  # it was waiting an hour: the stop woke it


def test_stop_ends_a_long_drain_between_batches(store: Store, clock: FakeClock, api: FakeApi) -> None:
    queue_events(store, clock, 2000)
    real = api.push

    def slow(events: Any, *head: Any) -> Any:
        time.sleep(0.05)
        return real(events, *head)

    api.push = slow  # type: ignore[method-assign]
    worker = SyncWorker(store, api, clock, interval=3600.0)
    worker.start()
    while not api.events:
        time.sleep(0.01)
    assert worker.stop(timeout=5)
    assert 0 < len(api.events) < 2000
    assert outbox_depth() == 2000 - len(api.events)  # what was answered is marked; the rest waits


def test_the_bench_keeps_writing_while_the_worker_drains(store: Store, clock: FakeClock, api: FakeApi) -> None:
    """One transaction per batch: a scan committed meanwhile never waits long for the write lock."""
    queue_events(store, clock, 3000)
    real = api.push

    def like_a_server(events: Any, *head: Any) -> Any:
        time.sleep(0.03)  # the server's share of a batch (it is ~50–100 ms for 500 on the real one)
        return real(events, *head)

    api.push = like_a_server  # type: ignore[method-assign]
    worker = SyncWorker(store, api, clock, interval=3600.0)
    waits: list[float] = []
    worker.start()
    try:
        while len(api.events) < 3000:
            started = time.perf_counter()
            with store.atomic():
                record_fact("scan", "packer-1", clock.now(), {"outcome": "item_ok"})
            waits.append(time.perf_counter() - started)
            time.sleep(0.002)
    finally:
        assert worker.stop(timeout=10)
    assert len(waits) > 10
    assert max(waits) < 0.5, f"a scan waited {max(waits):.3f} s for the store"


def test_a_refusal_later_in_the_round_pauses_too(store: Store, clock: FakeClock, api: FakeApi) -> None:
    queue_events(store, clock, 1)
    api.failures = [SyncError("POST /events: refused (HTTP 413)", retryable=False, kind="refused", status=413)]
    api.pull_failures = [AUTH]
    worker = make_worker(store, api, clock)
    assert worker.step() is None and worker.status.needs_admin


def test_the_thread_survives_a_store_error_outside_a_round(store: Store, clock: FakeClock, api: FakeApi,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    import sync.worker as w

    real = w.outbox_depth
    failures = [RuntimeError("database is locked")]

    def flaky() -> int:
        if failures:
            raise failures.pop()
        return real()

    monkeypatch.setattr(w, "outbox_depth", flaky)
    queue_events(store, clock, 3)
    worker = SyncWorker(store, api, clock, interval=3600.0, backoff=Backoff(base=0.01, cap=0.01, jitter=True))
    done = threading.Event()
    worker.add_listener(lambda s: done.set() if s.online and s.outbox_depth == 0 and not s.running else None)
    worker.start()
    try:
        assert done.wait(5)
    finally:
        assert worker.stop(timeout=5)
    assert len(api.events) == 3


def test_a_low_pool_is_topped_up_from_the_servers_pool(demo_store: Store, clock: FakeClock, api: FakeApi) -> None:
    from app.waybills import pool_status

    free, _ = pool_status("SF")  # the demo's 20 numbers: under the low-water mark of 50
    api.pool["SF"] = [f"SF14{n:011d}" for n in range(500, 700)]
    report = run_round(demo_store, api, clock)
    assert report.ok and report.topped_up == {"SF": 100 - free}
    assert report.summary().endswith(f"; SF pool +{100 - free} from the server")
    assert report.as_dict()["waybills_topped_up"] == {"SF": 100 - free}
    # ZTO is low too, but the server has none: asked, answered 409, not a failure
    assert api.allocations == [("SF", 100 - free), ("ZTO", 100 - pool_status("ZTO")[0])]
    assert pool_status("SF")[0] == 100
    assert run_round(demo_store, api, clock).topped_up == {}  # SF is above the mark now: not asked again
    assert [carrier for carrier, _ in api.allocations] == ["SF", "ZTO", "ZTO"]
    api.pool["SF"] = []
    WaybillPool.update(state="used").where(WaybillPool.carrier == "SF").execute()
    report = run_round(demo_store, api, clock)  # the server's pool is empty too: not a failed round
    assert report.ok and report.topped_up == {} and pool_status("SF")[0] == 0
