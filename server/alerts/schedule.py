"""The server's scheduled jobs: every `INTERVAL`, on one worker, the reconciliation of today and
yesterday (alerts), the server-only exception rules (`server.cases.run_server_rules`), order health
of the last complete hour (`server.health`: new anomalies alert once until they recover; the
readings are kept, recent hours evaluated again for late facts, and readings older than
`health_readings_days` deleted, `server.health.stored`) and the
weekly and monthly health reports of periods that have ended (`server.health.published`).

Several server processes (uvicorn workers, replicas) may share one database; each runs this loop,
and a lease decides who runs the job: the row `job_lease("reconciliation")` holds when the job may
run next, checked and moved forward in one write transaction — serialised by `BEGIN IMMEDIATE` on
SQLite and by a transaction-level advisory lock on PostgreSQL (a second worker's try returns at
once instead of waiting). The worker that took the lease runs the job; the others skip until the
next run is due. Deliveries are sent by every worker's loop each `TICK` (each delivery is claimed
by one of them, see `server.alerts.store`).
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from datetime import timedelta

from starlette.concurrency import run_in_threadpool

from app.clock import Clock, iso, parse_iso
from server.alerts.channels import send
from server.alerts.reconciliation import LOCK_KEY, check, today_and_yesterday, warehouses
from server.alerts.store import Sender, deliver_due
from server.cases import run_server_rules
from server.config import ServerConfig
from server.db import ServerDb
from server.health import check as health_check
from server.health import stored
from server.health.notify import channel_notifier
from server.health.published import publish_due

log = logging.getLogger("server.alerts")

JOB = "reconciliation"
INTERVAL = timedelta(minutes=15)
TICK_SECONDS = 30.0


def take_lease(sdb: ServerDb, name: str, holder: str, clock: Clock, every: timedelta) -> bool:
    """True when this caller may run job `name` now (and the next run is then `every` from now)."""
    now = clock.now()
    with sdb.connection(), sdb.write():
        if sdb.postgres and not sdb.execute("SELECT pg_try_advisory_xact_lock(?)", (LOCK_KEY,)).fetchone()[0]:
            return False
        row = sdb.execute(f'SELECT "next_run_at" FROM "job_lease" WHERE "name" = ?{sdb.for_update()}',
                          (name,)).fetchone()
        if row is not None and parse_iso(str(row[0])) > now:
            return False
        if row is None:
            sdb.execute('INSERT INTO "job_lease" ("name", "holder", "next_run_at") VALUES (?, ?, ?)',
                        (name, holder, iso(now + every)))
        else:
            sdb.execute('UPDATE "job_lease" SET "holder" = ?, "next_run_at" = ? WHERE "name" = ?',
                        (holder, iso(now + every), name))
    return True


class Scheduler:
    def __init__(self, sdb: ServerDb, config: ServerConfig, clock: Clock, sender: Sender = send) -> None:
        self.sdb = sdb
        self.config = config
        self.clock = clock
        self.sender = sender
        self.holder = f"{socket.gethostname()}:{os.getpid()}"

    def run_due(self) -> bool:
        """Run the reconciliation job if this worker holds the lease now; True if it ran."""
        if not take_lease(self.sdb, JOB, self.holder, self.clock, INTERVAL):
            return False
        days = today_and_yesterday(self.config, self.clock)
        for warehouse in warehouses(self.sdb):
            result = check(self.sdb, self.config, self.clock, warehouse, days)
            if result.raised:
                log.info("reconciliation of %s: %d new alerts", warehouse, len(result.raised))
            stalled = run_server_rules(self.sdb, self.clock, warehouse)
            if stalled:
                log.info("server rules opened %d cases in %s", stalled, warehouse)
            try:  # order health must not keep the other jobs of this run from happening
                _, anomalies = health_check(self.sdb, self.clock, warehouse,
                                            notify=channel_notifier(self.sdb, self.config, self.clock, warehouse),
                                            zone=self.config.zone)
                stored.settle(self.sdb, self.clock, warehouse)
                stored.prune(self.sdb, self.clock, warehouse, self.config.health_readings_days)
            except Exception:
                log.exception("order health of %s failed", warehouse)
                continue
            if anomalies:
                log.info("order health of %s: %d new anomalies", warehouse, len(anomalies))
            try:
                for report in publish_due(self.sdb, self.config, self.clock, warehouse):
                    log.info("%s order-health report %s of %s written (%s)", report.kind, report.period, warehouse,
                             report.sent_to or "no report channels")
            except Exception:
                log.exception("order-health reports of %s failed", warehouse)
        return True

    def tick(self) -> None:
        try:
            self.run_due()
        except Exception:  # the loop must survive a bad run (a database hiccup); the next tick retries
            log.exception("scheduled reconciliation failed")
        try:
            deliver_due(self.sdb, self.clock, self.config.alert_channels, self.sender)
        except Exception:
            log.exception("alert delivery failed")

    async def loop(self) -> None:
        while True:
            await run_in_threadpool(self.tick)
            await asyncio.sleep(TICK_SECONDS)
