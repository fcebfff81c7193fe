"""The Reconciliation page, its drill-down order lists, and its CSV / XLSX exports."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from fastapi.responses import HTMLResponse, Response

from app.i18n import N_
from server.console import audit
from server.console.exports import header, table, to_csv, to_xlsx
from server.console.reconcile import KINDS, LISTS, Row, order_list, rows
from server.console.web import HEADERS, NotFound, Page, page
from server.reports import ReportError

router = APIRouter()
Day = Annotated[str | None, Query(max_length=10)]
Warehouse = Annotated[str | None, Query(max_length=64)]


def _days(p: Page, day_from: str | None, day_to: str | None) -> tuple[date, date]:
    today = p.svc.clock.now().astimezone(p.svc.config.zone).date()
    try:
        last = date.fromisoformat(day_to) if day_to else today
        first = date.fromisoformat(day_from) if day_from else last - timedelta(days=1)
    except ValueError:
        raise ReportError(N_("write days as YYYY-MM-DD")) from None
    return first, last


@router.get("/console/reconciliation", response_class=HTMLResponse, include_in_schema=False)
def reconciliation_page(p: Annotated[Page, Depends(page)], warehouse: Warehouse = None,
                        day_from: Annotated[str | None, Query(alias="from", max_length=10)] = None,
                        day_to: Annotated[str | None, Query(alias="to", max_length=10)] = None) -> HTMLResponse:
    chosen = p.warehouse(warehouse)
    problem = ""
    found: list[Row] = []
    today = p.svc.clock.now().astimezone(p.svc.config.zone).date()
    first, last = today - timedelta(days=1), today
    try:
        first, last = _days(p, day_from, day_to)
        found = rows(p.svc.sdb, chosen, first, last, p.svc.config.zone)
    except ReportError as exc:
        problem = exc.text(p.lang)
    return p.render("reconciliation.html", warehouse=chosen, rows=found, first=first, last=last, problem=problem,
                    lists=LISTS, kinds=KINDS, threshold=p.svc.config.reconciliation_alert_pct,
                    keep={"from": first.isoformat(), "to": last.isoformat()})


@router.get("/console/reconciliation/orders", response_class=HTMLResponse, include_in_schema=False)
def drill_down(p: Annotated[Page, Depends(page)], warehouse: Warehouse = None, day: Day = None,
               shop: Annotated[str, Query(max_length=200)] = "",
               name: Annotated[str, Query(alias="list", max_length=64)] = "not_packed") -> HTMLResponse:
    chosen = p.warehouse(warehouse)
    if name not in LISTS:
        raise NotFound()
    try:
        when = date.fromisoformat(day or "")
    except ValueError:
        raise NotFound() from None
    ids = order_list(p.svc.sdb, chosen, when, shop, name, p.svc.config.zone)
    return p.render("drilldown.html", warehouse=chosen, day=when, shop=shop, name=name, label=LISTS[name],
                    order_ids=ids)


@router.get("/console/reconciliation.{fmt}", include_in_schema=False)
def export(p: Annotated[Page, Depends(page)], fmt: str, warehouse: Warehouse = None,
           day_from: Annotated[str | None, Query(alias="from", max_length=10)] = None,
           day_to: Annotated[str | None, Query(alias="to", max_length=10)] = None) -> Response:
    if fmt not in ("csv", "xlsx"):
        raise NotFound()
    chosen = p.warehouse(warehouse)
    try:
        first, last = _days(p, day_from, day_to)
        found = rows(p.svc.sdb, chosen, first, last, p.svc.config.zone)
    except ReportError as exc:
        return p.render("error.html", status=400, reason=exc.text(p.lang))
    head, body = header(p.translator.gettext), table(found)
    name = f"reconciliation-{chosen}-{first.isoformat()}-{last.isoformat()}.{fmt}"
    audit.record_now(p.svc.sdb, p.svc.clock, p.user.name, "export", warehouse=chosen, target=name)
    if fmt == "csv":
        content, media = to_csv(head, body), "text/csv; charset=utf-8"
    else:
        content = to_xlsx(head, body, f"{chosen} {first.isoformat()}")
        media = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    return Response(content, media_type=media,
                    headers={**HEADERS, "Content-Disposition": f'attachment; filename="{name}"'})
