"""One station cannot drain a shared waybill pool: per-call and per-station-per-day quotas, 429 past them."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path

import pytest
from server_harness import Running, Station

from app.clock import SystemClock
from protocol import API
from server.waybills import import_pool


@pytest.fixture
def tight(server: Running) -> Iterator[Running]:
    """The running server with quotas of 10 numbers a call and 25 a station a day."""
    svc = server.services
    server.app.state.services = dataclasses.replace(svc, config=dataclasses.replace(
        svc.config, waybills_per_call=10, waybills_per_station_day=25))
    try:
        yield server
    finally:
        server.app.state.services = svc


def _allocate(station: Station, count: int) -> tuple[int, str]:
    reply = station.request("POST", f"{API}/waybills/allocate", {"carrier": "ZTO", "count": count})
    return reply.status_code, reply.text


def test_allocation_quotas_per_call_and_per_station_day_answer_429(tight: Running, station: Station,
                                                                  tmp_path: Path) -> None:
    numbers = tmp_path / "zt.txt"
    numbers.write_text("\n".join(f"73{n:012d}" for n in range(1, 101)), encoding="utf-8")
    import_pool(tight.services.sdb, numbers, "ZTO", SystemClock())
    status, text = _allocate(station, 11)
    assert status == 429 and "at most 10 waybill numbers per allocation (waybills_per_call" in text
    assert [_allocate(station, 10)[0] for _ in range(2)] == [200, 200]
    status, text = _allocate(station, 6)
    assert status == 429 and "was handed 20 waybill numbers today" in text and "quota of 25 a day" in text
    assert _allocate(station, 5)[0] == 200
    assert _allocate(station, 1)[0] == 429
    other = tight.enroll("WH1", "BENCH-2")  # another station of the warehouse still gets its share
    assert _allocate(other, 10)[0] == 200
    sdb = tight.services.sdb
    with sdb.connection():
        free = sdb.execute('SELECT COUNT(*) FROM "waybill" WHERE "state" = \'free\'').fetchone()[0]
    assert free == 100 - 35
