"""What the console benchmarks share: a fresh PostgreSQL database with an admin user, COPY of
generated rows, and a logged-in test client (bench/console_pages.py, bench/health_eval.py)."""

from __future__ import annotations

import io
from collections.abc import Iterable
from typing import Any

import psycopg2

ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
PASSWORD = "bench-password-1"


def url_of(db: str) -> str:
    return f"postgresql://postgres@127.0.0.1:5432/{db}"


def recreate(db: str, warehouse: str) -> Any:
    """Drop and create `db`, migrate it, add the admin user `bench`; the open ServerDb (caller closes)."""
    from app.clock import SystemClock
    from server.console.accounts import add_user
    from server.db import open_database
    from server.migrations import migrate

    admin = psycopg2.connect(ADMIN_URL)
    admin.autocommit = True
    admin.cursor().execute(f'DROP DATABASE IF EXISTS "{db}"')
    admin.cursor().execute(f'CREATE DATABASE "{db}"')
    admin.close()
    sdb = open_database(url_of(db))
    migrate(sdb)
    add_user(sdb, "bench", "admin", [warehouse], PASSWORD, SystemClock())
    return sdb


def copy_rows(cursor: Any, table: str, columns: tuple[str, ...], rows: Iterable[tuple[object, ...]]) -> int:
    """COPY rows into `table` (text format: NULL as \\N, backslashes escaped, tabs flattened); how many."""
    buffer = io.StringIO()
    count = 0
    for row in rows:
        buffer.write("\t".join("\\N" if v is None else str(v).replace("\\", "\\\\").replace("\t", " ")
                               for v in row) + "\n")
        count += 1
    buffer.seek(0)
    cursor.copy_expert(f'COPY "{table}" ({", ".join(chr(34) + c + chr(34) for c in columns)}) FROM STDIN', buffer)
    return count


def log_in(client: Any) -> None:
    """Log the bench's admin in through the console's own form (CSRF token included)."""
    form = client.get("/console/login")
    token = form.text.split('name="csrf" value="')[1].split('"')[0]
    reply = client.post("/console/login", data={"name": "bench", "password": PASSWORD, "csrf": token},
                        follow_redirects=False)
    assert reply.status_code == 303, reply.text[:200]
