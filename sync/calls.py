"""Fetch the live supervisor calls of the warehouse's other stations for the triage screen (`app.calls_board`)."""

from __future__ import annotations

from typing import Protocol

from app.calls_board import RemoteCall, save_board
from app.clock import Clock, iso
from app.store import Store
from protocol import SupervisorCallsOut
from sync.client import SyncError


class CallsSource(Protocol):
    def supervisor_calls(self) -> SupervisorCallsOut: ...


def pull_calls(store: Store, api: CallsSource, clock: Clock) -> int:
    """Replace the board with the server's answer; returns how many calls are live elsewhere. A server
    from before the board (404) leaves it empty rather than failing every round."""
    try:
        answer = api.supervisor_calls()
    except SyncError as exc:
        if exc.status != 404:
            raise
        answer = SupervisorCallsOut(calls=[])
    calls = [RemoteCall(c.station, c.order_id, c.state, iso(c.opened_at), iso(c.updated_at)) for c in answer.calls]
    save_board(store, calls, clock.now())
    return len(calls)
