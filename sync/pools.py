"""Topping up the station's waybill pools from the server's (`POST /api/v1/waybills/allocate`).

After each round's pulls, every carrier whose local pool is below its low-water mark
(`app.waybills.pool_warnings`) asks the server for enough numbers to reach twice the mark (at most
`MAX_PER_CALL`, the server's default per-call quota). The numbers go into the local pool through the
same checks as an imported file (`app.waybills.add_numbers`). The server's pool being empty (409) or a
quota reached (429) is not a failure of the round: the bench goes on with e-waybills, what is left,
or pre-printed waybills, and the pool warning stays on screen.
"""

from __future__ import annotations

import logging
from typing import Protocol

from app.clock import Clock
from app.store import Store
from app.waybills import LowWater, WaybillImportError, add_numbers, pool_warnings
from protocol import WaybillAllocation
from sync.client import SyncError

log = logging.getLogger(__name__)
MAX_PER_CALL = 200
NOT_NOW = frozenset({409, 429})  # the server's pool is empty / this station's quota is used up


class WaybillSource(Protocol):
    def allocate_waybills(self, carrier: str, count: int) -> WaybillAllocation: ...


def top_up_pools(store: Store, api: WaybillSource, clock: Clock, low_water: LowWater | None = None) -> dict[str, int]:
    """Numbers added per carrier. A SyncError other than 409/429 is raised (the round records it)."""
    added: dict[str, int] = {}
    for warning in pool_warnings(low_water):
        want = min(MAX_PER_CALL, 2 * warning.threshold - warning.free)
        if want <= 0:
            continue
        try:
            numbers = api.allocate_waybills(warning.carrier, want).numbers
        except SyncError as exc:
            if exc.status in NOT_NOW:
                log.info("no %s numbers from the server now: %s", warning.carrier, exc.reason)
                continue
            raise
        if not numbers:
            continue
        try:
            report = add_numbers(store, numbers, warning.carrier, clock, "sync", where="server allocation",
                                 source={"server_allocation": len(numbers)}, low_water=low_water)
        except WaybillImportError as exc:  # numbers the station already knows: never printed twice
            log.error("server allocation of %d %s numbers refused: %s", len(numbers), warning.carrier, exc)
            continue
        added[warning.carrier] = report.imported
        log.info("%s pool topped up from the server: %d numbers (%d free)", warning.carrier, report.imported,
                 report.free)
    return added
