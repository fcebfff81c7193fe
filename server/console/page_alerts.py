"""The Alerts page: every alert of the user's warehouses and what became of each delivery."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.responses import HTMLResponse

from server.alerts.store import subject_in
from server.console.web import Page, page
from server.db import placeholders

router = APIRouter()
LIMIT = 200


@dataclass
class AlertRow:
    id: int
    warehouse: str
    subject: str  # in the page's language where the alert kept its words
    link: str
    value: float
    created_at: str
    deliveries: list[tuple[str, str, int, str, str]] = field(default_factory=list)  # channel, status, tries, error, at


@router.get("/console/alerts", response_class=HTMLResponse, include_in_schema=False)
def alerts_page(p: Annotated[Page, Depends(page)]) -> HTMLResponse:
    mine = list(p.user.warehouses)
    sdb = p.svc.sdb
    with sdb.connection():
        found = sdb.execute(f'SELECT "id", "warehouse", "subject", "link", "value", "created_at", "data" FROM "alert" '
                            f'WHERE "warehouse" IN ({placeholders(len(mine))}) ORDER BY "id" DESC LIMIT ?',
                            (*mine, LIMIT))
        alerts = {int(r[0]): AlertRow(int(r[0]), str(r[1]), subject_in(str(r[2]), str(r[6] or ""), p.lang), str(r[3]),
                                      float(r[4]), str(r[5]))
                  for r in found}
        if alerts:
            ids = list(alerts)
            for aid, channel, status, attempts, error, updated in sdb.execute(
                    'SELECT "alert_id", "channel", "status", "attempts", "last_error", "updated_at" '
                    f'FROM "alert_delivery" WHERE "alert_id" IN ({placeholders(len(ids))}) ORDER BY "id"', ids):
                alerts[int(aid)].deliveries.append((str(channel), str(status), int(attempts), str(error), str(updated)))
    return p.render("alerts.html", alerts=list(alerts.values()), channels=p.svc.config.alert_channels,
                    threshold=p.svc.config.reconciliation_alert_pct)
