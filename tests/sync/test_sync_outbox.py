"""Outbox push: batches of at most 500 in seq order, answers marked in one transaction, rejections kept."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest

from app.clock import FakeClock, iso
from app.store import Store
from app.store.models import Outbox
from sync import outbox
from sync.outbox import outbox_depth, push_outbox, rejected_count, rejected_events
from tests.sync import fakes
from tests.sync.fakes import FakeApi, queue_events, unreachable

api = fakes.api  # fixture


def test_batches_hold_at_most_500_events_in_seq_order(store: Store, clock: FakeClock, api: FakeApi) -> None:
    ids = queue_events(store, clock, 1234)
    report = push_outbox(store, api, clock)
    assert [len(b) for b in api.batches] == [500, 500, 234]
    sent = [e for b in api.batches for e in b]
    assert [e.seq for e in sent] == sorted(e.seq for e in sent)
    assert [str(e.id) for e in sent] == ids
    assert (report.sent, report.accepted, report.known, report.rejected, report.batches) == (1234, 1234, 0, 0, 3)
    assert outbox_depth() == 0
    assert Outbox.select().where(Outbox.acked_at.is_null()).count() == 0
    assert Outbox.select().count() == 1234  # acked rows stay: the outbox is also the record of what went


def test_an_event_carries_the_outbox_row_as_recorded(store: Store, clock: FakeClock, api: FakeApi) -> None:
    queue_events(store, clock, 1, kind="shipment.created")
    push_outbox(store, api, clock)
    (event,) = api.batches[0]
    row = Outbox.get()
    assert (str(event.id), event.kind, event.seq, event.station) == (row.event_id, row.kind, row.seq, "ST-TEST")
    assert iso(event.at) == row.created_at
    assert event.payload == json.loads(row.payload)
    assert event.payload["actor"] == "packer-1"


def test_all_answers_of_a_batch_are_written_in_one_transaction(store: Store, clock: FakeClock,
                                                               api: FakeApi) -> None:
    queue_events(store, clock, 30)
    api.reject = lambda e: "unknown sku" if e.seq % 3 == 0 else None
    statements: list[str] = []
    store.db.connection().set_trace_callback(statements.append)
    try:
        push_outbox(store, api, clock)
    finally:
        store.db.connection().set_trace_callback(None)
    writes = [i for i, s in enumerate(statements) if s.lstrip().upper().startswith("UPDATE")]
    begins = [i for i, s in enumerate(statements) if s.upper().startswith("BEGIN")]
    commits = [i for i, s in enumerate(statements) if s.upper().startswith("COMMIT")]
    assert len(writes) == 2 and len(begins) == 1 and len(commits) == 1  # acked, then rejected: one txn
    assert begins[0] < writes[0] and writes[-1] < commits[0]


def test_a_crash_while_marking_leaves_the_batch_unmarked_and_a_resend_is_harmless(
        store: Store, clock: FakeClock, api: FakeApi, monkeypatch: pytest.MonkeyPatch) -> None:
    queue_events(store, clock, 10)
    api.reject = lambda e: "bad" if e.seq == 4 else None
    real = outbox._set
    calls = {"n": 0}

    def failing_update(*args: Any, **kwargs: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == 2:  # the acked rows are updated; the station dies before the rejected one
            raise RuntimeError("power cut")
        return real(*args, **kwargs)

    monkeypatch.setattr(outbox, "_set", failing_update)
    with pytest.raises(RuntimeError, match="power cut"):
        push_outbox(store, api, clock)
    monkeypatch.setattr(outbox, "_set", real)
    assert outbox_depth() == 10  # nothing of the batch stayed marked
    report = push_outbox(store, api, clock)
    assert (report.accepted, report.known, report.rejected) == (0, 9, 1)  # the server had them all already
    assert len(api.events) == 9 and outbox_depth() == 0


def test_rejected_events_are_kept_listed_and_never_resent(store: Store, clock: FakeClock, api: FakeApi) -> None:
    queue_events(store, clock, 20)
    api.reject = lambda e: f"no such order ({e.seq})" if e.seq in (3, 17) else None
    report = push_outbox(store, api, clock)
    assert (report.accepted, report.rejected) == (18, 2)
    assert rejected_count() == 2 and outbox_depth() == 0
    listed = rejected_events()
    assert [(r.seq, r.reason) for r in listed] == [(3, "no such order (3)"), (17, "no such order (17)")]
    assert listed[0].payload["i"] == 2
    queue_events(store, clock, 1)
    push_outbox(store, api, clock)
    assert {e.seq for e in api.batches[-1]} == {21}  # the rejected ones were not sent again
    assert Outbox.select().count() == 21


def test_the_same_id_with_another_body_is_rejected_not_overwritten(store: Store, clock: FakeClock,
                                                                   api: FakeApi) -> None:
    queue_events(store, clock, 2)
    push_outbox(store, api, clock)
    first = Outbox.get(Outbox.seq == 1)
    Outbox.update(acked_at=None, payload=json.dumps({"tampered": True})).where(Outbox.seq == 1).execute()
    report = push_outbox(store, api, clock)
    assert report.rejected == 1
    assert Outbox.get(Outbox.seq == 1).rejected_reason == "same id, different body"
    assert api.events[uuid.UUID(first.event_id)].payload != {"tampered": True}


def test_a_failed_send_counts_an_attempt_and_loses_nothing(store: Store, clock: FakeClock, api: FakeApi) -> None:
    queue_events(store, clock, 700)
    api.failures = [unreachable()]
    with pytest.raises(Exception, match="unreachable"):
        push_outbox(store, api, clock)
    attempts = [row.attempts for row in Outbox.select(Outbox.attempts).order_by(Outbox.seq)]
    assert attempts == [1] * 500 + [0] * 200
    assert outbox_depth() == 700
    push_outbox(store, api, clock)
    assert outbox_depth() == 0 and len(api.events) == 700


def test_answers_before_a_failure_stay_marked(store: Store, clock: FakeClock, api: FakeApi) -> None:
    queue_events(store, clock, 1200)
    real_push = api.push
    sent = {"n": 0}

    def second_batch_fails(events: Any, *head: Any) -> Any:
        sent["n"] += 1
        if sent["n"] == 2:
            raise unreachable()
        return real_push(events, *head)

    api.push = second_batch_fails  # type: ignore[method-assign]
    with pytest.raises(Exception, match="unreachable"):
        push_outbox(store, api, clock)
    assert outbox_depth() == 700


def test_a_row_the_station_cannot_encode_is_rejected_here_not_blocking(store: Store, clock: FakeClock,
                                                                       api: FakeApi) -> None:
    queue_events(store, clock, 2)
    Outbox.insert(event_id=str(uuid.uuid4()), kind="odd", payload="[1, 2]", created_at=iso(clock.now())).execute()
    Outbox.insert(event_id="not-a-uuid", kind="odd", payload="{}", created_at=iso(clock.now())).execute()
    queue_events(store, clock, 1)
    report = push_outbox(store, api, clock)
    assert (report.sent, report.accepted, report.rejected) == (3, 3, 2)
    reasons = [r.reason for r in rejected_events()]
    assert all(r.startswith("station: cannot encode event") for r in reasons)
    assert "JSON list" in reasons[0]


def test_batch_size_and_max_batches(store: Store, clock: FakeClock, api: FakeApi) -> None:
    queue_events(store, clock, 25)
    report = push_outbox(store, api, clock, batch_size=10, max_batches=2)
    assert report.sent == 20 and outbox_depth() == 5
    with pytest.raises(ValueError):
        push_outbox(store, api, clock, batch_size=501)


def test_an_event_built_without_validation_is_exactly_what_validation_builds(store: Store, clock: FakeClock) -> None:
    from protocol import Event
    from sync.outbox import pending_rows, to_event

    queue_events(store, clock, 3)
    for row in pending_rows():
        event = to_event(row, "ST-TEST")
        assert Event.model_validate_json(event.model_dump_json()) == event
        assert Event.model_validate(event.model_dump()).model_dump_json() == event.model_dump_json()
