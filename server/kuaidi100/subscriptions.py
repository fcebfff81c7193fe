"""Tracking subscriptions: every parcel number the server learns is subscribed at Kuaidi100 once.

Numbers come from e-waybills (already subscribed by their order call when `needSubscribe` was
sent), from the stations' parcels (pool numbers, pre-printed waybills) and from orders imported
with a waybill. Each is a `tracking_subscription` row, `pending` until a `subscribe` job has made
the call (`POST {kuaidi100_poll_api}/poll` with `callbackurl` = public_url + the hook, our `salt`,
`resultv2` = 4 for per-item status codes, and the receiver's phone for the carriers that need one).

A push with `status=abort` means Kuaidi100 stopped tracking (e.g. "3天查询无记录": nothing in three
days). If the parcel is not handed over yet it was simply not moving: the subscription waits and is
renewed once it is handed over. If it was handed over recently and never renewed, it is renewed
once now. Otherwise the abort is published to the warehouse's tracking stream as an `exception`
event with code `abort` and Kuaidi100's message, and the station opens a `tracking_abort` case.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime, timedelta

from app.audit import canonical_json
from app.clock import Clock, iso, parse_iso
from app.errors import BadValue
from app.i18n import N_
from server.config import ServerConfig
from server.db import ServerDb, chunks, placeholders
from server.kuaidi100.api import Kuaidi100Api
from server.kuaidi100.codes import NEEDS_PHONE, company
from server.kuaidi100.jobs import rerun
from server.states import SubscriptionState
from server.tracking import TrackingRecord, ingest

log = logging.getLogger("server.kuaidi100.subscriptions")

RECENT_HANDOVER = timedelta(days=4)  # "3天查询无记录" for a parcel handed over within this: renew once
NO_RECORD = "无记录"
ABORT_CODE = "abort"


def learn(sdb: ServerDb, tracking_no: str, carrier: str, order_id: str, now: datetime,
          subscribed: bool = False) -> None:
    """A number the server now knows. Inside the caller's write transaction; a known one is kept."""
    sdb.execute('INSERT INTO "tracking_subscription" ("tracking_no", "carrier", "order_id", "state", "resubscribes", '
                '"message", "updated_at") VALUES (?, ?, ?, ?, 0, \'\', ?) ON CONFLICT ("tracking_no") DO NOTHING',
                (tracking_no, carrier, order_id,
                 SubscriptionState.SUBSCRIBED if subscribed else SubscriptionState.PENDING, iso(now)))


def learn_parcels(sdb: ServerDb, tracking_nos: Sequence[str]) -> None:
    """Parcels the stations just reported (in the event batch's transaction)."""
    for chunk in chunks(sorted(set(tracking_nos))):
        sdb.execute('INSERT INTO "tracking_subscription" ("tracking_no", "carrier", "order_id", "state", '
                    '"resubscribes", "message", "updated_at") SELECT "tracking_no", "carrier", "order_id", '
                    f'\'pending\', 0, \'\', "updated_at" FROM "parcel" WHERE "tracking_no" IN '
                    f'({placeholders(len(chunk))}) ON CONFLICT ("tracking_no") DO NOTHING', chunk)


def enqueue_pending(sdb: ServerDb, now: datetime) -> None:
    """A `subscribe` job for every pending subscription without one (in a write transaction)."""
    sdb.execute('INSERT INTO "carrier_job" ("kind", "subject", "state", "attempts", "run_at", "last_error", '
                '"created_at", "updated_at") SELECT \'subscribe\', "tracking_no", \'pending\', 0, ?, \'\', ?, ? '
                'FROM "tracking_subscription" WHERE "state" = \'pending\' ON CONFLICT ("kind", "subject") DO NOTHING',
                (iso(now), iso(now), iso(now)))


def subscribe(sdb: ServerDb, config: ServerConfig, api: Kuaidi100Api, tracking_no: str, clock: Clock) -> None:
    if not config.kuaidi100_callback or not config.kuaidi100_salt:
        raise BadValue(N_("set public_url and kuaidi100_salt: Kuaidi100 needs somewhere to push, and we a salt"))
    with sdb.connection():
        row = sdb.execute('SELECT s."carrier", s."state", COALESCE(o."receiver_phone", \'\') FROM '
                          '"tracking_subscription" s LEFT JOIN "order" o ON o."order_id" = s."order_id" '
                          'WHERE s."tracking_no" = ?', (tracking_no,)).fetchone()
    if row is None or row[1] != SubscriptionState.PENDING:
        return
    carrier, _, phone = row
    parameters = {"callbackurl": config.kuaidi100_callback, "salt": config.kuaidi100_salt, "resultv2": "4"}
    if carrier in NEEDS_PHONE:
        if not phone.strip():
            raise BadValue(N_("{carrier} {tracking_no}: Kuaidi100 needs the receiver's phone and the order has none"),
                           carrier=carrier, tracking_no=tracking_no)
        parameters["phone"] = phone.strip()
    api.subscribe(company(carrier), tracking_no, parameters)
    with sdb.connection(), sdb.write():
        sdb.execute('UPDATE "tracking_subscription" SET "state" = \'subscribed\', "updated_at" = ? '
                    'WHERE "tracking_no" = ?', (iso(clock.now()), tracking_no))


def renew_handed_over(sdb: ServerDb, order_ids: Sequence[str], now: datetime) -> None:
    """Subscriptions that waited for their parcel's handover and got it: renewed (write transaction)."""
    for chunk in chunks(sorted(set(order_ids))):
        waiting = [t for (t,) in sdb.execute(
            f'SELECT s."tracking_no" FROM "tracking_subscription" s '
            f'JOIN "parcel" p ON p."tracking_no" = s."tracking_no" '
            f'WHERE s."state" = \'waiting\' AND p."handed_over_at" IS NOT NULL AND p."voided_at" IS NULL '
            f'AND s."order_id" IN ({placeholders(len(chunk))})', chunk)]
        for tracking_no in waiting:
            _renew(sdb, tracking_no, now)


def _renew(sdb: ServerDb, tracking_no: str, now: datetime) -> None:
    sdb.execute('UPDATE "tracking_subscription" SET "state" = \'pending\', "resubscribes" = "resubscribes" + 1, '
                '"updated_at" = ? WHERE "tracking_no" = ?', (iso(now), tracking_no))
    rerun(sdb, "subscribe", tracking_no, now)
    log.info("subscription of %s renewed", tracking_no)


def on_push_status(sdb: ServerDb, status: str, message: str, carrier: str, tracking_no: str,
                   clock: Clock) -> bool:
    """A push's subscription status. Returns True when an abort event was published for the station."""
    if status not in ("abort", "shutdown"):
        return False
    now = clock.now()
    with sdb.connection(), sdb.write():
        row = sdb.execute('SELECT s."resubscribes", p."handed_over_at", p."id" FROM "tracking_subscription" s '
                          'LEFT JOIN "parcel" p ON p."tracking_no" = s."tracking_no" AND p."voided_at" IS NULL '
                          'WHERE s."tracking_no" = ?', (tracking_no,)).fetchone()
        if status == "shutdown":  # tracking is over (delivered, or the carrier closed it)
            sdb.execute('UPDATE "tracking_subscription" SET "state" = \'done\', "message" = ?, "updated_at" = ? '
                        'WHERE "tracking_no" = ?', (message, iso(now), tracking_no))
            return False
        resubscribes, handed_over_at, _ = row if row else (1, None, None)
        no_record = NO_RECORD in message
        if row is not None and no_record and not handed_over_at:
            sdb.execute('UPDATE "tracking_subscription" SET "state" = \'waiting\', "message" = ?, "updated_at" = ? '
                        'WHERE "tracking_no" = ?', (message, iso(now), tracking_no))
            log.info("kuaidi100 abort for %s before its handover (%s): renewed when handed over", tracking_no, message)
            return False
        if no_record and resubscribes == 0 and handed_over_at and parse_iso(handed_over_at) >= now - RECENT_HANDOVER:
            sdb.execute('UPDATE "tracking_subscription" SET "message" = ? WHERE "tracking_no" = ?',
                        (message, tracking_no))
            _renew(sdb, tracking_no, now)
            return False
        if row is not None:
            sdb.execute('UPDATE "tracking_subscription" SET "state" = \'aborted\', "message" = ?, "updated_at" = ? '
                        'WHERE "tracking_no" = ?', (message, iso(now), tracking_no))
    text = f"快递100已停止跟踪 tracking stopped: {message or 'abort'}"
    record = TrackingRecord(carrier, tracking_no, "exception", ABORT_CODE, iso(now), iso(now), "", "", text,
                            canonical_json({"status": status, "message": message}))
    with sdb.connection():
        ingest(sdb, "kuaidi100", canonical_json({"status": status, "message": message, "nu": tracking_no}), [record],
               clock)
    log.warning("kuaidi100 abort for %s: %s; published for a tracking_abort case", tracking_no, message)
    return True
