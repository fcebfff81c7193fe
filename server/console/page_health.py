"""The console's order-health page: every indicator for an hour against its baseline, and a drill-down.

`/console/health?warehouse=W[&hour=ISO][&indicator=NAME]`: the table of indicators (value, baseline ±
σ, z, flagged or silenced); with `indicator`, its last 24 hours as a chart (the value against the
baseline band of ±2σ, flagged hours marked, hours in the warehouse's zone) and the hour's distribution
by every dimension it can be sliced by, with what explains most of the excess said in words
(`server.health.explain`). For an indicator whose facts are orders, also the hour's facts by SKU and by
ten minutes — the hours around it are the chart; within the hour a burst (a listing going live at
14:20, a scanner failing at 14:40) shows apart from a steady drift — and the orders behind the
reading, worst first, each with its slices and a link to its tracking (`server.health.orders`; none
for the indicators counted per station). Supervisors and admins silence alerts from the page (`POST
/console/health/silence`, as `packbench server health silence`, back to the hour and indicator it was
sent from); the active silences are listed with who set them, why and until when. The weekly and
monthly reports the schedule wrote are listed for download (`/console/health/reports/ID`, audited).
The figures are the readings the schedule kept (`server.health.stored`); an hour or a slice not kept
yet is evaluated on the request, and kept once its hour is complete.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta, tzinfo
from typing import Annotated
from urllib.parse import quote
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Form, Query
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from markupsafe import Markup, escape

from app.clock import iso, parse_iso
from app.i18n import N_, Phrase, localize
from server.console import audit
from server.console.web import HEADERS, Forbidden, NotFound, Page, page, root
from server.health import last_complete_hour, published, stored
from server.health.evaluate import Reading
from server.health.explain import (
    BUCKET,
    BUCKETS,
    PART_NAMES,
    SKU,
    Cell,
    cells,
    expected,
    explain_slices,
    hour_facts,
    local_hours,
)
from server.health.indicators import BY_NAME, INDICATORS, slice_words
from server.health.orders import LIMIT as ORDERS_LISTED
from server.health.orders import Fact, worst
from server.health.state import MAX_SILENCE_HOURS, silence, silenced_names, silences_at, thresholds

router = APIRouter()
WIDTH, HEIGHT, LEFT, TOP, BOTTOM = 720, 200, 44, 10, 20
HOURS_SHOWN = 24
SKUS_SHOWN = 10  # the SKUs holding most of the excess; the orders below list the rest


@router.get("/console/health", response_class=HTMLResponse, include_in_schema=False)
def health_page(p: Annotated[Page, Depends(page)],
                warehouse: Annotated[str | None, Query(max_length=64)] = None,
                hour: Annotated[str | None, Query(max_length=40)] = None,
                indicator: Annotated[str | None, Query(max_length=64)] = None) -> HTMLResponse:
    return _render(p, p.warehouse(warehouse), hour, indicator)


@router.post("/console/health/silence", response_class=HTMLResponse, include_in_schema=False)
def silence_form(p: Annotated[Page, Depends(page)], csrf: Annotated[str, Form(max_length=200)] = "",
                 warehouse: Annotated[str, Form(max_length=64)] = "",
                 hours: Annotated[str, Form(max_length=16)] = "",
                 reason: Annotated[str, Form(max_length=500)] = "",
                 indicator: Annotated[str, Form(max_length=64)] = "",
                 hour: Annotated[str, Form(max_length=40)] = "",
                 shown: Annotated[str, Form(max_length=64)] = "") -> Response:
    """The console's `packbench server health silence`: the same silence, audited, by the signed-in user;
    then the page it was sent from (`hour`, and `shown`, the indicator drilled into)."""
    p.check_csrf(csrf)
    if not p.user.may_act:
        raise Forbidden(N_("Viewers cannot silence alerts."))
    chosen = p.warehouse(warehouse)
    if (indicator and indicator not in BY_NAME) or (shown and shown not in BY_NAME):
        raise NotFound()
    at = _hour(hour)
    _ = p.translator.gettext
    try:
        length = float(hours)
        if not (math.isfinite(length) and 0 < length <= MAX_SILENCE_HOURS):
            raise ValueError(hours)
    except ValueError:
        return _render(p, chosen, hour, shown, _("Silence for more than 0 and at most %(hours)s hours.")
                       % {"hours": MAX_SILENCE_HOURS})
    if not reason.strip():
        return _render(p, chosen, hour, shown, _("Say why the alerts are silenced (e.g. the campaign)."))
    silence(p.svc.sdb, p.svc.clock, chosen, length, reason, p.user.name, indicator)
    back = f"?warehouse={quote(chosen)}" + (f"&hour={quote(iso(at))}" if at else "") + \
        (f"&indicator={shown}" if shown else "")
    return RedirectResponse(f"{root(p.request)}/console/health{back}", status_code=303, headers=HEADERS)


@router.get("/console/health/reports/{report_id}", include_in_schema=False)
def report_pdf(p: Annotated[Page, Depends(page)], report_id: int) -> Response:
    """A scheduled report's PDF, if it is of one of the user's warehouses and its file is intact; audited."""
    report = published.get(p.svc.sdb, report_id, p.user.warehouses)
    data = published.read_pdf(p.svc.config, report) if report is not None else None
    if report is None or data is None:
        raise NotFound()
    audit.record_now(p.svc.sdb, p.svc.clock, p.user.name, "report.download", warehouse=report.warehouse,
                     target=f"{report.kind} {report.period}")
    name = f"health-{report.kind}-{report.period}.pdf"
    return Response(data, media_type="application/pdf",
                    headers={**HEADERS, "Content-Disposition": f'attachment; filename="{name}"'})


def _render(p: Page, chosen: str, hour: str | None, indicator: str | None, problem: str = "") -> HTMLResponse:
    """The page; `hour` and `indicator` as asked (none: the last complete hour, no drill-down)."""
    sdb, clock = p.svc.sdb, p.svc.clock
    at = _hour(hour) or last_complete_hour(clock)
    active = silences_at(sdb, chosen, clock.now())
    limits = thresholds(sdb, chosen)
    readings = stored.readings(sdb, clock, chosen, at, thresholds=limits, silenced=silenced_names(active))
    detail = None
    if indicator:
        if indicator not in BY_NAME:
            raise NotFound()
        shown = [at - timedelta(hours=h) for h in reversed(range(HOURS_SHOWN))]
        history = [one for (one,) in stored.hours(sdb, clock, chosen, shown, names=[indicator], thresholds=limits)]
        current = history[-1]
        slices = {d: stored.readings(sdb, clock, chosen, at, dimension=d, names=[indicator])
                  for d in BY_NAME[indicator].slices}
        found = hour_facts(sdb, chosen, current)
        detail = {"reading": current,
                  "chart": series_chart(history, p.translator.gettext("Value and baseline"), p.svc.config.zone),
                  "slices": slices, "why": _explanation(current, slices, found, p.svc.config.zone),
                  "parts": _parts(current, [f for f in found if f.window == 0], p.svc.config.zone),
                  "orders": worst(BY_NAME[indicator], found), "limit": ORDERS_LISTED}
    return p.render("health.html", 400 if problem else 200, warehouse=chosen, hour=at, readings=readings,
                    detail=detail, silences=active, zone=p.svc.config.zone, keep={"hour": hour} if hour else {},
                    problem=problem, indicators=INDICATORS, dimension_names=PART_NAMES,
                    slice_text=lambda value, dimension="": str(localize(slice_words(value, dimension), p.lang)),
                    shown=indicator or "", max_hours=MAX_SILENCE_HOURS, reports=published.listed(sdb, chosen))


def _explanation(reading: Reading, slices: Mapping[str, Sequence[Reading]], found: Sequence[Fact],
                 zone: ZoneInfo) -> Phrase | None:
    """A flagged hour's explanation, its hour in the warehouse's zone like the page's heading."""
    why = explain_slices(reading, slices, found) if reading.flagged else None
    return local_hours(why.words, zone) if why else None


def _parts(reading: Reading, found: Sequence[Fact], zone: ZoneInfo) -> dict[str, list[tuple[str, Cell, float | None]]]:
    """The hour's facts by SKU (those holding most of the excess first) and by ten minutes (in order):
    (label, its facts, its share of the hour's excess — None for a count, which has none per fact)."""
    if not found:
        return {}
    indicator, hour, expect = reading.indicator, reading.hour, expected(reading)
    by_sku = cells(indicator, found, SKU, hour, expect)
    by_minutes = cells(indicator, found, "minutes", hour, expect)
    total = sum(c.excess for c in by_minutes.values() if c.excess > 0)

    def share(cell: Cell) -> float | None:
        return cell.excess / total if total > 0 and indicator.kind != "count" else None

    skus = sorted(by_sku.items(), key=lambda item: (-item[1].excess, -item[1].facts, item[0]))[:SKUS_SHOWN]
    minutes = [(f"{(hour + k * BUCKET).astimezone(zone):%H:%M}–{(hour + (k + 1) * BUCKET).astimezone(zone):%H:%M}",
                by_minutes.get(str(k), Cell())) for k in range(BUCKETS)]
    return {SKU: [(sku, cell, share(cell)) for sku, cell in skus],
            "minutes": [(label, cell, share(cell)) for label, cell in minutes]}


def _hour(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        return parse_iso(text).replace(minute=0, second=0, microsecond=0)
    except ValueError:
        raise NotFound() from None


def series_chart(history: list[Reading], title: str, zone: tzinfo) -> Markup:
    """The value per hour as a line, the baseline ±2σ as a band, flagged hours as red dots (SVG);
    hours labelled in the warehouse's zone, like the page's heading."""
    points = [(r.value, r.baseline, r.sigma, r.flagged) for r in history]
    highs = [v for v, _, _, _ in points if v is not None] + [b + 2 * s for _, b, s, _ in points
                                                            if b is not None and s is not None]
    top = max(highs, default=1.0) or 1.0
    plot_w, plot_h = WIDTH - LEFT - 4, HEIGHT - TOP - BOTTOM
    step = plot_w / max(len(points) - 1, 1)

    def y(value: float) -> float:
        return TOP + plot_h - plot_h * max(value, 0.0) / top

    parts = [f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{escape(title)}">',
             f"<title>{escape(title)}</title>"]
    reading = history[-1]
    for tick in range(5):
        level = top * tick / 4
        parts.append(f'<line x1="{LEFT}" x2="{WIDTH - 4}" y1="{y(level):.1f}" y2="{y(level):.1f}" stroke="#e3e7ee"/>'
                     f'<text x="{LEFT - 4}" y="{y(level) + 4:.1f}" text-anchor="end">'
                     f"{escape(reading.shown(level))}</text>")
    band = [(LEFT + i * step, b, s) for i, (_, b, s, _) in enumerate(points) if b is not None and s is not None]
    if band:
        upper = " ".join(f"{x:.1f},{y(b + 2 * s):.1f}" for x, b, s in band)
        lower = " ".join(f"{x:.1f},{y(b - 2 * s):.1f}" for x, b, s in reversed(band))
        parts.append(f'<polygon class="band" points="{upper} {lower}"/>')
    line = " ".join(f"{LEFT + i * step:.1f},{y(v):.1f}" for i, (v, _, _, _) in enumerate(points) if v is not None)
    parts.append(f'<polyline class="value" points="{line}"/>')
    for i, (r, (v, _, _, flagged)) in enumerate(zip(history, points, strict=True)):
        # every third hour labelled, the last (the hour read) always; an hour with no value too (a quiet
        # night's hours are none, and their labels went with them)
        if i % 3 == (len(history) - 1) % 3:
            anchor = "end" if i == len(history) - 1 else "middle"  # the last at the right edge, not past it
            parts.append(f'<text class="hour" x="{LEFT + i * step:.1f}" y="{HEIGHT - 5}" text-anchor="{anchor}">'
                         f"{r.hour.astimezone(zone):%H:00}</text>")
        if v is None:
            continue
        cls = "flag" if flagged else "dot"
        parts.append(f'<circle class="{cls}" cx="{LEFT + i * step:.1f}" cy="{y(v):.1f}" r="{4 if flagged else 2}">'
                     f"<title>{r.hour.astimezone(zone):%m-%d %H:00} — {escape(r.shown(v))}</title></circle>")
    parts.append("</svg>")
    return Markup("".join(parts))
