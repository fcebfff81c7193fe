"""The server's carrier worker: finds what needs a carrier call and makes the calls, in the background.

Each tick (every `INTERVAL` seconds on a daemon thread, started with the app when Kuaidi100 is
configured; `tick()` directly in tests):

1. scans the order stream from where it stopped (the `carrier_scan` counter; positions appear in
   commit order, so nothing is skipped) and enqueues: an `ewaybill` job for a paid order without a
   waybill in a warehouse with a carrier; a `cancel` job for a cancelled or refunded order with an
   active e-waybill; a subscription for a waybill that came with the order; the renewal of
   subscriptions that waited for their parcel's handover;
2. gives every pending subscription its `subscribe` job;
3. claims due jobs (`server.kuaidi100.jobs`) and runs them.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from app.clock import Clock
from app.store.states import STOPPED_STATUSES, OrderStatus
from server.config import ServerConfig
from server.db import ServerDb, retrying
from server.kuaidi100 import jobs
from server.kuaidi100.api import Kuaidi100Api
from server.kuaidi100.ewaybills import cancel_ewaybill, order_ewaybill
from server.kuaidi100.subscriptions import enqueue_pending, learn, renew_handed_over, subscribe

log = logging.getLogger("server.kuaidi100.worker")
INTERVAL = 5.0
SCAN_BATCH = 1000
STOPPED = STOPPED_STATUSES


class CarrierWorker:
    def __init__(self, sdb: ServerDb, config: ServerConfig, clock: Clock, api: Kuaidi100Api | None = None) -> None:
        self.sdb, self.config, self.clock = sdb, config, clock
        self.api = api or Kuaidi100Api(config.kuaidi100_key, config.kuaidi100_secret, config.kuaidi100_api,
                                       config.kuaidi100_poll_api, clock)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.handlers: dict[str, Callable[[str], object]] = {
            "ewaybill": lambda order_id: order_ewaybill(sdb, config, self.api, order_id, clock),
            "cancel": lambda order_id: cancel_ewaybill(sdb, config, self.api, order_id, clock),
            "subscribe": lambda number: subscribe(sdb, config, self.api, number, clock),
        }

    @property
    def configured(self) -> bool:
        return bool(self.config.kuaidi100_key)

    def scan(self) -> int:
        """Enqueue what the orders changed since the last scan; returns the orders read."""
        def batch() -> int:
            with self.sdb.write():
                now = self.clock.now()
                last = int(self.sdb.execute('SELECT "value" FROM "counter" WHERE "name" = \'carrier_scan\''
                                            + self.sdb.for_update()).fetchone()[0])
                rows = self.sdb.execute(
                    'SELECT o."order_id", o."status", o."tracking_no", o."carrier", o."pos", w."carrier", '
                    'EXISTS (SELECT 1 FROM "ewaybill" e WHERE e."order_id" = o."order_id" AND e."state" = \'active\') '
                    'FROM "order" o LEFT JOIN "warehouse" w ON w."code" = o."warehouse" '
                    'WHERE o."pos" > ? ORDER BY o."pos" LIMIT ?', (last, SCAN_BATCH)).fetchall()
                shipped = []
                for order_id, status, tracking_no, carrier, _, house_carrier, has_ewaybill in rows:
                    wanted = (carrier or "").strip().upper()
                    if (status == OrderStatus.PAID and not tracking_no and house_carrier
                            and wanted in ("", house_carrier) and self.config.kuaidi100_ewaybills):
                        jobs.enqueue(self.sdb, "ewaybill", order_id, now)
                    elif status in STOPPED and has_ewaybill:
                        jobs.enqueue(self.sdb, "cancel", order_id, now)
                    if tracking_no and (wanted or house_carrier):
                        learn(self.sdb, tracking_no, wanted or house_carrier, order_id, now)
                    if status == OrderStatus.SHIPPED:
                        shipped.append(order_id)
                renew_handed_over(self.sdb, shipped, now)
                if rows:
                    self.sdb.execute('UPDATE "counter" SET "value" = ? WHERE "name" = \'carrier_scan\'',
                                     (rows[-1][4],))
                enqueue_pending(self.sdb, now)
                return len(rows)

        total = 0
        while (read := retrying(self.sdb, batch)) == SCAN_BATCH:
            total += read
        return total + read

    def tick(self) -> dict[str, int]:
        """One round: scan, then run the due jobs. Counts of the jobs' new states."""
        self.scan()
        counts: dict[str, int] = {}
        while claimed := retrying(self.sdb, lambda: jobs.claim(self.sdb, self.clock.now())):
            for state, n in jobs.run_claimed(self.sdb, claimed, self.handlers, self.clock.now).items():
                counts[state] = counts.get(state, 0) + n
        return counts

    def start(self, interval: float = INTERVAL) -> None:
        def loop() -> None:
            while not self._stop.wait(interval):
                try:
                    self.tick()
                except Exception:  # the next tick tries again; the server goes on serving
                    log.exception("carrier worker tick failed")

        self._thread = threading.Thread(target=loop, name="carrier-worker", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
