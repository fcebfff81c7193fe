"""app.worker.Worker: calls in order on its thread, chores, a crash that is logged, and a clean stop."""

from __future__ import annotations

import logging
import math
import threading
from collections.abc import Iterator

import pytest

from app.worker import Chore, Worker
from tests.ptypair import wait_until


@pytest.fixture
def workers() -> Iterator[list[Worker]]:
    made: list[Worker] = []
    yield made
    for worker in made:
        worker.stop()


def test_calls_run_in_order_on_the_workers_thread(workers: list[Worker]) -> None:
    worker = Worker("w-order")
    workers.append(worker)
    seen: list[tuple[int, str]] = []
    for k in range(50):
        assert worker.post(lambda k=k: seen.append((k, threading.current_thread().name)))  # type: ignore[misc]
    worker.start()
    assert worker.wait_idle(5)
    assert seen == [(k, "w-order") for k in range(50)]


def test_chores_run_on_their_timer_and_can_set_their_own_next_run(workers: list[Worker]) -> None:
    ticks: list[int] = []
    later: list[int] = []
    tick = Chore(0.01, lambda: ticks.append(1))
    waiter = Chore(0.01, lambda: later.append(1) or math.inf)  # runs once, then only when scheduled
    worker = Worker("w-chores", chores=[tick, waiter])
    workers.append(worker)
    worker.start()
    wait_until(lambda: len(ticks) >= 3 and later == [1])
    worker.schedule(waiter, 0)
    wait_until(lambda: later == [1, 1])
    assert worker.wait_idle(1)


def test_a_crash_in_a_step_is_logged_reported_and_the_worker_goes_on(workers: list[Worker],
                                                                     caplog: pytest.LogCaptureFixture) -> None:
    reported: list[str] = []
    worker = Worker("w-crash", on_error=reported.append)
    workers.append(worker)
    worker.start()
    ran: list[str] = []

    def boom() -> None:
        raise ValueError("bad label")

    with caplog.at_level(logging.ERROR, logger="app.worker"):
        worker.post(boom)
        worker.post(lambda: ran.append("next"))
        assert worker.wait_idle(5)
    assert ran == ["next"] and worker.alive
    assert reported == ["ValueError: bad label"]
    assert "w-crash: a step failed" in caplog.text and "ValueError: bad label" in caplog.text


def test_a_crashing_chore_keeps_its_timer(workers: list[Worker]) -> None:
    runs: list[int] = []

    def flaky() -> None:
        runs.append(1)
        raise OSError("disk busy")

    worker = Worker("w-flaky", chores=[Chore(0.01, flaky)], on_error=lambda message: None)
    workers.append(worker)
    worker.start()
    wait_until(lambda: len(runs) >= 3)


def test_stop_ends_after_the_step_in_flight_and_drops_the_rest(workers: list[Worker]) -> None:
    exited: list[str] = []
    worker = Worker("w-stop", on_exit=lambda: exited.append(threading.current_thread().name))
    started, release = threading.Event(), threading.Event()
    ran: list[str] = []

    def slow() -> None:
        started.set()
        release.wait(5)
        ran.append("slow")

    worker.post(slow)
    worker.post(lambda: ran.append("queued behind"))
    worker.start()
    assert started.wait(5)
    stopper = threading.Thread(target=worker.stop)
    stopper.start()
    wait_until(lambda: worker.stopping)
    assert not worker.post(lambda: ran.append("too late"))  # refused, not lost silently
    release.set()
    stopper.join(5)
    assert not worker.alive
    assert ran == ["slow"] and exited == ["w-stop"]
    assert worker.wait_idle(0)  # nobody waits forever for the dropped call


def test_stop_with_drain_runs_what_was_posted(workers: list[Worker]) -> None:
    worker = Worker("w-drain")
    ran: list[int] = []
    for k in range(5):
        worker.post(lambda k=k: ran.append(k))  # type: ignore[misc]
    worker.start()
    assert worker.stop(drain=True)
    assert ran == [0, 1, 2, 3, 4]


def test_sleep_inside_a_step_is_cut_short_by_stop(workers: list[Worker]) -> None:
    worker = Worker("w-sleep")
    woke: list[bool] = []
    sleeping = threading.Event()

    def backoff() -> None:
        sleeping.set()
        woke.append(worker.sleep(60))

    worker.post(backoff)
    worker.start()
    assert sleeping.wait(5)
    assert worker.stop(timeout=5)
    assert woke == [True]


def test_a_bounded_inbox_refuses_instead_of_blocking() -> None:
    worker = Worker("w-bounded", max_inbox=2)
    assert worker.post(lambda: None) and worker.post(lambda: None)
    assert not worker.post(lambda: None)
    assert worker.run_pending() == 2  # on the caller's thread, for tests without threads
    assert worker.post(lambda: None)


def test_stop_from_the_workers_own_thread_does_not_deadlock(workers: list[Worker]) -> None:
    worker = Worker("w-self")
    worker.post(lambda: worker.stop())
    worker.start()
    wait_until(lambda: not worker.alive)
