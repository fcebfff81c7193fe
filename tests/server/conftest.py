"""Fixtures for the server tests: one database per backend (SQLite always; PostgreSQL when
DATABASE_URL is postgresql://…, in a schema of its own), one server per backend for the session,
emptied before each test, and enrolled stations."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import httpx
import pytest
from server_harness import SALT, TABLES, WEBHOOK_SECRET, Running, Station, fresh_database

from server.app import create_app
from server.config import ServerConfig
from server.db import ServerDb
from tests.live_server import UvicornThread


@pytest.fixture(scope="session", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="session")
def database_url(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """One database per backend for the session; `server` empties it before each test."""
    with fresh_database(backend, tmp_path_factory.mktemp("db")) as url:
        yield url


@pytest.fixture(scope="session")
def shared_server(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    config = ServerConfig(tmp_path_factory.mktemp("server"), database_url=database_url, kuaidi100_salt=SALT,
                          webhook_secret=WEBHOOK_SECRET)
    app = create_app(config, jobs=False)  # the scheduled jobs are driven by their tests
    with UvicornThread().start(app) as thread, httpx.Client(base_url=thread.url, timeout=30) as http:
        yield Running(thread.url, app, http)


@pytest.fixture
def server(shared_server: Running) -> Running:
    """The running server with an empty database (a fresh schema per backend, emptied per test)."""
    sdb = shared_server.services.sdb
    shared_server.rebind()
    with sdb.connection(), sdb.write():  # DELETE, not TRUNCATE: far quicker on a few rows
        for table in TABLES:  # children before parents
            sdb.execute(f'DELETE FROM "{table}"')
        sdb.execute('UPDATE "counter" SET "value" = 0')
    return shared_server


@pytest.fixture
def station(server: Running) -> Station:
    return server.enroll("WH1", "BENCH-1")


HEALTH_END = datetime(2026, 12, 4, 12, tzinfo=UTC)  # the seeded order-health history ends here
HEALTH_WAREHOUSE = "HZ-1"


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ServerDb, dict[str, str]]]:
    """Thirty days of order-health history (SQLite: four baseline weeks and the incidents' day), seeded
    once a module; the planted incidents' hours by name."""
    from server.db import open_database
    from server.health.seed import seed_history
    from server.migrations import migrate

    sdb = open_database(f"sqlite:///{tmp_path_factory.mktemp('health') / 'server.sqlite3'}")
    migrate(sdb)
    made = seed_history(sdb, HEALTH_WAREHOUSE, 30, HEALTH_END, orders_per_hour=30)
    yield sdb, made.incidents
    sdb.close()
