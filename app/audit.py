"""The hash-chained audit log and the outbox entry that goes with every fact.

Each entry's hash covers its own fields and the previous entry's hash, so altering, removing or
inserting an entry anywhere before the head breaks the chain at that point. Cutting entries off the
end leaves a shorter valid chain: the head hash is what a second party (the server, an evidence pack)
must hold to detect that.

From store migration 6 on, each entry also commits to the covered domain rows its transaction wrote
(`covers`, captured by `app.store.row_capture`), so editing those rows is detected too
(`app.audit_rows`). Entries written before it have no `covers` and hash exactly as they always did.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from app.clock import iso
from app.i18n import N_, Phrase
from app.store import row_capture
from app.store.migration_0006 import COVERS_FROM_SEQ_KEY
from app.store.models import AuditEntry, Meta
from app.store.prepared import execute

GENESIS = "0" * 64


def canonical_json(payload: Any) -> str:
    return json.dumps(payload, ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=str)


def entry_hash(prev_hash: str, seq: int, at: str, actor: str, kind: str, payload: str,
               covers: str | None = None) -> str:
    fields = (prev_hash, str(seq), at, actor, kind, payload) if covers is None else \
        (prev_hash, str(seq), at, actor, kind, payload, covers)
    return hashlib.sha256("\x1f".join(fields).encode("utf-8")).hexdigest()


def record_fact(kind: str, actor: str, at: datetime, payload: dict[str, Any], *, sync: bool = True) -> int:
    """Append an audit entry (and, with `sync`, the outbox event that carries the fact to the server).

    Call inside `Store.atomic()` together with the domain change it records, after the change: the
    entry covers every covered row the transaction wrote so far. Returns the audit sequence number.
    """
    conn = AuditEntry._meta.database.connection()
    covers = row_capture.drain(conn)
    return _append(conn, kind, actor, iso(at), canonical_json(payload), covers, payload if sync else None)


def seal_written_rows(at: datetime) -> None:
    """Cover rows a transaction wrote after (or without) its fact — a print job marked `sent`, a
    cursor page — with a `rows.written` entry, so that no committed row is left unsealed.
    `Store.atomic` calls it before committing; it costs nothing when the last fact sealed everything."""
    conn = AuditEntry._meta.database.connection()
    if not row_capture.written_since_drain(conn):
        return
    covers = row_capture.drain(conn)
    if not covers:
        row_capture.mark_sealed(conn)
        return
    tables: dict[str, int] = {}
    for line in covers.split("\n"):
        table = line.split(" ", 1)[0]
        tables[table] = tables.get(table, 0) + 1
    _append(conn, ROWS_WRITTEN, "-", iso(at), canonical_json({"rows": tables}), covers, None)


ROWS_WRITTEN = "rows.written"


def _append(conn: Any, kind: str, actor: str, when: str, body: str, covers: str,
            outbox: dict[str, Any] | None) -> int:
    # Plain SQL: this runs for every scan, and peewee's query building would cost more than SQLite.
    head = conn.execute(_HEAD_SQL).fetchone()
    seq = head[0] + 1 if head else 1
    prev = head[1] if head else GENESIS
    digest = entry_hash(prev, seq, when, actor, kind, body, covers)
    conn.execute(_AUDIT_SQL, (seq, when, actor, kind, body, prev, digest, covers))
    if outbox is not None:
        outbox_body = canonical_json({"audit_seq": seq, "actor": actor, **outbox})
        conn.execute(_OUTBOX_SQL, (str(uuid.uuid4()), kind, outbox_body, when))
    row_capture.mark_sealed(conn)
    return int(seq)


_HEAD_SQL = 'SELECT "seq", "hash" FROM "audit_entry" ORDER BY "seq" DESC LIMIT 1'
_AUDIT_SQL = ('INSERT INTO "audit_entry" ("seq", "at", "actor", "kind", "payload", "prev_hash", "hash", "covers") '
              "VALUES (?, ?, ?, ?, ?, ?, ?, ?)")
_OUTBOX_SQL = 'INSERT INTO "outbox" ("event_id", "kind", "payload", "created_at", "attempts") VALUES (?, ?, ?, ?, 0)'


CHAIN_BREAK = N_("entry {entry}: {what}")
INTACT = Phrase("")  # no break: nothing to say


@dataclass(frozen=True)
class ChainReport:
    ok: bool
    entries: int
    head_hash: str
    problem: Phrase = INTACT  # the first break, in words: "entry 17: hash does not match its content"
    legacy: int = 0  # good entries written before migration 6, which do not cover their rows
    head_seq: int = 0


CoverSink = Callable[[int, str], None]


def _entries(batch: int = 5000) -> Iterator[tuple[int, str, str, str, str, str, str, str | None]]:
    """(seq, at, actor, kind, payload, prev_hash, hash, covers) in order, as plain rows: model
    instances cost three times the hashing on a chain of 10^5 entries."""
    last = 0
    while True:
        rows = execute(AuditEntry, _PAGE_SQL, (last, batch)).fetchall()
        if not rows:
            return
        yield from rows
        last = rows[-1][0]


_PAGE_SQL = ('SELECT "seq", "at", "actor", "kind", "payload", "prev_hash", "hash", "covers" FROM "audit_entry" '
             'WHERE "seq" > ? ORDER BY "seq" LIMIT ?')


def covers_from_seq() -> int:
    """The first entry that must cover its rows (migration 6 wrote it)."""
    row = Meta.get_or_none(Meta.key == COVERS_FROM_SEQ_KEY)
    return int(row.value) if row else 1


def verify_chain(on_covers: CoverSink | None = None) -> ChainReport:
    """Walk the chain from genesis; `on_covers(seq, covers)` sees the row list of every good entry."""
    prev = GENESIS
    expected_seq = 1
    count = legacy = 0
    first_covering = covers_from_seq()

    def broken(entry: int, what: str, **fields: int) -> ChainReport:
        problem = Phrase(CHAIN_BREAK, {"entry": entry, "what": Phrase(what, fields)})
        return ChainReport(False, count, prev, problem, legacy, expected_seq - 1)

    for seq, at, actor, kind, payload, prev_hash, digest, covers in _entries():
        if seq != expected_seq:
            return broken(expected_seq, N_("missing (removed); next is {next}") if seq > expected_seq
                          else N_("missing (out of order); next is {next}"), next=seq)
        if prev_hash != prev:
            return broken(seq, N_("does not link to entry {previous}"), previous=seq - 1)
        if covers is None and seq >= first_covering:
            return broken(seq, N_("its list of covered rows was removed"))
        if entry_hash(prev_hash, seq, at, actor, kind, payload, covers) != digest:
            return broken(seq, N_("hash does not match its content"))
        if covers is None:
            legacy += 1
        elif on_covers is not None and covers:
            on_covers(seq, covers)
        prev = digest
        expected_seq += 1
        count += 1
    return ChainReport(True, count, prev, INTACT, legacy, count)
