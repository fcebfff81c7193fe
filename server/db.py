"""Opening the server database from a URL, and the few SQL helpers every writer shares.

`sqlite:///relative/path`, `sqlite:////absolute/path`, or `postgresql://user[:pw]@host:port/db`
(query parameters go to psycopg2, e.g. `?options=-c%20search_path%3Dpackbench`). The models'
`database_proxy` is bound to the opened database: one server database per process.

Connections: PostgreSQL through a pool; SQLite opens a connection per unit of work. Every unit of
work runs inside `ServerDb.connection()` on one thread (FastAPI runs handlers on a thread pool),
and every write inside `ServerDb.write()`: `BEGIN IMMEDIATE` on SQLite (the write lock is taken
up front, so read-then-write logic cannot interleave), a plain transaction on PostgreSQL, where
the code that needs it locks rows (`FOR UPDATE`, `SKIP LOCKED`). A deadlock or a busy database is
retried by `retrying`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

import peewee as pw
from playhouse.db_url import parse as parse_db_url
from playhouse.pool import PooledPostgresqlDatabase

from app.errors import PackBenchError
from app.i18n import N_
from server.models import database_proxy

log = logging.getLogger(__name__)
T = TypeVar("T")

SQLITE_PRAGMAS: dict[str, Any] = {
    "journal_mode": "wal",
    "synchronous": "full",  # an event the server acknowledged survives a power cut
    "foreign_keys": 1,
    "busy_timeout": 15000,
}
RETRY_SQLSTATES = frozenset({"40001", "40P01"})  # serialization failure, deadlock detected
IN_CHUNK = 500


class ServerDbError(PackBenchError):
    """The database cannot be opened or used; the message says why."""


def describe(url: str) -> str:
    """The URL without its password, for logs and messages."""
    parts = urlsplit(url)
    if parts.password:
        return url.replace(f":{parts.password}@", ":***@", 1)
    return url


class ServerDb:
    def __init__(self, db: pw.Database, url: str) -> None:
        self.db = db
        self.url = url
        self.postgres = isinstance(db, pw.PostgresqlDatabase)

    def connection(self) -> AbstractContextManager[Any]:
        return self.db.connection_context()  # type: ignore[no-any-return]

    def write(self) -> AbstractContextManager[Any]:
        if self.postgres:
            return self.db.atomic()  # type: ignore[no-any-return]
        return self.db.atomic("IMMEDIATE")  # type: ignore[no-any-return]

    def sql(self, text: str) -> str:
        """Raw SQL is written with `?` placeholders; psycopg2 wants `%s`."""
        return text.replace("?", "%s") if self.postgres else text

    def execute(self, text: str, params: Sequence[Any] = ()) -> Any:
        return self.db.execute_sql(self.sql(text), tuple(params))

    def executemany(self, text: str, rows: Sequence[Sequence[Any]]) -> None:
        if not rows:
            return
        cursor = self.db.cursor()
        if self.postgres:
            from psycopg2.extras import execute_batch

            execute_batch(cursor, self.sql(text), rows, page_size=500)
        else:
            cursor.executemany(text, rows)

    def insert_rows(self, head: str, width: int, rows: Sequence[Sequence[Any]]) -> None:
        """`head` is `INSERT INTO "t" ("a", "b", …) VALUES`; the rows go in as few statements as the driver
        allows: one multi-row INSERT per `IN_CHUNK` rows on PostgreSQL (one round trip, parsed once,
        where `executemany` would send one statement per row), `executemany` on SQLite (in-process)."""
        if not rows:
            return
        cursor = self.db.cursor()
        if self.postgres:
            from psycopg2.extras import execute_values

            execute_values(cursor, head + " %s", rows, page_size=IN_CHUNK)
        else:
            cursor.executemany(f"{head} ({placeholders(width)})", rows)

    def for_update(self) -> str:
        return " FOR UPDATE" if self.postgres else ""

    def close(self) -> None:
        if isinstance(self.db, PooledPostgresqlDatabase):
            self.db.close_all()
        elif not self.db.is_closed():
            self.db.close()


def open_database(url: str) -> ServerDb:
    """Open the database at `url` and bind the server models to it (no migration: see migrations)."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme == "sqlite":
        if not url.startswith("sqlite:///") or len(url) <= len("sqlite:///"):
            raise ServerDbError(N_("{url!r}: write sqlite:///relative/path or sqlite:////absolute/path"), url=url)
        path = Path(url[len("sqlite:///"):])
        path.parent.mkdir(parents=True, exist_ok=True)
        db: pw.Database = pw.SqliteDatabase(str(path), pragmas=SQLITE_PRAGMAS, check_same_thread=False,
                                            timeout=15)
    elif scheme in ("postgresql", "postgres"):
        kwargs = parse_db_url(url)
        if not kwargs.get("database"):
            raise ServerDbError(N_("{url}: name the database, e.g. postgresql://user@host:5432/packbench"),
                                url=describe(url))
        # No JIT: its compile time dominated the console's aggregates (480 of 1,100 ms for a week's
        # reconciliation at 10^6 orders, bench/console_pages.py) and never paid back on queries this short.
        kwargs["options"] = f"{kwargs.get('options', '')} -c jit=off".strip()
        db = PooledPostgresqlDatabase(max_connections=64, stale_timeout=300, timeout=30, **kwargs)
    else:
        raise ServerDbError(N_("{url}: unsupported database URL (use sqlite:/// or postgresql://)"), url=describe(url))
    try:
        db.connect()
        db.close()
    except pw.OperationalError as exc:
        raise ServerDbError(N_("cannot open {url}: {problem}"), url=describe(url), problem=str(exc).strip()) from exc
    database_proxy.initialize(db)
    return ServerDb(db, url)


def _retryable(exc: pw.DatabaseError) -> bool:
    original = exc.args[0] if exc.args else None  # peewee wraps the driver's exception as its first arg
    code = getattr(original, "pgcode", None)
    if code in RETRY_SQLSTATES:
        return True
    return isinstance(exc, pw.OperationalError) and "locked" in str(exc)


def retrying(sdb: ServerDb, work: Callable[[], T], attempts: int = 4) -> T:
    """Run `work` (which opens its own write transaction) in a connection, again after a deadlock."""
    for attempt in range(1, attempts + 1):
        try:
            with sdb.connection():
                return work()
        except pw.DatabaseError as exc:
            if attempt == attempts or not _retryable(exc):
                raise
            log.warning("retrying after a transient database error (%s): %s", attempt, exc)
            time.sleep(0.01 * attempt)
    raise AssertionError("unreachable")


def take_positions(sdb: ServerDb, stream: str, count: int) -> int:
    """Reserve `count` positions of a change stream; returns the first. Inside a write transaction.

    The counter row stays locked until commit, so positions become visible in the order they were
    taken: a station paging with `pos > cursor` can never skip a row committed late.
    """
    sdb.execute('UPDATE "counter" SET "value" = "value" + ? WHERE "name" = ?', (count, stream))
    last = int(sdb.execute('SELECT "value" FROM "counter" WHERE "name" = ?', (stream,)).fetchone()[0])
    return last - count + 1


def lock_stream(sdb: ServerDb, stream: str) -> None:
    """Take a change stream's lock now (PostgreSQL; SQLite's IMMEDIATE already serialises writers)."""
    if sdb.postgres:
        sdb.execute('SELECT "value" FROM "counter" WHERE "name" = ? FOR UPDATE', (stream,))


def chunks(items: Sequence[T], size: int = IN_CHUNK) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def has_nul(value: Any) -> bool:
    """Whether a string anywhere in `value` holds NUL, which PostgreSQL text cannot store."""
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(has_nul(k) or has_nul(v) for k, v in value.items())
    if isinstance(value, list | tuple):
        return any(has_nul(v) for v in value)
    return False


def placeholders(n: int) -> str:
    return ", ".join("?" * n)
