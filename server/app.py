"""The reference central server (docs/architecture.md §11.1): `create_app(config)` builds the FastAPI application.

Routes: the station API (`server.api`, signed), the carrier webhooks (`server.hooks`), the supervisors'
console under `/console/` (`server.console`, sessions), the public passport page `/p/{token}`,
`/healthz` (checks the database), `/metrics` (Prometheus, `server.metrics`) and the OpenAPI document at
`/openapi.json`. The database
is opened and migrated here, before the first request; one server app per process (the models'
database proxy is global, like the station's).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exception_handlers import request_validation_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, Response
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from app.clock import Clock, SystemClock
from app.version import VERSION
from protocol import PROTOCOL_VERSION, EventBatch
from server import api, console, hooks
from server.alerts.schedule import Scheduler
from server.auth import Verifier
from server.config import ServerConfig
from server.db import open_database
from server.events import EventApplier
from server.headers import SecurityHeaders
from server.kuaidi100.worker import CarrierWorker
from server.limits import BodyLimit
from server.metrics import RequestMetrics, scrape
from server.migrations import migrate, schema_version
from server.passport_page import HEADERS, render
from server.schemas import GenericTrackingPush, Health
from server.services import Services, refuse, services

log = logging.getLogger("server")
RAW_BODIES: tuple[type[BaseModel], ...] = (EventBatch, GenericTrackingPush)


def create_app(config: ServerConfig, clock: Clock | None = None, carrier_worker: bool = True, *,
               jobs: bool = True) -> FastAPI:
    """`carrier_worker`: run the Kuaidi100 jobs on a background thread (when Kuaidi100 is configured);
    `jobs`: run the scheduled jobs (reconciliation alerts, server case rules). Tests drive both themselves."""
    clock = clock or SystemClock()
    sdb = open_database(config.database)
    version = migrate(sdb, clock)
    log.info("server database %s at schema version %d", "postgresql" if sdb.postgres else "sqlite", version)
    carriers = CarrierWorker(sdb, config, clock)
    svc = Services(config, sdb, clock, Verifier(sdb, clock), EventApplier(sdb, clock), carriers)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        if carrier_worker and carriers.configured:
            carriers.start()
        task = asyncio.create_task(Scheduler(sdb, config, clock).loop()) if jobs else None
        yield
        carriers.stop()
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        sdb.close()

    app = ServerAPI(title="PackBench server", version=f"protocol {PROTOCOL_VERSION}", lifespan=lifespan,
                    docs_url=None, redoc_url=None)
    app.state.services = svc
    app.add_middleware(BodyLimit, body_timeout=config.body_timeout_seconds)
    app.add_middleware(SecurityHeaders)
    app.include_router(api.router)
    app.include_router(hooks.router)
    console.install(app)
    app.add_middleware(RequestMetrics)  # added last, so outermost: it times everything else too
    allowed = {part.strip() for part in config.metrics_allow.split(",") if part.strip()}

    @app.get("/metrics", include_in_schema=False)
    def prometheus(request: Request) -> Response:
        client = request.client.host if request.client else ""
        if client not in allowed:
            return Response("metrics are not served to this address\n", status_code=403, media_type="text/plain")
        body, content_type = scrape(svc.sdb, svc.clock)
        return Response(body, media_type=content_type)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> Response:
        errors = exc.errors()
        where = ".".join(str(p) for p in errors[0].get("loc", ())) if errors else "request"
        refuse(request, 422, f"{where}: {errors[0].get('msg', 'invalid') if errors else 'invalid'}",
               request.headers.get("X-Station"))
        return await request_validation_exception_handler(request, exc)

    @app.get("/healthz", response_model=Health, responses={503: {"description": "the database does not answer"}})
    def healthz(request: Request) -> Any:
        s = services(request)
        try:
            with s.sdb.connection():
                current = schema_version(s.sdb)
        except Exception as exc:  # a health check reports, it does not raise
            log.error("health check: database does not answer: %s", exc)
            return JSONResponse({"status": "error", "detail": "database does not answer"}, status_code=503)
        return Health(status="ok", database="postgresql" if s.sdb.postgres else "sqlite", schema_version=current,
                      server_time=s.clock.now(), version=VERSION, station_version=s.config.station_version or VERSION)

    @app.get("/p/{token}", response_class=HTMLResponse, responses={400: {"content": {"text/html": {}}},
                                                                    404: {"content": {"text/html": {}}}})
    async def passport(request: Request, token: str) -> HTMLResponse:
        """The public passport page: genuine or not, and the carrier's raw tracking trail."""
        s = services(request)
        page = await run_in_threadpool(render, s.sdb, token, s.config.zone)
        return HTMLResponse(page.html, status_code=page.status, headers=HEADERS)

    return app


class ServerAPI(FastAPI):
    def openapi(self) -> dict[str, Any]:
        """FastAPI's document, plus the schemas of the bodies two endpoints read themselves (a bad
        event is answered per event, not by a 422 for the batch; a webhook checks its signature over
        the raw bytes). Built on first use, like FastAPI's own."""
        if self.openapi_schema is None:
            components = super().openapi().setdefault("components", {}).setdefault("schemas", {})
            for model in RAW_BODIES:
                schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
                components.update(schema.pop("$defs", {}))
                components[model.__name__] = schema
        assert self.openapi_schema is not None
        return self.openapi_schema


