"""What the request handlers share: the config, the database, the clock, and the services on them."""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from typing import Annotated

from fastapi import Depends, Header, HTTPException, Request
from starlette.concurrency import run_in_threadpool

from app.clock import Clock
from server.auth import AuthError, SignedRequest, StationIdentity, Verifier
from server.config import ServerConfig
from server.db import ServerDb
from server.events import EventApplier
from server.kuaidi100.worker import CarrierWorker

log = logging.getLogger("server.auth")


@dataclass(frozen=True)
class Services:
    config: ServerConfig
    sdb: ServerDb
    clock: Clock
    verifier: Verifier
    applier: EventApplier
    carriers: CarrierWorker


def services(request: Request) -> Services:
    found: Services = request.app.state.services
    return found


def request_target(request: Request) -> str:
    """The path and query exactly as the client sent them: what it signed. Behind a proxy that strips
    a path prefix, run the server with `--root-path PREFIX` and the prefix is put back."""
    path = request.scope.get("raw_path") or request.url.path.encode("utf-8")
    root = str(request.scope.get("root_path") or "").encode("utf-8")
    if root and not path.startswith(root):
        path = root + path
    query = request.scope.get("query_string") or b""
    return path.decode("latin-1") + ("?" + query.decode("latin-1") if query else "")


def refuse(request: Request, status: int, reason: str, station: str | None) -> HTTPException:
    log.warning("refused %s %s station=%s: %d %s", request.method, request_target(request)[:200],
                (station or "-")[:64], status, reason)
    return HTTPException(status, reason)


async def signed_station(
    request: Request,
    x_station: Annotated[str | None, Header(description="the station id from enrollment")] = None,
    x_timestamp: Annotated[str | None, Header(description="Unix seconds")] = None,
    x_nonce: Annotated[str | None, Header(description="unique per request, 8–128 printable ASCII")] = None,
    x_signature: Annotated[str | None, Header(description="hex HMAC-SHA256, see protocol.sign")] = None,
) -> StationIdentity:
    svc = services(request)
    signed = SignedRequest(request.method, request_target(request), x_station, x_timestamp, x_nonce, x_signature,
                           b"")
    try:
        signer = await run_in_threadpool(svc.verifier.signer, signed)
        body = await request.body()  # only now, and at most the route's limit (server.limits)
        return await run_in_threadpool(svc.verifier.verify, signer, replace(signed, body=body))
    except AuthError as exc:
        raise refuse(request, exc.status, exc.reason, x_station) from None


Station = Annotated[StationIdentity, Depends(signed_station)]


def own_warehouse(request: Request, identity: StationIdentity, warehouse: str | None) -> None:
    """403 when a station asks for another warehouse's data."""
    if warehouse is not None and warehouse != identity.warehouse:
        raise refuse(request, 403, f"station {identity.station_id} belongs to warehouse {identity.warehouse}; "
                                   f"it may not read warehouse {warehouse[:64]}", identity.station_id)
