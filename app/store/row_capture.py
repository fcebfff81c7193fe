"""Capturing the covered rows a transaction writes, for the audit entry that records the fact.

Every connection the station opens gets TEMP triggers on the covered tables (`migration_0006`): each
insert, update or delete of a covered row puts the row's image — the covered columns as SQLite
stored them, each through `quote()`, so type and bytes are exact — into a TEMP table. `drain()` takes
them out when the audit entry is appended (`app.audit.record_fact`), in the same transaction.

Why triggers rather than each caller listing what it wrote: every write site, present and future
(print worker, imports, sync pulls), is covered without knowing about it, the image is what is on
disk rather than what the caller believes it wrote, and a rolled-back savepoint takes its images with
it. Why TEMP: the triggers live in this process's connection, not in the file, so someone editing
the file with the sqlite3 shell fires nothing — that edit is exactly what verification must catch.

The image SQL for a stored row (`image_sql`) is the same expression, so verification recomputes the
very string the trigger saw.
"""

from __future__ import annotations

import hashlib
import sqlite3
import threading

from app.store.migration_0006 import COVERED_COLUMNS

DELETED = "-"  # the digest of a row its entry deleted


def image_sql(table: str, prefix: str = "") -> str:
    """The SQL expression of a row's image: `quote()` of each covered column, comma-separated."""
    return "||','||".join(f'quote({prefix}"{column}")' for column in COVERED_COLUMNS[table])


def row_digest(image: str | None) -> str:
    """128 bits of BLAKE2b: a forged row needs a second preimage, not a collision."""
    if image is None:
        return DELETED
    return hashlib.blake2b(image.encode("utf-8"), digest_size=16).hexdigest()


_PENDING = "audit_pending_row"


def _trigger_sql(table: str) -> list[str]:
    statements = []
    for event, image in (("INSERT", image_sql(table, "NEW.")), ("UPDATE", image_sql(table, "NEW.")),
                         ("DELETE", "NULL")):
        row = "OLD" if event == "DELETE" else "NEW"
        statements.append(
            f'CREATE TEMP TRIGGER IF NOT EXISTS "audit_capture_{table}_{event.lower()}" AFTER {event} '
            f'ON main."{table}" BEGIN INSERT INTO "{_PENDING}" ("tbl", "rid", "image") '
            f"VALUES ('{table}', {row}.\"id\", {image}); END")
    return statements


_INSTALL = (
    f'CREATE TEMP TABLE IF NOT EXISTS "{_PENDING}" ("n" INTEGER PRIMARY KEY, "tbl" TEXT NOT NULL, '
    '"rid" INTEGER NOT NULL, "image" TEXT)',
    *(sql for table in COVERED_COLUMNS for sql in _trigger_sql(table)),
)


def install(conn: sqlite3.Connection) -> bool:
    """Add the capture triggers to this connection; False (and nothing done) before migration 6."""
    covered = conn.execute(
        "SELECT 1 FROM pragma_table_info('audit_entry') WHERE name = 'covers'").fetchone()
    if covered is None:
        return False
    if not conn.execute(f"SELECT 1 FROM temp.sqlite_master WHERE name = '{_PENDING}'").fetchone():
        for statement in _INSTALL:
            conn.execute(statement)
    return True


_DRAIN = f'DELETE FROM "{_PENDING}" RETURNING "n", "tbl", "rid", "image"'


def drain(conn: sqlite3.Connection) -> str:
    """Take the captured rows out: "table id digest" per row, the last image of each row only,
    sorted. Call in the transaction that wrote them."""
    latest: dict[tuple[str, int], tuple[int, str | None]] = {}
    for n, table, rid, image in conn.execute(_DRAIN).fetchall():
        key = (table, rid)
        if key not in latest or latest[key][0] < n:
            latest[key] = (n, image)
    return "\n".join(f"{table} {rid} {row_digest(image)}"
                     for (table, rid), (_, image) in sorted(latest.items()))


# ----- knowing, without a query, whether anything was written since the last drain -----
class _Mark(threading.local):
    conn: sqlite3.Connection | None = None
    changes = -1


_mark_state = _Mark()


def mark_sealed(conn: sqlite3.Connection) -> None:
    """Called once the audit entry (and its outbox row) are written: nothing is left to seal."""
    _mark_state.conn, _mark_state.changes = conn, conn.total_changes


def written_since_drain(conn: sqlite3.Connection) -> bool:
    """True when this connection changed any row since the last drain (peewee keeps one connection
    per thread, and so does this mark). A false True costs one empty drain; there is no false False:
    `total_changes` counts every row any statement or trigger changed."""
    return _mark_state.conn is not conn or _mark_state.changes != conn.total_changes
