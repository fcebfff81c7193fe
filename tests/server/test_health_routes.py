"""Order-health anomalies reach their owners (issue 14, "reaches the two owners within one evaluation
period, explained"): the warehouse's channel gets every anomaly; a shop's, a carrier's and a bench's
owner (`[[health_routes]]`) get those that concern their slice — flagged for it, or flagged for the
whole warehouse and explained by it — once each, through real robot fakes; server.toml's routes are
checked when it is read."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest

from app.clock import FakeClock, parse_iso
from server.alerts.channels import AlertChannel
from server.alerts.routes import HealthRoute, health_targets
from server.config import ServerConfigError, load_server_config
from server.db import ServerDb
from server.health import check

WH = "HZ-1"  # the warehouse of the `seeded` history (conftest.py)
SHOP = "拼多多 家居店"  # the shop of the planted refund surge (server.health.seed)


def test_each_anomaly_reaches_the_warehouse_and_the_owner_of_what_explains_it(
        seeded: tuple[ServerDb, dict[str, str]], tmp_path: Path) -> None:
    from robot_fakes import robot

    from server.alerts.store import deliver_due
    from server.config import ServerConfig
    from server.health.notify import channel_notifier

    sdb, incidents = seeded
    hour = parse_iso(incidents["refunds"])
    with robot("dingtalk", "SECops") as ops, robot("wecom") as shop, robot("webhook") as bench, \
            robot("webhook") as carrier:
        config = ServerConfig(
            tmp_path, public_url="https://pb.example.com",
            alert_channels=(AlertChannel("warehouse-ops", "dingtalk", ops.url, "SECops"),
                            AlertChannel("shop-owner", "wecom", shop.url),
                            AlertChannel("bench-lead", "webhook", bench.url),
                            AlertChannel("zto-manager", "webhook", carrier.url)),
            health_routes=(HealthRoute(("shop-owner",), slices=(f"shop={SHOP}",)),
                           HealthRoute(("bench-lead",), slices=(f"station={WH}-BENCH-3",),
                                       indicators=("scan_error_rate",)),
                           HealthRoute(("zto-manager",), slices=("carrier=ZTO",))))
        clock = FakeClock(hour + timedelta(hours=1, minutes=5))  # the schedule's first run after the hour
        with sdb.connection(), sdb.write():
            sdb.execute('DELETE FROM "health_alert" WHERE "warehouse" = ?', (WH,))
        _, alerts = check(sdb, clock, WH, hour=hour, notify=channel_notifier(sdb, config, clock, WH), zone=config.zone)
        assert {a.reading.indicator.name for a in alerts} >= {"intercept_rate", "scan_error_rate"}
        sent, failed = deliver_due(sdb, clock, config.alert_channels)
        assert failed == 0
        everything = [json.dumps(r.json, ensure_ascii=False) for r in ops.received]
        owners = [json.dumps(r.json, ensure_ascii=False) for r in shop.received]
        lead = [r.json for r in bench.received]
        collector = [r.json for r in carrier.received]
        # The warehouse's channel (named by no route) gets every anomaly; each owner only what concerns it.
        assert len(everything) == len(alerts) and sent == len(everything) + len(owners) + len(lead) + len(collector)
        assert len(owners) == 1 and "打包后拦截/退款率" in owners[0] and f"来自店铺 {SHOP}" in owners[0]
        assert [m["indicator"] for m in lead] == ["scan_error_rate"]
        assert "BENCH-3" in lead[0]["explanation"]
        assert [m["indicator"] for m in collector] == ["not_collected"]
        assert "comes from carrier ZTO" in collector[0]["explanation"]
        check(sdb, clock, WH, hour=hour, notify=channel_notifier(sdb, config, clock, WH))
        assert deliver_due(sdb, clock, config.alert_channels) == (0, 0)  # once, until it recovers


def test_targets_follow_health_channels_and_the_routes() -> None:
    channels = tuple(AlertChannel(name, "webhook", "http://127.0.0.1:9/hook") for name in ("ops", "zto", "tmall"))
    routes = (HealthRoute(("zto",), slices=("carrier=ZTO",)),
              HealthRoute(("tmall",), slices=("shop=天猫店",), indicators=("intercept_rate",)))

    def names(everything: tuple[str, ...] | None, indicator: str, *slices: str) -> list[str]:
        return [c.name for c in health_targets(channels, everything, routes, indicator, set(slices))]

    assert names(None, "pickup_delay_p90", "carrier=ZTO") == ["ops", "zto"]
    assert names(None, "pickup_delay_p90", "carrier=SF") == ["ops"]
    assert names(None, "intercept_rate", "shop=天猫店", "station=BENCH-1") == ["ops", "tmall"]
    assert names(None, "scan_error_rate", "shop=天猫店") == ["ops"]  # not the route's indicator
    assert names((), "pickup_delay_p90", "carrier=ZTO") == ["zto"]  # health_channels = []: owners only
    assert names(("ops", "tmall"), "orders_in") == ["ops", "tmall"]
    assert [c.name for c in health_targets(channels, None, (), "orders_in", set())] == ["ops", "zto", "tmall"]


TOML = """{extra}

[[alert_channels]]
name = "ops"
kind = "webhook"
url = "http://127.0.0.1:9/hook"
"""


@pytest.mark.parametrize(("extra", "said"), [
    ('health_channels = ["nobody"]', 'health_channels must name [[alert_channels]] tables, not "nobody"'),
    ('[[health_routes]]\nchannels = ["ops", "shop"]',
     '[[health_routes]] #1 .channels must name [[alert_channels]] tables, not "shop"'),
    ('[[health_routes]]\nchannels = ["ops"]\nindicators = ["refunds"]',
     '[[health_routes]] #1 .indicators: "refunds" is not an indicator (they are orders_in, '),
    ('[[health_routes]]\nchannels = ["ops"]\nslices = ["ZTO"]',
     '[[health_routes]] #1 .slices: "ZTO" must be a dimension, \'=\' and a value, such as "station=BENCH-3"'),
    ('[[health_routes]]\nchannels = ["ops"]\nslices = ["courier=ZTO"]', '"courier=ZTO" must be a dimension'),
    ('[[health_routes]]\nchannels = []',
     "[[health_routes]] #1 .channels must be a list of strings with at least 1 item, not []"),
    ('[[health_routes]]\nslices = ["carrier=ZTO"]', "[[health_routes]] #1 .channels is missing"),
])
def test_routes_are_checked_when_server_toml_is_read(tmp_path: Path, extra: str, said: str) -> None:
    (tmp_path / "server.toml").write_text(TOML.format(extra=extra), encoding="utf-8")
    with pytest.raises(ServerConfigError) as refused:
        load_server_config(tmp_path, env={})
    assert said in str(refused.value) and str(tmp_path / "server.toml") in str(refused.value)


def test_the_documented_routes_load(tmp_path: Path) -> None:
    """server.toml as server.alerts.routes' docstring shows it, with the channels it names."""
    import textwrap

    import server.alerts.routes

    example = textwrap.dedent((server.alerts.routes.__doc__ or "").split("\n\n")[1])
    channels = "".join(f'[[alert_channels]]\nname = "{name}"\nkind = "webhook"\nurl = "http://127.0.0.1:9/hook"\n'
                       for name in ("warehouse-ops", "shop-tmall"))
    (tmp_path / "server.toml").write_text(example + "\n" + channels, encoding="utf-8")
    config = load_server_config(tmp_path, env={})
    assert config.health_channels == ("warehouse-ops",)
    (route,) = config.health_routes
    assert (route.channels, route.slices, route.indicators) == (
        ("shop-tmall",), ("shop=天猫旗舰店",), ("intercept_rate",))
