"""The Stations page (admins): the stations of their warehouses, one-time enrollment tokens, and
revocation (the same `server.stations.revoke` as `packbench server station revoke`, audited: the
station's next request is refused and its passport key vouches for nothing issued from then on)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form
from fastapi.responses import HTMLResponse

from app.clock import iso
from app.i18n import N_
from server.auth import issue_enrollment_token
from server.console import audit
from server.console.web import Forbidden, NotFound, Page, page
from server.models import Station

router = APIRouter()
MAX_TTL_HOURS = 24 * 14


def _admin(p: Page) -> Page:
    if not p.user.is_admin:
        raise Forbidden(N_("Only admins manage stations."))
    return p


def _render(p: Page, token: str = "", token_warehouse: str = "", expires: str = "", problem: str = "") -> HTMLResponse:
    with p.svc.sdb.connection():
        stations = list(Station.select().where(Station.warehouse.in_(list(p.user.warehouses)))
                        .order_by(Station.warehouse, Station.name))
    return p.render("stations.html", 400 if problem else 200, stations=stations, token=token,
                    token_warehouse=token_warehouse, expires=expires, problem=problem)


@router.get("/console/stations", response_class=HTMLResponse, include_in_schema=False)
def stations_page(p: Annotated[Page, Depends(page)]) -> HTMLResponse:
    return _render(_admin(p))


@router.post("/console/stations/revoke", response_class=HTMLResponse, include_in_schema=False)
def revoke_station(p: Annotated[Page, Depends(page)], csrf: Annotated[str, Form(max_length=200)] = "",
                   station_id: Annotated[str, Form(max_length=64)] = "",
                   reason: Annotated[str, Form(max_length=500)] = "") -> HTMLResponse:
    from server.stations import StationError, revoke

    _admin(p).check_csrf(csrf)
    with p.svc.sdb.connection():
        row = Station.get_or_none(Station.station_id == station_id)
    if row is None or not p.user.sees(row.warehouse):
        raise NotFound()  # another warehouse's station is not there for this user
    if not reason.strip():
        return _render(p, problem=p.translator.gettext("Say why the station is revoked."))
    try:
        revoke(p.svc.sdb, station_id, reason.strip(), p.svc.clock, actor=p.user.name)
    except StationError as exc:
        return _render(p, problem=exc.text(p.lang))
    return _render(p)


@router.post("/console/stations/token", response_class=HTMLResponse, include_in_schema=False)
def new_token(p: Annotated[Page, Depends(page)], csrf: Annotated[str, Form(max_length=200)] = "",
              warehouse: Annotated[str, Form(max_length=64)] = "",
              ttl_hours: Annotated[str, Form(max_length=10)] = "72") -> HTMLResponse:
    _admin(p).check_csrf(csrf)
    chosen = p.warehouse(warehouse)
    try:
        hours = float(ttl_hours)
        if not 0 < hours <= MAX_TTL_HOURS:
            raise ValueError
    except ValueError:
        return _render(p, problem=p.translator.gettext("Token validity must be between these hours:")
                       + f" 1–{MAX_TTL_HOURS}")
    token, expires = issue_enrollment_token(p.svc.sdb, chosen, p.svc.clock, hours)
    audit.record_now(p.svc.sdb, p.svc.clock, p.user.name, "station.token", warehouse=chosen,
                     detail=f"valid until {iso(expires)}")
    return _render(p, token=token, token_warehouse=chosen, expires=expires.astimezone(p.svc.config.zone)
                   .strftime("%Y-%m-%d %H:%M"))
