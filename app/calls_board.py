"""The warehouse's supervisor calls at other stations, as last heard from the server.

A station knows its own calls (`app.cases.call_supervisor`); the sync round asks the server for the
live calls of the warehouse's other stations (`sync.calls`) and keeps them here, in one meta row, so
every station's triage screen counts every call in the warehouse — also while the server is
unreachable, then as of the last round that reached it.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import datetime

from app.clock import iso, parse_iso
from app.store import Store
from app.store.states import CaseState

META_KEY = "warehouse.supervisor_calls"


@dataclass(frozen=True)
class RemoteCall:
    station: str
    order_id: str | None
    state: str  # open | acknowledged
    opened_at: str  # ISO
    updated_at: str  # ISO: the last call


@dataclass(frozen=True)
class CallsBoard:
    calls: tuple[RemoteCall, ...] = ()
    as_of: datetime | None = None  # when the server last answered; None: never

    @property
    def open(self) -> tuple[RemoteCall, ...]:
        return tuple(c for c in self.calls if c.state == CaseState.OPEN)


def save_board(store: Store, calls: Sequence[RemoteCall], as_of: datetime) -> None:
    payload = {"as_of": iso(as_of), "calls": [asdict(c) for c in calls]}
    with store.atomic():
        store.set_meta(META_KEY, json.dumps(payload, ensure_ascii=False))


def load_board(store: Store) -> CallsBoard:
    """The last board saved; an empty one when there is none or it cannot be read (never an error:
    the screen counts what it can)."""
    raw = store.meta(META_KEY)
    if not raw:
        return CallsBoard()
    try:
        data = json.loads(raw)
        calls = tuple(RemoteCall(**item) for item in data["calls"])
        return CallsBoard(calls, parse_iso(data["as_of"]))
    except (ValueError, KeyError, TypeError):
        return CallsBoard()
