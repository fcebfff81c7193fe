"""Order-health alerts through the server's alert channels (`server.alerts`): DingTalk, WeCom, e-mail,
webhook — the same channels, delivery retries and `/console/alerts` list as reconciliation alerts.

`server.health.state` decides that an anomaly is news (once until it recovers); this turns it into a
message (warehouse, indicator, value against baseline ± σ, the slice that explains it, a console
link) and raises it under a key of its own, so each episode is one alert with one delivery a channel.
"""

from __future__ import annotations

from collections.abc import Callable
from zoneinfo import ZoneInfo

from app.clock import Clock, iso
from app.documents.words import BILINGUAL_WORDS
from app.i18n import N_, Phrase
from server.alerts.channels import Message
from server.alerts.store import raise_alert
from server.config import ServerConfig
from server.db import ServerDb
from server.health.explain import local_hours
from server.health.indicators import what
from server.health.state import NewAlert, thresholds

SOURCE = "health"
SUBJECT = N_("{warehouse} {indicator} anomaly")
AGAINST_BASELINE = N_("Order health of {warehouse}: {indicator} is {value} against a baseline of {baseline} ± "
                      "{sigma} (z = {z}), hour from {hour}.")
ABOVE_LIMIT = N_("Order health of {warehouse}: {indicator} is {value}, above its threshold {limit}, hour from {hour}.")
BELOW_LIMIT = N_("Order health of {warehouse}: {indicator} is {value}, below its threshold {limit}, hour from {hour}.")


def message(warehouse: str, alert: NewAlert, link: str, zone: ZoneInfo,
            threshold: tuple[str, float | None] | None = None) -> Message:
    """The anomaly for every reader of a channel, Chinese then English (docs/i18n.md, Alerts); its subject
    is kept as words too, for the console's Alerts page. Hours are the warehouse's (`zone`), as on the
    health page; the alert's data keeps the UTC instant and the numeric z for machines.
    `threshold`: the limit it broke, if that flagged it."""
    r = alert.reading
    why = alert.explanation
    fields: dict[str, object] = {"warehouse": warehouse, "indicator": what(r.indicator, r.key),
                                 "value": r.shown(r.value),
                                 "hour": f"{r.hour.astimezone(zone):%Y-%m-%d %H:%M} {zone.key}"}
    if r.z is not None:
        anomaly = Phrase(AGAINST_BASELINE, {**fields, "baseline": r.shown(r.baseline), "sigma": r.shown(r.sigma),
                                            "z": r.z_words})
    else:  # no baseline to compare with: a threshold flagged it (set at the time, so known here)
        op, limit = threshold or ("max", None)
        anomaly = Phrase(ABOVE_LIMIT if op == "max" else BELOW_LIMIT, {**fields, "limit": r.shown(limit)})
    lines = [BILINGUAL_WORDS(anomaly, sep="\n\n")]
    if why is not None:
        lines.append(BILINGUAL_WORDS(local_hours(why.words, zone), sep="\n\n"))
    lines.append(link)
    subject = Phrase(SUBJECT, {"warehouse": warehouse, "indicator": r.indicator.named})
    return Message(subject=BILINGUAL_WORDS(subject, sep=" / "), text="\n\n".join(lines), words=subject,
                   data={"source": SOURCE, "warehouse": warehouse, "indicator": r.indicator.name, "slice": r.key,
                         "hour": iso(r.hour), "value": r.value, "baseline": r.baseline, "sigma": r.sigma, "z": r.z,
                         "explanation": local_hours(why.words, zone, named=True).plain() if why else ""})


def concerned(alert: NewAlert) -> set[str]:
    """The slices ("shop=…") an anomaly concerns, for its owners' routes: its own reading's, and the ones
    its explanation says the excess comes from (a slice, and the second one it narrows to)."""
    keys = {alert.reading.key} - {""}
    why = alert.explanation
    if why is not None:
        keys.add(f"{why.dimension}={why.slice}")
        if why.also is not None:
            keys.add("=".join(why.also))
    return keys


def channel_notifier(sdb: ServerDb, config: ServerConfig, clock: Clock, warehouse: str) -> Callable[[NewAlert], str]:
    """A `server.health.Notify` that raises each new anomaly on the channels of its owners
    (`health_channels`, `[[health_routes]]`; every alert channel when neither is set)."""

    def notify(alert: NewAlert) -> str:
        r = alert.reading
        base = config.public_url or "http://127.0.0.1:8700"
        link = (f"{base}/console/health?warehouse={warehouse}&hour={iso(r.hour)}&indicator={r.indicator.name}")
        key = f"health|{warehouse}|{r.indicator.name}|{r.key}|{iso(r.hour)}"
        said = message(warehouse, alert, link, config.zone, thresholds(sdb, warehouse).get(r.indicator.name))
        targets = config.health_targets(r.indicator.name, concerned(alert))
        with sdb.connection(), sdb.write():
            raised = raise_alert(sdb, clock, targets, key=key, warehouse=warehouse, source=SOURCE,
                                 value=1.0, threshold=0.0, message=said, link=link)
        if raised is None:
            return "already raised"
        return f"alert {raised.alert_id} queued for {', '.join(c.name for c in targets) or 'no channel'}"

    return notify
