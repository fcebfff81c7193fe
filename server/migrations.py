"""Numbered schema migrations of the server database, as on the station (`app.store.migrations`).

Each migration is frozen DDL text, applied in one transaction with its `schema_version` row. The
text is shared by SQLite and PostgreSQL except for a few type words, substituted from the frozen
table `TYPES` (`$pk`, `$bigint`). Never edit a migration that has shipped: add the next number.
A database written by a newer server is refused before anything is changed.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from string import Template
from typing import NamedTuple

from app.clock import Clock, SystemClock, iso
from server.db import ServerDb, ServerDbError, describe, open_database
from server.schema_audit_heads import AUDIT_HEADS
from server.schema_carriers import CARRIERS
from server.schema_console import ALERTS, CASE_WORDS, CASES, CONSOLE_USERS
from server.schema_fulfilment import FULFILMENT
from server.schema_hardening import HARDENING
from server.schema_health import ALERT_WORDS, HEALTH
from server.schema_health_readings import HEALTH_READINGS
from server.schema_initial import INITIAL
from server.schema_order_due import ORDER_DUE
from server.schema_orders import ORDER_MONEY
from server.schema_reports import HEALTH_INDEXES, REPORTS
from server.schema_tracking_ends import TRACKING_ENDS

TYPES = {
    "sqlite": {"pk": "INTEGER NOT NULL PRIMARY KEY", "bigint": "INTEGER"},
    "postgresql": {"pk": "BIGSERIAL PRIMARY KEY", "bigint": "BIGINT"},
}
MIGRATION_LOCK = 0x5042_5356  # "PBSV": one migrating server at a time on PostgreSQL


class Migration(NamedTuple):
    version: int
    name: str
    statements: tuple[str, ...]


_SCHEMA_VERSION = ('CREATE TABLE IF NOT EXISTS "schema_version" ("version" INTEGER NOT NULL PRIMARY KEY, '
                   '"name" TEXT NOT NULL, "applied_at" TEXT NOT NULL)')

MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "initial server schema", INITIAL),
    Migration(2, "console users, sessions and the server audit log", CONSOLE_USERS),
    Migration(3, "hardening: station lifecycle, pushes once, tracking claims", HARDENING),
    Migration(4, "carriers: warehouse senders, e-waybills, tracking subscriptions, carrier jobs", CARRIERS),
    Migration(5, "station audit chain heads", AUDIT_HEADS),
    Migration(6, "order discount and shipping", ORDER_MONEY),
    Migration(7, "order health: silences, thresholds, alert state", HEALTH),
    Migration(8, "alerts, their deliveries, and scheduled job leases", ALERTS),
    Migration(9, "exception cases of all stations in one queue", CASES),
    Migration(10, "order fulfilment flags for the reconciliation", FULFILMENT),
    Migration(11, "order-health reports written on schedule", REPORTS),
    Migration(12, "order-health index: orders by warehouse and creation time", HEALTH_INDEXES),
    Migration(13, "order-health readings kept per hour", HEALTH_READINGS),
    Migration(14, "exception case titles as words in each reader's language", CASE_WORDS),
    Migration(15, "order-health alert explanations as words in each reader's language", ALERT_WORDS),
    Migration(16, "each parcel's first terminal and out-for-delivery carrier events", TRACKING_ENDS),
    Migration(17, "order-health index: orders by warehouse and ship-by", ORDER_DUE),
)
LATEST_VERSION = MIGRATIONS[-1].version


class SchemaTooNewError(ServerDbError):
    pass


def statements(migration: Migration, dialect: str) -> list[str]:
    return [Template(text).substitute(TYPES[dialect]) for text in migration.statements]


def schema_version(sdb: ServerDb) -> int:
    if not sdb.db.table_exists("schema_version"):
        return 0
    return int(sdb.execute('SELECT MAX("version") FROM "schema_version"').fetchone()[0] or 0)


def migrate(sdb: ServerDb, clock: Clock | None = None) -> int:
    """Bring the schema up to date; refuse a newer one untouched. Returns the version now."""
    clock = clock or SystemClock()
    dialect = "postgresql" if sdb.postgres else "sqlite"
    with sdb.connection(), sdb.write():
        if sdb.postgres:
            sdb.execute("SELECT pg_advisory_xact_lock(?)", (MIGRATION_LOCK,))
        current = schema_version(sdb)
        if current > LATEST_VERSION:
            raise SchemaTooNewError(
                f"{describe(sdb.url)} has server schema version {current}, newer than this PackBench "
                f"understands ({LATEST_VERSION}); upgrade PackBench — nothing was changed")
        sdb.execute(_SCHEMA_VERSION)
        for migration in MIGRATIONS:
            if migration.version <= current:
                continue
            for text in statements(migration, dialect):
                sdb.execute(text)
            sdb.execute('INSERT INTO "schema_version" ("version", "name", "applied_at") VALUES (?, ?, ?)',
                        (migration.version, migration.name, iso(clock.now())))
            current = migration.version
    return current


@contextmanager
def migrated(url: str) -> Iterator[ServerDb]:
    """The database at `url`, opened and brought up to date, closed afterwards (the admin commands)."""
    sdb = open_database(url)
    try:
        migrate(sdb)
        yield sdb
    finally:
        sdb.close()
