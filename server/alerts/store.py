"""Raising alerts once per key, and delivering them to every channel with retries.

`raise_alert` decides and records, inside the caller's write transaction: a key (e.g.
warehouse|shop|day|kind) whose value goes over its threshold alerts; while it stays over, it
alerts again only when the value has grown by at least the threshold once more since the last
alert (a deviation that worsens is news, one that wobbles or improves is not); going back under
ends the episode, and the next crossing alerts again. Each alert gets one delivery row per channel.

`deliver_due` sends the deliveries that are due, one worker per delivery (a row is claimed by an
UPDATE that only one worker can win), and records the result: sent, or the error and the next try
after `RETRY.delay(attempts)`, until `MAX_ATTEMPTS` tries have failed ("failed"). A delivery a worker
claimed but never finished (the process died) is claimable again after `CLAIM_SECONDS`.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from app.backoff import Backoff
from app.clock import Clock, iso
from app.notify import NotifyError
from app.stored_words import dump_words, load_words
from server.alerts.channels import AlertChannel, Message, send
from server.db import ServerDb
from server.states import DeliveryStatus

log = logging.getLogger("server.alerts")

MAX_ATTEMPTS = 6
RETRY = Backoff(base=2.0, cap=600.0)  # 2, 4, 8 … seconds, at most 10 minutes
CLAIM_SECONDS = 300.0
SUBJECT_WORDS = "subject_words"  # the key of an alert's subject words in its data

Sender = Callable[[AlertChannel, Message], None]


@dataclass(frozen=True)
class Raised:
    alert_id: int
    key: str
    subject: str


def _insert_id(sdb: ServerDb, sql: str, params: Sequence[object]) -> int:
    if sdb.postgres:
        return int(sdb.execute(sql + ' RETURNING "id"', params).fetchone()[0])
    return int(sdb.execute(sql, params).lastrowid)


def raise_alert(sdb: ServerDb, clock: Clock, channels: Sequence[AlertChannel], *, key: str, warehouse: str,
                source: str, value: float, threshold: float, message: Message, link: str) -> Raised | None:
    """Inside the caller's write transaction. Returns the new alert, or None when nothing is news."""
    now = iso(clock.now())
    state = sdb.execute(f'SELECT "value", "over" FROM "alert_state" WHERE "key" = ?{sdb.for_update()}',
                        (key,)).fetchone()
    over = value > threshold
    news = over and (state is None or not state[1] or value >= float(state[0]) + threshold)
    if not over:
        if state is not None and state[1]:
            sdb.execute('UPDATE "alert_state" SET "over" = 0, "value" = ?, "updated_at" = ? WHERE "key" = ?',
                        (value, now, key))
        return None
    if not news:
        return None
    if state is None:
        sdb.execute('INSERT INTO "alert_state" ("key", "value", "over", "updated_at") VALUES (?, ?, 1, ?)',
                    (key, value, now))
    else:
        sdb.execute('UPDATE "alert_state" SET "over" = 1, "value" = ?, "updated_at" = ? WHERE "key" = ?',
                    (value, now, key))
    alert_id = _insert_id(sdb, 'INSERT INTO "alert" ("key", "warehouse", "source", "subject", "body", "link", '
                               '"data", "value", "created_at") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
                          (key, warehouse, source, message.subject, message.text, link,
                           json.dumps({"key": key, "link": link, **message.data, **_words(message)},
                                      ensure_ascii=False), value, now))
    for channel in channels:
        sdb.execute('INSERT INTO "alert_delivery" ("alert_id", "channel", "status", "attempts", "next_at", '
                    '"last_error", "updated_at") VALUES (?, ?, \'pending\', 0, ?, \'\', ?)',
                    (alert_id, channel.name, now, now))
    log.warning("alert %s: %s", key, message.subject)
    return Raised(alert_id, key, message.subject)


@dataclass(frozen=True)
class Delivery:
    id: int
    alert_id: int
    channel: str
    attempts: int
    subject: str
    body: str
    data: str


def _claim(sdb: ServerDb, clock: Clock, limit: int) -> list[Delivery]:
    now = clock.now()
    stale = iso(now - timedelta(seconds=CLAIM_SECONDS))
    with sdb.write():
        rows = sdb.execute(
            'SELECT d."id", d."alert_id", d."channel", d."attempts", a."subject", a."body", a."data", d."status" '
            'FROM "alert_delivery" d JOIN "alert" a ON a."id" = d."alert_id" '
            'WHERE (d."status" = \'pending\' AND d."next_at" <= ?) '
            'OR (d."status" = \'sending\' AND d."updated_at" < ?) '
            'ORDER BY d."id" LIMIT ?', (iso(now), stale, limit)).fetchall()
        claimed = []
        for did, aid, channel, attempts, subject, body, data, status in rows:
            won = sdb.execute('UPDATE "alert_delivery" SET "status" = \'sending\', "updated_at" = ? '
                              'WHERE "id" = ? AND "status" = ?', (iso(now), did, status)).rowcount
            if won:
                claimed.append(Delivery(int(did), int(aid), str(channel), int(attempts), str(subject), str(body),
                                        str(data)))
    return claimed


def _record(sdb: ServerDb, clock: Clock, delivery: Delivery, error: str | None) -> None:
    now = clock.now()
    attempts = delivery.attempts + 1
    if error is None:
        status, next_at = DeliveryStatus.SENT, now
    elif attempts >= MAX_ATTEMPTS:
        status, next_at = DeliveryStatus.FAILED, now
    else:
        status, next_at = DeliveryStatus.PENDING, now + RETRY.after(attempts)
    with sdb.write():
        sdb.execute('UPDATE "alert_delivery" SET "status" = ?, "attempts" = ?, "next_at" = ?, "last_error" = ?, '
                    '"updated_at" = ? WHERE "id" = ?', (status, attempts, iso(next_at), (error or "")[:500],
                                                        iso(now), delivery.id))


def deliver_due(sdb: ServerDb, clock: Clock, channels: Sequence[AlertChannel], sender: Sender = send,
                limit: int = 50) -> tuple[int, int]:
    """Send what is due now; returns (sent, failed tries). A channel no longer configured fails the try."""
    by_name = {c.name: c for c in channels}
    sent = failed = 0
    with sdb.connection():
        claimed = _claim(sdb, clock, limit)
    for delivery in claimed:
        channel = by_name.get(delivery.channel)
        error: str | None = None
        if channel is None:
            error = f"channel {delivery.channel!r} is no longer configured"
        else:
            message = Message(delivery.subject, delivery.body,
                              {"alert_id": delivery.alert_id, **json.loads(delivery.data)})
            try:
                sender(channel, message)
            except NotifyError as exc:
                error = str(exc)
            except Exception as exc:  # a channel must never stop the others
                error = f"{type(exc).__name__}: {exc}"
        if error is None:
            sent += 1
        else:
            failed += 1
            log.warning("alert %s to %s, try %d failed: %s", delivery.alert_id, delivery.channel,
                        delivery.attempts + 1, error)
        with sdb.connection():
            _record(sdb, clock, delivery, error)
    return sent, failed


def next_due(sdb: ServerDb) -> datetime | None:
    """When the earliest pending delivery is due (None: nothing pending)."""
    from app.clock import parse_iso

    with sdb.connection():
        row = sdb.execute('SELECT MIN("next_at") FROM "alert_delivery" WHERE "status" IN (\'pending\', \'sending\')'
                          ).fetchone()
    return parse_iso(str(row[0])) if row and row[0] else None


def _words(message: Message) -> dict[str, Any]:
    """The subject's words to keep in the alert's data (`SUBJECT_WORDS`), when it has them."""
    return {SUBJECT_WORDS: dump_words(message.words)} if message.words is not None else {}


def subject_in(subject: str, data: str, lang: str) -> str:
    """An alert's subject in `lang`: from the words its data keeps, else as it was written."""
    try:
        kept = json.loads(data or "{}")
    except ValueError:
        kept = None
    words = load_words(kept.get(SUBJECT_WORDS)) if isinstance(kept, dict) else None
    return words.text(lang) if words is not None else subject
