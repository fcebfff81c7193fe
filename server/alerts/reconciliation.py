"""Reconciliation alerts: every row deviation over `reconciliation_alert_pct` alerts its channels.

The key is warehouse|shop|day|kind (kind: packed, handed_over, carrier — see
`server.console.reconcile`), so each deviation of each shop and day alerts once until it changes
(`server.alerts.store.raise_alert`). The message is Chinese then English and names the warehouse,
shop, day, the counts, the deviation and a link to the console's reconciliation of that day, each
line a catalog phrase worded in both languages as the health alerts are (docs/i18n.md, Alerts); its
subject is kept as words too (`Message.words`), so the console's Alerts page words it in each user's
language.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from urllib.parse import urlencode

from app.clock import Clock
from app.documents.words import BILINGUAL_WORDS
from app.i18n import N_, Phrase
from app.terms import named
from server.alerts.channels import Message
from server.alerts.store import Raised, raise_alert
from server.config import ServerConfig
from server.console.reconcile import KINDS, Row, rows
from server.db import ServerDb

SUBJECT = N_("Reconciliation deviation {value}% — {warehouse} {shop} {day}")
NOT_ON_PLATFORM = N_("(not on the platform)")
WHERE = N_("Warehouse {warehouse} · shop {shop} · day {day}")
DEVIATION = N_("Deviation {kind}: {value}% (threshold {threshold}%)")
COUNTS = N_("Platform orders {orders} · cancelled {cancelled} · packed {packed} · handed over {handed_over} · "
            "carrier accepted {accepted}")
GAPS = N_("Not packed {not_packed} · not handed over {not_handed_over} · not accepted {not_accepted}")
OPEN = N_("Open in the console")
NO_LINK = N_("(public_url is not configured: no console link)")
LOCK_KEY = 0x5042_5243  # "PBRC": the reconciliation job's PostgreSQL advisory lock


@dataclass(frozen=True)
class Checked:
    warehouse: str
    rows: list[Row]
    raised: list[Raised]


def link(config: ServerConfig, warehouse: str, day: date) -> str:
    query = urlencode({"warehouse": warehouse, "from": day.isoformat(), "to": day.isoformat()})
    return f"{config.public_url.rstrip('/')}/console/reconciliation?{query}"


def message(config: ServerConfig, warehouse: str, row: Row, kind: str, value: float) -> Message:
    url = link(config, warehouse, row.day)
    shop = row.shop or Phrase(NOT_ON_PLATFORM)
    words = Phrase(SUBJECT, {"value": f"{value:.2f}", "warehouse": warehouse, "day": row.day.isoformat(),
                             "shop": shop})
    subject = BILINGUAL_WORDS(words)  # channels: one text for every reader, Chinese then English
    lines = [Phrase(WHERE, {"warehouse": warehouse, "shop": shop, "day": row.day.isoformat()}),
             Phrase(DEVIATION, {"kind": named(KINDS, kind), "value": f"{value:.2f}",
                                "threshold": f"{config.reconciliation_alert_pct:g}"}),
             Phrase(COUNTS, {"orders": row.orders, "cancelled": row.cancelled, "packed": row.packed,
                             "handed_over": row.handed_over, "accepted": row.accepted}),
             Phrase(GAPS, {"not_packed": row.lists.get("not_packed", 0),
                           "not_handed_over": row.lists.get("packed_not_handed_over", 0),
                           "not_accepted": row.lists.get("handed_over_not_accepted", 0)})]
    said = [BILINGUAL_WORDS(line, sep="\n\n") for line in lines]
    said.append(f"[{BILINGUAL_WORDS(OPEN, sep=' / ')}]({url})" if config.public_url
                else BILINGUAL_WORDS(NO_LINK, sep=" / "))
    data = {"warehouse": warehouse, "shop": row.shop, "day": row.day.isoformat(), "kind": kind,
            "deviation_pct": value, "threshold_pct": config.reconciliation_alert_pct, "orders": row.orders,
            "cancelled": row.cancelled, "packed": row.packed, "handed_over": row.handed_over,
            "carrier_accepted": row.accepted, "lists": row.lists}
    return Message(subject, "\n\n".join(said), data, words)


def check(sdb: ServerDb, config: ServerConfig, clock: Clock, warehouse: str, days: list[date]) -> Checked:
    """Compute the rows of `days` and raise the alerts they call for (delivery is separate)."""
    found: list[Row] = []
    raised: list[Raised] = []
    for day in sorted(set(days)):
        day_rows = rows(sdb, warehouse, day, day, config.zone)
        found.extend(day_rows)
        with sdb.connection(), sdb.write():
            for row in day_rows:
                for kind, value in row.deviations().items():
                    new = raise_alert(sdb, clock, config.alert_channels,
                                      key=f"{warehouse}|{row.shop}|{row.day.isoformat()}|{kind}", warehouse=warehouse,
                                      source="reconciliation", value=value, threshold=config.reconciliation_alert_pct,
                                      message=message(config, warehouse, row, kind, value),
                                      link=link(config, warehouse, row.day))
                    if new is not None:
                        raised.append(new)
    return Checked(warehouse, found, raised)


def warehouses(sdb: ServerDb) -> list[str]:
    """Every warehouse with a station or with orders."""
    with sdb.connection():
        return sorted({str(w) for (w,) in sdb.execute(
            'SELECT DISTINCT "warehouse" FROM "station" UNION SELECT DISTINCT "warehouse" FROM "order"')})


def today_and_yesterday(config: ServerConfig, clock: Clock) -> list[date]:
    today = clock.now().astimezone(config.zone).date()
    return [today - timedelta(days=1), today]
