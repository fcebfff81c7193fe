"""Carrier calls as background jobs: bounded retries with backoff, then a dead-letter list.

A job is one call to make about one subject: `ewaybill` (order an e-waybill for order X), `cancel`
(cancel order X's unused e-waybill), `subscribe` (subscribe tracking number N). (kind, subject) is
unique, so enqueueing is idempotent and an order can never have two e-waybill jobs.

Claiming: due jobs are taken in one short transaction that marks them `running` with a lease
(`run_at` = now + LEASE) and counts the attempt; on PostgreSQL the rows are read `FOR UPDATE SKIP
LOCKED`, so several server workers take disjoint jobs without waiting on each other (on SQLite the
transaction is IMMEDIATE: claims run one at a time). The call itself runs outside any transaction;
a worker that dies mid-call leaves its job `running` until the lease ends, then any worker takes it
again. A failed attempt is retried after `RETRY` (30 s doubling, at most 2 h); after MAX_ATTEMPTS the
job is `dead`, listed by `packbench server carrier-jobs` for an admin, who may retry it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from app.backoff import Backoff
from app.clock import iso
from server.db import ServerDb, placeholders
from server.kuaidi100.api import Kuaidi100Error
from server.states import JobState

log = logging.getLogger("server.kuaidi100.jobs")

KINDS = ("ewaybill", "cancel", "subscribe")
MAX_ATTEMPTS = 6
RETRY = Backoff(base=30.0, cap=2 * 3600.0)
LEASE = timedelta(minutes=3)  # longer than any call's timeouts: a live call is never taken twice
CLAIM = 20


@dataclass(frozen=True)
class Job:
    id: int
    kind: str
    subject: str
    attempts: int  # including the one now running


@dataclass(frozen=True)
class JobRow:
    kind: str
    subject: str
    state: str
    attempts: int
    run_at: str
    last_error: str
    updated_at: str


def enqueue(sdb: ServerDb, kind: str, subject: str, now: datetime) -> None:
    """Add a job unless (kind, subject) has one already. Inside the caller's write transaction."""
    sdb.execute('INSERT INTO "carrier_job" ("kind", "subject", "state", "attempts", "run_at", "last_error", '
                '"created_at", "updated_at") VALUES (?, ?, \'pending\', 0, ?, \'\', ?, ?) '
                'ON CONFLICT ("kind", "subject") DO NOTHING', (kind, subject, iso(now), iso(now), iso(now)))


def rerun(sdb: ServerDb, kind: str, subject: str, now: datetime) -> bool:
    """Make a finished or dead job due again with a fresh budget (a re-subscription, an admin's retry)."""
    cursor = sdb.execute('UPDATE "carrier_job" SET "state" = \'pending\', "attempts" = 0, "run_at" = ?, '
                         '"updated_at" = ? WHERE "kind" = ? AND "subject" = ? AND "state" IN (\'done\', \'dead\')',
                         (iso(now), iso(now), kind, subject))
    return bool(cursor.rowcount)


def claim(sdb: ServerDb, now: datetime, limit: int = CLAIM) -> list[Job]:
    """Take up to `limit` due jobs (pending, or running with an expired lease) for this worker."""
    with sdb.write():
        rows = sdb.execute(
            'SELECT "id", "kind", "subject", "attempts" FROM "carrier_job" WHERE "state" IN (\'pending\', \'running\') '
            'AND "run_at" <= ? ORDER BY "run_at", "id" LIMIT ?' + (" FOR UPDATE SKIP LOCKED" if sdb.postgres else ""),
            (iso(now), limit)).fetchall()
        if not rows:
            return []
        ids = [row[0] for row in rows]
        sdb.execute(f'UPDATE "carrier_job" SET "state" = \'running\', "attempts" = "attempts" + 1, "run_at" = ?, '
                    f'"updated_at" = ? WHERE "id" IN ({placeholders(len(ids))})',
                    (iso(now + LEASE), iso(now), *ids))
    return [Job(int(pk), kind, subject, int(attempts) + 1) for pk, kind, subject, attempts in rows]


def finish(sdb: ServerDb, job: Job, now: datetime, error: str | None) -> str:
    """Record the attempt's result; returns the job's new state (done, pending or dead)."""
    if error is None:
        state, run_at = JobState.DONE, now
    elif job.attempts >= MAX_ATTEMPTS:
        state, run_at = JobState.DEAD, now
        log.error("carrier job %s %s is dead after %d attempts: %s", job.kind, job.subject, job.attempts, error)
    else:
        state, run_at = JobState.PENDING, now + RETRY.after(job.attempts)
        log.warning("carrier job %s %s failed (attempt %d), again at %s: %s", job.kind, job.subject, job.attempts,
                    iso(run_at), error)
    with sdb.connection(), sdb.write():
        sdb.execute('UPDATE "carrier_job" SET "state" = ?, "run_at" = ?, "last_error" = ?, "updated_at" = ? '
                    'WHERE "id" = ?', (state, iso(run_at), (error or "")[:1000], iso(now), job.id))
    return state


def run_claimed(sdb: ServerDb, jobs: list[Job], handlers: dict[str, Callable[[str], object]],
                now: Callable[[], datetime]) -> dict[str, int]:
    """Run claimed jobs one by one; any exception is that attempt's error. Counts per new state."""
    counts: dict[str, int] = {}
    for job in jobs:
        try:
            handlers[job.kind](job.subject)
            error = None
        except Exception as exc:  # a carrier's, a network's or our own failure: each is retried, then listed
            if not isinstance(exc, Kuaidi100Error | ValueError | LookupError):
                log.exception("carrier job %s %s crashed", job.kind, job.subject)
            error = str(exc) or type(exc).__name__
        state = finish(sdb, job, now(), error)
        counts[state] = counts.get(state, 0) + 1
    return counts


def listing(sdb: ServerDb, states: tuple[str, ...] = (JobState.DEAD,), limit: int = 200) -> list[JobRow]:
    with sdb.connection():
        rows = sdb.execute(f'SELECT "kind", "subject", "state", "attempts", "run_at", "last_error", "updated_at" '
                           f'FROM "carrier_job" WHERE "state" IN ({placeholders(len(states))}) '
                           f'ORDER BY "updated_at" DESC, "id" DESC LIMIT ?', (*states, limit)).fetchall()
    return [JobRow(*row) for row in rows]
