"""The Tracking page `/console/track?q=ORDER_OR_NUMBER`, and the order's evidence pack rendered by the
server from synced facts (`server.evidence`) at `/console/track/evidence?q=ORDER_OR_NUMBER`."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query
from fastapi.responses import HTMLResponse, Response

from app.clock import iso
from app.evidence.service import safe_name
from app.i18n import N_
from app.tracking_states import status_words
from server.console import audit
from server.console.trail import find
from server.console.web import HEADERS, NotFound, Page, page
from server.evidence import render_pdf

router = APIRouter()
ORDER_STATUS_WORDS = (N_("new"), N_("paid"), N_("on_hold"), N_("cancelled"), N_("refunded"), N_("packed"),
                      N_("shipped"))  # translated in the template


@router.get("/console/track", response_class=HTMLResponse, include_in_schema=False)
def track_page(p: Annotated[Page, Depends(page)], q: Annotated[str, Query(max_length=200)] = "") -> HTMLResponse:
    found = find(p.svc.sdb, q, p.user.warehouses, p.svc.clock.now()) if q.strip() else None
    return p.render("track.html", 404 if q.strip() and found is None else 200, q=q.strip(), found=found,
                    zone=p.svc.config.zone, word=lambda status: status_words(status)[0 if p.lang == "zh_CN" else 1])


@router.get("/console/track/evidence", include_in_schema=False)
def evidence_pack(p: Annotated[Page, Depends(page)], q: Annotated[str, Query(max_length=200)] = "") -> Response:
    """The PDF of the order searched for (by its id or one of its parcel numbers); audited."""
    svc = p.svc
    found = find(svc.sdb, q, p.user.warehouses, svc.clock.now()) if q.strip() else None
    order_id = (found.order.order_id if found.order is not None else found.parcels[0].parcel.order_id) \
        if found is not None else None
    made = render_pdf(svc.sdb, order_id, p.user.warehouses, svc.clock.now(), svc.config.timezone) \
        if order_id else None
    if made is None or order_id is None:
        raise NotFound()
    pdf, warehouse = made
    audit.record_now(svc.sdb, svc.clock, p.user.name, "evidence.download", warehouse=warehouse, target=order_id,
                     detail=f"server-rendered evidence pack, {len(pdf)} bytes, at {iso(svc.clock.now())}")
    name = f"evidence-{safe_name(order_id)}.pdf"
    return Response(pdf, media_type="application/pdf",
                    headers={**HEADERS, "Content-Disposition": f'attachment; filename="{name}"'})
