"""The console's Today page: the warehouse's day by hour, by station and by packer."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from fastapi.responses import HTMLResponse

from app.i18n import N_
from server.console import charts
from server.console.today import SERIES, today
from server.console.web import Page, page

router = APIRouter()
SERIES_NAMES = {"orders": N_("Orders in"), "packed": N_("Packed"), "handed_over": N_("Handed over"),
                "accepted": N_("Carrier accepted")}


@router.get("/console/", response_class=HTMLResponse, include_in_schema=False)
def today_page(p: Annotated[Page, Depends(page)],
               warehouse: Annotated[str | None, Query(max_length=64)] = None) -> HTMLResponse:
    chosen = p.warehouse(warehouse)
    zone = p.svc.config.zone
    now = p.svc.clock.now()
    day = now.astimezone(zone).date()
    figures = today(p.svc.sdb, chosen, day, zone, now)
    _ = p.translator.gettext
    names = [_(SERIES_NAMES[s]) for s in SERIES]
    chart = charts.hourly([(name, figures.hours[s]) for name, s in zip(names, SERIES, strict=True)],
                          _("Today by hour"))
    station_names = {s.station_id: s.name for s in figures.stations}
    per_station = sorted(figures.packed_by_station.items(), key=lambda kv: station_names.get(kv[0], kv[0]))[:4]
    station_chart = charts.hourly([(station_names.get(k, k), v) for k, v in per_station], _("Packed by station"))
    return p.render("today.html", warehouse=chosen, day=day, figures=figures, series=SERIES,
                    series_names=dict(zip(SERIES, names, strict=True)), chart=chart, legend=charts.legend(names),
                    station_chart=station_chart,
                    station_legend=charts.legend([station_names.get(k, k) for k, _v in per_station]),
                    zone=zone, date=date)
