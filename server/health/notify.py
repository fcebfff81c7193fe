"""Order-health alerts through the server's alert channels (`server.alerts`): DingTalk, WeCom, e-mail,
webhook — the same channels, delivery retries and `/console/alerts` list as reconciliation alerts.

`server.health.state` decides that an anomaly is news (once until it recovers); this turns it into a
message (warehouse, indicator, value against baseline ± σ, the slice that explains it, a console
link) and raises it under a key of its own, so each episode is one alert with one delivery a channel.
"""

from __future__ import annotations

from collections.abc import Callable

from app.clock import Clock, iso
from server.alerts.channels import Message
from server.alerts.store import raise_alert
from server.config import ServerConfig
from server.db import ServerDb
from server.health.state import NewAlert

SOURCE = "health"


def message(warehouse: str, alert: NewAlert, link: str) -> Message:
    r = alert.reading
    where = f"（{r.key}）" if r.key else ""
    why = alert.explanation
    head = f"【订单健康】{warehouse} {r.indicator.title_zh}{where}"
    zh = (f"{head} 异常：{r.shown(r.value)}，基线 {r.shown(r.baseline)} ± {r.shown(r.sigma)}（z = {r.z:+.1f}），"
          f"时段 {iso(r.hour)} 起一小时。" if r.z is not None else f"{head}：{r.shown(r.value)}（{r.why}）。")
    en = (f"Order health of {warehouse}: {r.indicator.title_en}{' [' + r.key + ']' if r.key else ''} is "
          f"{r.shown(r.value)} against a baseline of {r.shown(r.baseline)} ± {r.shown(r.sigma)}"
          + (f" (z = {r.z:+.1f})" if r.z is not None else f" ({r.why})") + f", hour from {iso(r.hour)}.")
    lines = [zh, en]
    if why is not None:
        lines += [why.text_zh, why.text_en]
    lines.append(link)
    return Message(subject=f"{warehouse} {r.indicator.title_zh} 异常 / {r.indicator.title_en} anomaly",
                   text="\n\n".join(lines),
                   data={"source": SOURCE, "warehouse": warehouse, "indicator": r.indicator.name, "slice": r.key,
                         "hour": iso(r.hour), "value": r.value, "baseline": r.baseline, "sigma": r.sigma, "z": r.z,
                         "explanation": why.text_en if why else ""})


def channel_notifier(sdb: ServerDb, config: ServerConfig, clock: Clock, warehouse: str) -> Callable[[NewAlert], str]:
    """A `server.health.Notify` that raises each new anomaly on every configured alert channel."""

    def notify(alert: NewAlert) -> str:
        r = alert.reading
        base = config.public_url or "http://127.0.0.1:8700"
        link = (f"{base}/console/health?warehouse={warehouse}&hour={iso(r.hour)}&indicator={r.indicator.name}")
        key = f"health|{warehouse}|{r.indicator.name}|{r.key}|{iso(r.hour)}"
        with sdb.connection(), sdb.write():
            raised = raise_alert(sdb, clock, config.alert_channels, key=key, warehouse=warehouse, source=SOURCE,
                                 value=1.0, threshold=0.0, message=message(warehouse, alert, link), link=link)
        if raised is None:
            return "already raised"
        return f"alert {raised.alert_id} queued for {len(config.alert_channels)} channel(s)"

    return notify
