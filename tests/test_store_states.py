"""The persisted states: their texts are in stores, audit entries and sync payloads, so they never change."""

from __future__ import annotations

import json
import typing
from enum import StrEnum

import pytest

import protocol
from app.store import Store
from app.store.models import Order
from app.store.states import CaseState, HandoverState, OrderStatus, PoolState, PrintJobState, SessionState
from server.states import DeliveryStatus, EventStatus, JobState, SubscriptionState, WaybillState

STORED = {
    OrderStatus: "new paid on_hold cancelled refunded packed shipped",
    SessionState: "open completed aborted short_shipped",
    PrintJobState: "queued sent done failed",
    PoolState: "free used",
    CaseState: "open acknowledged resolved",
    HandoverState: "open closed",
    WaybillState: "free allocated",
    EventStatus: "accepted rejected",
    JobState: "pending running done dead",
    DeliveryStatus: "pending sending sent failed",
    SubscriptionState: "pending subscribed waiting done aborted",
}


@pytest.mark.parametrize("states", list(STORED))
def test_the_texts_are_the_ones_already_stored(states: type[StrEnum]) -> None:
    assert [s.value for s in states] == STORED[states].split()
    for state in states:
        assert state == state.value and f"{state}" == state.value and json.dumps(state) == f'"{state.value}"'
        assert state.name == state.value.upper()  # one spelling to grep for


def test_a_row_read_back_is_plain_text_equal_to_its_member(demo_store: Store) -> None:
    Order.update(status=OrderStatus.ON_HOLD).where(Order.order_id == "TB2026112500001").execute()
    raw = demo_store.db.execute_sql('SELECT "status" FROM "order" WHERE "order_id" = ?', ("TB2026112500001",))
    (status,) = raw.fetchone()
    assert type(status) is str and status == "on_hold" == OrderStatus.ON_HOLD
    assert Order.get(Order.order_id == "TB2026112500001").status == OrderStatus.ON_HOLD


def test_the_wire_protocol_spells_order_statuses_the_same() -> None:
    assert typing.get_args(protocol.OrderStatus) == tuple(OrderStatus)
