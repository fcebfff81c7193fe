"""The hash-chained audit log and the outbox entry that goes with every fact.

Each entry's hash covers its own fields and the previous entry's hash, so altering, removing or
inserting an entry anywhere before the head breaks the chain at that point. Cutting entries off the
end leaves a shorter valid chain: the head hash is what a second party (the server, an evidence pack)
must hold to detect that.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from app.clock import iso
from app.store.models import AuditEntry, Outbox
from app.store.prepared import execute

GENESIS = "0" * 64


def canonical_json(payload: Any) -> str:
    return json.dumps(payload, ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=str)


def entry_hash(prev_hash: str, seq: int, at: str, actor: str, kind: str, payload: str) -> str:
    material = "\x1f".join((prev_hash, str(seq), at, actor, kind, payload))
    return hashlib.sha256(material.encode("utf-8")).hexdigest()


def record_fact(kind: str, actor: str, at: datetime, payload: dict[str, Any], *, sync: bool = True) -> int:
    """Append an audit entry (and, with `sync`, the outbox event that carries the fact to the server).

    Call inside `Store.atomic()` together with the domain change it records.
    Returns the audit sequence number.
    """
    # Plain SQL: this runs for every scan, and peewee's query building would cost more than SQLite.
    head = execute(AuditEntry, _HEAD_SQL).fetchone()
    seq = head[0] + 1 if head else 1
    prev = head[1] if head else GENESIS
    when = iso(at)
    body = canonical_json(payload)
    digest = entry_hash(prev, seq, when, actor, kind, body)
    execute(AuditEntry, _AUDIT_SQL, (seq, when, actor, kind, body, prev, digest))
    if sync:
        outbox_body = canonical_json({"audit_seq": seq, "actor": actor, **payload})
        execute(Outbox, _OUTBOX_SQL, (str(uuid.uuid4()), kind, outbox_body, when))
    return int(seq)


_HEAD_SQL = 'SELECT "seq", "hash" FROM "audit_entry" ORDER BY "seq" DESC LIMIT 1'
_AUDIT_SQL = ('INSERT INTO "audit_entry" ("seq", "at", "actor", "kind", "payload", "prev_hash", "hash") '
              "VALUES (?, ?, ?, ?, ?, ?, ?)")
_OUTBOX_SQL = 'INSERT INTO "outbox" ("event_id", "kind", "payload", "created_at", "attempts") VALUES (?, ?, ?, ?, 0)'


@dataclass(frozen=True)
class ChainReport:
    ok: bool
    entries: int
    head_hash: str
    problem: str = ""  # the first break, in words: "entry 17: hash does not match its content"


def _entries(batch: int = 5000) -> Iterator[tuple[int, str, str, str, str, str, str]]:
    """(seq, at, actor, kind, payload, prev_hash, hash) in order, as plain rows: model instances cost
    three times the hashing on a chain of 10^5 entries."""
    last = 0
    while True:
        rows = execute(AuditEntry, _PAGE_SQL, (last, batch)).fetchall()
        if not rows:
            return
        yield from rows
        last = rows[-1][0]


_PAGE_SQL = ('SELECT "seq", "at", "actor", "kind", "payload", "prev_hash", "hash" FROM "audit_entry" '
             'WHERE "seq" > ? ORDER BY "seq" LIMIT ?')


def verify_chain() -> ChainReport:
    prev = GENESIS
    expected_seq = 1
    count = 0
    for seq, at, actor, kind, payload, prev_hash, digest in _entries():
        if seq != expected_seq:
            what = "removed" if seq > expected_seq else "out of order"
            return ChainReport(False, count, prev, f"entry {expected_seq}: missing ({what}); next is {seq}")
        if prev_hash != prev:
            return ChainReport(False, count, prev, f"entry {seq}: does not link to entry {seq - 1}")
        if entry_hash(prev_hash, seq, at, actor, kind, payload) != digest:
            return ChainReport(False, count, prev, f"entry {seq}: hash does not match its content")
        prev = digest
        expected_seq += 1
        count += 1
    return ChainReport(True, count, prev)
