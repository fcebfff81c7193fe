"""The Exceptions page: every station's cases of a warehouse in one queue, the week's heat map, and
acknowledge / resolve (which reach the owning station through its next pull, see `server.cases`)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Query
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from app.i18n import N_
from app.store.states import CaseState
from app.terms import CASE_STATES, CASE_TAGS
from server import cases
from server.console import audit, charts
from server.console.web import HEADERS, Forbidden, NotFound, Page, page, root
from server.models import Station

router = APIRouter()
Text = Annotated[str, Query(max_length=64)]
AGES = (0, 1, 4, 24, 72)
SEVERITIES = (N_("critical"), N_("warning"), N_("info"))
ROUTE_WORDS = (N_("packer"), N_("supervisor"), N_("admin"))  # app.cases routes, translated in the template


@router.get("/console/exceptions", response_class=HTMLResponse, include_in_schema=False)
def exceptions_page(p: Annotated[Page, Depends(page)], warehouse: Annotated[str | None, Query(max_length=64)] = None,
                    tag: Text = "", severity: Text = "", route: Text = "", station: Text = "",
                    age: Annotated[float, Query(ge=0, le=24 * 365)] = 0,
                    resolved: Annotated[bool, Query()] = False, problem: Text = "") -> HTMLResponse:
    chosen = p.warehouse(warehouse)
    now = p.svc.clock.now()
    filters = cases.Filters(tag, severity, route, station, age, resolved)
    queue = cases.queue(p.svc.sdb, chosen, filters, now)
    tags, stations, cells = cases.weekly_heatmap(p.svc.sdb, chosen, now)
    with p.svc.sdb.connection():
        names = {s.station_id: s.name for s in Station.select().where(Station.warehouse == chosen)}
    _ = p.translator.gettext
    tag_name = {t: _(CASE_TAGS.get(t, t)) for t in tags}  # a site's own tag is shown as its code
    heat = charts.heat([tag_name[t] for t in tags], [names.get(s, s) or _("server") for s in stations],
                       {(tag_name[t], names.get(s, s) or _("server")): n for (t, s), n in cells.items()},
                       _("Top 5 exception tags this week, by station")) if tags else None
    return p.render("exceptions.html", warehouse=chosen, cases=queue, filters=filters, names=names, heat=heat,
                    ages=AGES, problem=problem, severities=SEVERITIES, tag_names=CASE_TAGS, state_names=CASE_STATES,
                    keep={"tag": tag, "severity": severity, "route": route, "station": station})


@router.post("/console/exceptions/{case_id}/{action}", include_in_schema=False)
def act(p: Annotated[Page, Depends(page)], case_id: int, action: str,
        csrf: Annotated[str, Form(max_length=200)] = "", note: Annotated[str, Form(max_length=2000)] = "") -> Response:
    p.check_csrf(csrf)
    if action not in ("acknowledge", "resolve"):
        raise NotFound()
    if not p.user.may_act:
        raise Forbidden(N_("Viewers cannot change cases."))
    case = cases.get(p.svc.sdb, case_id, p.user.warehouses)
    if case is None:
        raise NotFound()
    state = CaseState.ACKNOWLEDGED if action == "acknowledge" else CaseState.RESOLVED
    problem = ""
    try:
        cases.transition(p.svc.sdb, p.svc.clock, case, state, p.user.name, note)
    except cases.CaseError as exc:
        problem = exc.text(p.lang)
    else:
        audit.record_now(p.svc.sdb, p.svc.clock, p.user.name, f"case.{state}", warehouse=case.warehouse,
                         target=f"{case.station_id or 'server'}#{case.station_case or case.id}", detail=note[:500])
    target = f"{root(p.request)}/console/exceptions?warehouse={case.warehouse}"
    if problem:
        from urllib.parse import quote

        target += f"&problem={quote(problem[:60])}"
    return RedirectResponse(target, status_code=303, headers=HEADERS)
