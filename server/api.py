"""The station API under `/api/v1` (docs/architecture.md §10). Everything but enrollment is signed (`Station`)."""

from __future__ import annotations

import json
import logging
from datetime import date, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from starlette.concurrency import run_in_threadpool

from app.waybills import WaybillImportError
from protocol import (
    API,
    MAX_PAGE,
    CaseChangeOut,
    EnrollRequest,
    EnrollResponse,
    ErrorBody,
    EventBatchResult,
    OrderOut,
    Page,
    ProductOut,
    RuleSetOut,
    SupervisorCallsOut,
    TrackingEventOut,
    WaybillAllocateRequest,
    WaybillAllocation,
)
from server import pulls, reports, rules, waybills
from server.audit_heads import parse_claim
from server.auth import AuthError, enroll
from server.events import BatchError, parse_batch
from server.limits import NestingError, loads_bounded
from server.schemas import Metrics, Reconciliation
from server.services import Station, own_warehouse, refuse, services

log = logging.getLogger("server.api")
router = APIRouter(prefix=API)
REFUSALS: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorBody}, 401: {"model": ErrorBody, "description": "not signed, or badly"},
    403: {"model": ErrorBody, "description": "another station's or warehouse's data"},
}
Cursor = Annotated[str | None, Query(max_length=64, description="next_cursor of the previous page; empty: start")]
Limit = Annotated[int, Query(ge=1, le=MAX_PAGE)]
Warehouse = Annotated[str | None, Query(max_length=64, description="must be the station's own, if given")]
EVENTS_BODY = {"requestBody": {"required": True, "content": {
    "application/json": {"schema": {"$ref": "#/components/schemas/EventBatch"}}}}}


@router.post("/enroll", response_model=EnrollResponse, responses={401: {"model": ErrorBody}, 400: {"model": ErrorBody}})
def enroll_station(request: Request, body: EnrollRequest) -> EnrollResponse:
    """Claim a one-time enrollment token: the answer holds the station's id and secret, once."""
    svc = services(request)
    try:
        return enroll(svc.sdb, body, svc.clock, svc.config.public_url)
    except AuthError as exc:
        raise refuse(request, exc.status, exc.reason, None) from None


@router.post("/events", response_model=EventBatchResult, openapi_extra=EVENTS_BODY,
             responses={**REFUSALS, 413: {"model": ErrorBody}, 422: {"model": ErrorBody}})
async def push_events(request: Request, station: Station) -> EventBatchResult:
    """Up to 500 outbox events; per event: accepted, known (already applied) or rejected with a reason."""
    raw = await request.body()  # at most 4 MB: server.limits ended a larger one with 413
    try:
        body = loads_bounded(raw)
        items = parse_batch(body, station)
        claim = parse_claim(body)
    except NestingError as exc:
        raise refuse(request, 400, str(exc), station.station_id) from None
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise refuse(request, 400, "body is not UTF-8 JSON", station.station_id) from None
    except (BatchError, ValueError) as exc:  # a BatchError is a ValueError too; a bad head is one
        raise refuse(request, 422, str(exc), station.station_id) from None
    except AuthError as exc:
        raise refuse(request, exc.status, exc.reason, station.station_id) from None
    svc = services(request)
    return await run_in_threadpool(svc.applier.apply, station, items, claim)


@router.get("/orders", response_model=Page[OrderOut], responses=REFUSALS)
def pull_orders(request: Request, station: Station, cursor: Cursor = None, limit: Limit = 500,
                warehouse: Warehouse = None) -> Page[OrderOut]:
    """Orders of the station's warehouse created or changed after the cursor (cancelled ones too)."""
    own_warehouse(request, station, warehouse)
    try:
        return pulls.orders_page(services(request).sdb, station.warehouse, cursor, limit)
    except pulls.CursorError as exc:
        raise refuse(request, 400, str(exc), station.station_id) from None


@router.get("/products", response_model=Page[ProductOut], responses=REFUSALS)
def pull_products(request: Request, station: Station, cursor: Cursor = None, limit: Limit = 500) -> Page[ProductOut]:
    """Products (with barcodes, weights and stock) created or changed after the cursor."""
    try:
        return pulls.products_page(services(request).sdb, cursor, limit)
    except pulls.CursorError as exc:
        raise refuse(request, 400, str(exc), station.station_id) from None


@router.get("/tracking", response_model=Page[TrackingEventOut], responses=REFUSALS)
def pull_tracking(request: Request, station: Station, cursor: Cursor = None, limit: Limit = 500,
                  warehouse: Warehouse = None) -> Page[TrackingEventOut]:
    """Carrier events of parcels packed in the station's warehouse, in the order the server got them."""
    own_warehouse(request, station, warehouse)
    try:
        return pulls.tracking_page(services(request).sdb, station.warehouse, cursor, limit)
    except pulls.CursorError as exc:
        raise refuse(request, 400, str(exc), station.station_id) from None


@router.get("/cases", response_model=Page[CaseChangeOut], responses=REFUSALS)
def pull_cases(request: Request, station: Station, cursor: Cursor = None, limit: Limit = 500) -> Page[CaseChangeOut]:
    """This station's exception cases that a supervisor acknowledged or resolved in the console."""
    try:
        return pulls.cases_page(services(request).sdb, station.station_id, cursor, limit)
    except pulls.CursorError as exc:
        raise refuse(request, 400, str(exc), station.station_id) from None


@router.get("/supervisor-calls", response_model=SupervisorCallsOut, responses=REFUSALS)
def supervisor_calls(request: Request, station: Station) -> SupervisorCallsOut:
    """The live supervisor calls of the warehouse's other stations: each station's triage screen counts them."""
    from server.cases import live_calls

    return SupervisorCallsOut(calls=live_calls(services(request).sdb, station.warehouse, station.station_id))


@router.get("/rules", response_model=RuleSetOut, responses=REFUSALS)
def get_rules(request: Request, station: Station) -> RuleSetOut:
    """The current exception rule set (TOML text) and its version."""
    return rules.current_rules(services(request).sdb)


@router.post("/waybills/allocate", response_model=WaybillAllocation,
             responses={**REFUSALS, 409: {"model": ErrorBody, "description": "the pool is empty"},
                        429: {"model": ErrorBody, "description": "over the per-call or per-day quota"}})
def allocate_waybills(request: Request, station: Station, body: WaybillAllocateRequest) -> WaybillAllocation:
    """Up to `count` numbers from the server's pool for the carrier, never handed out before."""
    svc = services(request)
    try:
        quota = waybills.Quota(svc.config.waybills_per_call, svc.config.waybills_per_station_day)
        numbers = waybills.allocate(svc.sdb, body.carrier, body.count, station.station_id, svc.clock, quota)
    except WaybillImportError as exc:
        raise refuse(request, 400, str(exc), station.station_id) from None
    except waybills.PoolEmpty as exc:
        raise refuse(request, 409, str(exc), station.station_id) from None
    except waybills.QuotaExceeded as exc:
        raise refuse(request, 429, str(exc), station.station_id) from None
    return WaybillAllocation(carrier=body.carrier.strip().upper(), numbers=numbers)


@router.get("/reconciliation", response_model=Reconciliation, responses=REFUSALS)
def get_reconciliation(request: Request, station: Station, day_from: date | None = None, day_to: date | None = None,
                       warehouse: Warehouse = None) -> Reconciliation:
    """Per shop and day: platform orders vs packed vs handed over vs carrier-accepted (default: 7 days)."""
    own_warehouse(request, station, warehouse)
    svc = services(request)
    first, last = reports.default_days(svc.config.zone, svc.clock.now())
    try:
        return reports.reconciliation(svc.sdb, station.warehouse, day_from or first, day_to or last, svc.config.zone)
    except reports.ReportError as exc:
        raise refuse(request, 400, str(exc), station.station_id) from None


@router.get("/metrics", response_model=Metrics, responses=REFUSALS)
def get_metrics(request: Request, station: Station, since: datetime | None = None, until: datetime | None = None,
                station_id: Annotated[str | None, Query(alias="station", max_length=64, pattern=r"^[!-~]*$")] = None,
                warehouse: Warehouse = None) -> Metrics:
    """Scans, scan errors, shipments and reprints per station and hour (default: the last 24 h)."""
    own_warehouse(request, station, warehouse)
    svc = services(request)
    now = svc.clock.now()
    try:
        return reports.metrics(svc.sdb, station.warehouse, since or now - timedelta(hours=24), until or now,
                               station_id)
    except reports.ReportError as exc:
        raise refuse(request, 400, str(exc), station.station_id) from None
