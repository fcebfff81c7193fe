"""The Tracking page `/console/track?q=ORDER_OR_NUMBER`."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query
from fastapi.responses import HTMLResponse

from app.i18n import N_
from app.tracking_states import status_words
from server.console.trail import find
from server.console.web import Page, page

router = APIRouter()
ORDER_STATUS_WORDS = (N_("new"), N_("paid"), N_("on_hold"), N_("cancelled"), N_("refunded"), N_("packed"),
                      N_("shipped"))  # translated in the template


@router.get("/console/track", response_class=HTMLResponse, include_in_schema=False)
def track_page(p: Annotated[Page, Depends(page)], q: Annotated[str, Query(max_length=200)] = "") -> HTMLResponse:
    found = find(p.svc.sdb, q, p.user.warehouses, p.svc.clock.now()) if q.strip() else None
    return p.render("track.html", 404 if q.strip() and found is None else 200, q=q.strip(), found=found,
                    zone=p.svc.config.zone, word=lambda status: status_words(status)[0 if p.lang == "zh_CN" else 1])
