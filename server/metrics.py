"""`/metrics` in Prometheus' text format: request rates and latencies, station lag, queue depths.

Requests are counted by a small ASGI middleware, labelled by the route's template (`/api/v1/events`,
`/p/{token}` — never the raw path, whose tokens would make a new series per parcel), the method and
the status class. With several worker processes (`packbench server --workers N`) each one writes its
samples under `PROMETHEUS_MULTIPROC_DIR` (the parent sets it before the workers start and clears it at
start) and a scrape, answered by any worker, adds them up. What lives in the database — stations and
how long since each was last heard from, waybill pools, the jobs and alerts still waiting — is read
at scrape time, so every worker reports the same figures (alert deliveries by channel and state too).

The page names stations and warehouses: it answers only the addresses in `metrics_allow` (server.toml;
default: this machine), others get 403.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Awaitable, Callable, Iterable, Iterator, MutableMapping
from datetime import datetime
from pathlib import Path
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from app.clock import Clock, parse_iso
from server.db import ServerDb

log = logging.getLogger("server.metrics")

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

REQUESTS = Counter("packbench_http_requests_total", "HTTP requests answered", ["route", "method", "status"])
LATENCY = Histogram("packbench_http_request_duration_seconds", "time to answer, by route", ["route", "method"],
                    buckets=LATENCY_BUCKETS)


def prepare_multiprocess(data_dir: Path) -> Path:
    """The parent of several workers: an empty folder for their samples, named in the environment
    before any worker imports prometheus_client."""
    folder = Path(data_dir) / "metrics"
    folder.mkdir(parents=True, exist_ok=True)
    os.chmod(folder, 0o700)
    for stale in folder.glob("*.db"):  # samples of a previous run's processes
        stale.unlink()
    os.environ[MULTIPROC_ENV] = str(folder)
    return folder


class RequestMetrics:
    """Counts and times every HTTP request by route template."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def observe(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, observe)
        finally:
            route = scope.get("route")
            template = getattr(route, "path", None) or "unmatched"
            method = str(scope.get("method", "GET"))
            REQUESTS.labels(template, method, f"{status // 100}xx").inc()
            LATENCY.labels(template, method).observe(time.perf_counter() - started)


class DatabaseCollector(Collector):
    """Figures read from the database at scrape time (the same for every worker)."""

    def __init__(self, sdb: ServerDb, clock: Clock) -> None:
        self.sdb = sdb
        self.clock = clock

    def collect(self) -> Iterator[Metric]:
        with self.sdb.connection():
            yield from self._stations()
            yield from self._pools()
            yield from self._waiting()
            yield from self._deliveries()

    def _rows(self, sql: str) -> list[tuple[Any, ...]]:
        return [tuple(row) for row in self.sdb.execute(sql).fetchall()]

    def _stations(self) -> Iterable[Metric]:
        now = self.clock.now()
        stations = GaugeMetricFamily("packbench_stations", "enrolled stations", labels=["warehouse", "state"])
        for warehouse, revoked, count in self._rows(
                'SELECT "warehouse", "revoked_at" IS NOT NULL, COUNT(*) FROM "station" GROUP BY 1, 2'):
            stations.add_metric([warehouse, "revoked" if revoked else "active"], count)
        yield stations
        lag = GaugeMetricFamily("packbench_station_event_lag_seconds",
                                "seconds since the newest event a station pushed was recorded at the station",
                                labels=["station", "warehouse"])
        newest = self._rows(
            'SELECT s."station_id", s."warehouse", e."at" FROM "station" s JOIN "station_event" e '
            'ON e."station_id" = s."station_id" AND e."seq" = (SELECT MAX("seq") FROM "station_event" '
            'WHERE "station_id" = s."station_id") WHERE s."revoked_at" IS NULL')
        for station, warehouse, at in newest:
            lag.add_metric([station, warehouse], max(0.0, (now - _parse(at)).total_seconds()))
        yield lag

    def _pools(self) -> Iterable[Metric]:
        pools = GaugeMetricFamily("packbench_waybill_pool_free", "free numbers in the server's waybill pools",
                                  labels=["carrier"])
        for carrier, count in self._rows(
                'SELECT "carrier", COUNT(*) FROM "waybill" WHERE "state" = \'free\' GROUP BY 1'):
            pools.add_metric([carrier], count)
        yield pools

    def _deliveries(self) -> Iterable[Metric]:
        """Alert deliveries (reconciliation, order health) by channel and state: pending, sent, failed."""
        family = GaugeMetricFamily("packbench_alert_deliveries", "alert deliveries by channel and state",
                                   labels=["channel", "status"])
        if "alert_delivery" in self._tables():
            for channel, status, count in self._rows(
                    'SELECT "channel", "status", COUNT(*) FROM "alert_delivery" GROUP BY 1, 2'):
                family.add_metric([channel, status], count)
        yield family

    def _waiting(self) -> Iterable[Metric]:
        """Background queues (e-waybill orders, tracking subscriptions, alert deliveries): how many wait
        and for how long, for every queue table this server's schema has."""
        depth = GaugeMetricFamily("packbench_queue_depth", "jobs waiting", labels=["queue"])
        oldest = GaugeMetricFamily("packbench_queue_oldest_seconds", "age of the oldest waiting job", labels=["queue"])
        tables = self._tables()
        for queue, table, waiting, created in QUEUES:
            if table not in tables:
                continue
            try:
                count, first = self._rows(f'SELECT COUNT(*), MIN("{created}") FROM "{table}" WHERE {waiting}')[0]
            except Exception:  # a queue whose columns changed must not take the whole page down
                log.exception("metrics: queue %s not readable", queue)
                continue
            depth.add_metric([queue], count)
            oldest.add_metric([queue], (self.clock.now() - _parse(first)).total_seconds() if first else 0.0)
        yield depth
        yield oldest

    def _tables(self) -> set[str]:
        if self.sdb.postgres:
            sql = "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()"
        else:
            sql = "SELECT name FROM sqlite_master WHERE type = 'table'"
        return {name for (name,) in self._rows(sql)}


# (queue, table, SQL condition of a waiting row, its creation-time column): queues other parts of the
# server keep in the database; a table this schema lacks is skipped.
QUEUES: tuple[tuple[str, str, str, str], ...] = (
    ("carrier_calls", "carrier_job", "\"state\" IN ('pending', 'running')", "created_at"),  # e-waybills, polls
    ("carrier_dead_letters", "carrier_job", "\"state\" = 'dead'", "created_at"),
)


def _parse(at: Any) -> datetime:
    return at if isinstance(at, datetime) else parse_iso(str(at))


def scrape(sdb: ServerDb, clock: Clock) -> tuple[bytes, str]:
    """The page: this process's (or every worker's) request samples plus the database's figures."""
    registry = CollectorRegistry()
    if os.environ.get(MULTIPROC_ENV):
        from prometheus_client import multiprocess

        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    else:
        registry.register(REQUESTS)
        registry.register(LATENCY)
    registry.register(DatabaseCollector(sdb, clock))
    return generate_latest(registry), CONTENT_TYPE_LATEST
