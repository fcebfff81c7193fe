"""Reconciliation alerts: the CLI, once-per-key, every channel kind against local fakes, retries, the lease,
the Alerts page, and bad channel settings."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from console_harness import close_browsers, log_in, make_user
from reconciliation_scenario import ship
from robot_fakes import MailFake, RobotFake, robot, smtp
from server_harness import Running, Station
from test_console_auth import cli
from test_console_reconciliation import ORDERS

from app.clock import FakeClock, SystemClock
from app.i18n import Phrase
from server.alerts.channels import AlertChannel, Message
from server.alerts.reconciliation import check, message
from server.alerts.schedule import Scheduler, take_lease
from server.alerts.store import MAX_ATTEMPTS, RETRY, deliver_due
from server.config import ServerConfig, ServerConfigError, load_server_config
from server.console.reconcile import Row
from server.intake import import_orders

__all__ = ["close_browsers"]
DING_SECRET = "SECtest0123456789"
WEBHOOK_SECRET = "hook-secret"

CJK = re.compile(r"[\u3000-\u303f\u3400-\u9fff\uff00-\uffef]")


@pytest.fixture
def fakes() -> Iterator[tuple[RobotFake, RobotFake, RobotFake, MailFake]]:
    with robot("dingtalk", DING_SECRET) as ding, robot("wecom") as wecom, robot("webhook") as hook, smtp() as mail:
        yield ding, wecom, hook, mail


def _toml(fakes: tuple[RobotFake, RobotFake, RobotFake, MailFake]) -> str:
    ding, wecom, hook, mail = fakes
    return f"""public_url = "https://pack.example.com"
reconciliation_alert_pct = 3.0

[[alert_channels]]
name = "ops-and-warehouse"
kind = "dingtalk"
url = "{ding.url}"
secret = "{DING_SECRET}"
at_mobiles = ["13800000001", "13900000002"]

[[alert_channels]]
name = "wecom-group"
kind = "wecom"
url = "{wecom.url}"
at_mobiles = ["13800000001"]

[[alert_channels]]
name = "mail"
kind = "email"
url = "{mail.url}"
to = ["ops@example.com", "wh@example.com"]
sender = "packbench@example.com"

[[alert_channels]]
name = "bi"
kind = "webhook"
url = "{hook.url}"
secret = "{WEBHOOK_SECRET}"
"""


@pytest.fixture
def deviating(server: Running, station: Station, tmp_path: Path) -> Running:
    path = tmp_path / "orders.csv"
    path.write_text(ORDERS, encoding="utf-8")
    svc = server.services
    import_orders(svc.sdb, path, "canonical", "WH1", SystemClock(), svc.config.zone)
    reply = station.push(ship(station, "A-1", "SF1000000000001"))
    assert reply.status_code == 200
    return server


def test_reconcile_cli_prints_rows_and_alerts_every_channel_once(
        deviating: Running, fakes: tuple[RobotFake, RobotFake, RobotFake, MailFake], tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch, database_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    ding, wecom, hook, mail = fakes
    data_dir = tmp_path / "server"
    data_dir.mkdir()
    (data_dir / "server.toml").write_text(_toml(fakes), encoding="utf-8")
    monkeypatch.setenv("DATABASE_URL", database_url)
    assert cli(deviating, "reconcile", "--warehouse", "WH1", "--day", "2026-11-24", "--data-dir", str(data_dir)) == 0
    out, err = capsys.readouterr()
    lines = out.strip().splitlines()
    assert lines[1].split("\t") == ["Flagship", "2026-11-24", "2", "0", "1", "0", "0", "50.00", "100.00", "0.00",
                                    "OVER"]
    assert "2 new alerts" in err and "8 deliveries sent, 0 given up" in err
    assert len(ding.received) == 2 and not ding.refused
    body = ding.received[0].json
    assert body["msgtype"] == "markdown" and body["at"]["atMobiles"] == ["13800000001", "13900000002"]
    text = body["markdown"]["text"]
    for needle in ("WH1", "Flagship", "2026-11-24", "50.00%", "平台订单 2", "Platform orders 2", "@13800000001",
                   "https://pack.example.com/console/reconciliation?warehouse=WH1&from=2026-11-24&to=2026-11-24"):
        assert needle in text
    assert wecom.received[0].json["text"]["mentioned_mobile_list"] == ["13800000001"]
    signature = hmac.new(WEBHOOK_SECRET.encode(), hook.received[0].raw, hashlib.sha256).hexdigest()
    assert hook.received[0].headers["x-packbench-signature"] == signature
    assert {json.loads(r.raw)["kind"] for r in hook.received} == {"packed", "handed_over"}
    assert len(mail.messages) == 2 and mail.messages[0]["To"] == "ops@example.com, wh@example.com"
    assert "Flagship" in mail.messages[0].get_payload(decode=True).decode()

    # Once per (warehouse, shop, day, kind): the same deviation again alerts no one.
    assert cli(deviating, "reconcile", "--warehouse", "WH1", "--day", "2026-11-24", "--data-dir", str(data_dir)) == 0
    assert "0 new alerts" in capsys.readouterr().err and len(ding.received) == 2


def test_a_worsening_deviation_alerts_again_and_recovery_rearms(deviating: Running) -> None:
    svc = deviating.services
    sent: list[Message] = []
    config = replace(svc.config, alert_channels=(AlertChannel("x", "webhook", "http://127.0.0.1:9/none"),))
    day = date(2026, 11, 24)
    assert len(check(svc.sdb, config, SystemClock(), "WH1", [day]).raised) == 2  # 50 % packed, 100 % handed over
    stricter = replace(config, reconciliation_alert_pct=60.0)
    assert check(svc.sdb, stricter, SystemClock(), "WH1", [day]).raised == []  # 50 % now under: the episode ends
    raised = check(svc.sdb, config, SystemClock(), "WH1", [day]).raised
    assert [r.key for r in raised] == ["WH1|Flagship|2026-11-24|packed"]  # over again: news
    deliver_due(svc.sdb, SystemClock(), config.alert_channels, lambda _c, m: sent.append(m))
    assert len(sent) == 3


def test_delivery_retries_with_backoff_then_gives_up(deviating: Running) -> None:
    svc = deviating.services
    clock = FakeClock(datetime(2026, 11, 25, 1, 0, tzinfo=UTC))
    config = replace(svc.config, alert_channels=(AlertChannel("flaky", "webhook", "http://127.0.0.1:9/x"),))
    check(svc.sdb, config, clock, "WH1", [date(2026, 11, 24)])
    calls: list[str] = []

    def failing(channel: AlertChannel, message: Message) -> None:
        from app.notify import NotifyError

        calls.append(message.subject)
        raise NotifyError("HTTP 502: bad gateway")

    assert deliver_due(svc.sdb, clock, config.alert_channels, failing) == (0, 2)
    assert deliver_due(svc.sdb, clock, config.alert_channels, failing) == (0, 0)  # not due before the backoff
    for attempt in range(1, MAX_ATTEMPTS):
        clock.advance(seconds=RETRY.delay(attempt))
        deliver_due(svc.sdb, clock, config.alert_channels, failing)
    assert len(calls) == 2 * MAX_ATTEMPTS
    with svc.sdb.connection():
        states = {tuple(r) for r in svc.sdb.execute('SELECT "status", "attempts", "last_error" FROM "alert_delivery"')}
    assert states == {("failed", MAX_ATTEMPTS, "HTTP 502: bad gateway")}


def test_a_wrong_dingtalk_secret_is_a_failed_delivery(deviating: Running) -> None:
    with robot("dingtalk", DING_SECRET) as ding:
        svc = deviating.services
        config = replace(svc.config, alert_channels=(AlertChannel("d", "dingtalk", ding.url, "SECwrong"),))
        check(svc.sdb, config, SystemClock(), "WH1", [date(2026, 11, 24)])
        assert deliver_due(svc.sdb, SystemClock(), config.alert_channels) == (0, 2)
        assert ding.refused == ["sign not match", "sign not match"] and not ding.received
        ding.secret = "SECwrong"  # the robot's secret now matches, after the backoff the retry arrives
        clock = FakeClock(datetime.now(UTC) + timedelta(seconds=RETRY.delay(1) + 1))
        assert deliver_due(svc.sdb, clock, config.alert_channels) == (2, 0)
        with svc.sdb.connection():
            errors = [r[0] for r in svc.sdb.execute('SELECT "last_error" FROM "alert_delivery"')]
        assert errors == ["", ""]


def test_one_runner_per_interval_across_workers(deviating: Running) -> None:
    svc = deviating.services
    clock = FakeClock(datetime(2026, 11, 24, 10, 0, tzinfo=UTC))
    first, second = Scheduler(svc.sdb, svc.config, clock), Scheduler(svc.sdb, svc.config, clock)
    second.holder = "other-worker"
    assert first.run_due() is True
    assert second.run_due() is False
    clock.advance(seconds=14 * 60)
    assert first.run_due() is False and second.run_due() is False
    clock.advance(seconds=60)
    assert second.run_due() is True
    with svc.sdb.connection():
        assert svc.sdb.execute('SELECT "holder" FROM "job_lease"').fetchone()[0] == "other-worker"
        alerts = svc.sdb.execute('SELECT COUNT(*) FROM "alert"').fetchone()[0]
    assert alerts == 2  # the scheduled run covered yesterday (2026-11-23) and today (2026-11-24) once
    assert take_lease(svc.sdb, "another-job", "w", clock, timedelta(minutes=1)) is True


def test_alerts_page_lists_deliveries_of_own_warehouses_only(deviating: Running) -> None:
    svc = deviating.services
    config = replace(svc.config, alert_channels=(AlertChannel("bi", "webhook", "http://127.0.0.1:9/x"),))
    check(svc.sdb, config, SystemClock(), "WH1", [date(2026, 11, 24)])
    deliver_due(svc.sdb, SystemClock(), config.alert_channels, lambda _c, _m: None)
    make_user(deviating, "zhang", "viewer", ("WH1",))
    make_user(deviating, "other", "viewer", ("WH2",))
    zhang = log_in(deviating, "zhang")
    page = zhang.get("/console/alerts", headers={"Accept-Language": "en"}).text
    assert page.count("Flagship") == 2 and "sent" in page
    assert "Reconciliation deviation 50.00% — WH1 Flagship 2026-11-24" in page and "对账偏差" not in page
    zh = zhang.get("/console/alerts", headers={"Accept-Language": "zh-CN"}).text  # the subject in the user's language
    assert "对账偏差 50.00% — WH1 Flagship 2026-11-24" in zh and "Reconciliation deviation" not in zh
    assert "Flagship" not in log_in(deviating, "other").get("/console/alerts").text


@pytest.mark.parametrize(("channel", "message"), [
    ('name = "a"\nkind = "sms"\nurl = "https://x"', r"#1 \.kind must be one of"),
    ('name = "a"\nkind = "dingtalk"\nurl = "https://oapi.dingtalk.com/robot/send"', r"\.secret must be .*加签 secret"),
    ('name = "a"\nkind = "email"\nurl = "smtp://mail:25"', r"\.to must be .*needs `to`"),
    ('name = "a"\nkind = "email"\nurl = "https://mail"\nto = ["ops@example.com"]', "smtp:// or smtps://"),
    ('name = "a"\nkind = "webhook"\nurl = "ftp://x"', "http:// or https://"),
    ('name = "a"\nkind = "wecom"\nurl = "https://x"\nat_mobiles = "138"', "list of strings"),
    ('name = "a"\nkind = "wecom"\nurl = "https://x"\nat_mobiles = [" "]', "#1 .at_mobiles #1 must be a string that"),
    ('name = "a"\nkind = "wecom"\nurl = "https://x"\ncolour = "red"', 'unknown key ".*#1 .colour"'),
    ('name = "a"\nkind = "wecom"\nurl = "https://x"\n[[alert_channels]]\nname = "a"\nkind = "webhook"\nurl = "https://y"',
     '"a" is used twice'),
])
def test_bad_channel_settings_are_one_line_errors(tmp_path: Path, channel: str, message: str) -> None:
    (tmp_path / "server.toml").write_text(f"[[alert_channels]]\n{channel}\n", encoding="utf-8")
    with pytest.raises(ServerConfigError, match=message) as caught:
        load_server_config(tmp_path, env={})
    assert "\n" not in str(caught.value)


def test_a_bad_channel_setting_is_worded_in_the_clis_language(tmp_path: Path) -> None:
    (tmp_path / "server.toml").write_text('[[alert_channels]]\nname = "a"\nkind = "webhook"\nurl = "ftp://x"\n',
                                          encoding="utf-8")
    with pytest.raises(ServerConfigError) as caught:
        load_server_config(tmp_path, env={})
    assert "http:// 或 https:// 开头的网址" in caught.value.text("zh_CN") and " or " not in caught.value.text("zh_CN")


@pytest.mark.parametrize("shop", ["Flagship", ""])
def test_the_reconciliation_alert_is_worded_from_the_catalog_chinese_then_english(tmp_path: Path, shop: str) -> None:
    """Each line of the alert is a catalog phrase in both languages: the Chinese lines carry no English word
    but the warehouse and the shop (names), the English lines no Chinese, and the console keeps the subject
    as words to show in each user's language."""
    config = ServerConfig(data_dir=tmp_path, public_url="https://pack.example.com")
    row = Row(shop, date(2026, 11, 24), orders=4, cancelled=1, shippable=3, packed=2, handed_over=2, accepted=1,
              lists={"not_packed": 1, "packed_not_handed_over": 0, "handed_over_not_accepted": 1})
    said = message(config, "WH1", row, "carrier", 50.0)
    *lines, link = said.text.split("\n\n")
    chinese, english = lines[0::2], lines[1::2]
    assert len(chinese) == len(english) == 4 and all(CJK.search(line) for line in chinese)
    assert not [w for line in chinese for w in re.findall(r"[A-Za-z]+", line) if w not in ("WH", "Flagship")]
    assert not [line for line in english if CJK.search(line)]
    assert "偏差 交接 → 揽收：50.00%（阈值 3%）" in chinese[1]
    assert "Deviation handed over → carrier: 50.00% (threshold 3%)" in english[1]
    assert chinese[2].startswith("平台订单 4 · 已取消 1") and english[2].startswith("Platform orders 4 · cancelled 1")
    assert link == ("[在管理台查看 / Open in the console](https://pack.example.com/console/reconciliation?"
                    "warehouse=WH1&from=2026-11-24&to=2026-11-24)")
    assert isinstance(said.words, Phrase) and said.words.text("en").startswith("Reconciliation deviation 50.00%")
    if not shop:  # an order the platform never listed: the missing shop is words too
        assert "（平台无此订单）" in chinese[0] and "(not on the platform)" in english[0]
