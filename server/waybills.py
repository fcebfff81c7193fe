"""The server's per-carrier waybill pools: import (`packbench server waybills import FILE --carrier C`)
and allocation to stations (`POST /api/v1/waybills/allocate`).

Numbers are checked with the station's own rules (`app.waybills.check_number`: the carrier's
pattern, read back as a parcel code); an import is all or nothing and refuses a number already in
the pool. A number is handed out once, ever: on PostgreSQL the free rows are taken with
`SELECT … FOR UPDATE SKIP LOCKED`, so concurrent allocations take disjoint numbers without
waiting on each other; on SQLite the transaction is `BEGIN IMMEDIATE`, so allocations run one at
a time. An allocation returns up to `count` numbers (fewer when the pool runs low) and fails
(`PoolEmpty`) only when there are none. One station cannot drain a shared pool: an allocation asks
for at most `waybills_per_call` numbers, and a station is handed at most `waybills_per_station_day`
a UTC day (server.toml); past either it is refused (`QuotaExceeded`, HTTP 429).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC
from pathlib import Path

from app.clock import Clock, iso
from app.errors import PackBenchError
from app.i18n import N_
from app.waybills import WaybillImportError, check_number, normalise_carrier, read_numbers, refusal
from server.db import ServerDb, chunks, placeholders, retrying

log = logging.getLogger("server.waybills")


class PoolEmpty(PackBenchError):
    pass


class QuotaExceeded(PackBenchError):
    """An allocation over a quota (HTTP 429); the message names the quota and its server.toml key."""


@dataclass(frozen=True)
class Quota:
    per_call: int = 200
    per_station_day: int = 2000


@dataclass(frozen=True)
class PoolImport:
    carrier: str
    imported: int
    free: int


def free_count(sdb: ServerDb, carrier: str) -> int:
    return int(sdb.execute('SELECT COUNT(*) FROM "waybill" WHERE "carrier" = ? AND "state" = \'free\'',
                           (carrier,)).fetchone()[0])


def import_pool(sdb: ServerDb, path: Path, carrier: str, clock: Clock) -> PoolImport:
    code = normalise_carrier(carrier)
    lines = read_numbers(Path(path))
    if not lines:
        raise WaybillImportError(N_("{path}: no numbers in the file; nothing imported"), path=path)
    problems: list[tuple[int, str]] = []
    seen: dict[str, int] = {}
    for line_no, text in lines:
        problem = check_number(text, code)
        number = text.upper()
        if problem is None and number in seen:
            problem = f"{text!r} repeats line {seen[number]}"
        if problem is not None:
            problems.append((line_no, problem))
        seen.setdefault(number, line_no)
    now = iso(clock.now())
    with sdb.connection(), sdb.write():
        numbers = list(seen)
        for chunk in chunks(numbers):
            for (number,) in sdb.execute(f'SELECT "number" FROM "waybill" WHERE "number" IN '
                                         f'({placeholders(len(chunk))})', chunk):
                problems.append((seen[number], f"{number} is already in the server's pool"))
        if problems:
            raise refusal(Path(path).name, sorted(problems))
        sdb.executemany('INSERT INTO "waybill" ("carrier", "number", "state", "imported_at") '
                        "VALUES (?, ?, 'free', ?)", [(code, number, now) for number in numbers])
        free = free_count(sdb, code)
    log.info("waybill pool %s: %d numbers imported from %s", code, len(numbers), path)
    return PoolImport(code, len(numbers), free)


def allocate(sdb: ServerDb, carrier: str, count: int, station_id: str, clock: Clock,
             quota: Quota | None = None) -> list[str]:
    """Up to `count` free numbers for the station; QuotaExceeded past the per-call or per-day quota."""
    code = normalise_carrier(carrier)
    quota = quota or Quota()
    if count > quota.per_call:
        raise QuotaExceeded(f"at most {quota.per_call} waybill numbers per allocation (waybills_per_call in "
                            f"server.toml); ask for fewer")

    def take() -> list[str]:
        now = clock.now()
        with sdb.write():
            # The station's row is the lock that makes the day's count and the allocation one step.
            sdb.execute(f'SELECT "id" FROM "station" WHERE "station_id" = ?{sdb.for_update()}', (station_id,))
            midnight = iso(now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0))
            today = int(sdb.execute('SELECT COUNT(*) FROM "waybill" WHERE "station_id" = ? AND "allocated_at" >= ?',
                                    (station_id, midnight)).fetchone()[0])
            if today + count > quota.per_station_day:
                raise QuotaExceeded(f"station {station_id} was handed {today} waybill numbers today (UTC); "
                                    f"{count} more would pass its quota of {quota.per_station_day} a day "
                                    f"(waybills_per_station_day in server.toml)")
            rows = sdb.execute(
                'SELECT "id", "number" FROM "waybill" WHERE "carrier" = ? AND "state" = \'free\' ORDER BY "id" LIMIT ?'
                + (" FOR UPDATE SKIP LOCKED" if sdb.postgres else ""), (code, count)).fetchall()
            if not rows:
                raise PoolEmpty(f"the server's {code} waybill pool is empty")
            ids = [row[0] for row in rows]
            sdb.execute(f'UPDATE "waybill" SET "state" = \'allocated\', "station_id" = ?, "allocated_at" = ? '
                        f'WHERE "state" = \'free\' AND "id" IN ({placeholders(len(ids))})',
                        (station_id, iso(now), *ids))
            return [row[1] for row in rows]

    numbers = retrying(sdb, take)
    log.info("station %s was allocated %d %s numbers", station_id, len(numbers), code)
    return numbers
